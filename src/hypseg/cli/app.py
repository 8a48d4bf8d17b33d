"""The ``hypseg`` Typer application: registers one thin command per job.

Each command lives in its own module under ``hypseg.cli`` and imports the library lazily, inside the
command, so that ``hypseg --help`` stays fast.
"""

from __future__ import annotations

import typer

from hypseg.cli._errors import UsageErrorsGroup

app = typer.Typer(
    name="hypseg",
    cls=UsageErrorsGroup,
    help="Unsupervised 3D segmentation with hyperbolic patch representations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(shown: bool) -> None:
    if shown:
        from hypseg import __version__

        typer.echo(f"hypseg {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show hypseg's version and exit."),
) -> None:
    """The options of hypseg itself, before the command."""


def _register() -> None:
    from hypseg.cli import bench, demo, evaluate, plot, segment, synth, train

    # one line each in `hypseg --help`; each command's own --help gives its docstring whole
    commands = {
        "demo": (demo.demo, "The whole method on synthetic data: train, segment, score, plot."),
        "synth": (synth.synth, "Generate the synthetic dataset: volumes and level 1-3 labels."),
        "train": (train.train, "Train a model on one volume or a folder of similar volumes."),
        "segment": (segment.segment, "Label maps per cluster count, in the input's format and geometry."),
        "evaluate": (evaluate.evaluate, "Matched DICE per level against true label maps."),
        "bench": (bench.bench, "Print the speed or quality benchmark tables."),
        "plot": (plot.plot, "Training curves, or a segmentation's slices and Poincare disks."),
    }
    for name, (command, summary) in commands.items():
        app.command(name=name, short_help=summary)(command)


_register()
