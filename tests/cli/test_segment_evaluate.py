"""hypseg segment / evaluate on real file formats; bad input exits 2 without partial output."""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import mrcfile
import nibabel
import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from helpers import train_tiny_model
from hypseg.cli.app import app
from hypseg.io import Volume, affine_from_spacing, load_labels, save_labels, save_volume

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    volume = np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32)
    return train_tiny_model(tmp_path_factory.mktemp("run"), volume)


def _volume(seed, shape=(12, 13, 11), spacing=(2.0, 1.5, 0.5)):
    array = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    return Volume(array=array, spacing=spacing, affine=affine_from_spacing(spacing))


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_label_maps_keep_the_format_and_geometry_of_each_input(model_dir, tmp_path):
    inputs = []
    for i, suffix in enumerate((".nii.gz", ".mrc", ".tif")):
        path = tmp_path / f"vol{i}{suffix}"
        save_volume(_volume(i), path=path)
        inputs.append(path)
    out = tmp_path / "seg"
    result = _invoke("segment", *inputs, "--model", model_dir, "--out", out, "-k", 2, "-k", 3)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "segmentation.json").read_text())
    assert manifest["clusters"] == [2, 3] and len(manifest["cases"]) == 3
    nifti = nibabel.load(out / "vol0_k2.nii.gz")
    np.testing.assert_allclose(nifti.affine, nibabel.load(inputs[0]).affine)
    assert np.issubdtype(nifti.get_data_dtype(), np.integer) and nifti.shape == (11, 13, 12)
    with mrcfile.open(out / "vol1_k3.mrc") as mrc, mrcfile.open(inputs[1]) as src:
        assert mrc.voxel_size == src.voxel_size and np.issubdtype(mrc.data.dtype, np.integer)
        assert mrc.data.shape == src.data.shape and set(np.unique(mrc.data)) <= {0, 1, 2}
    with tifffile.TiffFile(out / "vol2_k2.tif") as tif:
        data = tif.asarray()
        assert np.issubdtype(data.dtype, np.integer) and data.shape == (12, 13, 11)
        assert tif.imagej_metadata["spacing"] == pytest.approx(2.0)
    embedding = np.load(out / "vol0_embedding.npy")
    assert embedding.shape == (12, 13, 11, 2) and (np.linalg.norm(embedding, axis=-1) < 1).all()


def test_evaluate_prints_and_writes_the_table(model_dir, tmp_path):
    vol = _volume(5)
    save_volume(vol, path=tmp_path / "v.nii.gz")
    truth = (vol.array > 0).astype(np.uint8)
    save_labels(truth, like=vol, path=tmp_path / "t.nii.gz")
    out = tmp_path / "seg"
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2)
    assert result.exit_code == 0 and f"segmented 1 volume at k = [2] into {out}\n" in result.output
    result = _invoke("evaluate", out, "--truth", tmp_path / "t.nii.gz")
    assert result.exit_code == 0, result.output
    assert "mean DICE over volumes, k = 2:" in result.output
    assert result.stderr == ""  # two classes scored at k = 2: nothing to note
    lines = (out / "evaluation.csv").read_text().splitlines()
    assert lines[0].startswith("case,clusters,level,mean_dice") and len(lines) == 2
    result = _invoke("evaluate", out, "--truth", tmp_path / "t.nii.gz", "--csv", tmp_path / "new" / "x.csv")
    assert result.exit_code == 0, result.output  # a missing folder is made, as for every other output
    assert (tmp_path / "new" / "x.csv").read_text() == (out / "evaluation.csv").read_text()


def test_evaluate_replaces_only_its_own_table(model_dir, tmp_path):
    """A mistyped --csv must not destroy an input: a label map, the truth, a folder or another tool's table are
    refused before any scoring, with one line and nothing written; an earlier table of evaluate is replaced."""
    vol = _volume(5)
    save_volume(vol, path=tmp_path / "v.nii.gz")
    save_labels((vol.array > 0).astype(np.uint8), like=vol, path=tmp_path / "t.nii.gz")
    out = tmp_path / "seg"
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2).exit_code == 0
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link.csv").symlink_to(out / "evaluation.csv")  # replacing it would replace the link
    before = {p: p.read_bytes() for p in (tmp_path / "t.nii.gz", out / "v_k2.nii.gz", tmp_path / "other.csv")}
    for target, message in (
        (tmp_path / "t.nii.gz", "exists and is not a table hypseg evaluate wrote; it is not replaced (choose another name)"),
        (out / "v_k2.nii.gz", "exists and is not a table hypseg evaluate wrote; it is not replaced (choose another name)"),
        (tmp_path / "other.csv", "exists and is not a table hypseg evaluate wrote; it is not replaced (choose another name)"),
        (tmp_path / "folder", f"is a folder; give the CSV file's name (e.g. {tmp_path / 'folder' / 'evaluation.csv'})"),
        (tmp_path / "other.csv" / "x.csv", f"{tmp_path / 'other.csv'} is a file, not a folder"),
        (tmp_path / "link.csv", f"is a symbolic link; give the path it points to ({out / 'evaluation.csv'}) or choose another name"),
    ):
        result = _invoke("evaluate", out, "--truth", tmp_path / "t.nii.gz", "--csv", target)
        assert result.exit_code == 2 and result.output == f"hypseg: error: --csv {target}: {message}\n"
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "link.csv", "other.csv", "seg", "t.nii.gz", "v.nii.gz"]
    (tmp_path / "empty.csv").write_bytes(b"")  # an empty file (mktemp's) or a spreadsheet's save with a BOM may go
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbfcase,clusters,level,mean_dice\n")
    for name in ("empty.csv", "bom.csv"):
        assert _invoke("evaluate", out, "--truth", tmp_path / "t.nii.gz", "--csv", tmp_path / name).exit_code == 0
    if hasattr(os, "mkfifo"):  # not a regular file: refused without reading it (a read would wait for a writer)
        os.mkfifo(tmp_path / "fifo")
        result = _invoke("evaluate", out, "--truth", tmp_path / "t.nii.gz", "--csv", tmp_path / "fifo")
        assert result.output == f"hypseg: error: --csv {tmp_path / 'fifo'}: is not a regular file; choose another name\n"
    assert list((tmp_path / "folder").iterdir()) == []
    for _ in range(2):  # its own table, once written, is replaced
        assert _invoke("evaluate", out, "--truth", tmp_path / "t.nii.gz", "--csv", tmp_path / "scores.csv").exit_code == 0
    assert (tmp_path / "scores.csv").read_text().startswith("case,clusters,level,mean_dice")


