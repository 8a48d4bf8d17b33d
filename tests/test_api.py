"""The Python API exported from hypseg: the documented example runs as written; small volumes train."""

from __future__ import annotations

import dataclasses
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import hypseg
from hypseg.cli.app import app
from hypseg.config import TRAINING_RECIPES, segment_preset, smoke_recipe
from hypseg.data import SyntheticConfig, generate_volume
from hypseg.errors import UserError
from hypseg.io import Volume, load_labels, save_volume

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "python_example.py"


def smoke10():
    """The smoke recipe at m = 10, so that the presets' patch sides 5 and 10 fit its model."""
    recipe = smoke_recipe()
    return dataclasses.replace(recipe, model=dataclasses.replace(recipe.model, patch_size=10),
                               data=dataclasses.replace(recipe.data, patch_resize=10))


def test_importing_hypseg_loads_no_torch():
    lazy = subprocess.run([sys.executable, "-c", "import sys, hypseg; print('torch' in sys.modules, sorted(hypseg.__all__))"],
                          capture_output=True, text=True, check=True)
    assert lazy.stdout.strip() == "False ['load_model', 'load_volume', 'save_labels', 'segment', 'train']"


def test_the_documented_example_runs_as_written(tmp_path, monkeypatch):
    lines = [line for line in EXAMPLE.read_text().splitlines() if line.strip()]
    assert len(EXAMPLE.read_text().splitlines()) <= 8 and lines[0] == "import hypseg"
    volume = generate_volume(np.random.default_rng(0), config=SyntheticConfig.scaled(32))
    save_volume(Volume.from_array(volume.image, spacing=(1.0, 1.0, 1.0)), path=tmp_path / "cell.nii.gz")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(TRAINING_RECIPES, "cpu", smoke10)  # a few steps of a tiny model instead of the CPU recipe
    runpy.run_path(str(EXAMPLE))
    model = hypseg.load_model("run")
    assert model.curvature == smoke10().model.curvature and model.hyperbolic and model.config == smoke10()
    again = hypseg.segment(hypseg.load_volume("cell.nii.gz"), model, recipe="default")
    for k in (2, 4, 8):
        labels = load_labels(tmp_path / "seg" / f"cell_k{k}.nii.gz")
        np.testing.assert_array_equal(labels, again.volumes[0].labels[k])  # a loaded model segments as the trained one
        assert len(np.unique(labels)) == k
    # the folder is the one hypseg segment writes: the same files, label maps and segmentation.json
    result = CliRunner().invoke(app, ["segment", "cell.nii.gz", "--model", "run", "--out", "cli"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "seg").iterdir()) == sorted(p.name for p in (tmp_path / "cli").iterdir())
    for name in ("cell_k2.nii.gz", "cell_k4.nii.gz", "cell_k8.nii.gz", "cell_object.nii.gz"):
        np.testing.assert_array_equal(load_labels(tmp_path / "seg" / name), load_labels(tmp_path / "cli" / name))
    np.testing.assert_array_equal(np.load(tmp_path / "seg" / "cell_embedding.npy"), np.load(tmp_path / "cli" / "cell_embedding.npy"))
    assert json.loads((tmp_path / "seg" / "segmentation.json").read_text()) == json.loads((tmp_path / "cli" / "segmentation.json").read_text())
    with pytest.raises(FileExistsError, match="^seg already exists; pass overwrite=True to replace it$"):
        hypseg.save_labels(again, "seg", like=[hypseg.load_volume("cell.nii.gz")])
    with pytest.raises(UserError, match="would delete .*cell.nii.gz, an input or the model; choose another folder$"):
        hypseg.save_labels(again, tmp_path, like=[hypseg.load_volume("cell.nii.gz")], overwrite=True)
    assert (tmp_path / "cell.nii.gz").exists()


