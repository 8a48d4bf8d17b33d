"""The user's Python API, exported from :mod:`hypseg`: read a volume, train or load a model, segment, save.

>>> import hypseg                                                   # doctest: +SKIP
>>> volume = hypseg.load_volume("cell.nii.gz")                      # doctest: +SKIP
>>> model = hypseg.train([volume], out="run")                       # doctest: +SKIP
>>> result = hypseg.segment([volume], model, recipe="default")      # doctest: +SKIP
>>> hypseg.save_labels(result, "seg", like=[volume])                # doctest: +SKIP

A model (:class:`hypseg.inference.TrainedModel`) carries its run config, so its curvature, latent
geometry, patch side and intensity normalisation are never passed by hand.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from hypseg.config import RunConfig, SegmentConfig, check_sides, clip_patch_sides, segment_preset, training_recipe
from hypseg.config.recipes import clip_note
from hypseg.errors import UserError
from hypseg.inference.model_io import TrainedModel, load_model
from hypseg.inference.recipe import RecipeResult
from hypseg.inference.recipe import segment as _segment
from hypseg.io import Volume, full_suffix, load_volume
from hypseg.io import save_labels as _save_label_map

__all__ = ["load_volume", "train", "load_model", "segment", "save_labels"]

VolumeLike = Volume | np.ndarray


def _arrays(volumes: VolumeLike | Sequence[VolumeLike]) -> list[np.ndarray]:
    """The voxel arrays of one volume or a sequence of them (Volumes or 3-D arrays)."""
    if isinstance(volumes, (Volume, np.ndarray)):
        volumes = [volumes]
    arrays = [np.asarray(v.array if isinstance(v, Volume) else v, dtype=np.float32) for v in volumes]
    if not arrays:
        raise UserError("no volumes given")
    return arrays


def train(
    volumes: VolumeLike | Sequence[VolumeLike],
    *,
    out: str | os.PathLike,
    recipe: str | RunConfig = "cpu",
    validation: Sequence[VolumeLike] | None = None,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
) -> TrainedModel:
    """Train a model on ``volumes`` and write its run directory ``out`` (checkpoint, config, log).

    Parameters
    ----------
    volumes : Volume, ndarray (Z, Y, X), or a sequence of them
        Raw intensities; they are normalised as the recipe's ``data`` config says.
    out : path-like
        The run directory (``hypseg segment --model`` reads it).
    recipe : str or RunConfig
        A training recipe's name (:data:`hypseg.config.TRAINING_RECIPES`) or a config.
    validation : sequence, optional
        Volumes for the validation loss.
    progress : bool
        Show a progress bar.
    on_step : callable, optional
        Called with the step's number after every step; an exception it raises stops the training and
        propagates (:class:`hypseg.training.Trainer`).

    Returns
    -------
    TrainedModel
        Its ``set_aside`` names the seeds of runs that collapsed and trained again with another seed.

    Notes
    -----
    A volume smaller than the recipe's largest patch trains with patch sides clipped to its smallest side
    (:func:`hypseg.config.clip_patch_sides`), and a note says so on stderr.
    """
    from hypseg.data import normalise
    from hypseg.training import Trainer

    config = training_recipe(recipe) if isinstance(recipe, str) else recipe
    arrays = _arrays(volumes)
    checked = _arrays(validation) if validation else []
    clipped = clip_patch_sides(config, [a.shape for a in arrays + checked])
    note = clip_note(config, clipped)
    if note:
        print(note, file=sys.stderr)
    train_set = [normalise(a, config=clipped.data) for a in arrays]
    val_set = [normalise(a, config=clipped.data) for a in checked] or None
    result = Trainer(clipped, train_set, run_dir=out, validation=val_set, progress=progress, on_step=on_step).fit()
    return TrainedModel(result.model.eval(), result.config, Path(result.run_dir), result.collapsed,
                        embeds_alike=result.embeds_alike)


def segment(
    volumes: VolumeLike | Sequence[VolumeLike],
    model: TrainedModel,
    *,
    recipe: str | SegmentConfig = "default",
    device: str | None = None,
    progress: bool = False,
) -> RecipeResult:
    """Label maps of every level of ``recipe`` for ``volumes`` (normalised as the model's training volumes).

    Parameters
    ----------
    volumes : Volume, ndarray (Z, Y, X), or a sequence of them
    model : TrainedModel
        From :func:`train` or :func:`load_model`.
    recipe : str or SegmentConfig
        A preset's name (:data:`hypseg.config.SEGMENT_PRESETS`: ``default``, ``paper``) or a config.
    device : str, optional
        Where the encoder runs (``"cpu"``, ``"cuda"``, ``"auto"``); by default, where ``model`` lies.
    progress : bool

    Returns
    -------
    RecipeResult
        ``result.volumes[i].labels[k]``: volume i's label map with k clusters.
    """
    from hypseg.device import resolve_device

    config = segment_preset(recipe) if isinstance(recipe, str) else recipe
    arrays = _arrays(volumes)
    for i, array in enumerate(arrays):  # as hypseg segment: the smallest side a model trains on
        if array.ndim == 3:
            check_sides(array.shape, what=f"volume {i}")
    arrays = [model.normalise(a) for a in arrays]
    device = str(next(model.network.parameters()).device) if device is None else resolve_device(device)
    return _segment(arrays, model, config, device=device, progress=progress)


def save_labels(result: RecipeResult, out: str | os.PathLike, *, like: Volume | Sequence[Volume]) -> list[Path]:
    """Write every label map of ``result`` into the folder ``out``, in the format and geometry of ``like``.

    Volume i's map with k clusters is ``<name>_k<k><suffix>``, where ``<name><suffix>`` is the file
    ``like[i]`` was read from (``volume<i>.nii.gz`` for a volume made in memory).

    Returns
    -------
    list of Path
        The files written.
    """
    like = [like] if isinstance(like, Volume) else list(like)
    if len(like) != len(result.volumes):
        raise UserError(f"got {len(like)} volumes to take the geometry from for {len(result.volumes)} segmented volumes")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (volume, found) in enumerate(zip(like, result.volumes)):
        if volume.path is not None:
            suffix = full_suffix(volume.path)
            name = Path(volume.path).name[: -len(suffix)] if suffix else Path(volume.path).name
        else:
            name, suffix = f"volume{i}", ".nii.gz"
        for k, labels in found.labels.items():
            small = labels.astype(np.uint8 if labels.max() < 256 else np.uint16)
            written.append(_save_label_map(small, like=volume, path=out / f"{name}_k{k}{suffix}"))
    return written
