"""The widget's work, without Qt: check an image, train a model into a folder that appears only when
complete, and segment an image into label maps with the embedding of each level.

:mod:`hypseg.napari._widget` runs :func:`train_model` and :func:`segment_image` in a worker thread; the
tests call them directly too. Both go through the Python API (:mod:`hypseg.api`), as the command line
does.

Where glibc's malloc would keep freed memory (:func:`hypseg._malloc.can_keep_freed_memory`), the worker thread hands
the segmentation of an image of at least :data:`PROCESS_MIN_VOXELS` voxels to a process of its own
(:func:`segment_in_process`), which runs it on its main thread: a thread's glibc arena maps and unmaps every block
above its 64 MiB heaps, the encoder's activations on a tile among them, and so segmented on napari's worker thread a
volume takes longer, its pages faulted in again and again (``benchmarks/results/plugin_process.md``). Training stays
on the thread, where its steps report to the progress bar and its cancel button acts (it loses no time there).
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, NamedTuple

import numpy as np

from hypseg.errors import UserError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from hypseg.config import SegmentConfig
    from hypseg.inference import TrainedModel


#: the fewest voxels an image has for the widget to segment it in a process of its own: below, starting the process
#: took longer than the worker thread loses, on the 2-core machine it was measured on (``benchmarks/results/plugin_process.md``)
PROCESS_MIN_VOXELS = 128 ** 3

#: the errors a user can fix, shown as one line (everything else is a bug and keeps its traceback)
USER_ERRORS = (UserError, FileNotFoundError, FileExistsError, NotADirectoryError)


class ImageSegmentation(NamedTuple):
    """The label maps of one image and, per level, the embedding its clusters were found in.

    Attributes
    ----------
    labels : dict of int to ndarray (Z, Y, X)
        k -> the label map with k clusters (uint8, or uint16 beyond 255 clusters).
    embeddings : dict of int to ndarray (Z, Y, X, d)
        k -> that level's per-voxel embedding on the model's ball (its first patch side's, where a
        level clusters several on a product of balls).
    outside : bool
        Label 0 is the outside of the level-1 object (containment), not a cluster of its own.
    curvature : float
        c of the model's ball (curvature -c).
    hyperbolic : bool
        Whether the embedding lies on the Poincaré ball (else in R^d).
    collapsed : bool
        The model embeds every voxel alike (:attr:`hypseg.inference.recipe.RecipeResult.embeds_alike`): the
        label maps say nothing.
    no_field : bool
        Containment found no object in a field of view (:attr:`hypseg.inference.recipe.VolumeSegmentation.no_field`):
        the object is merely the level-1 cluster on fewer of the image's faces.
    retried : bool
        Level 1's object is its second try's (:attr:`hypseg.inference.recipe.VolumeSegmentation.retried`): its first
        two clusters lay across the whole field of view.
    contrast : bool
        Level 1's object is the rarer part of its local contrast (:attr:`hypseg.inference.recipe.VolumeSegmentation.contrast`):
        no try found an object in a field of view.
    specimen : bool
        Its finer levels divided the specimen around that object (``SegmentConfig.contrast_divides``): their label 0 is
        a cluster of the specimen, not the outside (:func:`hypseg.napari._layers.zero_is_outside`).
    """

    labels: dict[int, np.ndarray]
    embeddings: dict[int, np.ndarray]
    outside: bool
    curvature: float
    hyperbolic: bool
    collapsed: bool = False
    no_field: bool = False
    retried: bool = False
    contrast: bool = False
    specimen: bool = False


def preload() -> None:
    """Import, in the calling (GUI) thread, what training and segmenting would import on first use.

    Building a model loads geoopt, and building its optimiser loads torch's compiler stack (sympy
    among it): hundreds of modules. Imported from a worker thread, they would hold the import lock and
    the GIL in long stretches and stall the viewer; a tiny model and optimiser built here leave
    nothing for the worker to import.
    """
    import hypseg.api  # noqa: F401
    from hypseg.config import smoke_recipe
    from hypseg.models import HVAE
    from hypseg.training.optim import build_optimiser

    run = smoke_recipe()
    build_optimiser(HVAE(run.model).parameters(), run.train)


def check_image(data, *, name: str, rgb: bool = False):
    """An image layer's full-resolution data, still as the layer holds it (it may be a dask or Zarr array), after
    the checks that need only its shape; a one-line error for anything but a single-channel 3-D volume.

    ``data`` may be a napari layer's array, dask array or multiscale list (its full-resolution level);
    ``rgb`` is the layer's flag: its last axis holds colours, not voxels. Every side must be at least
    :data:`hypseg.config.MIN_PATCH_SIDE` voxels, as :func:`hypseg.segment` asks. Nothing is read, so the GUI
    thread can call it; :func:`image_array` reads the voxels, in the worker.

    >>> check_image(np.zeros((30, 30, 3)), name="photo", rgb=True)
    Traceback (most recent call last):
    ...
    hypseg.errors.UserError: image layer 'photo' is an RGB image; hypseg segments single-channel 3-D volumes (Z, Y, X)
    """
    from hypseg.config import check_sides

    if rgb:
        raise UserError(f"image layer {name!r} is an RGB image; hypseg segments single-channel 3-D volumes (Z, Y, X)")
    if isinstance(data, (list, tuple)):  # multiscale: the full resolution
        data = data[0]
    shape = tuple(getattr(data, "shape", ()))
    if len(shape) != 3:
        raise UserError(f"image layer {name!r} has shape {shape}; hypseg segments single-channel 3-D volumes (Z, Y, X)")
    check_sides(shape, what=f"image layer {name!r}", to="train or segment")
    return data


def image_array(data, *, name: str) -> np.ndarray:
    """The voxels of a layer's checked data (:func:`check_image`) as a float32 (Z, Y, X) array; a one-line error
    if any is NaN or Inf or all are equal. Reading a dask or Zarr layer can take long: call it in the worker."""
    array = np.asarray(data, dtype=np.float32)
    if not np.all(np.isfinite(array)):
        raise UserError(f"image layer {name!r} contains NaN or Inf values")
    if array.min() == array.max():
        raise UserError(f"image layer {name!r} is constant; there is nothing to learn or segment")
    return array


def parse_clusters(text: str) -> list[int]:
    """The cluster counts typed into the widget: whole numbers of at least 2, separated by spaces or commas.

    >>> parse_clusters("2, 4 8")
    [2, 4, 8]
    """
    words = [w for w in re.split(r"[,\s]+", text.strip()) if w]
    if not words or not all(w.isdigit() for w in words):
        raise UserError(f"cluster counts must be whole numbers like '2 4 8', got {text!r}")
    ks = sorted({int(w) for w in words})
    if ks[0] < 2:
        raise UserError(f"every cluster count must be at least 2, got {text!r}")
    return ks


def segment_config(preset: str, clusters: list[int], *, own_patch_side: bool = False) -> "SegmentConfig":
    """The segmentation preset ``preset`` at these cluster counts (:meth:`SegmentConfig.with_clusters`);
    ``own_patch_side`` embeds every level at the model's own patch side (as ``hypseg demo --quick``
    does), for a model whose side divides none of the preset's."""
    from hypseg.config import segment_preset

    config = segment_preset(preset).with_clusters(clusters)
    return config.at_model_side() if own_patch_side else config