def test_a_4d_volume_is_segmented_in_the_channel_given(model_dir, tmp_path):
    array = np.random.default_rng(3).normal(size=(2, 12, 13, 11)).astype(np.float32)  # CZYX
    np.save(tmp_path / "v4.npy", array)
    np.save(tmp_path / "v1.npy", array[1])
    result = _invoke("segment", tmp_path / "v4.npy", "--model", model_dir, "--out", tmp_path / "none", "-k", 2)
    assert result.exit_code == 2 and "--channel" in result.output and not (tmp_path / "none").exists()
    result = _invoke("segment", tmp_path / "v4.npy", "--model", model_dir, "--out", tmp_path / "c1", "-k", 2,
                     "--channel", 1, "--channel-axis", 0)
    assert result.exit_code == 0, result.output
    entry = json.loads((tmp_path / "c1" / "segmentation.json").read_text())["cases"][0]
    assert entry["channel"] == 1 and entry["channel_axis"] == 0
    assert _invoke("segment", tmp_path / "v1.npy", "--model", model_dir, "--out", tmp_path / "one", "-k", 2).exit_code == 0
    np.testing.assert_array_equal(np.load(tmp_path / "c1" / "v4_k2.npy"), np.load(tmp_path / "one" / "v1_k2.npy"))


def test_supervoxel_pooling_gives_one_label_per_supervoxel(model_dir, tmp_path):
    from hypseg.data import normalise, supervoxels
    from hypseg.inference import segment_volumes
    from hypseg.inference.tangent import to_tangent
    from hypseg.io import load_labels
    from hypseg.io.checkpoint import load_run_config

    vol = _volume(7, shape=(16, 16, 16))
    save_volume(vol, path=tmp_path / "v.nii.gz")
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "sv", "-k", 3, "--supervoxels", 40).exit_code == 0
    manifest = json.loads((tmp_path / "sv" / "segmentation.json").read_text())
    assert manifest["recipe"]["levels"][0]["supervoxel_size"] == 40
    labels = load_labels(tmp_path / "sv" / "v_k3.nii.gz")
    regions = supervoxels(normalise(vol.array, config=load_run_config(model_dir).data), size=40)
    assert all(np.unique(labels[regions == s]).size == 1 for s in range(regions.max() + 1))
    # --supervoxels 0 clusters every voxel: what segment_volumes gives on the saved embedding
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "vox", "-k", 3, "--supervoxels", 0).exit_code == 0
    assert json.loads((tmp_path / "vox" / "segmentation.json").read_text())["recipe"]["levels"][0]["supervoxel_size"] is None
    embedding = np.load(tmp_path / "vox" / "v_embedding.npy")
    flat = to_tangent(embedding, c=load_run_config(model_dir).model.curvature)  # the default clusters there
    expected = segment_volumes([flat], clusters=(3,), random_state=0, hyperbolic=False)[0].labels[3]
    np.testing.assert_array_equal(load_labels(tmp_path / "vox" / "v_k3.nii.gz"), expected)
    # --space ball: hyperbolic k-means on the saved embedding itself
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "ball", "-k", 3,
                   "--supervoxels", 0, "--space", "ball").exit_code == 0
    expected = segment_volumes([embedding], clusters=(3,), random_state=0)[0].labels[3]
    np.testing.assert_array_equal(load_labels(tmp_path / "ball" / "v_k3.nii.gz"), expected)
    bad = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "bad", "--space", "flat")
    assert bad.exit_code == 2 and "unknown clustering space 'flat'; choose one of ball, tangent" in bad.output
    assert not (tmp_path / "bad").exists()
    # --clusterer tied-mixture: the shared-covariance mixture on the tangent-space embedding; not in the ball
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "tied", "-k", 3,
                   "--supervoxels", 0, "--clusterer", "tied-mixture").exit_code == 0
    assert json.loads((tmp_path / "tied" / "segmentation.json").read_text())["recipe"]["levels"][0]["clusterer"] == "tied-mixture"
    expected = segment_volumes([flat], clusters=(3,), random_state=0, hyperbolic=False, clusterer="tied-mixture")[0].labels[3]
    np.testing.assert_array_equal(load_labels(tmp_path / "tied" / "v_k3.nii.gz"), expected)
    bad = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "bad", "-k", 3,
                  "--clusterer", "tied-mixture", "--space", "ball")
    assert bad.exit_code == 2
    assert "a tied Gaussian mixture clusters flat vectors: cluster a ball's embeddings in the tangent space" in bad.output
    assert not (tmp_path / "bad").exists()


def test_purity_power_weighs_the_supervoxel_means_as_the_library_does(model_dir, tmp_path):
    from hypseg.data import normalise, supervoxels
    from hypseg.inference import segment_volumes
    from hypseg.inference.pooling import purity_weights
    from hypseg.io import load_labels
    from hypseg.io.checkpoint import load_run_config

    vol = _volume(8, shape=(16, 16, 16))
    save_volume(vol, path=tmp_path / "v.nii.gz")
    out = tmp_path / "pure"
    args = ("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 3, "--supervoxels", 40, "--purity-power", 8,
            "--space", "ball")
    assert _invoke(*args).exit_code == 0
    assert json.loads((out / "segmentation.json").read_text())["recipe"]["levels"][0]["purity_power"] == 8.0
    regions = supervoxels(normalise(vol.array, config=load_run_config(model_dir).data), size=40)
    embedding = np.load(out / "v_embedding.npy")
    weights = purity_weights(regions, (load_run_config(model_dir).model.patch_size,), 8.0)
    expected = segment_volumes([embedding], clusters=(3,), segments=[regions], voxel_weights=[weights], random_state=0)
    np.testing.assert_array_equal(load_labels(out / "v_k3.nii.gz"), expected[0].labels[3])


def test_segment_bad_input_exits_2_and_leaves_nothing(model_dir, tmp_path):
    save_volume(_volume(0, shape=(5, 12, 12)), path=tmp_path / "thin.nii.gz")
    save_volume(_volume(1), path=tmp_path / "ok.nii.gz")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("keep me")
    cases = [
        (("segment", tmp_path / "ok.nii.gz", "--model", tmp_path / "nomodel", "--out", tmp_path / "s1"), "model directory"),
        (("segment", tmp_path / "thin.nii.gz", "--model", model_dir, "--out", tmp_path / "s2"), "every side must be at least 8 voxels"),
        (("segment", tmp_path / "ok.nii.gz", "--model", model_dir, "--out", tmp_path / "s3", "-k", 1), "a level needs at least 2 clusters, got 1"),
        (("segment", tmp_path / "ok.nii.gz", "--model", model_dir, "--out", tmp_path / "s4", "-k", 100000), "100000 clusters but only 1716 voxels"),
        (("segment", tmp_path / "ok.nii.gz", "--model", model_dir, "--out", tmp_path / "taken"),
         "already exists and holds files but no segmentation.json of hypseg's, so it is not a segmentation folder; choose another --out"),
        (("segment", tmp_path / "missing.nii.gz", "--model", model_dir, "--out", tmp_path / "s5"), "no such file"),
        (("segment", tmp_path / "ok.nii.gz", "--model", model_dir, "--out", tmp_path / "s7", "--purity-power", -1),
         "purity_power must be >= 0, got -1.0"),
        (("segment", tmp_path / "ok.nii.gz", "--model", model_dir, "--out", tmp_path / "s8", "--supervoxels", 0, "--purity-power", 2),
         "a purity power weighs voxels within supervoxels: it needs supervoxels (a size above 0)"),
    ]
    for args, message in cases:
        result = _invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.nii.gz", "taken", "thin.nii.gz"]  # no partial output
    assert (tmp_path / "taken" / "x").read_text() == "keep me"


