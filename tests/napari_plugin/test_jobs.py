"""The widget's work without Qt: whether a model collapsed is measured, not caught as a warning, so the
process-wide ``warnings`` state is never swapped from the worker thread."""

from __future__ import annotations

import warnings

import dataclasses

import numpy as np
import pytest

from helpers import glibc
from hypseg.errors import UserError
from hypseg.napari._jobs import (PROCESS_MIN_VOXELS, ImageSegmentation, SegmentationCancelled, check_image, image_array, preload, segment_config,
                                 segment_image, segment_in_process, segments_in_process, train_model)


@pytest.fixture(scope="module", autouse=True)
def preloaded():
    """What the widget imports first: an import of torch's compiler stack (sympy) adds a filter of its own."""
    preload()


def _warnings_state() -> tuple:
    """What ``warnings.catch_warnings`` swaps: the filters (the list and its entries) and the functions that show a warning."""
    return warnings.filters, list(warnings.filters), warnings.showwarning, warnings._showwarnmsg_impl


class _Cancelled(Exception):
    pass


@pytest.mark.parametrize(("dead", "collapsed", "aside"), [
    (set(), False, ()),
    ({0}, False, (0,)),
    ({0, 1000, 2000}, True, (0, 1000)),
])
def test_training_reports_a_collapse_and_leaves_the_warnings_state_alone(small_image, tmp_path, monkeypatch, dead, collapsed, aside):
    from helpers import kill_encoders_of

    kill_encoders_of(dead, monkeypatch)
    before = _warnings_state()
    trained = train_model(small_image, out=tmp_path / "model", recipe="smoke", steps=3)
    assert _warnings_state() == before
    assert trained.collapsed is collapsed and trained.aside == aside and trained.model.run_dir == tmp_path / "model"


def test_a_cancelled_training_leaves_the_warnings_state_alone(small_image, tmp_path, monkeypatch):
    from helpers import kill_encoders_of

    def cancel(step):
        if step == 2:
            raise _Cancelled

    kill_encoders_of({0}, monkeypatch)
    before = _warnings_state()
    with pytest.raises(_Cancelled):
        train_model(small_image, out=tmp_path / "model", recipe="smoke", steps=3, on_step=cancel)
    assert _warnings_state() == before and list(tmp_path.iterdir()) == []


@pytest.mark.filterwarnings("ignore::hypseg.clustering.exceptions.EmptyClusterWarning")  # every voxel alike: empty clusters
def test_segmenting_reports_a_collapsed_model_and_leaves_the_warnings_state_alone(small_image, tiny_model, tmp_path):
    from helpers import collapsed_copy

    from hypseg.api import load_model

    config = segment_config("paper", [2])
    before = _warnings_state()
    assert segment_image(small_image, load_model(collapsed_copy(tiny_model, tmp_path / "collapsed")), config).collapsed
    assert not segment_image(small_image, load_model(tiny_model), config).collapsed
    assert _warnings_state() == before


def test_a_failing_segmentation_leaves_the_warnings_state_alone(tiny_model):
    from hypseg.api import load_model

    before = _warnings_state()
    with pytest.raises(UserError):
        segment_image(np.zeros((4, 16, 16), dtype=np.float32), load_model(tiny_model), segment_config("paper", [2]))
    assert _warnings_state() == before


def test_check_image_takes_a_single_channel_volume_of_every_side_at_least_the_smallest_patch():
    from hypseg.config import MIN_PATCH_SIDE

    volume = np.arange(MIN_PATCH_SIDE ** 3, dtype=np.int16).reshape((MIN_PATCH_SIDE,) * 3)
    checked = check_image([volume, volume[::2, ::2, ::2]], name="v")  # multiscale: the full resolution
    assert checked is volume  # as the layer holds it: not read yet
    array = image_array(checked, name="v")
    assert array.dtype == np.float32 and np.array_equal(array, volume)
    for data, rgb in [(volume, True), (volume[..., :3], False), (volume[:, :, 0], False), (volume[None], False)]:
        with pytest.raises(UserError, match="^image layer 'v' ") as caught:
            check_image(data, name="v", rgb=rgb)
        assert "\n" not in str(caught.value)


class _Unreadable:
    """A lazy array whose voxels must not be read where only its shape is checked."""

    shape = (16, 16, 16)

    def __array__(self, *args, **kwargs):
        raise AssertionError("the voxels were read")


