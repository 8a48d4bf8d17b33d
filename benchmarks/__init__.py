"""Benchmark suites and research scripts of the source checkout, outside the product package.

Each suite is a module of this package with a ``run(*, repeats, **options)`` function that prints a
table; the speed suites' ratios compare against a baseline timed in the same process (medians of
``repeats`` runs), the quality suites (``quality``, ``brats``) train ``repeats`` seeds. ``hypseg bench``
runs them by name (:func:`run_suite`); the scripts beside them run from the checkout's root as
``python -m benchmarks.<script>``. This package may import any layer of hypseg, and nothing in hypseg
imports it. Its tests are in ``benchmarks/tests``.
"""

from __future__ import annotations

import importlib
import inspect

from hypseg.errors import UserError

#: name -> module holding its ``run``; "speed" runs them all in this order.
SUITES: dict[str, str] = {
    "layers": "benchmarks.layers",
    "sampling": "benchmarks.sampling",
    "kmeans": "benchmarks.kmeans",
    "train": "benchmarks.train",
    "inference": "benchmarks.inference",
    "quality": "benchmarks.quality",
    "brats": "benchmarks.brats",
    "scale": "benchmarks.scale",
}
#: The suites of ``hypseg bench speed`` (quality and brats train models for long: run them by name).
SPEED = ("layers", "sampling", "kmeans", "train", "inference")


def run_suite(name: str, *, repeats: int, **options) -> None:
    """Run one suite by name, passing ``options`` to its ``run``.

    :class:`~hypseg.errors.UserError` listing the choices for an unknown suite, or naming the options it does not take.
    """
    if name not in SUITES:
        raise UserError(f"unknown benchmark suite {name!r}; choose 'speed' or one of {sorted(SUITES)}")
    run = importlib.import_module(SUITES[name]).run
    unknown = sorted(set(options) - set(inspect.signature(run).parameters))
    if unknown:
        raise UserError(f"benchmark suite {name!r} takes no option {', '.join(unknown)}")
    run(repeats=repeats, **options)