def test_overwrite_never_deletes_an_input_or_the_model_and_same_named_inputs_are_refused(model_dir, tmp_path):
    import shutil

    inputs = tmp_path / "inputs"
    inputs.mkdir()
    save_volume(_volume(0), path=inputs / "v.nii.gz")
    (tmp_path / "other").mkdir()
    save_volume(_volume(1), path=tmp_path / "other" / "v.mrc")
    model = tmp_path / "model"
    shutil.copytree(model_dir, model)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    cases = [
        (inputs / "v.nii.gz", inputs / "v.nii.gz", inputs / "v.nii.gz"),  # the input itself
        (inputs / "v.nii.gz", inputs, inputs / "v.nii.gz"),  # the input's folder
        (inputs / "v.nii.gz", model, model),  # the model
        (inputs / "v.nii.gz", tmp_path, model),  # a folder above both (the model is named first)
    ]
    for volume, out, lost in cases:
        result = _invoke("segment", volume, "--model", model, "--out", out, "--overwrite")
        assert result.exit_code == 2, (out, result.output)
        assert f"writing the output there would delete {lost.resolve()}, an input or the model" in result.output
        without = _invoke("segment", volume, "--model", model, "--out", out)  # nothing would be deleted: not hypseg's
        what = "is a file" if out.is_file() else "holds files but no segmentation.json of hypseg's"
        assert without.exit_code == 2 and without.output == (f"hypseg: error: {out} already exists and {what}, so it is not "
                                                             "a segmentation folder; choose another --out\n")
    result = _invoke("segment", inputs / "v.nii.gz", tmp_path / "other" / "v.mrc", "--model", model, "--out", tmp_path / "s")
    assert result.exit_code == 2
    assert f"{inputs / 'v.nii.gz'} and {tmp_path / 'other' / 'v.mrc'}: both would write outputs named v_*" in result.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_overwrite_replaces_a_segmentation_folder_and_nothing_else(model_dir, tmp_path):
    save_volume(_volume(0), path=tmp_path / "v.nii.gz")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("keep me")
    (notes / "sub").mkdir()
    (tmp_path / "file.txt").write_text("keep me too")
    other = tmp_path / "other"  # a segmentation.json of another tool
    other.mkdir()
    (other / "segmentation.json").write_text('{"tool": "other"}')
    for out, what in ((notes, "holds files but no segmentation.json of hypseg's"), (other, "holds files but no segmentation.json of hypseg's"),
                      (tmp_path / "file.txt", "is a file")):
        for overwrite in ((), ("--overwrite",)):
            result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, *overwrite)
            assert result.exit_code == 2, result.output
            assert result.output == (f"hypseg: error: {out} already exists and {what}, so it is not a segmentation folder; "
                                     "choose another --out\n")
    assert (notes / "keep.txt").read_text() == "keep me" and (notes / "sub").is_dir()
    assert (other / "segmentation.json").read_text() == '{"tool": "other"}'
    assert (tmp_path / "file.txt").read_text() == "keep me too"
    seg = tmp_path / "seg"
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", seg, "-k", 2).exit_code == 0
    (seg / "extra.txt").write_text("x")
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", seg, "-k", 3, "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in seg.iterdir()) == ["segmentation.json", "v_embedding.npy", "v_k3.nii.gz"]


def test_an_output_folder_that_is_a_symbolic_link_is_refused_before_any_work(model_dir, tmp_path):
    save_volume(_volume(0), path=tmp_path / "v.nii.gz")
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "old.txt").write_text("kept")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "link", "--overwrite")
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {tmp_path / 'link'} is a symbolic link; give the path it points to "
                             f"({(tmp_path / 'real').resolve()}) or another --out\n")
    assert (tmp_path / "link").is_symlink() and [p.name for p in (tmp_path / "real").iterdir()] == ["old.txt"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no folder can be made")
def test_an_output_folder_that_cannot_be_made_is_named_as_given(model_dir, tmp_path):
    save_volume(_volume(0), path=tmp_path / "v.nii.gz")
    out = Path("/proc") / f"hypseg-test-{tmp_path.name}"
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2)
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {out}: cannot write in /proc, where the output is made under a temporary name "
                             "first (No such file or directory); nothing was written\n")


def test_off_a_terminal_each_stage_of_a_segmentation_is_one_line(model_dir, tmp_path):
    save_volume(_volume(0), path=tmp_path / "v.nii.gz")
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg", "-k", 2)
    assert result.exit_code == 0, result.output
    stages = [re.sub(r" in \d+\.\d s$", "", line) for line in result.stderr.splitlines()]
    assert stages == ["embedding: 1/1 vol", "supervoxels and clustering: 1/1 stage"]  # no line per tile


def test_the_command_line_notes_how_level_1_found_its_object_where_no_field_of_view_has_one(tmp_path):
    from helpers import cell_image, speckle_image, split_field_image

    model_dir = train_tiny_model(tmp_path / "run", cell_image((16, 16, 16), seed=1), steps=40)  # one that sees intensity
    save_volume(Volume.from_array(split_field_image()[0]), path=tmp_path / "slabs.npy")
    save_volume(Volume.from_array(speckle_image()), path=tmp_path / "speckle.npy")
    result = _invoke("segment", tmp_path / "slabs.npy", tmp_path / "speckle.npy", "--model", model_dir,
                     "--out", tmp_path / "seg", "-k", 2)
    assert result.exit_code == 0, result.output
    cases = {case["name"]: case for case in json.loads((tmp_path / "seg" / "segmentation.json").read_text())["cases"]}
    assert cases["slabs"].get("level1_retried") and cases["speckle"].get("level1_by_contrast")
    assert result.stdout.splitlines()[1:] == [
        "note: slabs: level 1's two clusters lay across the whole image, so its object is the cluster off the faces of "
        "a second try with more clusters",
        "note: speckle: level 1 finds no object in a field of view, so its object is the rarer part of its local "
        "contrast (small objects scattered through the image)"]


@pytest.mark.parametrize("stop, status", [("ctrl-c", 130), ("sigterm", 143)])
def test_an_interrupted_segmentation_says_nothing_was_written(model_dir, tmp_path, monkeypatch, stop, status):
    """Ctrl+C, or SIGTERM (kill PID, a batch scheduler's stop), which the command line raises as Ctrl+C is raised:
    it ended the process at once, saying nothing and leaving a temporary output folder behind for good."""
    from hypseg.cli._errors import Terminated
    from hypseg.inference import pipeline

    def interrupted(*args, **kwargs):
        raise Terminated if stop == "sigterm" else KeyboardInterrupt

    save_volume(_volume(0), path=tmp_path / "v.nii.gz")
    monkeypatch.setattr(pipeline, "segment", interrupted)
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg")
    assert result.exit_code == status
    assert result.stderr == f"hypseg: interrupted; nothing was written to {tmp_path / 'seg'}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.nii.gz"]


