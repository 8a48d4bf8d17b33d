"""Progress of long work: a tqdm bar on a terminal, one plain line per stage otherwise.

A bar redraws itself with carriage returns; written to a log file or a pipe, every redraw becomes a
line of its own. :func:`progress` therefore shows a bar only when the stream is a terminal and
otherwise prints one line when a stage ends (``training: 600/600 step in 41.3 s``); a stage that fails prints none.
A stage still running prints how far it got when one of its units finishes a minute or more after the last line of
any stage, or after the start of the outermost stage still running if none printed since
(``embedding: 3/8 chunk after 61.2 s``), so the log of a long run in the background shows that it moves (a single
long unit with no stage inside it prints nothing until it ends); inner stages (``leave=False``, such as a volume's
tiles) print only these lines, no closing one. This module imports nothing from hypseg.
"""

from __future__ import annotations

import sys
import time
import weakref
from typing import IO, Any, Iterable, Iterator

__all__ = ["progress"]

_EVERY = 60.0  # seconds between a running stage's lines off a terminal


class _Silence:
    """When the process last printed a stage's line, and the off-terminal stages still running: a running line is due
    when a minute passed since the later of that line and the earliest start of a running stage, whichever stage
    prints it (an outer stage of one volume counts no units while the tile stages inside it do)."""

    def __init__(self) -> None:
        self.printed = float("-inf")
        self.running: "weakref.WeakSet[_Lines]" = weakref.WeakSet()

    def since(self) -> float:
        return max(self.printed, min((stage._start for stage in self.running), default=float("-inf")))


_SILENCE = _Silence()


def progress(
    iterable: Iterable | None = None,
    *,
    total: int | None = None,
    desc: str,
    unit: str = "it",
    initial: int = 0,
    leave: bool = True,
    stream: IO[str] | None = None,
) -> Any:
    """A progress reporter over ``iterable`` (or counted by ``update``) for the stage ``desc``.

    Parameters
    ----------
    iterable : iterable, optional
        Items to yield; ``total`` defaults to its length when it has one.
    total : int, optional
        Number of units of the whole stage.
    desc, unit : str
        The stage's name and the unit counted (``"step"``, ``"vol"``, ``"tile"``).
    initial : int
        Units already done (a resumed run).
    leave : bool
        Keep the finished bar on a terminal and print the stage's closing line elsewhere; False for
        stages nested inside another.
    stream : file-like, optional
        Where to report; default ``sys.stderr``.

    Returns
    -------
    tqdm or _Lines
        Either way an iterable (when ``iterable`` is given) and a context manager with ``update(n)``,
        ``set_postfix(**values)`` and ``close()``.

    Examples
    --------
    >>> import io
    >>> log = io.StringIO()
    >>> for _ in progress(range(3), desc="loading", unit="vol", stream=log):
    ...     pass
    >>> log.getvalue().startswith("loading: 3/3 vol in ")
    True
    """
    stream = sys.stderr if stream is None else stream
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    isatty = getattr(stream, "isatty", None)
    if callable(isatty) and isatty():
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave, file=stream, dynamic_ncols=True)
    return _Lines(iterable, total=total, desc=desc, unit=unit, initial=initial, leave=leave, stream=stream)


class _Lines:
    """The off-terminal reporter: counts units, prints a line when a unit ends ``_EVERY`` seconds or more after the
    process's last line (:class:`_Silence`) and one when the stage closes."""

    def __init__(self, iterable, *, total, desc, unit, initial, leave, stream):
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n, self.leave, self.stream = initial, leave, stream
        self.postfix: dict[str, Any] = {}
        self._start, self._closed = time.perf_counter(), False
        _SILENCE.running.add(self)

    def __iter__(self) -> Iterator:
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        except BaseException:  # the stage failed (or was left): no line says it ended
            self._end()
            raise
        self.close()

    def __enter__(self) -> "_Lines":
        return self

    def __exit__(self, kind, *exc) -> None:
        if kind is None:
            self.close()
        else:  # the stage failed: no line says it ended
            self._end()

    def _end(self) -> None:
        self._closed = True
        _SILENCE.running.discard(self)

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
        _SILENCE.printed = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        finished = self.total is not None and self.n >= self.total  # its closing line follows
        if not self._closed and not finished and now - _SILENCE.since() >= _EVERY:
            self._print(f"{self.desc}: {self._count()} {self.unit} after {now - self._start:.1f} s")

    def _count(self) -> str:
        return f"{self.n}/{self.total}" if self.total is not None else f"{self.n}"

    def set_postfix(self, **values: Any) -> None:
        self.postfix = values

    def close(self) -> None:
        if self._closed:
            return
        self._end()
        if not self.leave:
            return
        extra = "".join(f", {k}={v}" for k, v in self.postfix.items())
        self._print(f"{self.desc}: {self._count()} {self.unit} in {time.perf_counter() - self._start:.1f} s{extra}")
