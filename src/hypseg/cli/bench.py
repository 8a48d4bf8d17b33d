"""``hypseg bench``: print the benchmark tables of the README."""

from __future__ import annotations

import typer

from hypseg.cli._errors import user_errors

#: benchmark name -> module under ``benchmarks/``-equivalent functions in the package
_SUITES = ("layers", "sampling", "kmeans")  # the suites that make up "speed", in print order


@user_errors
def bench(
    suite: str = typer.Argument("speed", help="Which tables: 'speed' (all speed tables) or one of: layers."),
    repeats: int = typer.Option(5, min=1, help="Timed repeats per row; the table shows medians."),
) -> None:
    """Print benchmark tables (medians of several runs, ratios against a baseline timed in the same process).

    Example: ``hypseg bench layers --repeats 7``
    """
    from hypseg import benchmarking

    names = _SUITES if suite == "speed" else (suite,)
    for name in names:
        if name not in benchmarking.SUITES:
            raise ValueError(f"unknown benchmark suite {name!r}; choose 'speed' or one of {sorted(benchmarking.SUITES)}")
        benchmarking.SUITES[name](repeats=repeats)
