"""How every command reports a user error: one line on stderr naming the problem, exit status 2."""

from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

import typer

from hypseg.errors import UserError

F = TypeVar("F", bound=Callable[..., object])

#: Exceptions that mean "the input or an option is wrong", never "hypseg has a bug". A plain
#: ValueError (numpy's, torch's, or an internal check's) is not among them and keeps its traceback.
USER_ERRORS = (UserError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)


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
            message = str(err).splitlines()[0] if str(err) else type(err).__name__
            print(f"hypseg: error: {message}", file=sys.stderr)
            raise typer.Exit(code=2) from None

    return wrapper  # type: ignore[return-value]
