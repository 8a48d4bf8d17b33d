"""Benchmark suites behind ``hypseg bench`` and the scripts in ``benchmarks/``.

Each suite is a module of this package with a ``run(*, repeats)`` function that prints a table whose
ratios compare against a baseline timed in the same process (medians of ``repeats`` runs). Like the
CLI, this package may import any layer of hypseg, and nothing in the library imports it.
"""

from __future__ import annotations

from typing import Callable


def _layers(*, repeats: int) -> None:
    from hypseg.benchmarking import layers

    layers.run(repeats=repeats)


def _sampling(*, repeats: int) -> None:
    from hypseg.benchmarking import sampling

    sampling.run(repeats=repeats)


def _kmeans(*, repeats: int) -> None:
    from hypseg.benchmarking import kmeans

    kmeans.run(repeats=repeats)


#: name -> runner; an unknown name is an error at the caller (see ``hypseg.cli.bench``).
SUITES: dict[str, Callable[..., None]] = {
    "layers": _layers,
    "kmeans": _kmeans,
    "sampling": _sampling,
}
