"""Timing and table helpers shared by the benchmark suites."""

from __future__ import annotations

import statistics
import time
from typing import Callable, Sequence


def median_seconds(func: Callable[[], object], *, repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``repeats`` calls of ``func`` after ``warmup`` untimed calls."""
    for _ in range(warmup):
        func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def count_flops(func: Callable[[], object]) -> int:
    """FLOPs of one call of ``func`` (convolutions and matrix products, by torch's flop counter)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        func()
    return counter.get_total_flops()


def retried_note(what: str, seed: int, trained_seed: int) -> str:
    """The line under a table that says a seed's training collapsed and its model is another seed's
    (:meth:`hypseg.training.Trainer.fit`), so that no row's seed is silently another."""
    return f"- {what}: seed {seed} collapsed in training; its model trained again with seed {trained_seed}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (pastes into the README as it is)."""
    cells = [[str(h) for h in headers]] + [[str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
