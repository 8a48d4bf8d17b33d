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

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from hypseg.config import RunConfig, SegmentConfig, check_sides, clip_patch_sides, segment_preset, training_recipe
from hypseg.config.recipes import clip_note
from hypseg._words import count
from hypseg.errors import UserError, named
from hypseg.inference import model_io
from hypseg.inference.model_io import TrainedModel
from hypseg.inference.recipe import RecipeResult
from hypseg.inference.recipe import segment as _segment
from hypseg.io import Volume, file_stem, full_suffix, load_volume
from hypseg.io import save_labels as _save_label_map

__all__ = ["load_volume", "train", "load_model", "segment", "save_labels"]

VolumeLike = Volume | np.ndarray


def _arrays(volumes: VolumeLike | Sequence[VolumeLike], *, what: str = "volume") -> list[np.ndarray]:
    """The voxel arrays of one volume or a sequence of them (Volumes or 3-D arrays); ``what`` names them in errors."""
    if isinstance(volumes, (Volume, np.ndarray)):
        volumes = [volumes]
    given = [v.array if isinstance(v, Volume) else v for v in volumes]
    for i, array in enumerate(given):
        if np.iscomplexobj(array):  # float32 would drop the imaginary part
            raise UserError(f"{what} {i} is complex; give a real volume (e.g. its magnitude, numpy.abs)")
    arrays = [np.asarray(v, dtype=np.float32) for v in given]
    if not arrays:
        raise UserError(f"no {what}s given")
    for i, array in enumerate(arrays):
        bad = int(array.size - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise UserError(f"{what} {i} contains {count(bad, 'NaN or Inf voxel')}")
    return arrays


def _check_3d(arrays: Sequence[np.ndarray], *, what: str = "volume") -> None:
    for i, array in enumerate(arrays):
        if array.ndim != 3:
            raise UserError(f"{what} {i} must be 3-D (Z, Y, X), got shape {tuple(array.shape)}")


def train(
    volumes: VolumeLike | Sequence[VolumeLike],
    *,
    out: str | os.PathLike,
    recipe: str | RunConfig | None = None,
    validation: Sequence[VolumeLike] | None = None,
    progress: bool = True,
    on_step: Callable[[int], None] | None = None,
    resume: bool = False,
    steps: int | None = None,
) -> TrainedModel:
    """Train a model on ``volumes`` and write its run directory ``out`` (checkpoint, config, log).

    Parameters
    ----------
    volumes : Volume, ndarray (Z, Y, X), or a sequence of them
        Raw intensities; they are normalised as the recipe's ``data`` config says.
    out : path-like
        The run directory (``hypseg segment --model`` reads it).
    recipe : str or RunConfig, optional
        A training recipe's name (:data:`hypseg.config.TRAINING_RECIPES`) or a config; by default ``"cpu"``, or,
        with ``resume``, the run's own ``config.toml``.
    validation : sequence, optional
        Volumes for the validation loss.
    progress : bool
        Show a progress bar.
    on_step : callable, optional
        Called with the step's number after every step; an exception it raises stops the training and
        propagates (:class:`hypseg.training.Trainer`).
    resume : bool
        Continue the run in ``out`` from its last checkpoint, as ``hypseg train --resume``: the same volumes and
        recipe, whose steps may be more.
    steps : int, optional
        Train to this many steps instead of the recipe's (with ``resume``, to train a finished run longer).

    Returns
    -------
    TrainedModel
        Its ``set_aside`` names the seeds of runs that collapsed and trained again with another seed.

    Notes
    -----
    A volume smaller than the recipe's largest patch trains with patch sides clipped to its smallest side
    (:func:`hypseg.config.clip_patch_sides`), and a note says so on stderr.

    As the command line, it first lets the process keep the memory it frees (up to 1 GiB;
    :func:`hypseg._malloc.keep_freed_memory`, ``HYPSEG_SYSTEM_MALLOC=1`` opts out).
    """
    from hypseg._malloc import keep_freed_memory
    from hypseg.data import normalise
    from hypseg.training import Trainer

    keep_freed_memory()

    if recipe is None:
        from hypseg.io.checkpoint import load_run_config

        recipe = load_run_config(out) if resume else "cpu"
    config = training_recipe(recipe) if isinstance(recipe, str) else recipe
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise UserError(f"steps must be a whole number of at least 1, got {steps!r}")
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=int(steps)))
    arrays = _arrays(volumes)
    checked = _arrays(validation, what="validation volume") if validation else []
    _check_3d(arrays)
    _check_3d(checked, what="validation volume")
    clipped = clip_patch_sides(config, [a.shape for a in arrays + checked])
    train_set = _normalised(arrays, lambda a: normalise(a, config=clipped.data))
    val_set = _normalised(checked, lambda a: normalise(a, config=clipped.data), what="validation volume") or None
    note = clip_note(config, clipped)  # once the volumes are known to train
    if note:
        print(note, file=sys.stderr)
    result = Trainer(clipped, train_set, run_dir=out, validation=val_set, progress=progress, on_step=on_step).fit(resume=resume)
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
        A preset's name (:data:`hypseg.config.SEGMENT_PRESETS`: ``default``, ``paper``; k = 2, 4, 8) or a config, e.g.
        other cluster counts, ``segment_preset("default").with_clusters([2, 3])`` (``from hypseg.config import
        segment_preset``; ``hypseg segment -k 2 -k 3``), or another patch side, ``.at_patch_sides([5])`` (``-p 5``).
    device : str, optional
        Where the encoder runs (``"cpu"``, ``"cuda"``, ``"auto"``); by default, where ``model`` lies.
    progress : bool
        Show progress bars on stderr (over the volumes, each patch side's tiles, and supervoxels and clustering).

    Returns
    -------
    RecipeResult
        ``result.volumes[i].labels[k]``: volume i's label map with k clusters.

    Notes
    -----
    As the command line, it first lets the process keep the memory it frees (up to 1 GiB;
    :func:`hypseg._malloc.keep_freed_memory`, ``HYPSEG_SYSTEM_MALLOC=1`` opts out).
    """
    from hypseg._malloc import keep_freed_memory
    from hypseg.device import resolve_device

    keep_freed_memory()

    if not isinstance(model, TrainedModel):
        hint = " (a run folder's path: hypseg.load_model(path))" if isinstance(model, (str, os.PathLike)) else ""
        raise UserError(f"model must be a trained model from hypseg.train or hypseg.load_model{hint}, got "
                        f"{type(model).__name__}")
    config = segment_preset(recipe) if isinstance(recipe, str) else recipe
    arrays = _arrays(volumes)
    _check_3d(arrays)
    for i, array in enumerate(arrays):  # as hypseg segment: with the smallest side a model trains on
        check_sides(array.shape, what=f"volume {i}")
    digests = tuple(volume_digest(array) for array in arrays)
    arrays = _normalised(arrays, model.normalise)
    device = str(next(model.network.parameters()).device) if device is None else resolve_device(device)
    return _segment(arrays, model, config, device=device, progress=progress)._replace(digests=digests)


#: how many evenly spaced slices of a volume :func:`volume_digest` reads
DIGEST_SLICES = 5


def volume_digest(array) -> str:
    """A digest of a volume's shape and of :data:`DIGEST_SLICES` evenly spaced slices along its first axis, as float32:
    cheap on a volume of any size (also a lazy one), and different, in practice, for two different volumes. It tells
    :func:`save_labels` whether the volume it takes the geometry from is the one segmented at that place."""
    import hashlib

    shape = tuple(int(n) for n in array.shape)
    digest = hashlib.blake2b(repr(shape).encode(), digest_size=16)
    for z in sorted({int(round(z)) for z in np.linspace(0, shape[0] - 1, DIGEST_SLICES)}):
        digest.update(np.ascontiguousarray(np.asarray(array[z], dtype=np.float32)).tobytes())
    return digest.hexdigest()


def load_model(run_dir: str | os.PathLike, *, device: str = "cpu") -> TrainedModel:
    """The trained model of a run folder (``hypseg train --out``), in eval mode, on ``device``: ``"cpu"``,
    ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA where there is one). A model whose training did not finish loads
    with an :class:`~hypseg.inference.model_io.UnfinishedTrainingWarning`."""
    from hypseg.device import resolve_device

    device = resolve_device(str(device))  # an unknown or absent device is said as such, not as a corrupt checkpoint
    return model_io.load_model(run_dir, device=device)


def _normalised(arrays: Sequence[np.ndarray], normalise, *, what: str = "volume") -> list[np.ndarray]:
    """``normalise(a)`` of every array, a failure naming it by its place (``volume 2``), as a file's would name it."""
    out = []
    for i, array in enumerate(arrays):
        with named(f"{what} {i}"):
            out.append(normalise(array))
    return out


