"""``hypseg train``: train a model on volumes, a synthetic dataset folder or a BraTS root."""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import typer

from hypseg.cli._errors import interrupted_status, user_errors
from hypseg.cli._options import CHANNEL, CHANNEL_AXIS
from hypseg._words import count
from hypseg.errors import UserError


@user_errors
def train(
    data: List[Path] = typer.Argument(..., help="Volume files, folders of volumes, a dataset folder with manifest.json, or a BraTS root."),
    out: Path = typer.Option(..., "--out", "-o", help="Run folder (new or empty) for config.toml, model.pt, log.jsonl and data.json."),
    config: Optional[Path] = typer.Option(None, "--config", help="A TOML file with \\[model], \\[data] and \\[train] tables; missing keys take the CPU recipe's values (default: the CPU recipe)."),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="A named recipe instead of --config: cpu (the default), paper (the authors' released experiment, with the learning rate of --variant; days on a CPU) or smoke."),
    variant: Optional[str] = typer.Option(None, help="hyperbolic-gyro (default), hyperbolic or euclidean."),
    steps: Optional[int] = typer.Option(None, min=1, help="Optimiser steps (overrides the config)."),
    seed: Optional[int] = typer.Option(None, help="Seed of weights, batches and samples."),
    device: Optional[str] = typer.Option(None, help="auto (CUDA where there is one), cpu, cuda or cuda:N (default: the recipe's)."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its last checkpoint, on the same volumes."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    channel: Optional[int] = CHANNEL,
    channel_axis: Optional[int] = CHANNEL_AXIS,
) -> None:
    """Train the hyperbolic VAE (ELBO + hierarchical triplet loss) and write checkpoints to --out.

    With a dataset that has a split (made by hypseg synth), the 'train' cases are used for training and
    the 'val' cases for validation. Under 'torchrun --nproc_per_node=N' the same command trains with
    DistributedDataParallel. A run whose model ends up embedding every voxel alike (it collapsed) is
    moved to --out/collapsed-seed<N>/ and trained again with seed N + 1000, at most twice
    (collapse_retries in the train table of the config).

    Examples:

        hypseg train data/synth --out runs/gyro --steps 600

        torchrun --nproc_per_node=2 -m hypseg.cli train data/synth --out runs/ddp

        hypseg train data/synth --out runs/gyro --steps 1200 --resume

        hypseg train data/synth --out runs/paper --recipe paper --variant euclidean --device cuda
    """
    from hypseg.config import training_recipe
    from hypseg.data import discover_cases
    from hypseg.io.checkpoint import load_run_config

    if resume:
        check_resumable(out)
    if resume and config is None and recipe is None:
        run = load_run_config(out)
    else:
        if config is not None and recipe is not None:
            raise UserError("give --config or --recipe, not both")
        run = read_config(config) if config is not None else training_recipe(recipe or "cpu", variant=variant)
    model_changes = {"variant": variant} if variant is not None else {}
    if device is not None:
        from hypseg.device import resolve_device

        device = resolve_device(device)
    train_changes = {k: v for k, v in (("steps", steps), ("seed", seed), ("device", device)) if v is not None}
    run = dataclasses.replace(
        run, model=dataclasses.replace(run.model, **model_changes), train=dataclasses.replace(run.train, **train_changes)
    )
    held = None
    if resume:  # before any volume is read
        from hypseg.io.checkpoint import load_checkpoint
        from hypseg.training.trainer import check_resumed_config, past_steps

        check_resumed_config(out, run)  # a --config or --recipe must be the run's own
        held = int(load_checkpoint(out)["step"])
        if held > run.train.steps:
            raise past_steps(out, held, run.train.steps)
    else:
        from hypseg.training.trainer import check_fresh_run_folder

        check_fresh_run_folder(out)
    cases = discover_cases(data, channel=channel, channel_axis=channel_axis)
    from hypseg.training.distributed import context_from_env

    first = context_from_env().rank == 0  # under torchrun every rank trains; the first one reports
    for note in folder_notes(data, cases) if first else ():
        typer.echo(note)
    training = [c for c in cases if c.split in (None, "train")]
    validation = [c for c in cases if c.split == "val"]
    if not training:
        raise UserError("no training volumes: the data has no cases in its 'train' split")
    from hypseg.config.recipes import check_sides
    from hypseg.io.read import volume_shape

    for case in training + validation:  # from the headers, before any volume is read
        if case.image.is_file():
            shape = volume_shape(case.image, channel=case.channel, channel_axis=case.channel_axis)
            check_sides(shape, what=f"{case.image}: volume", to="train on")
    try:
        result = _train(run, training, validation, out=out, resume=resume, progress=progress, notes=first)
    except KeyboardInterrupt as stopped:
        if first:  # every rank stops; the first one says so
            print(f"hypseg: {interrupted_note(out, steps=run.train.steps)}", file=sys.stderr)
        raise typer.Exit(code=interrupted_status(stopped)) from None
    if not first:
        return
    if held is not None and held == result.step:
        typer.echo(f"{result.run_dir} already held all {count(held, 'step')}: nothing was trained; pass --steps with more "
                   "to train longer")
    else:
        resumed = held and not result.collapsed  # a run trained again after a collapse started from step 0
        done = f"to step {result.step} ({count(result.step - held, 'step')} in this run)" if resumed else count(result.step, "step")
        typer.echo(f"trained {done} on {count(len(training), 'volume')}; model in {result.run_dir}")
    if result.collapsed:
        one = len(result.collapsed) == 1
        seeds = ", ".join(str(seed) for seed in result.collapsed)
        typer.echo(f"the {'run with seed' if one else 'runs with seeds'} {seeds} collapsed and {'was' if one else 'were'} "
                   f"set aside; the model is seed {result.config.train.seed}'s")