class ImageTraining(NamedTuple):
    """A model trained on one image, and whether it collapsed.

    Attributes
    ----------
    model : TrainedModel
        The model, with ``run_dir`` the folder it was asked for; ``model.set_aside`` names the runs that
        collapsed and were set aside before it (:meth:`hypseg.training.Trainer.fit`).
    """

    model: "TrainedModel"

    @property
    def collapsed(self) -> bool:
        """Every run collapsed: the kept model embeds every voxel alike and its label maps will say nothing."""
        return self.model.embeds_alike

    @property
    def aside(self) -> tuple[int, ...]:
        """The seeds of the runs set aside before the model."""
        return self.model.set_aside

    def note(self) -> str:
        """"" or what the widget's status line adds after training: which runs collapsed, whose seed the model is."""
        if self.collapsed:
            tries = f"all {len(self.aside) + 1} training runs" if self.aside else "training"
            return f"; but {tries} collapsed (every voxel embedded alike): its label maps will say nothing"
        if not self.aside:
            return ""
        runs = "run" if len(self.aside) == 1 else "runs"
        return (f"; the {runs} with seed {', '.join(map(str, self.aside))} collapsed (every voxel embedded alike) and "
                f"trained again: the model is seed {self.model.config.train.seed}'s")


def train_model(
    image: np.ndarray,
    *,
    out: str | os.PathLike,
    recipe: str = "cpu",
    steps: int | None = None,
    on_step: Callable[[int], None] | None = None,
) -> ImageTraining:
    """Train a model on one image into the new folder ``out``, which appears only when training completes.

    The run is written into a hidden sibling of ``out`` and renamed at the end; an error, or an
    exception raised by ``on_step`` (the widget's cancel button), removes it, so a cancelled training
    leaves no model folder behind. Whether every run collapsed comes with the model
    (:attr:`hypseg.inference.TrainedModel.embeds_alike`) for the widget to show; nothing here catches warnings,
    which a worker thread could not do without swapping the process-wide ``warnings`` state.

    Parameters
    ----------
    image : ndarray (Z, Y, X)
    out : path-like
        A folder that does not exist yet, in a folder that does.
    recipe : str
        A training recipe (:data:`hypseg.config.TRAINING_RECIPES`).
    steps : int, optional
        Train this many steps instead of the recipe's.
    on_step : callable, optional
        Called with each completed step's number, in the training thread.

    Returns
    -------
    ImageTraining
        The model, with ``run_dir`` = ``out``, and the runs that collapsed.
    """
    from hypseg.api import train
    from hypseg.config import training_recipe
    from hypseg.io import atomic_path

    out = Path(out)
    if out.exists():
        raise UserError(f"{out}: already exists; choose a new folder for the model")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent}: no such folder to create the model folder {out.name} in")
    config = training_recipe(recipe)
    if steps is not None:
        config = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=int(steps)))
    with atomic_path(out) as tmp:
        model = train([image], out=tmp, recipe=config, progress=False, on_step=on_step)
    return ImageTraining(dataclasses.replace(model, run_dir=out))


