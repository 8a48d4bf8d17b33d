"""``hypseg bench``: print the benchmark tables of the README."""

from __future__ import annotations

import typer

from hypseg.cli._errors import user_errors


@user_errors
def bench(
    suite: str = typer.Argument("speed", help="'speed' (every table) or one of: layers, sampling, kmeans, train, inference."),
    repeats: int = typer.Option(5, min=1, help="Timed repeats per row; the table shows medians."),
) -> None:
    """Print benchmark tables (medians of several runs, ratios against a baseline timed in the same process).

    Examples:

        hypseg bench layers --repeats 7

        hypseg bench speed
    """
    from hypseg import benchmarking

    names = list(benchmarking.SUITES) if suite == "speed" else [suite]
    for name in names:
        benchmarking.run_suite(name, repeats=repeats)
        typer.echo("")