def test_check_image_reads_no_voxel_and_image_array_refuses_non_finite_or_constant_voxels():
    lazy = _Unreadable()
    assert check_image(lazy, name="v") is lazy
    bad = np.ones((16, 16, 16), dtype=np.float32)
    with pytest.raises(UserError, match="^image layer 'v' is constant; there is nothing to learn or segment$"):
        image_array(bad, name="v")
    bad[3, 4, 5] = np.nan
    with pytest.raises(UserError, match="^image layer 'v' contains NaN or Inf values$"):
        image_array(bad, name="v")


def test_segmenting_says_when_containment_finds_no_object_in_a_field_of_view(tiny_model):
    from hypseg.api import load_model

    model = load_model(tiny_model)
    slabs = (np.where(np.arange(16) < 8, 2.0, -2.0)[None, None, :] * np.ones((16, 16, 1))).astype(np.float32)
    plain = dataclasses.replace(segment_config("default", [2]), contrast_sides=())  # no local contrast to find an object
    assert segment_image(slabs, model, plain).no_field
    assert not segment_image(slabs, model, segment_config("paper", [2])).no_field  # no containment, nothing to say


def test_segmenting_says_where_the_finer_levels_divided_the_specimen(tiny_model):
    """A speckled field's level 1 comes from local contrast; with the default the finer levels divide the specimen
    around it, and the result says so (the widget then draws their label 0), with ``object`` not."""
    import hypseg
    from helpers import speckle_image
    from hypseg.api import load_model

    model = load_model(tiny_model)
    config = dataclasses.replace(segment_config("default", [2, 3]), subsample=3000)
    found = segment_image(speckle_image(), model, config)
    assert found.contrast and found.specimen
    assert hypseg.segment(speckle_image(), model, recipe=config).volumes[0].specimen  # as the result says
    assert np.array_equal(found.labels[3] == 1, found.labels[2] == 1)  # the object label 1 at both levels
    other = segment_image(speckle_image(), model, dataclasses.replace(config, contrast_divides="object"))
    assert other.contrast and not other.specimen


def test_a_segmentation_in_a_process_of_its_own_agrees_with_the_one_in_this_process(small_image, tiny_model, one_torch_thread):
    from hypseg.api import load_model

    config = segment_config("default", [2, 4])
    model = load_model(tiny_model)
    here = segment_image(small_image, model, config)
    apart = segment_in_process(small_image, model, config)
    assert isinstance(apart, ImageSegmentation) and apart.labels.keys() == here.labels.keys() == {2, 4}
    for k in here.labels:  # equal up to float rounding (see one_torch_thread)
        assert np.mean(apart.labels[k] == here.labels[k]) > 0.99 and apart.labels[k].dtype == here.labels[k].dtype
        np.testing.assert_allclose(apart.embeddings[k], here.embeddings[k], rtol=0, atol=1e-4)
    assert apart[2:] == here[2:]  # the flags, the curvature and the kind of space


def test_the_process_segments_with_the_weights_it_is_given_not_those_on_disk(small_image, tiny_model, tmp_path):
    from helpers import collapsed_copy

    from hypseg.api import load_model

    config = segment_config("paper", [2])
    model = load_model(tiny_model)
    model = dataclasses.replace(model, run_dir=collapsed_copy(tiny_model, tmp_path / "collapsed"))  # disk: collapsed
    assert not segment_in_process(small_image, model, config).collapsed


@pytest.mark.filterwarnings("ignore::hypseg.clustering.exceptions.EmptyClusterWarning")  # every voxel alike: empty clusters
def test_the_warnings_of_a_segmentation_in_a_process_are_warned_here(small_image, tiny_model, tmp_path):
    from helpers import collapsed_copy

    from hypseg.api import load_model
    from hypseg.models.collapse import CollapsedModelWarning

    collapsed, config = load_model(collapsed_copy(tiny_model, tmp_path / "collapsed")), segment_config("paper", [2])
    with pytest.warns(CollapsedModelWarning) as here:
        segment_image(small_image, collapsed, config)
    with pytest.warns(CollapsedModelWarning) as apart:
        assert segment_in_process(small_image, collapsed, config).collapsed
    said = lambda caught: [str(w.message) for w in caught if w.category is CollapsedModelWarning]  # noqa: E731
    assert said(apart) == said(here) and len(said(here)) == 1  # (its empty clusters' warnings depend on rounding)


