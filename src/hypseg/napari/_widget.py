"""The dock widget ``Plugins > Segment (hypseg)``: train or pick a model, segment the current image,
get one labels layer per level back and see the embedding on the Poincaré disk.

Training and segmenting run in a worker thread (:func:`superqt.utils.create_worker`, which napari's
own workers build on), so the viewer stays responsive; training reports every step to a progress bar through a queued Qt signal,
and its cancel button stops it after the running step, leaving no model folder behind
(:func:`hypseg.napari._jobs.train_model`). Where glibc's malloc runs, the worker hands the segmentation of a large image
to a process of its own, whose main thread keeps the memory it frees (:func:`hypseg.napari._jobs.segments_in_process`);
its cancel button ends that process, adding no layer. The labels layers ``k=2``, ``k=4``, ... take the image
layer's scale, translation, rotation, shear and affine (and its units and axis labels, napari >= 0.5); they
replace the labels layers that the previous run on that image added, and layers of their names. Errors a
user can fix (a bad cluster count, a missing model folder, an image that is not a single-channel volume) are shown as one line in the widget and as a napari notification; progress and results
as a line in the widget.

The widget takes any napari viewer model (:class:`napari.components.ViewerModel` in the tests, a
:class:`napari.Viewer` in the application).
"""

from __future__ import annotations

import itertools
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, LineEdit, ProgressBar, PushButton, SpinBox
from qtpy.QtCore import QObject, Qt, Signal
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import QLabel
from superqt.utils import create_worker

from hypseg._words import CONTRAST_NOTE, RETRIED_NOTE, count
from hypseg.errors import UserError
from hypseg.napari._jobs import (USER_ERRORS, ImageSegmentation, SegmentationCancelled, check_image, image_array,
                                 parse_clusters, preload, segment_config, segment_image, segment_in_process,
                                 segments_in_process, train_model)
from hypseg.napari._layers import labels_colormap, zero_is_outside

#: points drawn on the Poincaré disk (a uniform subsample of the voxels)
DISK_POINTS = 4000
#: width of the disk picture in the widget, in pixels
DISK_WIDTH = 360
#: The labels layers' metadata key naming the image layer (its ``unique_id``) whose run wrote them: a new run of
#: that image replaces them, unless the user renamed them to keep.
RUN_OF = "hypseg_run_of"
#: The labels layers' metadata key holding the name the widget gave the layer: a layer that no longer bears it
#: was renamed by the user, and is theirs.
GIVEN_NAME = "hypseg_name"


def _free_name(candidates: list[str], taken: set[str]) -> str:
    """The first candidate no other layer holds, else the last one numbered: ``cell k=4 (2)``, ``(3)``, ...

    >>> _free_name(["k=4", "cell k=4"], {"k=4", "cell k=4", "cell k=4 (2)"})
    'cell k=4 (3)'
    """
    for name in candidates:
        if name not in taken:
            return name
    return next(name for i in itertools.count(2) if (name := f"{candidates[-1]} ({i})") not in taken)


class TrainingCancelled(Exception):
    """Raised in the training thread after the step during which the cancel button was pressed."""


class _StepRelay(QObject):
    """Carries a training step number from the worker thread to the GUI thread (a queued signal)."""

    step = Signal(int)


def _deleted(widget) -> bool:
    """Whether the C++ side of a Qt object is gone (PyQt's sip or PySide's shiboken keeps the flag)."""
    try:
        from qtpy import sip

        return sip.isdeleted(widget)
    except ImportError:  # PySide
        from qtpy import shiboken

        return not shiboken.isValid(widget)


