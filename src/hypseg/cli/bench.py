"""``hypseg bench``: print the benchmark tables of the README."""

from __future__ import annotations

import typer

from hypseg.cli._errors import user_errors


@user_errors
def bench(
    suite: str = typer.Argument("speed", help="'speed' (every speed table) or one of: layers, sampling, kmeans, train, inference, quality."),
    repeats: int = typer.Option(5, min=1, help="Timed repeats per row; the table shows medians."),
) -> None:
    """Print benchmark tables (medians of several runs, ratios against a baseline timed in the same process).

    Examples:

        hypseg bench layers --repeats 7

        hypseg bench speed

        hypseg bench quality --repeats 3   # trains 6 ablations x 3 seeds: about half an hour
    """
    from hypseg import benchmarking

    names = list(benchmarking.SPEED) if suite == "speed" else [suite]
    for name in names:
        benchmarking.run_suite(name, repeats=repeats)
        typer.echo("")