def _train(run, training, validation, *, out: Path, resume: bool, progress: bool, notes: bool = True):
    """Load (or pack) the cases' normalised volumes and train ``run`` into ``out``: the Trainer's result."""
    from hypseg.config.recipes import check_sides, clip_note, clip_patch_sides
    from hypseg.data import load_normalised, pack_normalised
    from hypseg.training import Trainer

    with contextlib.ExitStack() as stack:
        if streamed(training + validation):  # larger than memory: patches are read from a normalised file
            Path(out).parent.mkdir(parents=True, exist_ok=True)  # (inside the run folder for --out .: a hidden entry)
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=".hypseg-volumes-", dir=Path(out).parent)))
            volumes = pack_normalised(training, config=run.data, path=scratch / "train.npy", progress=progress)
            val_volumes = pack_normalised(validation, config=run.data, path=scratch / "val.npy") if validation else None
        else:
            volumes = load_normalised(training, config=run.data, progress=progress)
            val_volumes = load_normalised(validation, config=run.data) if validation else None
        for case, volume in zip(training + validation, list(volumes) + list(val_volumes or [])):
            check_sides(volume.shape, what=f"{case.image}: volume", to="train on")  # the rule clip_patch_sides applies, named
        clipped = clip_patch_sides(run, [v.shape for v in list(volumes) + list(val_volumes or [])])  # normalisation unchanged
        note = clip_note(run, clipped)
        if note and notes:
            typer.echo(note)
        run = clipped
        return Trainer(run, volumes, run_dir=out, validation=val_volumes, progress=progress).fit(resume=resume)


def check_resumable(out: Path) -> None:
    """Refuse ``--resume`` where ``out`` holds no run with a checkpoint, saying how to start one."""
    from hypseg.io.checkpoint import WEIGHTS_NAME, load_run_config

    try:
        load_run_config(out)
        if not (Path(out) / WEIGHTS_NAME).is_file():
            raise FileNotFoundError(f"{Path(out)} holds no checkpoint: {WEIGHTS_NAME} is missing")
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{err}; drop --resume to start a new run") from None


