"""One line and exit code 2 for bad input, never a traceback (set BENIGN_DEBUG=1 to see one)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import typer
from typer.core import TyperGroup

from benign.store.atomic import WriteError

try:  # typer >= 0.29 parses with its own copy of click, whose exceptions are other classes
    from typer import _click as typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    typer_click = click
CLICK_ERRORS = (click.ClickException, typer_click.ClickException)
EXITS = (click.exceptions.Exit, typer.Exit)
ABORTS = (KeyboardInterrupt, click.exceptions.Abort, typer.Abort)
NO_ARGS_IS_HELP = getattr(typer_click.exceptions, "NoArgsIsHelpError", ())


class BadInput(click.ClickException):
    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


# Errors that, raised from a command, mean the user's input was impossible or unreadable, or that a
# result could not be written (store's WriteError: "cannot write PATH: no space left on device").
# Anything else is a bug: one line saying so, its traceback in a log file, exit code 1.
USER_ERRORS = (
    ValueError,
    WriteError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)


def bug_log(error: BaseException) -> Path:
    """Write the traceback of `error` to a fresh file in the temporary folder; its path."""
    import tempfile
    import traceback

    fd, name = tempfile.mkstemp(prefix="benign-bug-", suffix=".log")
    with os.fdopen(fd, "w") as f:
        f.write(f"benign {' '.join(sys.argv[1:])}\n\n")
        f.write("".join(traceback.format_exception(error)))
    return Path(name)


class OneLineErrors(TyperGroup):
    """A typer group whose errors are one line on stderr with exit code 2 (130 on Ctrl-C)."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        debug = os.environ.get("BENIGN_DEBUG") == "1"
        try:
            code = super().main(*args, **kwargs)
        except EXITS as e:
            code = e.exit_code
        except NO_ARGS_IS_HELP as e:  # a group called without a command: its help, as click shows it
            e.show()
            code = 2
        except CLICK_ERRORS as e:
            if debug:
                raise
            click.echo(f"error: {e.format_message()}", err=True)
            code = 2
        except ABORTS:
            click.echo(
                "interrupted: everything finished so far is saved; rerun the same command to resume", err=True
            )
            code = 130
        except USER_ERRORS as e:
            if debug:
                raise
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            click.echo(f"error: {msg}", err=True)
            code = 2
        except Exception as e:  # a bug: not the user's input
            if debug:
                raise
            first = (str(e).strip().splitlines() or [""])[0]
            click.echo(
                f"bug: {type(e).__name__}: {first} (a bug in benign, not your input; traceback in {bug_log(e)})",
                err=True,
            )
            code = 1
        sys.exit(code if isinstance(code, int) else 0)