@pytest.mark.filterwarnings("ignore::hypseg.clustering.exceptions.EmptyClusterWarning")  # 8 clusters in a 24^3 volume's object
def test_a_volume_made_in_memory_is_saved_beside_its_label_maps_and_the_folder_names_it(tmp_path):
    image = generate_volume(np.random.default_rng(0), config=SyntheticConfig.scaled(24)).image
    model = hypseg.train(image, out=tmp_path / "run", recipe=smoke10(), progress=False)
    result = hypseg.segment(image, model, recipe="default")
    volume = Volume.from_array(image, spacing=(2.0, 1.0, 1.0))
    written = hypseg.save_labels(result, tmp_path / "seg", like=volume)
    assert written == [tmp_path / "seg" / f"volume0_k{k}.nii.gz" for k in (2, 4, 8)]
    manifest = json.loads((tmp_path / "seg" / "segmentation.json").read_text())
    assert manifest["model"] == str((tmp_path / "run").resolve()) and manifest["cases"][0]["image"] == "volume0.nii.gz"
    saved = hypseg.load_volume(tmp_path / "seg" / "volume0.nii.gz")
    np.testing.assert_array_equal(saved.array, image.astype(saved.array.dtype))
    np.testing.assert_array_equal(saved.affine, volume.affine)
    with pytest.raises(UserError, match="^two volumes are named volume0: "):
        hypseg.save_labels(result._replace(volumes=result.volumes * 2), tmp_path / "two",
                           like=[volume, dataclasses.replace(volume, path=Path("elsewhere/volume0.nii.gz"))])
    assert not (tmp_path / "two").exists()
    # an array is a volume made in memory, at a voxel size of 1; a volume of another shape is named before any write
    assert hypseg.save_labels(result, tmp_path / "array", like=[image]) == [tmp_path / "array" / f"volume0_k{k}.nii.gz" for k in (2, 4, 8)]
    with pytest.raises(UserError, match=r"^volume 0 of like has shape \(40, 40, 40\), but volume 0 was segmented at \(24, 24, 24\)$"):
        hypseg.save_labels(result, tmp_path / "other", like=np.zeros((40, 40, 40), np.float32))
    assert not (tmp_path / "other").exists()
    nan = image.copy()
    nan[3, 3, 3] = np.nan
    for call in (lambda: hypseg.segment([image, nan], model), lambda: hypseg.train(nan, out=tmp_path / "nan", recipe="smoke")):
        with pytest.raises(UserError, match="^volume (1|0) contains 1 NaN or Inf voxel$"):
            call()
    assert not (tmp_path / "nan").exists()
    with pytest.raises(UserError, match="^validation volume 0 contains 1 NaN or Inf voxel$"):
        hypseg.train(image, out=tmp_path / "nan", recipe="smoke", validation=[nan])
    with pytest.raises(UserError, match="^got 1 volume to take the geometry from for 2 segmented volumes$"):
        hypseg.save_labels(hypseg.segment([image, image], model), tmp_path / "two", like=[image])
    assert not (tmp_path / "nan").exists() and not (tmp_path / "two").exists()


def test_a_volume_smaller_than_the_training_patches_trains_with_clipped_sides(tmp_path, capsys):
    small = np.random.default_rng(1).normal(size=(10, 12, 20)).astype(np.float32)  # the smoke recipe's patches reach 16
    model = hypseg.train(small, out=tmp_path / "run", recipe="smoke", progress=False)
    assert model.config.data.patch_max == 10.0
    assert "note: the smallest volume side is 10 voxels, so training patch sides are clipped from 16 to 10" in capsys.readouterr().err
    with pytest.raises(UserError, match="every side must be at least 8 voxels"):
        hypseg.train(small[:7], out=tmp_path / "run2", recipe="smoke", progress=False)


def test_a_volume_that_trained_with_clipped_sides_segments_with_the_default_preset(tmp_path):
    """Sides of 8 are below the preset's patch side 10 (patches crossing a face are padded) and hold too
    few 500-voxel supervoxels for the clusters (the volume is clustered voxel by voxel). Its level 1 comes from local
    contrast, a small object, which the finer levels divide here (``--contrast-divides object``), left as found
    (``--contrast-grow 0``: grown, it would hold supervoxels enough)."""
    image = generate_volume(np.random.default_rng(0), config=SyntheticConfig.scaled(32)).image[12:20, 4:28, 4:28]
    model = hypseg.train(image, out=tmp_path / "run", recipe=smoke10(), progress=False)
    assert model.config.data.patch_max == 8.0 and model.patch_size == 10
    save_volume(Volume.from_array(image, spacing=(1.0, 1.0, 1.0)), path=tmp_path / "small.nii.gz")
    result = CliRunner().invoke(app, ["segment", str(tmp_path / "small.nii.gz"), "--model", str(tmp_path / "run"),
                                      "--out", str(tmp_path / "seg"), "--contrast-divides", "object",
                                      "--contrast-grow", "0"])
    assert result.exit_code == 0, result.output
    assert "clustered voxel by voxel: small" in result.output
    direct = hypseg.segment(image, model, recipe=dataclasses.replace(segment_preset("default"), contrast_divides="object",
                                                                     contrast_grow=0))
    assert direct.volumes[0].contrast
    direct = direct.volumes[0]
    with pytest.raises(UserError, match="^unknown device .tpu.; choose auto, cpu, cuda or cuda:N$"):
        hypseg.segment(image, model, recipe="default", device="tpu")
    with pytest.raises(UserError, match=r"^volume 1 of shape \(8, 24, 7\) is too small to segment: every side must be at least 8 voxels$"):
        hypseg.segment([image, image[:, :, :7]], model, recipe="default")  # as hypseg segment refuses it
    for k in (2, 4, 8):
        labels = load_labels(tmp_path / "seg" / f"small_k{k}.nii.gz")
        assert labels.shape == image.shape and len(np.unique(labels)) == k
        np.testing.assert_array_equal(labels, direct.labels[k])


