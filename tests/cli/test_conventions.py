"""docs/cli.md's conventions, checked on every command of the tree."""

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from benign.cli.app import app

ROOT = get_command(app)


def commands(group=ROOT, path=()):
    subs = getattr(group, "commands", None)
    if not subs:
        yield path, group
        return
    for name, sub in subs.items():
        yield from commands(sub, (*path, name))


COMMANDS = list(commands())


def options(command):
    return [p for p in command.params if getattr(p, "param_type_name", "") == "option"]


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_option_has_a_one_line_help(path, command):
    for option in options(command):
        assert option.help and "\n" not in option.help.strip(), f"{' '.join(path)} {option.opts}"


def test_one_name_per_idea():
    names = {o for _, c in COMMANDS for opt in options(c) for o in opt.opts}
    assert "--k" not in names and "--knn-k" in names  # the k-NN probe's neighbours
    assert {"--workers", "--scheduler", "--dask-local", "--device", "--scale"} <= names


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_reads_at_80_columns(path, command):
    r = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
    assert r.exit_code == 0, r.output
    wide = [line for line in r.output.splitlines() if len(line) > 80]
    assert not wide, wide[:2]