@pytest.mark.parametrize("typer_ends_it", [True, False])
def test_sigterm_ends_the_command_line_with_143_and_a_second_one_is_ignored(monkeypatch, typer_ends_it):
    """Any command: Typer ends one stopped by Ctrl+C with 130, which the command line makes 143 after SIGTERM; a second
    SIGTERM during the clean-up must not cut it short."""
    import os
    import signal

    import hypseg.cli as cli
    from hypseg.cli import _errors
    from hypseg.cli import app as commands

    monkeypatch.setattr("hypseg._malloc.keep_freed_memory", lambda: None)
    monkeypatch.setattr(_errors, "_TERMINATED", [False])
    monkeypatch.delenv("TORCHELASTIC_RUN_ID", raising=False)

    def command():
        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN)  # main's handler: safe to send
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.sigtimedwait([], 0)  # a call that lets the handler run here
        except KeyboardInterrupt:
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGTERM)  # during the clean-up: ignored
            if typer_ends_it:
                raise SystemExit(130) from None
            raise

    monkeypatch.setattr(commands, "app", command)
    before = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as done:
            cli.main()
    finally:
        signal.signal(signal.SIGTERM, before)
    assert done.value.code == 143


def test_under_torchrun_a_rank_keeps_sigterms_default(monkeypatch):
    """torchrun's agent stops its ranks with SIGTERM, then SIGKILL: a rank blocked in a collective never reaches a
    Python handler."""
    import signal

    from hypseg.cli._errors import stop_on_sigterm

    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "run")
    before = signal.getsignal(signal.SIGTERM)
    stop_on_sigterm()
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_patch_side_the_model_cannot_embed_is_refused_before_any_work(model_dir, tmp_path):
    save_volume(_volume(0), path=tmp_path / "v.nii.gz")
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "s", "-p", 3)
    assert result.exit_code == 2
    assert result.output.splitlines() == ["hypseg: error: patch_size 3 must divide or be a multiple of the model's patch "
                                          "size m = 10 for the dense pass; segment at a side that does (the model's own: "
                                          "-p 10, or SegmentConfig.at_patch_sides([10]) in Python), or train with "
                                          "data.patch_resize = 3"]
    assert not (tmp_path / "s").exists()


def test_a_patch_side_larger_than_the_volume_is_refused_before_any_work(model_dir, tmp_path):
    """Such a patch is mostly padding around the whole volume: slow, and it describes nothing. The model's own side
    stays allowed on a smaller volume; in Python the volume is named by its place."""
    from hypseg import load_model
    from hypseg.config import segment_preset
    from hypseg.inference.recipe import segment

    volume = _volume(0)
    save_volume(volume, path=tmp_path / "v.nii.gz")
    size = " x ".join(map(str, volume.shape))
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "s", "-p", 200)
    assert result.exit_code == 2
    assert result.output.splitlines() == [f"hypseg: error: {tmp_path / 'v.nii.gz'}: patch side 200 is larger than the "
                                          f"volume ({size} voxels); use sides of at most {max(volume.shape)}"]
    assert not (tmp_path / "s").exists()
    model = load_model(model_dir)
    config = segment_preset("default").at_patch_sides([20])
    large = np.random.default_rng(1).normal(size=(24, 24, 24)).astype(np.float32)
    with pytest.raises(ValueError, match="^" + re.escape("volume 1: patch side 20 is larger than the volume (8 x 9 x 9 voxels); "
                                                         "use sides of at most 10") + "$"):
        segment([large, np.zeros((8, 9, 9), np.float32)], model, config)
    small = np.random.default_rng(0).normal(size=(8, 8, 8)).astype(np.float32)  # below the model's own side 10
    result = segment([model.normalise(small)], model, segment_preset("default").at_patch_sides([10]).with_clusters([2]))
    assert result.volumes[0].labels[2].shape == (8, 8, 8)


def test_a_warning_is_one_line_on_the_command_line(model_dir, tmp_path):
    import shutil

    unfinished = tmp_path / "unfinished"
    shutil.copytree(model_dir, unfinished)
    text = (unfinished / "config.toml").read_text()
    (unfinished / "config.toml").write_text(re.sub(r"(?m)^steps = \d+$", "steps = 1000", text))  # as if interrupted
    save_volume(_volume(0), path=tmp_path / "v.nii.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside the test suite, which turns warnings into errors
        # (noise holds no object in a field of view: without containment, for no warning about that)
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", unfinished, "--out", tmp_path / "s", "-k", 2,
                         "--no-containment")
    assert result.exit_code == 0, result.output
    assert "UnfinishedTrainingWarning" not in result.output and "warnings.warn" not in result.output
    warned = [line for line in result.output.splitlines() if line.startswith("hypseg: warning")]
    assert warned == [f"hypseg: warning: {unfinished}: the model is from step 2 of 1000: its training did not finish "
                      f"(hypseg train ... --out {unfinished} --resume continues it)"]


def test_a_model_of_another_version_or_shape_is_refused(model_dir, tmp_path):
    import shutil

    foreign = tmp_path / "foreign"
    shutil.copytree(model_dir, foreign)
    text = (foreign / "config.toml").read_text().replace("format_version = 1", "format_version = 7")
    (foreign / "config.toml").write_text(text)
    save_volume(_volume(0), path=tmp_path / "v.nii.gz")
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", foreign, "--out", tmp_path / "s")
    assert result.exit_code == 2 and "written by run format version 7; this hypseg reads version 1" in result.output
    reshaped = tmp_path / "reshaped"
    shutil.copytree(model_dir, reshaped)
    (reshaped / "config.toml").write_text((reshaped / "config.toml").read_text().replace("hidden = 8", "hidden = 9"))
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", reshaped, "--out", tmp_path / "s")
    assert result.exit_code == 2 and "weights do not match the model of its config" in result.output
    assert not (tmp_path / "s").exists()


def test_evaluate_refuses_a_truth_of_another_shape(model_dir, tmp_path):
    vol = _volume(6)
    save_volume(vol, path=tmp_path / "v.nii.gz")
    other = Volume(array=np.zeros((9, 9, 9), np.float32), spacing=(1.0, 1.0, 1.0), affine=np.eye(4))
    save_labels(np.zeros((9, 9, 9), np.uint8), like=other, path=tmp_path / "t.nii.gz")
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg", "-k", 2).exit_code == 0
    result = _invoke("evaluate", tmp_path / "seg", "--truth", tmp_path / "t.nii.gz")
    assert result.exit_code == 2 and "t.nii.gz" in result.output and "shape" in result.output
    assert not (tmp_path / "seg" / "evaluation.csv").exists()