def test_hypseg_train_clips_too_and_refuses_below_the_minimum(tmp_path):
    from hypseg.io.checkpoint import load_run_config

    smoke_recipe().save_toml(tmp_path / "smoke.toml")
    save_volume(Volume.from_array(np.random.default_rng(2).normal(size=(12, 12, 12)), spacing=(1.0, 1.0, 1.0)),
                path=tmp_path / "small.nii.gz")
    result = CliRunner().invoke(app, ["train", str(tmp_path / "small.nii.gz"), "--out", str(tmp_path / "run"),
                                      "--config", str(tmp_path / "smoke.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "training patch sides are clipped from 16 to 12" in result.output
    assert load_run_config(tmp_path / "run").data.patch_max == 12.0
    thin = np.random.default_rng(3).normal(size=(6, 12, 12))
    save_volume(Volume.from_array(thin, spacing=(1.0, 1.0, 1.0)), path=tmp_path / "thin.nii.gz")
    result = CliRunner().invoke(app, ["train", str(tmp_path / "thin.nii.gz"), "--out", str(tmp_path / "run2"),
                                      "--config", str(tmp_path / "smoke.toml"), "--no-progress"])
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {tmp_path / 'thin.nii.gz'}: volume of shape (6, 12, 12) is too small to train on: "
                             "every side must be at least 8 voxels\n")
    assert not (tmp_path / "run2").exists()
    shown = CliRunner().invoke(app, ["train", str(tmp_path / "thin.nii.gz"), "--out", str(tmp_path / "run2"),
                                     "--config", str(tmp_path / "smoke.toml")])  # refused before a loading bar
    assert shown.exit_code == 2 and shown.output == result.output


def test_a_trained_and_a_loaded_model_name_the_collapsed_runs_set_aside_before_them(tmp_path, monkeypatch):
    from helpers import kill_encoders_of

    volume = np.random.default_rng(2).normal(size=(20, 20, 20)).astype(np.float32)
    assert hypseg.train(volume, out=tmp_path / "clean", recipe="smoke", progress=False).set_aside == ()
    (tmp_path / "clean" / "collapsed-seed0").mkdir()  # a folder without a run in it is no set-aside run
    assert hypseg.load_model(tmp_path / "clean").set_aside == ()
    kill_encoders_of({0, 1000}, monkeypatch)
    recipe = smoke_recipe()
    recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, collapse_retries=2))
    model = hypseg.train(volume, out=tmp_path / "run", recipe=recipe, progress=False)
    assert model.set_aside == (0, 1000) and model.config.train.seed == 2000
    loaded = hypseg.load_model(tmp_path / "run")
    assert loaded.set_aside == (0, 1000) and loaded.config == model.config


def test_segment_runs_where_the_model_lies_unless_told(monkeypatch):
    """The whole device, index included: a model on cuda:1 must not be moved to cuda:0."""
    import types

    import torch

    from hypseg.inference import TrainedModel

    asked = []
    from hypseg.inference.recipe import RecipeResult

    def stub(arrays, model, config, *, device, progress):
        asked.append(device)
        return RecipeResult(config, [], {})

    monkeypatch.setattr("hypseg.api._segment", stub)
    on_second_gpu = types.SimpleNamespace(parameters=lambda: iter([types.SimpleNamespace(device=torch.device("cuda", 1))]))
    model = TrainedModel(on_second_gpu, smoke10())  # only its parameters' device is read before the (stubbed) work
    volume = np.random.default_rng(0).normal(size=(10, 10, 10)).astype(np.float32)
    hypseg.segment(volume, model)
    hypseg.segment(volume, model, device="cpu")
    assert asked == ["cuda:1", "cpu"]


