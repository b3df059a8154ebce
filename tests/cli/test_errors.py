"""Exit codes: bad input is one line and 2; a bug is one line saying so, its traceback in a log, 1."""

import pytest
from typer.testing import CliRunner

from benign.cli.app import app

runner = CliRunner()


def test_bad_input_is_exit_2_in_one_line(tmp_path):
    r = runner.invoke(app, ["claims", "--results", str(tmp_path / "nowhere")])
    assert r.exit_code == 2 and r.output.strip() == f"error: no such folder: {tmp_path / 'nowhere'}"


@pytest.mark.parametrize("error", [KeyError("setting"), OSError("disk"), RuntimeError("shape mismatch")])
def test_a_bug_says_so_and_logs_its_traceback(error, monkeypatch, tmp_path):
    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr("benign.grids.claims.scoreboard", broken)
    monkeypatch.setattr("benign.cli.claims.scoreboard", broken)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    r = runner.invoke(app, ["claims", "--results", str(tmp_path)])
    line = r.output.strip()
    assert r.exit_code == 1 and len(line.splitlines()) == 1, r.output
    assert line.startswith(f"bug: {type(error).__name__}") and "not your input" in line
    log = line.rsplit("traceback in ", 1)[1].rstrip(")")
    text = open(log).read()
    assert "Traceback" in text and "def broken" not in text and "raise error" in text