def test_evaluate_names_a_recorded_truth_that_moved(model_dir, tmp_path):
    save_volume(_volume(7), path=tmp_path / "v.nii.gz")
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg", "-k", 2).exit_code == 0
    manifest = json.loads((tmp_path / "seg" / "segmentation.json").read_text())
    manifest["cases"][0]["truth"] = {"1": str(tmp_path / "gone.nii.gz")}  # as a dataset's segmentation records it
    (tmp_path / "seg" / "segmentation.json").write_text(json.dumps(manifest))
    result = _invoke("evaluate", tmp_path / "seg")
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {tmp_path / 'gone.nii.gz'}: the truth recorded in {tmp_path / 'seg' / 'segmentation.json'} "
                             "is not there (moved?); pass --truth label files or the dataset folder\n")


def test_one_command_runs_the_default_recipe_with_its_containment(model_dir, tmp_path):
    from hypseg.config import segment_preset
    from hypseg.io import load_labels

    inputs = []
    for i in range(2):
        save_volume(_volume(10 + i, shape=(24, 24, 24)), path=tmp_path / f"v{i}.nii.gz")
        inputs.append(tmp_path / f"v{i}.nii.gz")
    result = _invoke("segment", *inputs, "--model", model_dir, "--out", tmp_path / "seg")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "seg" / "segmentation.json").read_text())
    assert manifest["recipe"] == segment_preset("default").to_dict() and manifest["clusters"] == [2, 4, 8]
    for i, case in enumerate(manifest["cases"]):
        obj = load_labels(tmp_path / "seg" / case["object"]).astype(bool)
        np.testing.assert_array_equal(load_labels(tmp_path / "seg" / f"v{i}_k2.nii.gz"), obj)  # level 1: the object
        for k in (4, 8):
            labels = load_labels(tmp_path / "seg" / f"v{i}_k{k}.nii.gz")
            if case.get("level1_by_contrast"):  # no outside: the specimen around local contrast's object is divided
                assert (labels[obj] == 1).all() and (labels[~obj] != 1).all()
            else:
                assert (labels[~obj] == 0).all() and (labels[obj] >= 1).all()  # the outside is label 0, clusters inside


def test_recipe_and_option_mistakes_are_one_line_errors_and_leave_nothing(model_dir, tmp_path):
    save_volume(_volume(20, shape=(16, 16, 16)), path=tmp_path / "v.nii.gz")
    base = ("segment", tmp_path / "v.nii.gz", "--model", model_dir)
    cases = [
        ((*base, "--out", tmp_path / "s1", "--recipe", "fast"), "--recipe fast: neither a segmentation preset (default, paper) nor a TOML file of a SegmentConfig (a .toml; SegmentConfig.save_toml writes one)"),
        ((*base, "--out", tmp_path / "s2", "-k", 3, "--containment"),
         "containment needs a first level of 2 clusters (the object and its outside), got 3"),
        ((*base, "--out", tmp_path / "s3", "--nested"), "nested levels and containment exclude each other"),
        ((*base, "--out", tmp_path / "s4", "--recipe", tmp_path / "none.toml"), "no such config file"),
        ((*base, "--out", tmp_path / "s5", "--recipe", tmp_path / "partial.toml"),
         f"hypseg: error: {tmp_path / 'partial.toml'}: SegmentConfig: missing key 'levels'\n"),
    ]
    (tmp_path / "partial.toml").write_text('space = "ball"\n')
    for args, message in cases:
        result = _invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    assert not any((tmp_path / f"s{i}").exists() for i in range(1, 6))


def test_a_recipe_file_and_single_options_override_the_preset(model_dir, tmp_path):
    from hypseg.config import segment_preset

    save_volume(_volume(22, shape=(16, 16, 16)), path=tmp_path / "v.nii.gz")
    segment_preset("paper").save_toml(tmp_path / "paper.toml")
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg",
                     "--recipe", tmp_path / "paper.toml", "-k", 2, "-k", 3, "--pooled", "--seed", 4)
    assert result.exit_code == 0, result.output
    recipe = json.loads((tmp_path / "seg" / "segmentation.json").read_text())["recipe"]
    expected = segment_preset("paper").with_clusters([2, 3]).with_levels(pooled=True)
    assert recipe == {**expected.to_dict(), "seed": 4}


def test_per_volume_a_volume_of_too_few_supervoxels_is_clustered_voxel_by_voxel(model_dir, tmp_path):
    save_volume(_volume(0), path=tmp_path / "small.nii.gz")  # 1716 voxels: 4 supervoxels of 500
    save_volume(_volume(1, shape=(30, 30, 30)), path=tmp_path / "large.nii.gz")  # 54 of them
    out = tmp_path / "seg"
    result = _invoke("segment", tmp_path / "small.nii.gz", tmp_path / "large.nii.gz", "--model", model_dir, "--out", out,
                     "-k", 8, "--supervoxels", 500, "--per-volume")
    assert result.exit_code == 0, result.output
    assert f"segmented 2 volumes at k = [8] into {out}\n" in result.output
    assert "note: 1 volume held fewer supervoxels than clusters, clustered voxel by voxel: small" in result.output
    cases = {c["name"]: c for c in json.loads((out / "segmentation.json").read_text())["cases"]}
    assert cases["small"].get("clustered_voxels") is True and "clustered_voxels" not in cases["large"]
    small = load_labels(out / "small_k8.nii.gz")
    assert len(np.unique(small)) == 8  # voxels: more distinct regions than its supervoxels could give


@pytest.mark.filterwarnings("ignore::hypseg.clustering.exceptions.EmptyClusterWarning")  # all points alike
def test_a_collapsed_model_segments_with_a_warning_that_says_so(model_dir, tmp_path):
    from helpers import collapsed_copy

    collapsed = collapsed_copy(model_dir, tmp_path / "collapsed")
    save_volume(_volume(9, shape=(16, 16, 16)), path=tmp_path / "v.nii.gz")
    message = "volume 0: the model embeds every voxel alike (spread 0, below 0.0001): its training collapsed"
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside the test suite (which ignores this warning)
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", collapsed, "--out", tmp_path / "seg", "-k", 2,
                         "--no-containment")
    assert result.exit_code == 0, result.output
    assert any(line.startswith(f"hypseg: warning: {message}") for line in result.output.splitlines())
    assert "CollapsedModelWarning" not in result.output  # one line, not Python's two
    healthy = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg2", "-k", 2)
    assert healthy.exit_code == 0  # and no warning: the test's warnings are errors


