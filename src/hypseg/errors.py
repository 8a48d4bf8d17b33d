"""The one exception type for mistakes a user can fix: a bad input file, a bad option, a bad config.

The command line prints a :class:`UserError` as one line, ``hypseg: error: <message>``, and exits with
status 2; every other exception is a bug and keeps its traceback. This module imports nothing from
hypseg, so every layer may raise it.
"""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(ValueError):
    """Bad input, a bad option or an unreadable file; the message names the problem in one line.

    A subclass of :class:`ValueError`, so code that catches ``ValueError`` around a library call keeps
    working.

    Examples
    --------
    >>> issubclass(UserError, ValueError)
    True
    """