def segment_image(image: np.ndarray, model: "TrainedModel", config: "SegmentConfig") -> ImageSegmentation:
    """Segment one image with ``model`` as ``config`` says (:func:`hypseg.segment`)."""
    from hypseg.api import segment

    result = segment([image], model, recipe=config)
    found = result.volumes[0]
    d = model.config.model.latent_dim
    labels = {k: m.astype(np.uint8 if m.max() < 256 else np.uint16) for k, m in found.labels.items()}
    embeddings = {level.clusters: result.embeddings[level.patch_sides][0][..., :d] for level in result.config.levels}
    return ImageSegmentation(labels, embeddings, found.object is not None, model.curvature, model.hyperbolic,
                             result.embeds_alike[0], found.no_field, found.retried, found.contrast, found.specimen)


def segments_in_process(voxels: int) -> bool:
    """Whether the widget segments an image of ``voxels`` voxels in a process of its own (:func:`segment_in_process`):
    where its main thread would keep freed memory (:func:`hypseg._malloc.can_keep_freed_memory`), this is a Python
    that can start another (not a frozen application), and the image has at least :data:`PROCESS_MIN_VOXELS` voxels."""
    from hypseg._malloc import can_keep_freed_memory

    return (voxels >= PROCESS_MIN_VOXELS and can_keep_freed_memory() and bool(sys.executable)
            and not getattr(sys, "frozen", False))


def _child_command() -> list[str]:
    """The command that starts :mod:`hypseg.napari._segment_process`, with this Python; without the current folder
    first on its module path where the Python allows (3.11: ``-P``), as napari's own process has it."""
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *safe_path, "-m", "hypseg.napari._segment_process"]