def _noisy_ball(path):
    """A bright ball of radius 6 in a 20^3 field, in noise: a level-1 object whose boundary its supervoxels straddle."""
    z, y, x = np.indices((20, 20, 20))
    ball = (((z - 10) ** 2 + (y - 10) ** 2 + (x - 10) ** 2) <= 36).astype(np.float32)
    array = ball + np.random.default_rng(1).normal(0, 0.2, ball.shape).astype(np.float32)
    save_volume(Volume(array=array, spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path=path)


def test_refine_sets_the_passes_of_the_level1_boundary(model_dir, tmp_path):
    import json

    _noisy_ball(tmp_path / "v.nii.gz")
    maps = {}
    for passes in (0, 3, None):
        options = () if passes is None else ("--refine", passes)
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / f"seg{passes}", "-k", 2, "-k", 3,
                         *options, "--contrast-sides", "0")  # the ball's level 1 from its clusters, not local contrast
        assert result.exit_code == 0, result.output
        manifest = json.loads((tmp_path / f"seg{passes}" / "segmentation.json").read_text())
        assert manifest["recipe"]["refine"] == (2 if passes is None else passes)  # the default recipe's 2
        maps[passes] = load_labels(tmp_path / f"seg{passes}" / "v_k2.nii.gz")
    assert (maps[0] != maps[3]).any() and (maps[0] != maps[None]).any()  # the passes move the level-1 object


def test_inversion_averages_every_code_with_its_inverted_patchs_and_the_manifest_says_so(model_dir, tmp_path):
    import json

    _noisy_ball(tmp_path / "v.nii.gz")
    codes = {}
    for value in ("every", "none"):
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / value, "-k", 2,
                         "--inversion", value)
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / value / "segmentation.json").read_text())["recipe"]["inversion"] == value
        codes[value] = np.load(tmp_path / value / "v_embedding.npy")
    assert codes["every"].shape == codes["none"].shape and not np.allclose(codes["every"], codes["none"], atol=1e-4)
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "bad", "--inversion", "all")
    assert result.exit_code == 2 and not (tmp_path / "bad").exists()
    assert result.output.strip().splitlines()[-1] == "hypseg: error: SegmentConfig: inversion must be one of none, finer, every, got 'all'"


def test_voxel_band_sets_how_near_level_ones_boundary_voxels_decide_alone(model_dir, tmp_path):
    import json

    _noisy_ball(tmp_path / "v.nii.gz")
    maps = {}
    for width in (0, 3):  # not the default's width, so that a dropped option shows
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / f"seg{width}", "-k", 2,
                         "--refine", 0, "--voxel-band", width, "--contrast-sides", "0")  # local contrast has no band
        assert result.exit_code == 0, result.output
        assert json.loads((tmp_path / f"seg{width}" / "segmentation.json").read_text())["recipe"]["voxel_band"] == width
        maps[width] = load_labels(tmp_path / f"seg{width}" / "v_k2.nii.gz")
    assert (maps[0] != maps[3]).any()  # the band moves the level-1 object
    for width in (0, 2):  # a tied mixture at level 1 keeps its own assignment: the band is ignored
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / f"tied{width}", "-k", 2,
                         "--refine", 0, "--voxel-band", width, "--clusterer", "tied-mixture", "--space", "tangent")
        assert result.exit_code == 0, result.output
    assert np.array_equal(load_labels(tmp_path / "tied0" / "v_k2.nii.gz"), load_labels(tmp_path / "tied2" / "v_k2.nii.gz"))


def test_band_side_sets_the_embedding_the_band_decides_by_and_p_resets_it(model_dir, tmp_path):
    import json

    from hypseg.inference.recipe import BAND_SIDES_NEED_FLAT

    _noisy_ball(tmp_path / "v.nii.gz")
    maps = {}
    for side, options in ((0, ()), (5, ()), (None, ("-p", 10))):
        out = tmp_path / f"seg{side}"
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2, "-k", 3,
                         "--refine", 0, "--voxel-band", 2, "--band-feature", "embedding",
                         *(("--band-side", side) if side is not None else ()), *options,
                         "--contrast-sides", "0")  # local contrast decides voxel by voxel, with no band
        assert result.exit_code == 0, result.output
        recorded = json.loads((out / "segmentation.json").read_text())["recipe"]["band_sides"]
        assert recorded == ([5] if side == 5 else [])  # -p alone: level 1's own side
        maps[side] = load_labels(out / "v_k2.nii.gz")
    assert (maps[0] != maps[5]).any()  # the side-5 embedding decides otherwise than level 1's own
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "ball", "-k", 2, "-k", 3,
                     "--band-side", 5, "--band-feature", "embedding", "--space", "ball")
    assert result.exit_code == 2 and result.stderr == f"hypseg: error: {BAND_SIDES_NEED_FLAT}\n"
    assert not (tmp_path / "ball").exists()


def test_band_feature_is_recorded_keeps_its_box_side_under_p_and_a_bad_one_is_a_one_line_error(model_dir, tmp_path):
    import json

    _noisy_ball(tmp_path / "v.nii.gz")
    _recorded_and_refused(model_dir, tmp_path, "--band-feature", "intensity", "band_feature", "mean",
                          "SegmentConfig: band_feature must be one of embedding, intensity, got 'mean'")
    maps = {}
    for feature in ("embedding", "intensity"):
        out = tmp_path / f"band-{feature}"
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2, "-k", 3, "--refine", 0,
                         "--voxel-band", 2, "--band-feature", feature, "--band-side", 5, "-p", 10, "--contrast-sides", "0")
        assert result.exit_code == 0, result.output
        recipe = json.loads((out / "segmentation.json").read_text())["recipe"]
        assert recipe["band_feature"] == feature
        assert recipe["band_sides"] == [5]  # given, after -p
        maps[feature] = load_labels(out / "v_k2.nii.gz")
    assert (maps["embedding"] != maps["intensity"]).any()
    for feature, sides in (("embedding", []), ("intensity", [5])):  # another feature than the recipe's: level 1's side
        out = tmp_path / f"alone-{feature}"
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2, "--band-feature", feature)
        assert result.exit_code == 0, result.output
        assert json.loads((out / "segmentation.json").read_text())["recipe"]["band_sides"] == sides
    out = tmp_path / "p-keeps"
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2, "--recipe",
                     str(_band_recipe(tmp_path)), "-p", 10)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "segmentation.json").read_text())["recipe"]["band_sides"] == [3]  # -p keeps a box side


def _band_recipe(tmp_path):
    """A recipe file whose voxel band decides by the box mean at side 3."""
    import dataclasses

    from hypseg.config import segment_preset

    path = tmp_path / "band.toml"
    dataclasses.replace(segment_preset("default"), band_feature="intensity", band_sides=(3,)).save_toml(path)
    return path


def _recorded_and_refused(model_dir, tmp_path, option: str, good, key: str, bad, message: str) -> None:
    """``option good`` is recorded in segmentation.json's recipe as ``key``; ``option bad`` is a one-line error
    ``message``, exit status 2, and no output folder."""
    import json

    out = tmp_path / f"seg{option}"
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2, "-k", 3, option, good)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "segmentation.json").read_text())["recipe"][key] == good
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "bad", option, bad)
    assert result.exit_code == 2 and result.stderr == f"hypseg: error: {message}\n"
    assert not (tmp_path / "bad").exists()


