"""``hypseg demo``: the whole method on built-in synthetic data, in minutes on two CPU cores.

Generates a small synthetic hierarchical dataset, trains the hyperbolic VAE with the default recipe,
segments the held-out test volumes at three levels, prints the DICE table beside the paper's numbers
and writes label maps and plots under the output folder (``./hypseg-demo`` by default).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import typer

from hypseg.errors import UserError

from hypseg.cli._errors import user_errors
from hypseg._words import count
from hypseg.metrics.paper import PAPER_DICE

LEVEL_CLUSTERS = {1: 2, 2: 4, 3: 8}


@user_errors
def demo(
    out: Path = typer.Option(Path("hypseg-demo"), "--out", "-o", help="Folder for data, model, label maps and plots (a previous demo's is replaced; any other folder must be empty)."),
    volumes: int = typer.Option(24, min=6, help="Synthetic volumes to generate (2/3 train, 1/6 val, 1/6 test)."),
    quick: bool = typer.Option(False, "--quick", help="A tiny model and a few steps: a smoke test, not a result."),
    seed: int = typer.Option(0, help="Seed of the data, the training and the clustering."),
) -> None:
    """Run the whole method on synthetic data: generate, train, segment, score, plot.

    Everything goes under --out: the data, the model, the label maps and the plots.

    Examples:

        hypseg demo                  # under a minute on two CPU cores

        hypseg demo --quick          # seconds: a smoke test, not a result
    """
    from hypseg.cli.plot import plot
    from hypseg.config import cpu_recipe, segment_preset, smoke_recipe
    from hypseg.data.synthetic_config import SyntheticConfig
    from hypseg.data import discover_cases, load_normalised
    from hypseg.data.synthetic_dataset import write_synthetic_dataset
    from hypseg.inference.pipeline import evaluate_segmentation, segment_files, summarise
    from hypseg.training import Trainer

    start = time.perf_counter()
    check_demo_folder(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / DEMO_MARK).write_text("written by hypseg demo, which replaces this folder when it runs again\n")
    config = smoke_recipe() if quick else cpu_recipe()
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed))
    synthetic = SyntheticConfig.scaled(32) if quick else SyntheticConfig()
    typer.echo(f"[1/4] generating {volumes} synthetic volumes of {synthetic.shape}^3 in {out / 'data'}")
    write_synthetic_dataset(out / "data", n=volumes, seed=seed, irregular=False, config=synthetic)
    cases = discover_cases([out / "data"])
    train = [c for c in cases if c.split == "train"]
    val = [c for c in cases if c.split == "val"]
    test = [c for c in cases if c.split == "test"]

    typer.echo(f"[2/4] training the {config.model.variant} VAE for {config.train.steps} steps on {len(train)} volumes")
    Trainer(
        config, load_normalised(train, config=config.data), run_dir=out / "model",
        validation=load_normalised(val, config=config.data),
    ).fit()

    recipe = dataclasses.replace(segment_preset("default"), seed=seed)
    if quick:  # the smoke model's own patch side at every level (local contrast on intensity keeps its box sides)
        recipe = recipe.at_model_side()
    typer.echo(f"[3/4] segmenting {count(len(test), 'test volume')} with the default recipe:")
    for line in recipe.describe().splitlines():
        typer.echo(f"      {line}")
    segment_files([c.image for c in test], model_dir=out / "model", out=out / "segmentation", config=recipe, progress=True)
    rows = evaluate_segmentation(out / "segmentation", truth=[out / "data"])
    means = summarise(rows)

    typer.echo("[4/4] plotting")
    options = dict(out=out / "plots", volume=None, case=None, max_points=20000, curvature=None, seed=seed)
    plot(target=out / "model", truth=None, **options)
    # colour the Poincare disks by the level-2 classes (background, cell, vesicle, mitochondrion)
    plot(target=out / "segmentation", truth=[c.truth["2"] for c in test], **options)

    typer.echo("")
    typer.echo("| level | clusters | hypseg DICE | paper DICE |")
    typer.echo("|---|---|---|---|")
    for level, k in LEVEL_CLUSTERS.items():
        typer.echo(f"| {level} | {k} | {means.get(k, float('nan')):.3f} | {PAPER_DICE[level]:.3f} |")
    typer.echo("")
    typer.echo(f"done in {time.perf_counter() - start:.0f} s: label maps in {out / 'segmentation'}, plots in {out / 'plots'}")


#: the file that marks a folder as a demo's: such a folder is replaced by the next demo
DEMO_MARK = ".hypseg-demo"
#: what the demo writes in its folder
DEMO_ENTRIES = {DEMO_MARK, "data", "model", "segmentation", "plots"}


def check_demo_folder(out: Path) -> None:
    """Refuse an ``out`` that is a file, or a non-empty folder that is not a previous demo's (the demo replaces
    its folder): one without the demo's mark, or holding anything the demo does not write."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UserError(f"--out {out} is a file; choose a folder for the demo")
    entries = sorted(p.name for p in out.iterdir())
    marked = DEMO_MARK in entries  # then hidden files (a file manager's, a killed run's temporaries) go with it
    others = [name for name in entries if name not in DEMO_ENTRIES and not (marked and name.startswith("."))]
    if others:
        raise UserError(f"--out {out} holds {others[0]}, which the demo did not write and would delete; choose another folder")
    if entries and not marked:
        raise UserError(f"--out {out} is not a folder hypseg demo wrote (it has no {DEMO_MARK}), and the demo would delete "
                        "it; choose another folder (or delete a demo folder written before demos were marked)")