class SegmentationCancelled(Exception):
    """Raised by :func:`segment_in_process` once its ``cancel`` event is set: the process was ended, nothing segmented."""


def _kill_when(cancel, child: subprocess.Popen, done) -> None:
    """Kill ``child`` as soon as ``cancel`` is set (checked every tenth of a second), unless ``done`` is set first."""
    while not done.wait(0.1):
        if cancel.is_set():
            child.kill()
            return


def segment_in_process(image: np.ndarray, model: "TrainedModel", config: "SegmentConfig", *,
                       cancel=None) -> ImageSegmentation:
    """:func:`segment_image`, run on the main thread of a new Python process; on this thread where none starts.

    The process says it is ready once it has imported hypseg; the image, the model (its weights as they are in memory,
    on its device), the config and this process's torch thread count then go through its standard input, and the
    result, or the error a user can fix (raised here again), comes back through its standard output with the warnings
    the segmentation raised (warned here again, so that napari shows them); nothing is written to disk. A bug there
    keeps its traceback on standard error and is raised here as a :class:`RuntimeError`. Where the process cannot start
    or ends before it is ready (a Python without hypseg, say), this warns and segments on the calling thread instead.
    The process runs in a session of its own, so the terminal's Ctrl+C reaches napari and not it; it ends by itself
    when this process ends (its standard input closes). Setting ``cancel`` (a :class:`threading.Event`) from another
    thread kills the process within a tenth of a second, whatever it is doing, and this raises
    :class:`SegmentationCancelled` unless the whole answer had already come back.
    """
    import contextlib
    import signal
    import threading
    import warnings

    import torch

    from hypseg.napari._segment_process import READY

    cancelled = cancel.is_set if cancel is not None else lambda: False
    if cancelled():
        raise SegmentationCancelled
    try:
        child = subprocess.Popen(_child_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
    except OSError as err:
        return _on_this_thread(image, model, config, f"{type(err).__name__}: {err}")
    done = threading.Event()
    if cancel is not None:
        threading.Thread(target=_kill_when, args=(cancel, child, done), daemon=True).start()
    status, value, caught = "failed", None, []
    try:
        ready = child.stdout.read(len(READY))
        if cancelled():
            raise SegmentationCancelled
        if ready != READY:
            return _on_this_thread(image, model, config, f"it ended with exit status {child.wait()} before it was ready")
        with contextlib.suppress(BrokenPipeError, EOFError, pickle.UnpicklingError):  # it ended without a whole answer
            pickle.dump((np.ascontiguousarray(image), model, config, torch.get_num_threads()), child.stdin,
                        protocol=pickle.HIGHEST_PROTOCOL)
            child.stdin.flush()
            status, value, caught = pickle.load(child.stdout)
        code = child.wait()
    finally:
        done.set()
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        with contextlib.suppress(BrokenPipeError):  # its end closed before the job was written whole
            child.stdin.close()
    shown: dict = {}  # the registry of this call: a filter's "default" shows each place's warning once, as on a thread
    for message, category, filename, lineno in caught:
        warnings.warn_explicit(message, category, filename, lineno, registry=shown)
    if status == "done":
        return value
    if status == "error":
        raise value
    if cancelled():
        raise SegmentationCancelled
    if code < 0:
        raise RuntimeError(f"the segmentation process was killed by signal {signal.Signals(-code).name}"
                           f"{' (out of memory?)' if -code == signal.SIGKILL else ''}")
    raise RuntimeError(f"the segmentation process failed (exit status {code}); its traceback is above on standard error")


def _on_this_thread(image: np.ndarray, model: "TrainedModel", config: "SegmentConfig", reason: str) -> ImageSegmentation:
    """:func:`segment_image` on the calling thread, after a warning that no process could segment it (``reason``)."""
    import warnings

    warnings.warn(f"hypseg could not segment in a process of its own ({reason}); segmenting on this thread instead",
                  RuntimeWarning, stacklevel=3)
    return segment_image(image, model, config)