def save_labels(result: RecipeResult, out: str | os.PathLike, *, like: Volume | Sequence[Volume],
                overwrite: bool = False, save_embedding: bool = True) -> list[Path]:
    """Write ``result`` as the segmentation folder ``out``, the one ``hypseg segment`` writes, so that napari,
    ``hypseg plot`` and ``hypseg evaluate`` open it: label maps in the format and geometry of ``like``, the level-1
    object (with containment), the finest level's embedding (unless ``save_embedding`` is False, as
    ``hypseg segment --no-embedding``) and ``segmentation.json``.

    Volume i's map with k clusters is ``<name>_k<k><suffix>``, where ``<name><suffix>`` is the file
    ``like[i]`` was read from. A volume made in memory (a :class:`~hypseg.io.Volume` without a file, or an array,
    taken at a voxel size of 1) is ``volume<i>`` and is saved beside its maps as
    ``volume<i>.nii.gz`` (the folder names its image). The folder is written under a temporary name and
    renamed when complete; an existing ``out`` is replaced only with ``overwrite``, and only if it is a segmentation
    folder hypseg wrote (with everything in it).

    Returns
    -------
    list of Path
        The label maps written (in ``out``), volume by volume and level by level.
    """
    from hypseg.inference.pipeline import (MANIFEST, case_entry, case_files, check_output, manifest_header,
                                           output_folder)
    from hypseg.io import save_volume

    if not isinstance(result, RecipeResult):
        raise UserError(f"result must be what hypseg.segment returned, got {type(result).__name__}")
    if like is None or isinstance(like, (str, os.PathLike)):
        raise UserError("like: give the volumes hypseg.segment was given, in its order (their geometry and file names "
                        f"name the maps), got {type(like).__name__}")
    like = [like] if isinstance(like, (Volume, np.ndarray)) else list(like)
    for i, volume in enumerate(like):
        if not isinstance(volume, (Volume, np.ndarray)):
            raise UserError(f"like[{i}] is a {type(volume).__name__}; give a volume (hypseg.load_volume(path)) or an array")
    like = [v if isinstance(v, Volume) else Volume.from_array(v) for v in like]
    if len(like) != len(result.volumes):
        raise UserError(f"got {count(len(like), 'volume')} to take the geometry from for {count(len(result.volumes), 'segmented volume')}")
    named = []
    for i, volume in enumerate(like):
        if volume.path is not None:
            named.append((file_stem(Path(volume.path)), full_suffix(volume.path)))
        else:
            named.append((f"volume{i}", ".nii.gz"))
    for i, (volume, found) in enumerate(zip(like, result.volumes)):
        shape = next(iter(found.labels.values())).shape
        if tuple(volume.shape) != tuple(shape):
            what = volume.path if volume.path is not None else f"volume {i} of like"
            raise UserError(f"{what} has shape {tuple(volume.shape)}, but volume {i} was segmented at {tuple(shape)}")
    if len(result.digests) == len(result.volumes):  # each map goes with its own volume's geometry and name
        given = [volume_digest(v.array) for v in like]
        for i, digest in enumerate(given):
            if digest != result.digests[i]:
                what = f"like[{i}]" + (f" ({like[i].path})" if like[i].path is not None else "")
                where = (f"; it is segmented volume {result.digests.index(digest)}: give like in the order of the "
                         "volumes segmented" if digest in result.digests else "")
                raise UserError(f"{what} is not the volume segmented as volume {i} (its voxels differ){where}; to save the "
                                "maps of a processed copy in its original's geometry, give dataclasses.replace(original, "
                                "array=copy)")
    names = [name for name, _ in named]
    if len(set(names)) < len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise UserError(f"two volumes are named {twice}: their outputs would overwrite each other; save them into different folders")
    out = Path(out)
    kept = [Path(v.path) for v in like if v.path is not None] + ([Path(result.model_dir)] if result.model_dir else [])
    check_output(out, overwrite=overwrite, keep=kept, options=("overwrite=True", "folder"))
    finest = result.config.levels[-1].patch_sides
    manifest, written = manifest_header(result.model_dir, result.config), []
    with output_folder(out) as tmp:
        for i, (volume, found, (name, suffix)) in enumerate(zip(like, result.volumes, named)):
            files = case_files(name, suffix, result.config, found.object is not None, embedding=save_embedding)
            for k, labels in found.labels.items():
                small = labels.astype(np.uint8 if labels.max() < 256 else np.uint16)
                _save_label_map(small, like=volume, path=tmp / files["labels"][str(k)])
                written.append(out / files["labels"][str(k)])
            if found.object is not None:
                _save_label_map(found.object.astype(np.uint8), like=volume, path=tmp / files["object"])
            if save_embedding:
                np.save(tmp / files["embedding"], result.embeddings[finest][i])
            if volume.path is not None:
                image = str(Path(volume.path).resolve())
            else:  # the folder keeps the image it names
                image = f"{name}.nii.gz"
                save_volume(volume, tmp / image)
            read_as = {key: volume.metadata[key] for key in ("channel", "channel_axis")
                       if volume.path is not None and key in volume.metadata}  # how a 4-D file was read
            manifest["cases"].append(case_entry(name, image, files, found, read_as=read_as))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return written
