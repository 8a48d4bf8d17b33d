"""Counted nouns in the commands' messages: ``1 volume``, ``2 volumes``."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural (``plural``, else ``noun + "s"``) unless ``n`` is 1.

    >>> count(1, "volume"), count(3, "volume"), count(0, "pass", "passes")
    ('1 volume', '3 volumes', '0 passes')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