def test_field_retry_is_recorded_and_a_count_below_three_is_a_one_line_error(model_dir, tmp_path):
    _noisy_ball(tmp_path / "v.nii.gz")
    _recorded_and_refused(model_dir, tmp_path, "--field-retry", 4, "field_retry", 2,
                          "SegmentConfig: field_retry must be 0 (no second try) or a whole number of clusters >= 3, got 2")


def test_evaluate_says_which_truth_level_met_which_count_when_they_do_not_fit(model_dir, tmp_path):
    vol = _volume(8)
    save_volume(vol, path=tmp_path / "v.nii.gz")
    save_labels((vol.array > 0).astype(np.uint8), like=vol, path=tmp_path / "t.nii.gz")  # a level of 2 classes
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg", "-k", 3, "-k", 6).exit_code == 0
    manifest = json.loads((tmp_path / "seg" / "segmentation.json").read_text())
    manifest["cases"][0]["truth"] = {"1": str(tmp_path / "t.nii.gz")}  # as a dataset's segmentation records it
    (tmp_path / "seg" / "segmentation.json").write_text(json.dumps(manifest))
    result = _invoke("evaluate", tmp_path / "seg")
    assert result.exit_code == 0, result.output
    assert "| v | 3 | 1 |" in result.stdout and "| v | 6 |" not in result.stdout
    assert result.stderr == ("note: truth level 1 has 2 classes and was scored against k = 3\n"
                             "note: k = 6: the truth has no level for it; not scored\n")
    result = _invoke("evaluate", tmp_path / "seg", "--truth", tmp_path / "t.nii.gz")  # one map, scored at every count
    assert result.exit_code == 0, result.output
    assert result.stderr == ("note: the truth label map has 2 classes and was scored against k = 3\n"
                             "note: the truth label map has 2 classes and was scored against k = 6\n")


def test_an_instance_map_is_named_as_one_and_foreground_scores_it_as_two_classes(model_dir, tmp_path):
    vol = _volume(8)
    save_volume(vol, path=tmp_path / "v.nii.gz")
    instances = np.zeros(vol.shape, dtype=np.uint8)  # five objects, each its own label
    for i in range(5):
        instances[:, :, 2 * i:2 * i + 1] = i + 1
    save_labels(instances, like=vol, path=tmp_path / "t.nii.gz")
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg", "-k", 2, "-k", 3,
                   "--no-containment").exit_code == 0
    result = _invoke("evaluate", tmp_path / "seg", "--truth", tmp_path / "t.nii.gz")
    assert result.exit_code == 0, result.output
    hint = "; if it labels instances (one label per object), --foreground scores it as background against the rest"
    assert result.stderr == (f"note: the truth label map has 6 classes and was scored against k = 2{hint}\n"
                             "note: the truth label map has 6 classes and was scored against k = 3\n")  # the hint once
    result = _invoke("evaluate", tmp_path / "seg", "--truth", tmp_path / "t.nii.gz", "--foreground")
    assert result.exit_code == 0, result.output
    assert result.stderr == "note: the truth label map has 2 classes (as foreground) and was scored against k = 3\n"
    from hypseg.metrics import matched_dice

    k2 = load_labels(tmp_path / "seg" / "v_k2.nii.gz")
    assert f"| v | 2 | all | {matched_dice(k2, (instances > 0).astype(np.uint8)).mean:.3f} |" in result.stdout


def test_pairing_notes_count_a_levels_classes_over_all_its_volumes():
    from hypseg.cli.evaluate import pairing_notes
    from hypseg.inference.pipeline import ScoreRow

    rows = [ScoreRow("a", 4, "2", 0.5, {0: 1, 1: 1, 2: 1, 3: 1}), ScoreRow("b", 4, "2", 0.5, {0: 1, 1: 1, 2: 1})]
    assert pairing_notes(rows, [4]) == []  # volume b lacks class 3; the level has four


def test_pairing_notes_name_foreground_once_per_truth_map():
    from hypseg.cli.evaluate import pairing_notes
    from hypseg.inference.pipeline import ScoreRow

    five = {c: 1.0 for c in range(5)}
    notes = pairing_notes([ScoreRow("a", 2, "all", 0.5, five), ScoreRow("a", 4, "all", 0.5, five)], [2, 4])
    assert notes == ["the truth label map has 5 classes and was scored against k = 2; if it labels instances (one label "
                     "per object), --foreground scores it as background against the rest",
                     "the truth label map has 5 classes and was scored against k = 4"]


def test_a_truth_on_another_grid_is_scored_with_a_one_line_warning(model_dir, tmp_path):
    save_volume(_volume(3), path=tmp_path / "v.nii.gz")
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "seg", "-k", 2, "-k", 3).exit_code == 0
    truth = (np.random.default_rng(0).random((12, 13, 11)) > 0.5).astype(np.uint8)
    same, moved, nudged = _volume(3), _volume(3), _volume(3)
    moved.affine = moved.affine + np.array([[0, 0, 0, 5.0]] * 3 + [[0, 0, 0, 0]])  # shifted by 5 along each axis
    nudged.affine = nudged.affine + np.array([[0, 0, 0, 0.01]] * 3 + [[0, 0, 0, 0]])  # by 0.01 (voxels of 0.5-2): one grid
    save_labels(truth, like=same, path=tmp_path / "same.nii.gz")
    save_labels(truth, like=nudged, path=tmp_path / "nudged.nii.gz")
    save_labels(truth, like=moved, path=tmp_path / "moved.nii.gz")
    nudged_run = _invoke("evaluate", tmp_path / "seg", "--truth", tmp_path / "nudged.nii.gz", "--csv", tmp_path / "c.csv")
    assert nudged_run.exit_code == 0 and "warning" not in nudged_run.stderr
    quiet = _invoke("evaluate", tmp_path / "seg", "--truth", tmp_path / "same.nii.gz", "--csv", tmp_path / "a.csv")
    assert quiet.exit_code == 0 and "warning" not in quiet.stderr
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside the test suite, which turns warnings into errors
        warned = _invoke("evaluate", tmp_path / "seg", "--truth", tmp_path / "moved.nii.gz", "--csv", tmp_path / "b.csv")
    assert warned.exit_code == 0, warned.output
    assert [line for line in warned.stderr.splitlines() if "warning" in line] == [  # once, not once per cluster count
        f"hypseg: warning: {tmp_path / 'moved.nii.gz'}: its affine differs from that of v_k2.nii.gz (the segmented "
        "volume's); they are compared voxel by voxel, as if on one grid"]
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_a_model_that_is_a_file_is_named_as_a_file(tmp_path):
    save_volume(_volume(9), path=tmp_path / "v.nii.gz")
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", tmp_path / "v.nii.gz", "--out", tmp_path / "seg")
    assert result.exit_code == 2 and not (tmp_path / "seg").exists()
    assert result.output == f"hypseg: error: {tmp_path / 'v.nii.gz'} is a file; a model is the folder hypseg train wrote\n"