class HypsegWidget(Container):
    """Train or load a hypseg model and segment the current image layer, level by level.

    Parameters
    ----------
    napari_viewer : napari.components.ViewerModel
        The viewer whose image layers are offered and which receives the labels layers.
    """

    def __init__(self, napari_viewer: Any):
        from hypseg.config import SEGMENT_PRESETS, TRAINING_RECIPES

        preload()  # the workers then import nothing (an import in a worker thread stalls the viewer)
        super().__init__(labels=True)
        self.viewer = napari_viewer
        self.model = None  # the TrainedModel last trained or loaded
        self.result: ImageSegmentation | None = None
        self._worker = None
        self._cancel = threading.Event()
        self._relay = _StepRelay()
        self._relay.step.connect(self._show_step)

        self.image = ComboBox(label="image", choices=self._image_choices, nullable=True)
        self.model_dir = FileEdit(label="model folder", mode="d", value="")
        self.recipe = ComboBox(label="training recipe", choices=list(TRAINING_RECIPES), value="cpu")
        self.steps = SpinBox(label="steps", min=1, max=1_000_000, value=300)
        self.train_out = FileEdit(label="train into", mode="w", value=str(Path.cwd() / "hypseg-model"))
        self.train_button = PushButton(text="Train a model on the image")
        self.progress = ProgressBar(label="training", min=0, max=300, value=0)
        self.cancel_button = PushButton(text="Cancel training", enabled=False)
        self.preset = ComboBox(label="preset", choices=list(SEGMENT_PRESETS), value="default")
        self.clusters = LineEdit(label="clusters", value="2 4 8")
        self.own_patch_side = CheckBox(text="the model's patch side at every level", value=False)
        self.segment_button = PushButton(text="Segment")
        self.stop_button = PushButton(text="Cancel segmentation", enabled=False)
        self.level = ComboBox(label="disk coloured by", choices=[])
        self.status = Label(value="")
        self.extend([
            self.image, Label(value="<b>Model</b>"), self.model_dir, self.recipe, self.steps, self.train_out,
            self.train_button, self.progress, self.cancel_button, Label(value="<b>Segmentation</b>"), self.preset,
            self.clusters, self.own_patch_side, self.segment_button, self.stop_button, self.level,
        ])
        self.disk = QLabel()
        self.disk.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.disk.setMinimumHeight(DISK_WIDTH * 3 // 4)
        self.native.layout().addWidget(self.disk)
        self.append(self.status)

        self.train_button.changed.connect(self.train)
        self.cancel_button.changed.connect(self.cancel)
        self.stop_button.changed.connect(self.cancel_segmentation)
        self.segment_button.changed.connect(self.segment)
        self.level.changed.connect(self._draw_disk)
        for event in (napari_viewer.layers.events.inserted, napari_viewer.layers.events.removed):
            event.connect(self._follow_active)
        napari_viewer.layers.selection.events.active.connect(self._follow_active)
        self._follow_active()

    # ------------------------------------------------------------------------------------ state
    @property
    def busy(self) -> bool:
        """Whether a training or a segmentation is running."""
        return self._worker is not None

    def _image_choices(self, _widget=None) -> list[tuple[str, Any]]:
        from napari.layers import Image

        return [(layer.name, layer) for layer in self.viewer.layers if isinstance(layer, Image)]

    def _follow_active(self, _event=None) -> None:
        """Select the viewer's active layer when it is an image (else keep the choice, or take the top image)."""
        from napari.layers import Image

        if self._closed:  # a viewer model may outlive its window
            return
        self.image.reset_choices()
        active = self.viewer.layers.selection.active
        if isinstance(active, Image):
            self.image.value = active
        elif self.image.value is None and self.image.choices:
            self.image.value = self.image.choices[-1]

    @property
    def _closed(self) -> bool:
        """Whether the widget's Qt side is gone (the viewer was closed): no callback may touch it then, and a running
        training stops after its step (:meth:`_step_done`). Read from the flag Qt's bindings keep, so any thread may ask."""
        return _deleted(self.native)

    def _say(self, message: str, *, error: bool = False, warning: bool = False) -> None:
        """Show ``message`` in the widget; an error or a warning also as a napari notification."""
        if self._closed:
            return
        self.status.value = message
        if error:
            from napari.utils.notifications import show_error

            show_error(message)
        elif warning:
            from napari.utils.notifications import show_warning

            show_warning(message)

    def _image_data(self) -> dict:
        """The selected layer's data, checked by shape and not read (the worker reads it: a Zarr or dask layer
        can take long), and its name: the keywords of :func:`_train_layer` and :func:`_load_and_segment`."""
        layer = self.image.value
        if layer is None:
            raise UserError("open or select an image layer first")
        data = layer.data[0] if getattr(layer, "multiscale", False) else layer.data  # multiscale: the full resolution
        return {"data": check_image(data, name=layer.name, rgb=layer.rgb), "name": layer.name}

    def _run(self, function, *, done, **kwargs) -> None:
        """Run ``function(**kwargs)`` in a worker thread; ``done(result)`` in the GUI thread on success."""
        worker = create_worker(function, _start_thread=False, _ignore_errors=True, **kwargs)  # errors: _failed
        worker.returned.connect(done)
        worker.errored.connect(self._failed)
        worker.finished.connect(self._finished)
        self._worker = worker
        self.train_button.enabled = self.segment_button.enabled = False
        worker.start()

    def _failed(self, error: BaseException) -> None:
        if self._closed:  # nothing to show it in; a bug keeps its traceback all the same
            if not isinstance(error, (TrainingCancelled, SegmentationCancelled, *USER_ERRORS)):
                traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
            return
        self.stop_button.enabled = False
        if isinstance(error, TrainingCancelled):
            self._say("training cancelled; no model folder was written")
        elif isinstance(error, SegmentationCancelled):
            self._say("segmentation cancelled; no layers were added")
        elif isinstance(error, USER_ERRORS):
            self._say(f"hypseg: {error}", error=True)
        else:  # a bug: say so and keep its traceback
            traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
            self._say(f"hypseg: unexpected error ({type(error).__name__}: {error}); see the terminal", error=True)

    def _finished(self) -> None:
        self._worker = None
        if self._closed:
            return
        self.train_button.enabled = self.segment_button.enabled = True
        self.cancel_button.enabled = self.stop_button.enabled = False

    # ------------------------------------------------------------------------------------ training
    def train(self, *_args) -> None:
        """Train a model on the selected image into the folder ``train into`` (in a worker thread)."""
        if self.busy:
            return
        try:
            image = self._image_data()
        except USER_ERRORS as err:
            self._say(f"hypseg: {err}", error=True)
            return
        self._cancel.clear()
        self.progress.max, self.progress.value = self.steps.value, 0
        self._say(f"training {count(self.steps.value, 'step')} into {self.train_out.value}")
        self._run(_train_layer, done=self._trained, **image, out=Path(self.train_out.value),
                  recipe=self.recipe.value, steps=self.steps.value, on_step=self._step_done)
        self.cancel_button.enabled = True

    def cancel(self, *_args) -> None:
        """Stop the running training after its current step."""
        self._cancel.set()
        self.status.value = "cancelling after the current step..."

    def _step_done(self, step: int) -> None:
        """In the training thread: report the step, or stop when cancelled."""
        self._relay.step.emit(step)
        if self._cancel.is_set() or self._closed:  # cancelled, or the viewer was closed
            raise TrainingCancelled(step)

    def _show_step(self, step: int) -> None:
        if not self._closed:
            self.progress.value = step

    def _trained(self, trained) -> None:
        if self._closed:
            return
        self.model = trained.model
        self.model_dir.value = str(trained.model.run_dir)
        self.train_out.value = str(_next_free(Path(trained.model.run_dir)))  # a second training needs a new folder
        self._say(f"trained {count(self.progress.value, 'step')} into {trained.model.run_dir}{trained.note()}",
                  warning=trained.collapsed)

    # ------------------------------------------------------------------------------------ segmentation
    def segment(self, *_args) -> None:
        """Segment the selected image at the chosen cluster counts (in a worker thread)."""
        if self.busy:
            return
        try:
            image = self._image_data()
            config = segment_config(self.preset.value, parse_clusters(self.clusters.value),
                                    own_patch_side=self.own_patch_side.value)
            folder = str(self.model_dir.value).strip()
            if not folder or folder == ".":
                raise UserError("choose a model folder, or train a model first")
        except USER_ERRORS as err:
            self._say(f"hypseg: {err}", error=True)
            return
        model = self.model if self.model is not None and Path(folder) == Path(self.model.run_dir) else None
        source = self.image.value  # the layers come back with this layer's geometry, whatever is selected then
        self._say(f"segmenting {source.name} at k = {', '.join(str(l.clusters) for l in config.levels)}")
        apart = segments_in_process(int(np.prod(image["data"].shape)))
        self._cancel.clear()
        self._run(_load_and_segment, done=lambda found: self._segmented(found, source), **image, model=model,
                  folder=folder, config=config, apart=apart, cancel=self._cancel)
        self.stop_button.enabled = apart  # only a process can be ended

    def cancel_segmentation(self, *_args) -> None:
        """End the running segmentation's process: no layer is added (a result that came back all the same is dropped)."""
        self._cancel.set()
        self.status.value = "cancelling the segmentation..."

    def _segmented(self, found: tuple, source) -> None:
        from napari.layers import Labels

        if self._closed:
            return
        self.stop_button.enabled = False
        if self._cancel.is_set():  # cancelled after the answer came back: as cancelled before
            self._say("segmentation cancelled; no layers were added")
            return
        model, result = found
        self.model, self.result = model, result
        geometry = {"scale": source.scale, "translate": source.translate, "rotate": source.rotate,
                    "shear": source.shear, "affine": source.affine.affine_matrix}
        geometry |= {key: getattr(source, key) for key in ("units", "axis_labels") if hasattr(source, key)}  # napari >= 0.5
        # the previous run of this image: its labels layers that still bear the name this widget gave them
        mine = {layer.name: layer for layer in self.viewer.layers
                if isinstance(layer, Labels) and layer.metadata.get(RUN_OF) == source.unique_id
                and layer.metadata.get(GIVEN_NAME) == layer.name}
        # a plain k=N is this image's unless another layer holds that name: then the layer says whose it is
        taken = {layer.name for layer in self.viewer.layers if layer.name not in mine}
        names = [_free_name([f"k={k}", f"{source.name} k={k}"], taken) for k in result.labels]
        for name, layer in mine.items():
            if name not in names:
                self.viewer.layers.remove(layer)
        for (k, labels), name in zip(result.labels.items(), names):
            colors = labels_colormap(k, outside=zero_is_outside(k, contained=result.outside, first=min(result.labels),
                                                                specimen=result.specimen))
            if name in mine:
                layer = mine[name]
                layer.data = labels
                for key, value in geometry.items():
                    setattr(layer, key, value)
                layer.colormap = colors
            else:
                layer = self.viewer.add_labels(labels, name=name, colormap=colors, **geometry)
            layer.metadata[RUN_OF] = source.unique_id
            layer.metadata[GIVEN_NAME] = layer.name
        self.level.choices = [f"k={k}" for k in result.labels]
        self.level.value = f"k={max(result.labels)}"
        self._draw_disk()
        if result.collapsed:
            self._say(f"segmented {source.name}, but the model embeds every voxel alike: its training collapsed and its "
                      "label maps say nothing; train again with another seed", warning=True)
        elif result.no_field:
            self._say(f"segmented {source.name}: layers {', '.join(names)}; but level 1 finds no object in a field of "
                      "view, so its object is merely the cluster on fewer of the image's faces", warning=True)
        elif result.retried:
            self._say(f"segmented {source.name}: layers {', '.join(names)}; {RETRIED_NOTE}")
        elif result.contrast:
            self._say(f"segmented {source.name}: layers {', '.join(names)}; {CONTRAST_NOTE}")
        else:
            self._say(f"segmented {source.name}: layers {', '.join(names)}")

    def _draw_disk(self, *_args) -> None:
        """The selected level's embedding on the Poincaré disk, coloured by its clusters."""
        from hypseg.plotting import poincare_disk_figure

        result = self.result
        if result is None or not self.level.value:
            return
        if not result.hyperbolic:
            self.disk.setText("a Euclidean model: no Poincaré disk to draw")
            return
        k = int(str(self.level.value).removeprefix("k="))
        points = result.embeddings[k].reshape(-1, result.embeddings[k].shape[-1])
        figure = poincare_disk_figure(points, labels=result.labels[k].reshape(-1), title=f"k = {k}",
                                      max_points=DISK_POINTS, c=result.curvature, inches=3.0)
        figure.canvas.draw()
        rgba = np.ascontiguousarray(figure.canvas.buffer_rgba())
        height, width = rgba.shape[:2]
        picture = QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()
        self.disk.setPixmap(QPixmap.fromImage(picture).scaledToWidth(DISK_WIDTH, Qt.TransformationMode.SmoothTransformation))


def _check_patch_sides(model, config) -> None:
    """Refuse, naming the widget's checkbox, a preset whose patch sides the model cannot embed (each must divide or be a
    multiple of the model's own side: a ``smoke`` model's 8 fits neither 5 nor 10)."""
    from hypseg.inference.embed import embeds_at
    from hypseg.inference.recipe import embedded_sides, resolve_patch_sides

    m = model.patch_size
    sides = {p for group in embedded_sides(resolve_patch_sides(config, patch_size=m)) for p in group}
    misfits = sorted(p for p in sides if not embeds_at(m, p))
    if misfits:
        raise UserError(f"this model's patch side {m} neither divides nor is a multiple of the preset's "
                        f"{', '.join(map(str, misfits))}; tick \"the model's patch side at every level\"")


def _next_free(path: Path) -> Path:
    """``path`` with the first of ``-2``, ``-3``, ... added that names nothing yet."""
    n = 2
    while (free := path.with_name(f"{path.name}-{n}")).exists():
        n += 1
    return free


def _train_layer(*, data, name: str, **kwargs):
    """In the worker thread: the layer's voxels read (:func:`image_array`), then :func:`train_model`."""
    return train_model(image_array(data, name=name), **kwargs)


def _load_and_segment(*, data, name: str, model, folder: str, config, apart: bool, cancel) -> tuple:
    """In the worker thread: the layer's voxels read, the model (loaded from ``folder`` unless given) and the
    segmentation; ``apart``: in a process of its own (:func:`hypseg.napari._jobs.segments_in_process`), which setting
    ``cancel`` ends."""
    image = image_array(data, name=name)
    if model is None:
        from hypseg.api import load_model

        model = load_model(folder)
    _check_patch_sides(model, config)
    if apart:
        return model, segment_in_process(image, model, config, cancel=cancel)
    return model, segment_image(image, model, config)
