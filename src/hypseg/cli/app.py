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


def _register() -> None:
    from hypseg.cli import bench, demo, evaluate, plot, segment, synth, train

    app.command(name="demo")(demo.demo)
    app.command(name="synth")(synth.synth)
    app.command(name="train")(train.train)
    app.command(name="segment")(segment.segment)
    app.command(name="evaluate")(evaluate.evaluate)
    app.command(name="bench")(bench.bench)
    app.command(name="plot")(plot.plot)


_register()