def test_no_progress_leaves_stderr_empty(model_dir, tmp_path):
    save_volume(_volume(2), path=tmp_path / "v.nii.gz")
    shown = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "a", "-k", 2)
    quiet = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "b", "-k", 2, "--no-progress")
    assert shown.exit_code == quiet.exit_code == 0, (shown.output, quiet.output)
    assert "embedding" in shown.stderr and quiet.stderr == ""


def test_an_output_folder_that_cannot_be_made_is_one_line(model_dir, tmp_path):
    save_volume(_volume(2), path=tmp_path / "v.nii.gz")
    (tmp_path / "file").write_text("x")
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "file" / "sub" / "seg")
    assert result.exit_code == 2
    assert result.output.startswith(f"hypseg: error: {tmp_path / 'file' / 'sub' / 'seg'}: cannot create the folder it goes in, "
                                    f"{tmp_path / 'file' / 'sub'} (")
    assert len(result.output.splitlines()) == 1 and (tmp_path / "file").read_text() == "x"


@pytest.mark.parametrize("chunked", [False, True])
def test_no_embedding_keeps_the_label_maps_and_drops_the_embedding(model_dir, tmp_path, chunked):
    save_volume(_volume(2), path=tmp_path / "v.nii.gz")
    extra = ["--chunk", 128] if chunked else []
    assert _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "a", "-k", 2, "-k", 3, *extra).exit_code == 0
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "b", "-k", 2, "-k", 3,
                     "--no-embedding", *extra)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted([p.name for p in (tmp_path / "b").iterdir()] + ["v_embedding.npy"])
    assert json.loads((tmp_path / "b" / "segmentation.json").read_text())["cases"][0]["embedding"] is None
    for name in ("v_k2.nii.gz", "v_k3.nii.gz"):
        np.testing.assert_array_equal(load_labels(tmp_path / "a" / name), load_labels(tmp_path / "b" / name))
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no work folder left
    plotted = _invoke("plot", tmp_path / "b")
    assert plotted.exit_code == 0, plotted.output
    assert sorted(p.name for p in (tmp_path / "b" / "plots").iterdir()) == ["v_slices.png"]  # no embedding, no disk


def test_a_volume_with_no_object_in_a_field_segments_with_a_one_line_warning(model_dir, tmp_path):
    image = np.where(np.arange(16) < 8, 2.0, -2.0)[None, None, :] * np.ones((16, 16, 1))  # two slabs, no field
    spacing = (1.0, 1.0, 1.0)
    save_volume(Volume(array=image.astype(np.float32), spacing=spacing, affine=affine_from_spacing(spacing)),
                path=tmp_path / "slabs.nii.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside the test suite
        result = _invoke("segment", tmp_path / "slabs.nii.gz", "--model", model_dir, "--out", tmp_path / "seg", "-k", 2,
                         "--contrast-sides", "0")  # the default's local contrast would find an object instead
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("hypseg: warning")]
    assert len(warned) == 1 and warned[0].startswith("hypseg: warning: volume 0: level 1's object meets the volume's faces")
    assert warned[0].endswith("--no-containment clusters every level over the whole volume")
    assert load_labels(tmp_path / "seg" / "slabs_k2.nii.gz").shape == (16, 16, 16)  # segmented all the same


def test_contrast_sides_are_recorded_and_a_bad_pair_is_a_one_line_error(model_dir, tmp_path):
    _noisy_ball(tmp_path / "v.nii.gz")
    out = tmp_path / "seg"
    result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2, "-k", 3,
                     "--contrast-sides", "2,5")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "segmentation.json").read_text())["recipe"]["contrast_sides"] == [2, 5]
    _recorded_and_refused(model_dir, tmp_path, "--contrast-components", 3, "contrast_components", 1,
                          "SegmentConfig: contrast_components must be a whole number of mixture components >= 2, got 1")
    _recorded_and_refused(model_dir, tmp_path, "--contrast-divides", "specimen", "contrast_divides", "particles",
                          "SegmentConfig: contrast_divides must be one of object, specimen, got 'particles'")
    _recorded_and_refused(model_dir, tmp_path, "--contrast-assign", "likelihood", "contrast_assign", "prior",
                          "SegmentConfig: contrast_assign must be one of posterior, likelihood, got 'prior'")
    _recorded_and_refused(model_dir, tmp_path, "--contrast-grow", 1, "contrast_grow", -1,
                          "SegmentConfig: contrast_grow must be a whole number of voxels >= 0, got -1")
    _recorded_and_refused(model_dir, tmp_path, "--contrast-feature", "intensity", "contrast_feature", "mean",
                          "SegmentConfig: contrast_feature must be one of embedding, intensity, both, got 'mean'")
    for chunked in ((), ("--chunk", 16)):  # the default's box sides 3,10 on an embedding this model cannot give at 3
        out = tmp_path / f"embedding{len(chunked)}"
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2,
                         "--contrast-feature", "embedding", *chunked)
        assert result.exit_code == 2 and not out.exists(), result.output
        assert result.output.strip().splitlines()[-1] == (
            "hypseg: error: local contrast on the embedding needs the embedding at patch sides 3 and 10, and the model "
            "(patch size m = 10) cannot embed at 3: give --contrast-sides with sides it can (e.g. 5,10) or "
            "--contrast-feature intensity")
    import dataclasses

    from hypseg.config import segment_preset

    retry0 = tmp_path / "retry0.toml"  # a recipe without the second try, given back by --field-retry 3 with -p
    dataclasses.replace(segment_preset("default"), field_retry=0).save_toml(retry0)
    embedding = ("--contrast-feature", "embedding")
    for options, recorded in ((("-p", 10, "-p", 5, *embedding), [5, 10]), (("-p", 10, *embedding), [10, 20]),
                              (("-p", 10, "--recipe", str(retry0), "--field-retry", 3, *embedding), [10, 20]),
                              (("-p", 10, "--contrast-sides", "2,5"), [2, 5]), (("-p", 10, "--contrast-sides", "0"), []),
                              (("-p", 10), [3, 10])):
        # on the embedding -p sets local contrast's sides too, unless they are given; on intensity they stay
        out = tmp_path / f"seg{len(options)}{recorded}"
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", out, "-k", 2, *options)
        assert result.exit_code == 0, result.output
        assert json.loads((out / "segmentation.json").read_text())["recipe"]["contrast_sides"] == recorded
    for bad, message in [(text, f"--contrast-sides must be two sides such as 3,10, or 0, got {text!r}") for text in ("5", "a,b", "3,10,20")] + [
            (text, f"SegmentConfig: contrast_sides must be empty or two different whole patch sides >= 1, got {sides}")
            for text, sides in (("4,4", [4, 4]), ("0,3", [0, 3]))]:  # the form here, the values by the config
        result = _invoke("segment", tmp_path / "v.nii.gz", "--model", model_dir, "--out", tmp_path / "bad",
                         "--contrast-sides", bad)
        assert result.exit_code == 2 and result.stderr == f"hypseg: error: {message}\n"
        assert not (tmp_path / "bad").exists()