def test_hypseg_train_resumes_a_run_to_more_steps_with_the_weights_of_an_uninterrupted_one(tmp_path):
    import torch

    volume = np.random.default_rng(4).normal(size=(20, 20, 20)).astype(np.float32)
    recipe = smoke_recipe()
    longer = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, steps=8))
    hypseg.train(volume, out=tmp_path / "part", recipe=recipe, progress=False)
    with pytest.raises(FileExistsError, match=r"resume it \(--resume, resume=True\)"):
        hypseg.train(volume, out=tmp_path / "part", recipe=longer, progress=False)
    for steps in (2.5, True, 0):
        with pytest.raises(UserError, match=f"^steps must be a whole number of at least 1, got {steps!r}$"):
            hypseg.train(volume, out=tmp_path / "part", steps=steps, progress=False, resume=True)
    resumed = hypseg.train(volume, out=tmp_path / "part", steps=8, progress=False, resume=True)  # the run's own recipe
    whole = hypseg.train(volume, out=tmp_path / "whole", recipe=longer, progress=False)
    assert resumed.config == whole.config
    for a, b in zip(resumed.network.state_dict().values(), whole.network.state_dict().values()):
        assert torch.equal(a, b)


def test_a_channel_of_a_4d_file_is_recorded_as_hypseg_segment_records_it(tmp_path):
    from hypseg.cli.plot import plot

    image = generate_volume(np.random.default_rng(0), config=SyntheticConfig.scaled(24)).image
    np.save(tmp_path / "v4.npy", np.stack([image[::-1], image]).astype(np.float32))  # CZYX
    volume = hypseg.load_volume(tmp_path / "v4.npy", channel=1, channel_axis=0)
    model = hypseg.train(volume, out=tmp_path / "run", recipe=smoke10(), progress=False)
    result = hypseg.segment(volume, model)
    hypseg.save_labels(result, tmp_path / "seg", like=volume)
    hypseg.save_labels(result, tmp_path / "slim", like=volume, save_embedding=False)
    assert sorted(p.name for p in (tmp_path / "seg").iterdir()) == sorted(
        [p.name for p in (tmp_path / "slim").iterdir()] + ["v4_embedding.npy"])
    assert json.loads((tmp_path / "slim" / "segmentation.json").read_text())["cases"][0]["embedding"] is None
    entry = json.loads((tmp_path / "seg" / "segmentation.json").read_text())["cases"][0]
    assert entry["image"] == str((tmp_path / "v4.npy").resolve()) and entry["channel"] == 1 and entry["channel_axis"] == 0
    plot(target=tmp_path / "seg", out=tmp_path / "plots", volume=None, case=None, truth=None, max_points=500,
                   curvature=None, seed=0)  # reads the image back as the folder says
    assert (tmp_path / "plots" / "v4_slices.png").stat().st_size > 0


def test_train_and_segment_keep_freed_memory_before_their_work_as_the_command_line_does(tmp_path, monkeypatch):
    import torch

    from hypseg.inference import TrainedModel

    calls = []
    monkeypatch.setattr("hypseg._malloc.keep_freed_memory", lambda: calls.append("kept"))
    from hypseg.inference.recipe import RecipeResult

    monkeypatch.setattr("hypseg.api._segment", lambda arrays, model, config, **k: calls.append("segmented")
                        or RecipeResult(config, [], {}))
    monkeypatch.setattr("hypseg.training.Trainer.fit", lambda self, resume: calls.append("trained") or 1 / 0)
    volume = np.random.default_rng(0).normal(size=(10, 10, 10)).astype(np.float32)
    with pytest.raises(ZeroDivisionError):
        hypseg.train(volume, out=tmp_path / "run", recipe=smoke10())
    cpu = type("Net", (), {"parameters": lambda self: iter([torch.zeros(1)])})()
    hypseg.segment(volume, TrainedModel(cpu, smoke10()))
    assert calls == ["kept", "trained", "kept", "segmented"]
    monkeypatch.setattr("hypseg.cli.app.app", lambda: calls.append("ran"))
    from hypseg.cli import main

    main()
    assert calls[-2:] == ["kept", "ran"]


