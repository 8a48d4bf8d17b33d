"""The widget under pytest-qt without a screen: train in a worker thread, segment, layers come back."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest

from hypseg.napari._widget import HypsegWidget

#: the longest the GUI thread may go without turning its event loop while training runs (the issue's goal)
MAX_GAP_S = 0.2


@pytest.fixture
def viewer(synthetic_image):
    from napari.components import ViewerModel

    model = ViewerModel()
    model.add_image(synthetic_image, name="cell", scale=(2.0, 1.0, 1.0), translate=(5.0, 0.0, -3.0),
                    units=("nm", "nm", "nm"), axis_labels=("z", "y", "x"))
    return model


@pytest.fixture
def widget(qtbot, viewer):
    made = HypsegWidget(napari_viewer=viewer)
    qtbot.addWidget(made.native)
    return made


def _wait(qtbot, widget, timeout_s=300):
    qtbot.waitUntil(lambda: not widget.busy, timeout=int(timeout_s * 1000))


def _segment_with(qtbot, widget, model_dir, preset, clusters):
    """Segment the selected image with the model in ``model_dir``, as a user clicking the button would."""
    widget.model_dir.value = str(model_dir)
    widget.preset.value, widget.clusters.value = preset, clusters
    widget.segment_button.native.click()
    _wait(qtbot, widget)


def test_training_keeps_the_viewer_responsive_and_segmenting_returns_one_layer_per_level(qtbot, widget, viewer, tmp_path):
    from qtpy.QtCore import QTimer

    gc.collect()  # the garbage of earlier tests (their models) now, not as a pause of the GUI thread during the measurement
    assert widget.image.value is viewer.layers["cell"]  # the current image layer is preselected
    widget.recipe.value, widget.steps.value = "smoke", 100  # long enough for the measurement on a fast machine
    widget.train_out.value = str(tmp_path / "model")
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    widget.train_button.native.click()
    assert widget.busy and widget.cancel_button.enabled and not widget.segment_button.enabled
    _wait(qtbot, widget)
    timer.stop()
    gaps = np.diff(ticks)
    assert len(ticks) > 50 and gaps.max() <= MAX_GAP_S, f"the event loop stalled for {gaps.max():.3f} s"
    assert widget.progress.value == 100 and widget.status.value == f"trained 100 steps into {tmp_path / 'model'}"
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["config.toml", "data.json", "log.jsonl", "model.pt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # nothing else, no temporary folder
    assert widget.model_dir.value == tmp_path / "model"
    assert widget.train_out.value == tmp_path / "model-2"  # the next training's folder, free

    widget.preset.value, widget.clusters.value, widget.own_patch_side.value = "default", "2, 4", True
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value == "segmented cell: layers k=2, k=4", widget.status.value
    image = viewer.layers["cell"]
    for k in (2, 4):
        layer = viewer.layers[f"k={k}"]
        assert layer._type_string == "labels" and layer.data.shape == image.data.shape
        np.testing.assert_array_equal(layer.scale, image.scale)
        np.testing.assert_array_equal(layer.translate, image.translate)
        assert layer.units == image.units and layer.axis_labels == ("z", "y", "x")
        assert sorted(np.unique(layer.data)) == list(range(k))
    assert widget.level.choices == ("k=2", "k=4") and widget.level.value == "k=4"
    assert not widget.disk.pixmap().isNull() and widget.disk.pixmap().width() == 360

    # segmenting again replaces the previous run's layers: k=2 in place (not "k=2 [1]"), k=4 goes
    kept = viewer.layers["k=2"]
    widget.clusters.value = "2 3"
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == ["cell", "k=2", "k=3"] and viewer.layers["k=2"] is kept
    assert viewer.layers["k=3"].units == image.units and viewer.layers["k=3"].axis_labels == ("z", "y", "x")
    widget.level.value = "k=2"  # redraws the disk for that level
    assert not widget.disk.pixmap().isNull()

    # a layer the user renamed is theirs to keep: the next run leaves it
    viewer.layers["k=3"].name = "my k=3"
    widget.clusters.value = "2"
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == ["cell", "k=2", "my k=3"]
    # also when the new name is one the widget might give: the layer no longer bears the name it was given
    viewer.layers["k=2"].name = "cell k=2"
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == ["cell", "cell k=2", "my k=3", "k=2"]


def test_a_cancelled_training_leaves_no_model_folder(qtbot, widget, tmp_path):
    widget.recipe.value, widget.steps.value = "smoke", 100_000
    widget.train_out.value = str(tmp_path / "model")
    widget.train_button.native.click()
    qtbot.waitUntil(lambda: widget.progress.value >= 2, timeout=120_000)
    widget.steps.value = 5  # the next training's: the running one keeps its bar
    assert widget.progress.max == 100_000
    widget.cancel_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value == "training cancelled; no model folder was written"
    assert widget.progress.value < 100_000 and widget.progress.max == 100_000 and list(tmp_path.iterdir()) == []
    assert widget.train_button.enabled and widget.segment_button.enabled and not widget.cancel_button.enabled


def test_closing_the_widget_while_it_trains_cancels_the_training_and_leaves_nothing(qtbot, viewer, tmp_path):
    """The viewer closed mid-training: no callback touches the deleted widget (Qt would abort the process), and the
    training stops after its step, leaving no model folder nor its temporary one."""
    from qtpy.QtWidgets import QApplication

    made = HypsegWidget(napari_viewer=viewer)  # not qtbot's: it is deleted here
    made.recipe.value, made.steps.value = "smoke", 100_000
    made.train_out.value = str(tmp_path / "model")
    made.train_button.native.click()
    qtbot.waitUntil(lambda: made.progress.value >= 2, timeout=120_000)
    made.native.close()
    made.native.deleteLater()
    qtbot.waitUntil(lambda: not made.busy, timeout=120_000)
    for _ in range(20):  # the worker's last signals
        QApplication.processEvents()
    assert list(tmp_path.iterdir()) == []


def test_a_multiscale_image_is_read_at_its_full_resolution(widget, viewer, synthetic_image):
    from hypseg.napari._jobs import image_array

    viewer.add_image([synthetic_image, synthetic_image[::2, ::2, ::2]], name="pyramid", multiscale=True)
    widget.image.value = viewer.layers["pyramid"]
    # what the worker reads: napari's MultiScaleData itself reads as its smallest level, or not at all
    np.testing.assert_array_equal(image_array(widget._image_data()["data"], name="pyramid"), synthetic_image)


# a two-step model's clusters may empty in the process, where rounding differs (see one_torch_thread)
@pytest.mark.filterwarnings("ignore::hypseg.clustering.exceptions.EmptyClusterWarning")
@pytest.mark.parametrize("apart", [False, True], ids=["on the worker thread", "in a process of its own"])
def test_a_model_folder_is_loaded_and_segments(qtbot, widget, viewer, tiny_model, monkeypatch, one_torch_thread, apart):
    from hypseg.api import load_model
    from hypseg.napari import _widget
    from hypseg.napari._jobs import segment_config, segment_image, segment_in_process

    processes = []
    monkeypatch.setattr(_widget, "segments_in_process", lambda voxels: apart)
    monkeypatch.setattr(_widget, "segment_in_process",
                        lambda *args, **options: processes.append(args) or segment_in_process(*args, **options))
    widget.model_dir.value = str(tiny_model)
    widget.preset.value, widget.clusters.value = "default", "2 4"
    widget.segment_button.native.click()
    assert widget.stop_button.enabled is apart  # only a process can be ended
    _wait(qtbot, widget)
    # (a model of two steps may find no object in the cell's field of view, which the line then adds)
    assert widget.status.value.startswith("segmented cell: layers k=2, k=4")
    assert widget.model.run_dir == tiny_model and len(processes) == apart
    expected = segment_image(viewer.layers["cell"].data, load_model(tiny_model), segment_config("default", [2, 4]))
    for k in (2, 4):  # equal up to float rounding between processes (see one_torch_thread)
        assert np.mean(viewer.layers[f"k={k}"].data == expected.labels[k]) > 0.99


def test_a_segmentation_in_a_process_is_cancelled_and_adds_no_layer(qtbot, widget, viewer, tiny_model, monkeypatch):
    from hypseg.napari import _widget

    monkeypatch.setattr(_widget, "segments_in_process", lambda voxels: True)
    widget.model_dir.value = str(tiny_model)
    widget.segment_button.native.click()
    assert widget.busy and widget.stop_button.enabled
    widget.stop_button.native.click()  # while the process starts
    _wait(qtbot, widget)
    assert widget.status.value == "segmentation cancelled; no layers were added"
    assert [layer.name for layer in viewer.layers] == ["cell"]
    assert widget.segment_button.enabled and not widget.stop_button.enabled


def test_a_cancel_that_comes_after_the_answer_adds_no_layer(widget, viewer):
    widget._cancel.set()  # pressed while the answer was on its way: the worker returned all the same
    widget._segmented((None, None), viewer.layers["cell"])
    assert widget.status.value == "segmentation cancelled; no layers were added"
    assert [layer.name for layer in viewer.layers] == ["cell"] and widget.result is None


def test_a_second_image_never_takes_over_the_first_images_layers(qtbot, widget, viewer, tiny_model):
    viewer.add_image(viewer.layers["cell"].data[:, ::-1].copy(), name="flipped")
    viewer.add_labels(np.zeros((4, 4, 4), dtype=np.uint8), name="k=4")  # the user's own layer of that name
    widget.model_dir.value = str(tiny_model)
    widget.preset.value, widget.clusters.value = "default", "2 4"
    widget.image.value = viewer.layers["cell"]
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value.startswith("segmented cell: layers k=2, cell k=4")  # (as above)
    first = {name: viewer.layers[name].data.copy() for name in ("k=2", "cell k=4")}
    widget.image.value = viewer.layers["flipped"]
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value.startswith("segmented flipped: layers flipped k=2, flipped k=4")  # (as above)
    for name, data in first.items():  # the first image's maps are as they were
        np.testing.assert_array_equal(viewer.layers[name].data, data)
    assert not viewer.layers["k=4"].data.any()
    widget.image.value = viewer.layers["cell"]  # and its next run replaces its own layers only
    widget.clusters.value = "2"
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == ["cell", "flipped", "k=4", "k=2", "flipped k=2", "flipped k=4"]
    # both names of a level held by layers not of this run: a numbered name, kept by the run after
    viewer.add_labels(np.zeros((4, 4, 4), dtype=np.uint8), name="cell k=4")
    widget.clusters.value = "2 4"
    for _ in range(2):
        widget.segment_button.native.click()
        _wait(qtbot, widget)
        assert widget.status.value.startswith("segmented cell: layers k=2, cell k=4 (2)")  # (as above)
    assert [layer.name for layer in viewer.layers].count("cell k=4 (2)") == 1


def test_a_model_whose_patch_side_fits_no_preset_side_names_the_checkbox(qtbot, widget, tmp_path):
    import hypseg

    volume = np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32)
    hypseg.train(volume, out=tmp_path / "smoke", recipe="smoke", steps=2, progress=False)  # m = 8
    _segment_with(qtbot, widget, tmp_path / "smoke", "default", "2 4")
    assert widget.status.value == ("hypseg: this model's patch side 8 neither divides nor is a multiple of the preset's "
                                   "5, 10; tick \"the model's patch side at every level\"")
    widget.own_patch_side.value = True
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value.startswith("segmented cell: layers k=2, k=4"), widget.status.value


@pytest.mark.parametrize(("setup", "message"), [
    (lambda w, tmp: setattr(w.clusters, "value", "2 x"), "hypseg: cluster counts must be whole numbers like '2 4 8', got '2 x'"),
    (lambda w, tmp: setattr(w.clusters, "value", "1 4"), "hypseg: every cluster count must be at least 2, got '1 4'"),
    (lambda w, tmp: None, "hypseg: choose a model folder, or train a model first"),
])
def test_mistakes_show_one_line_and_start_nothing(widget, tmp_path, setup, message):
    setup(widget, tmp_path)
    widget.segment_button.native.click()
    assert widget.status.value == message and not widget.busy


def test_a_missing_model_folder_is_named(qtbot, widget, tmp_path):
    widget.model_dir.value = str(tmp_path / "nowhere")
    widget.segment_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value == f"hypseg: model directory {tmp_path / 'nowhere'} does not exist"
    assert "k=2" not in [layer.name for layer in widget.viewer.layers]


def test_training_into_an_existing_folder_is_refused(qtbot, widget, tmp_path):
    (tmp_path / "model").mkdir()
    widget.recipe.value, widget.steps.value = "smoke", 2
    widget.train_out.value = str(tmp_path / "model")
    widget.train_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value == f"hypseg: {tmp_path / 'model'}: already exists; choose a new folder for the model"


def test_one_step_of_training_is_one_step_in_the_status_line(qtbot, widget, tmp_path):
    widget.recipe.value, widget.steps.value = "smoke", 1
    widget.train_out.value = str(tmp_path / "model")
    widget.train_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value == f"trained 1 step into {tmp_path / 'model'}"


def test_without_an_image_layer_the_widget_says_so(qtbot):
    from napari.components import ViewerModel

    empty = HypsegWidget(napari_viewer=ViewerModel())
    qtbot.addWidget(empty.native)
    empty.train_button.native.click()
    assert empty.status.value == "hypseg: open or select an image layer first" and not empty.busy


@pytest.mark.parametrize(("dead", "note", "seed"), [
    ({0}, "; the run with seed 0 collapsed (every voxel embedded alike) and trained again: the model is seed 1000's", 1000),
    ({0, 1000, 2000}, "; but all 3 training runs collapsed (every voxel embedded alike): its label maps will say nothing", 2000),
])
def test_collapsed_training_runs_are_named_in_the_status_line_and_no_message_names_the_hidden_folder(
        qtbot, widget, tmp_path, monkeypatch, capfd, dead, note, seed):
    from helpers import kill_encoders_of

    kill_encoders_of(dead, monkeypatch)
    widget.recipe.value, widget.steps.value = "smoke", 3
    widget.train_out.value = str(tmp_path / "model")
    widget.train_button.native.click()
    _wait(qtbot, widget)
    assert widget.status.value == f"trained 3 steps into {tmp_path / 'model'}{note}"
    assert widget.model.config.train.seed == seed and (tmp_path / "model" / "collapsed-seed0" / "model.pt").exists()
    out, err = capfd.readouterr()
    assert "collapsed-seed0/ of the run folder" in err and ".model.tmp" not in out + err


def test_a_collapsed_model_segments_and_the_status_line_says_its_maps_say_nothing(qtbot, widget, tiny_model, tmp_path):
    from helpers import collapsed_copy

    _segment_with(qtbot, widget, collapsed_copy(tiny_model, tmp_path / "collapsed"), "paper", "2")
    assert widget.status.value == (
        "segmented cell, but the model embeds every voxel alike: its training collapsed and its label maps say "
        "nothing; train again with another seed")
    assert widget.result.collapsed and "k=2" in widget.viewer.layers


def test_an_image_with_no_object_in_a_field_segments_and_the_status_line_says_so(qtbot, widget, viewer, tiny_model,
                                                                                  monkeypatch):
    import dataclasses

    from hypseg.napari import _jobs, _widget

    def without_contrast(*args, **kwargs):  # the default's local contrast would find an object in the slabs
        return dataclasses.replace(_jobs.segment_config(*args, **kwargs), contrast_sides=())

    monkeypatch.setattr(_widget, "segment_config", without_contrast)
    slabs = (np.where(np.arange(16) < 8, 2.0, -2.0)[None, None, :] * np.ones((16, 16, 1))).astype(np.float32)
    widget.image.value = viewer.add_image(slabs, name="slabs")
    _segment_with(qtbot, widget, tiny_model, "default", "2")
    assert widget.status.value == (
        "segmented slabs: layers k=2; but level 1 finds no object in a field of view, so its object is merely the "
        "cluster on fewer of the image's faces")
    assert widget.result.no_field and "k=2" in widget.viewer.layers


@pytest.mark.parametrize(("data", "options", "message"), [
    (np.random.default_rng(0).random((30, 30, 3)), {"rgb": True},
     "hypseg: image layer 'picture' is an RGB image; hypseg segments single-channel 3-D volumes (Z, Y, X)"),
    (np.random.default_rng(0).random((30, 30)), {},
     "hypseg: image layer 'picture' has shape (30, 30); hypseg segments single-channel 3-D volumes (Z, Y, X)"),
    (np.random.default_rng(0).random((2, 16, 16, 16)), {},
     "hypseg: image layer 'picture' has shape (2, 16, 16, 16); hypseg segments single-channel 3-D volumes (Z, Y, X)"),
    (np.random.default_rng(0).random((30, 30, 3)), {"rgb": False},
     "hypseg: image layer 'picture' of shape (30, 30, 3) is too small to train or segment: every side must be at least 8 voxels"),
])
def test_an_image_that_is_not_a_single_channel_volume_is_refused_in_one_line(widget, viewer, tiny_model, data, options, message):
    viewer.add_image(data, name="picture", **options)
    assert widget.image.value is viewer.layers["picture"]
    widget.model_dir.value = str(tiny_model)
    for button in (widget.segment_button, widget.train_button):
        widget.status.value = ""
        button.native.click()
        assert widget.status.value == message and not widget.busy
    assert [layer.name for layer in viewer.layers] == ["cell", "picture"]


def test_an_image_whose_object_a_second_try_found_says_so(qtbot, widget, viewer, tmp_path):
    from helpers import cell_image, split_field_image, train_tiny_model

    model_dir = train_tiny_model(tmp_path / "run", cell_image((16, 16, 16), seed=1), steps=40)  # one that sees intensity
    widget.image.value = viewer.add_image(split_field_image()[0], name="slabs")
    _segment_with(qtbot, widget, model_dir, "default", "2")
    assert widget.result.retried and not widget.result.no_field
    assert widget.status.value == (
        "segmented slabs: layers k=2; level 1's two clusters lay across the whole image, so its object is the cluster "
        "off the faces of a second try with more clusters")


def test_an_image_whose_object_local_contrast_found_says_so(qtbot, widget, viewer, tmp_path):
    from helpers import cell_image, speckle_image, train_tiny_model

    model_dir = train_tiny_model(tmp_path / "run", cell_image((16, 16, 16), seed=1), steps=40)
    widget.image.value = viewer.add_image(speckle_image(), name="speckle")
    _segment_with(qtbot, widget, model_dir, "default", "2")
    assert widget.result.contrast and not widget.result.retried and not widget.result.no_field
    assert widget.status.value == (
        "segmented speckle: layers k=2; level 1 finds no object in a field of view, so its object is the rarer part of "
        "its local contrast (small objects scattered through the image)")