def test_an_error_a_user_can_fix_comes_back_from_the_process_as_itself(tiny_model):
    from hypseg.api import load_model

    flat, model = np.zeros((4, 16, 16), dtype=np.float32), load_model(tiny_model)
    config = segment_config("paper", [2])
    with pytest.raises(UserError) as here:
        segment_image(flat, model, config)
    with pytest.raises(UserError) as apart:
        segment_in_process(flat, model, config)
    assert str(apart.value) == str(here.value)


def test_a_bug_in_the_process_keeps_its_traceback_and_fails_here(small_image, tiny_model, capfd):
    from hypseg.api import load_model

    with pytest.raises(RuntimeError, match=r"^the segmentation process failed \(exit status 1\); its traceback is "
                                           r"above on standard error$"):
        segment_in_process(small_image, load_model(tiny_model), config=None)  # not a config: a bug in the process
    error = capfd.readouterr().err
    assert "Traceback (most recent call last)" in error and "AttributeError" in error


@pytest.mark.parametrize(("python", "reason"), [
    ("/bin/false", r"it ended with exit status 1 before it was ready"),
    ("/no/such/python", r"FileNotFoundError: .*"),
])
def test_where_no_process_starts_it_segments_on_this_thread_and_says_so(small_image, tiny_model, monkeypatch, python,
                                                                        reason):
    import sys

    from hypseg.api import load_model

    model, config = load_model(tiny_model), segment_config("paper", [2])
    monkeypatch.setattr(sys, "executable", python)
    with pytest.warns(RuntimeWarning, match=rf"^hypseg could not segment in a process of its own \({reason}\); "
                                            r"segmenting on this thread instead$"):
        found = segment_in_process(small_image, model, config)
    assert np.array_equal(found.labels[2], segment_image(small_image, model, config).labels[2])


@pytest.mark.parametrize("when", ["before it starts", "as it starts", "as it segments"])
def test_a_cancelled_segmentation_ends_its_process_and_segments_nothing(synthetic_image, tiny_model, monkeypatch, when):
    """Cancelled before the call, from another thread while the process starts (it imports torch for seconds), or right
    after the job is sent (the process needs longer than the watcher's tenth of a second to answer)."""
    import pickle
    import signal
    import subprocess
    import threading

    from hypseg.api import load_model

    started, start, send = [], subprocess.Popen, pickle.dump
    monkeypatch.setattr(subprocess, "Popen", lambda *args, **options: started.append(start(*args, **options)) or started[-1])
    cancel = threading.Event()
    if when == "before it starts":
        cancel.set()
    elif when == "as it starts":
        threading.Timer(0.5, cancel.set).start()
    else:
        monkeypatch.setattr(pickle, "dump", lambda *args, **options: (send(*args, **options), cancel.set()))
    with pytest.raises(SegmentationCancelled):
        segment_in_process(synthetic_image, load_model(tiny_model), segment_config("default", [2, 4]), cancel=cancel)
    assert [child.returncode for child in started] == ([] if when == "before it starts" else [-signal.SIGKILL])


def test_the_process_ends_when_its_parent_does(small_image, tiny_model):
    """The parent closes the process's standard input only by ending: the process then ends too, answering nothing."""
    import pickle
    import subprocess

    from hypseg.api import load_model
    from hypseg.napari._jobs import _child_command
    from hypseg.napari._segment_process import ORPHANED, READY

    job = pickle.dumps((small_image, load_model(tiny_model), segment_config("default", [2]), 1))
    child = subprocess.run(_child_command(), input=job, capture_output=True, timeout=120)
    assert child.returncode == ORPHANED and child.stdout == READY


def test_the_widget_segments_in_a_process_only_a_large_image_and_only_where_glibc_would_keep_freed_memory(monkeypatch):
    import sys

    from hypseg._malloc import OPT_OUT, can_keep_freed_memory

    monkeypatch.delenv(OPT_OUT, raising=False)
    assert segments_in_process(PROCESS_MIN_VOXELS) is can_keep_freed_memory()
    assert not segments_in_process(PROCESS_MIN_VOXELS - 1)
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # a frozen application: its executable is not a Python
    assert not segments_in_process(PROCESS_MIN_VOXELS)
    monkeypatch.delattr(sys, "frozen")
    monkeypatch.setenv(OPT_OUT, "1")
    assert not segments_in_process(PROCESS_MIN_VOXELS)


@glibc
def test_where_glibc_would_keep_freed_memory_a_large_image_is_segmented_in_a_process(monkeypatch):
    from hypseg._malloc import OPT_OUT

    monkeypatch.delenv(OPT_OUT, raising=False)
    assert segments_in_process(PROCESS_MIN_VOXELS)
