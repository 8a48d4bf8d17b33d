"""``hypseg train``: train a model on volumes, a synthetic dataset folder or a BraTS root."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional

import typer

from hypseg.cli._errors import user_errors
from hypseg.errors import UserError


@user_errors
def train(
    data: List[Path] = typer.Argument(..., help="Volume files, folders of volumes, a dataset folder with manifest.json, or a BraTS root."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory for config.toml, model.pt and log.jsonl."),
    config: Optional[Path] = typer.Option(None, "--config", help="A TOML file with [model], [data] and [train] tables (default: the CPU recipe)."),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="A named recipe instead of --config: cpu (the default), paper (the authors' released experiment, with the learning rate of --variant; days on a CPU) or smoke."),
    variant: Optional[str] = typer.Option(None, help="hyperbolic-gyro (default), hyperbolic or euclidean."),
    steps: Optional[int] = typer.Option(None, min=1, help="Optimiser steps (overrides the config)."),
    seed: Optional[int] = typer.Option(None, help="Seed of weights, batches and samples."),
    device: Optional[str] = typer.Option(None, help="cpu, cuda or cuda:N."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
) -> None:
    """Train the hyperbolic VAE (ELBO + hierarchical triplet loss) and write checkpoints to --out.

    With a dataset that has a split (``hypseg synth``), the 'train' cases are used for training and
    the 'val' cases for validation. Under ``torchrun --nproc_per_node=N`` the same command trains with
    DistributedDataParallel.

    Examples:

        hypseg train data/synth --out runs/gyro --steps 600

        torchrun --nproc_per_node=2 -m hypseg.cli train data/synth --out runs/ddp

        hypseg train data/synth --out runs/gyro --steps 1200 --resume

        hypseg train data/synth --out runs/paper --recipe paper --variant euclidean --device cuda
    """
    from hypseg.config import training_recipe
    from hypseg.config.recipes import clip_note, clip_patch_sides
    from hypseg.data import discover_cases, load_normalised
    from hypseg.io.checkpoint import load_config_file, load_run_config
    from hypseg.training import Trainer

    if resume and config is None:
        run = load_run_config(out)
    else:
        if config is not None and recipe is not None:
            raise UserError("give --config or --recipe, not both")
        run = load_config_file(config) if config is not None else training_recipe(recipe or "cpu", variant=variant)
    model_changes = {"variant": variant} if variant is not None else {}
    train_changes = {k: v for k, v in (("steps", steps), ("seed", seed), ("device", device)) if v is not None}
    run = dataclasses.replace(
        run, model=dataclasses.replace(run.model, **model_changes), train=dataclasses.replace(run.train, **train_changes)
    )
    cases = discover_cases(data)
    training = [c for c in cases if c.split in (None, "train")]
    validation = [c for c in cases if c.split == "val"]
    if not training:
        raise UserError("no training volumes: the data has no cases in its 'train' split")
    volumes = load_normalised(training, config=run.data, progress=progress)
    val_volumes = load_normalised(validation, config=run.data) if validation else None
    clipped = clip_patch_sides(run, [v.shape for v in volumes + (val_volumes or [])])  # normalisation unchanged
    note = clip_note(run, clipped)
    if note:
        typer.echo(note)
    run = clipped
    result = Trainer(run, volumes, run_dir=out, validation=val_volumes, progress=progress).fit(resume=resume)
    typer.echo(f"trained {result.step} steps on {len(volumes)} volumes; model in {result.run_dir}")