def test_segment_names_a_volume_that_is_not_3d_or_cannot_be_normalised_before_anything_else(tmp_path):
    image = generate_volume(np.random.default_rng(0), config=SyntheticConfig.scaled(16)).image
    model = hypseg.train(image, out=tmp_path / "run", recipe=smoke10(), progress=False)
    for flat in (np.zeros((20, 20), np.float32), np.random.default_rng(1).normal(size=(20, 20)).astype(np.float32)):
        with pytest.raises(UserError, match=r"^volume 0 must be 3-D \(Z, Y, X\), got shape \(20, 20\)$"):
            hypseg.segment(flat, model)
    sparse = np.zeros((16, 16, 16), np.float32)
    sparse[5:7, 5:7, 5:7] = 1.0
    with pytest.raises(UserError, match=r"^volume 1: percentile normalisation: the percentiles 1 and 99 are equal \(0\)"):
        hypseg.segment([image, sparse], model)
    with pytest.raises(UserError, match=r"^validation volume 0: percentile normalisation: "):
        hypseg.train(image, out=tmp_path / "run2", recipe=smoke10(), validation=[sparse], progress=False)
    assert not (tmp_path / "run2").exists()


def test_save_labels_takes_each_map_to_its_own_volume_and_names_notebook_mistakes(tmp_path):
    """like is checked against what was segmented (a digest of some slices), so swapped volumes are refused by place;
    a model path, a missing like and an absent CUDA device each get one line; results print short."""
    images = [generate_volume(np.random.default_rng(seed), config=SyntheticConfig.scaled(16)).image for seed in (0, 1)]
    model = hypseg.train(images[0], out=tmp_path / "run", recipe=smoke10(), progress=False)
    result = hypseg.segment(images, model, recipe=segment_preset("default").with_clusters([2]))
    first, second = (Volume.from_array(image) for image in images)
    with pytest.raises(UserError, match=r"^like\[0\] is not the volume segmented as volume 0 \(its voxels differ\); it is "
                                        r"segmented volume 1: give like in the order of the volumes segmented; to save the "
                                        r"maps of a processed copy in its original's geometry, give "
                                        r"dataclasses.replace\(original, array=copy\)$"):
        hypseg.save_labels(result, tmp_path / "swapped", like=[second, first])
    noise = np.random.default_rng(2).normal(size=images[1].shape).astype(np.float32)
    with pytest.raises(UserError, match=r"^like\[1\] is not the volume segmented as volume 1 \(its voxels differ\); to "):
        hypseg.save_labels(result, tmp_path / "other", like=[first, noise])
    hypseg.save_labels(result, tmp_path / "copy", like=[first, dataclasses.replace(first, array=images[1])])  # the way out
    with pytest.raises(UserError, match=r"^like\[1\] is a PosixPath; give a volume \(hypseg.load_volume\(path\)\) or an array$"):
        hypseg.save_labels(result, tmp_path / "paths", like=[first, tmp_path / "v.nii.gz"])
    with pytest.raises(UserError, match=r"^like: give the volumes hypseg.segment was given, in its order"):
        hypseg.save_labels(result, tmp_path / "none", like=None)
    assert not any((tmp_path / name).exists() for name in ("swapped", "other", "none", "paths"))
    saved = hypseg.save_labels(result, tmp_path / "seg", like=[images[0], second])  # an array and a Volume alike
    np.testing.assert_array_equal(load_labels(saved[1]), result.volumes[1].labels[2])
    with pytest.raises(UserError, match=r"^model must be a trained model from hypseg.train or hypseg.load_model \(a run "
                                        r"folder's path: hypseg.load_model\(path\)\), got str$"):
        hypseg.segment(images[0], str(tmp_path / "run"))
    assert repr(result) == f"RecipeResult(volumes=[(16, 16, 16), (16, 16, 16)], clusters=[2], model_dir={str(tmp_path / 'run')!r})"
    assert repr(result.volumes[0]).startswith("VolumeSegmentation(shape=(16, 16, 16), clusters=[2]")
    import torch

    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="^device 'cuda' was requested but CUDA is not available on this machine$"):
            hypseg.load_model(tmp_path / "run", device="cuda")


def test_train_names_a_flat_or_constant_volume_before_any_note(tmp_path, capsys):
    small = np.random.default_rng(0).normal(size=(10, 10, 10)).astype(np.float32)  # would clip the patch sides
    with pytest.raises(UserError, match=r"^validation volume 0 must be 3-D \(Z, Y, X\), got shape \(20, 20\)$"):
        hypseg.train(small, out=tmp_path / "run", validation=[np.zeros((20, 20), np.float32)])
    with pytest.raises(UserError, match=r"^volume 1: "):
        hypseg.train([small, np.ones((10, 10, 10), np.float32)], out=tmp_path / "run")
    with pytest.raises(UserError, match=r"^volume 0 is complex; give a real volume \(e.g. its magnitude, numpy.abs\)$"):
        hypseg.train(small * (1 + 1j), out=tmp_path / "run")
    assert capsys.readouterr().err == "" and not (tmp_path / "run").exists()
