"""The one exception type for mistakes a user can fix: a bad input file, a bad option, a bad config.

The command line prints a :class:`UserError` as one line, ``hypseg: error: <message>``, and exits with
status 2; every other exception is a bug and keeps its traceback. This module imports nothing from
hypseg, so every layer may raise it.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

__all__ = ["UserError", "named"]


class UserError(ValueError):
    """Bad input, a bad option or an unreadable file; the message names the problem in one line.

    A subclass of :class:`ValueError`, so code that catches ``ValueError`` around a library call keeps
    working.

    Examples
    --------
    >>> issubclass(UserError, ValueError)
    True
    """


@contextlib.contextmanager
def named(name: str | os.PathLike | None) -> Iterator[None]:
    """Put ``name`` (the file being worked on) before the message of a :class:`UserError` raised inside, so that a
    run over many volumes says which one it is about; a message that already starts with it is left alone.

    >>> try:
    ...     with named("a.mrc"):
    ...         raise UserError("the volume is constant")
    ... except UserError as err:
    ...     print(err)
    a.mrc: the volume is constant
    """
    try:
        yield
    except UserError as err:
        if name is None or str(err).startswith(f"{name}:"):
            raise
        raise UserError(f"{name}: {err}") from err
