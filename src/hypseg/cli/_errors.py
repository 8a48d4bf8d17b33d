"""How every command reports a user error: one line on stderr naming the problem, exit status 2."""

from __future__ import annotations

import functools
import os
import signal
import sys
import warnings
from typing import Callable, TypeVar

import typer
from typer.core import TyperGroup

from hypseg.errors import UserError

F = TypeVar("F", bound=Callable[..., object])

#: Exceptions that mean "the input or an option is wrong", never "hypseg has a bug". A plain
#: ValueError (numpy's, torch's, or an internal check's) is not among them and keeps its traceback.
USER_ERRORS = (UserError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill PID``, a batch scheduler stopping a job) raised where the process is, as Ctrl+C is: the command
    then stops as it does on Ctrl+C (a chunked run keeps its chunks and says so, no temporary output is left), and
    exits with status 143 (128 + 15)."""


_TERMINATED = [False]  # whether this process got SIGTERM


def stop_on_sigterm() -> None:
    """Make SIGTERM raise :class:`Terminated` in this process (the command line's main thread) instead of ending it at
    once, which left half-made temporary folders and said nothing. A second SIGTERM is ignored, so that it cannot cut
    the clean-up the first one started short (SIGKILL still ends the process). Under torchrun, whose agent stops its
    ranks with SIGTERM and SIGKILL 30 s later, a rank keeps the default: one blocked in a collective would never reach
    the handler, and the others would say "interrupted" beside the failure that stopped them."""
    if os.environ.get("TORCHELASTIC_RUN_ID"):
        return

    def terminated(signum, frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _TERMINATED[0] = True
        raise Terminated

    signal.signal(signal.SIGTERM, terminated)


def interrupted_status(err: KeyboardInterrupt) -> int:
    """The exit status of a command stopped by Ctrl+C (130) or SIGTERM (143)."""
    return 128 + (signal.SIGTERM if isinstance(err, Terminated) else signal.SIGINT)


def exit_status(code: object) -> object:
    """The exit status of the command line: 143 where SIGTERM stopped a command that Typer ended as on Ctrl+C (130)."""
    return 128 + signal.SIGTERM if _TERMINATED[0] and code == 128 + signal.SIGINT else code


def user_errors(func: F) -> F:
    """Turn the library's user-facing exceptions into ``hypseg: error: ...`` and exit status 2.

    Only :data:`USER_ERRORS` are caught; the first line of the message is printed on stderr. Any other
    exception propagates unchanged, traceback included.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as err:
            print(f"hypseg: error: {_first_line(str(err), type(err).__name__)}", file=sys.stderr)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]


def _first_line(text: str, fallback: str) -> str:
    """What the command line prints of a message: its first line, or ``fallback`` (a class name) when it is empty."""
    lines = text.strip().splitlines()
    return lines[0] if lines else fallback


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as the command line shows it: ``hypseg: warning: ...`` on stderr, one line (no source line)."""
    print(f"hypseg: warning: {_first_line(str(message), category.__name__)}", file=sys.stderr if file is None else file)


class UsageErrorsGroup(TyperGroup):
    """The ``hypseg`` command group: a usage error (a bad or missing option or argument, an unknown option
    or command) is one line, ``hypseg: error: ...``, and exit status 2, like a user error.

    Typer would print the usage and a box around the message. Here the command runs with
    ``standalone_mode=False``, so that Typer's own errors (:class:`typer.TyperException`, the base of its
    usage errors) reach this method, which prints their first line and exits with their status. ``--help``,
    ``typer.Exit`` (a user error's exit 2) and every other exception behave as they did. A warning (a collapsed
    or unfinished model) is one line too, ``hypseg: warning: ...``, without Python's source line.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warning
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.TyperException as err:
            if type(err).__name__ == "NoArgsIsHelpError":  # `hypseg` alone: the help was printed (Typer's own test)
                sys.exit(err.exit_code)
            print(f"hypseg: error: {_first_line(err.format_message(), type(err).__name__)}", file=sys.stderr)
            sys.exit(err.exit_code)
        except typer.Abort:
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
