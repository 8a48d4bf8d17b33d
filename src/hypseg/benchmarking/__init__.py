"""Benchmark suites behind ``hypseg bench`` and the scripts in ``benchmarks/``.

Each suite is a module of this package with a ``run(*, repeats)`` function that prints a table whose
ratios compare against a baseline timed in the same process (medians of ``repeats`` runs). Like the
CLI, this package may import any layer of hypseg, and nothing in the library imports it.
"""

from __future__ import annotations

import importlib

#: name -> module holding its ``run``; "speed" runs them all in this order.
SUITES: dict[str, str] = {
    "layers": "hypseg.benchmarking.layers",
    "sampling": "hypseg.benchmarking.sampling",
    "kmeans": "hypseg.benchmarking.kmeans",
    "train": "hypseg.benchmarking.train",
    "inference": "hypseg.benchmarking.inference",
    "quality": "hypseg.benchmarking.quality",
}
#: The suites of ``hypseg bench speed`` (quality trains models for half an hour: run it by name).
SPEED = ("layers", "sampling", "kmeans", "train", "inference")


def run_suite(name: str, *, repeats: int) -> None:
    """Run one suite by name; ``ValueError`` listing the choices for an unknown one."""
    if name not in SUITES:
        raise ValueError(f"unknown benchmark suite {name!r}; choose 'speed' or one of {sorted(SUITES)}")
    importlib.import_module(SUITES[name]).run(repeats=repeats)