#: Words that name a label map, whole between separators (``cell_seg``, ``sub-01_dseg``, ``nuclei_gt``)
_LABEL_WORDS = {"label", "labels", "labelled", "labeled", "seg", "dseg", "segmentation", "segmentations", "mask", "masks",
                "gt", "truth", "groundtruth", "annotation", "annotations"}


def looks_like_labels(name: str) -> bool:
    """Whether a file's name (without its suffix) says label map: a word of :data:`_LABEL_WORDS` between separators, or
    hypseg's own label maps' endings (``_k4``, ``_object``; a camera's ``_K2`` is not one).

    >>> [looks_like_labels(n) for n in ("cell_seg", "sub-01_dseg", "nuclei_gt", "tomo_k4", "cell_object")]
    [True, True, True, True, True]
    >>> [looks_like_labels(n) for n in ("unlabeled_cells", "masked_tomo", "raw_K2", "truthful", "segment3")]
    [False, False, False, False, False]
    """
    words = {word for word in re.split(r"[_\-.\s]+", name.lower()) if word}
    return bool(words & _LABEL_WORDS) or re.search(r"_(k\d+|object)$", name) is not None


def folder_notes(data: Sequence[Path], cases) -> list[str]:
    """For every plain folder among ``data`` (not a dataset with a manifest, not BraTS): the volumes training takes
    from it, and a note on those whose names say label map, which a folder's every readable file would include."""
    if any(c.split is not None or c.truth for c in cases):  # a dataset or BraTS: its cases are named by it
        return []
    notes = []
    for folder in (Path(d) for d in data):
        if not folder.is_dir():
            continue
        found = [c.name for c in cases if c.image.parent == folder]
        if not found:
            continue
        shown = ", ".join(found[:6]) + (f" and {len(found) - 6} more" if len(found) > 6 else "")
        notes.append(f"{folder}: training on {count(len(found), 'volume')} found there: {shown}")
        labels = [name for name in found if looks_like_labels(name)]
        if labels:
            notes.append(f"note: {', '.join(labels[:6])}{' and more' if len(labels) > 6 else ''} may be label maps, which "
                         "a model should not learn from; to leave them out, give the volumes by name")
    return notes


def interrupted_note(out: Path, *, steps: int) -> str:
    """What an interrupted ``hypseg train`` leaves in ``out``: the step its checkpoint holds and how to go on."""
    from hypseg.io.checkpoint import load_checkpoint, set_aside_runs

    try:
        step = int(load_checkpoint(out)["step"])
    except FileNotFoundError:
        aside = set_aside_runs(out)  # a retry after a collapse, interrupted: the collapsed runs stay where they were put
        kept = f" beside the collapsed {'run' if len(aside) == 1 else 'runs'} in {', '.join(p.name for p in aside)}/" if aside else ""
        return (f"interrupted before the first checkpoint; nothing of this run was saved in {Path(out)}/{kept}; "
                "run the same command to start again")
    return f"interrupted; {Path(out)}/ holds step {step} of {steps}; run the same command with --resume to continue"


def read_config(path: Path):
    """The run config of ``--config PATH``: the file's keys over the CPU recipe, the command's default, so
    that a file of a few keys changes only those (a run's whole ``config.toml`` is itself)."""
    from hypseg.config import cpu_recipe
    from hypseg.io.checkpoint import load_config_file

    return load_config_file(path, defaults=cpu_recipe())


#: Training volumes of more voxels than this together are streamed from a normalised file, not loaded.
STREAM_VOXELS = 1 << 26


def streamed(cases) -> bool:
    """Whether ``hypseg train`` streams these cases' patches from disk: more than :data:`STREAM_VOXELS`
    voxels together (256 MB of float32), none masked."""
    from hypseg.io.read import volume_shape

    if any(case.mask_rule != "none" for case in cases):
        return False
    shapes = [volume_shape(case.image, channel=case.channel, channel_axis=case.channel_axis) for case in cases]
    return sum(int(np.prod(shape)) for shape in shapes) > STREAM_VOXELS
