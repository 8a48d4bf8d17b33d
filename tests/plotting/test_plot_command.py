"""``hypseg plot`` on a tiny fake run directory and a tiny fake segmentation directory."""

from __future__ import annotations

import json

import matplotlib.image
import numpy as np
import pytest
from typer.testing import CliRunner

from hypseg.io import Volume, save_labels, save_volume


def _invoke(*args: str):
    from hypseg.cli.app import app

    return CliRunner().invoke(app, ["plot", *map(str, args)])


def _error_lines(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.strip()]


@pytest.fixture
def run_dir(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    lines = [{"step": s, "split": "train", "loss": 2 / s, "reconstruction": 1 / s, "kl": 0.1, "triplet": 0.2} for s in range(1, 11)]
    lines.append({"step": 10, "split": "val", "loss": 0.3, "reconstruction": 0.1, "kl": 0.1, "triplet": 0.25})
    (run / "log.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    return run


@pytest.fixture
def seg_dir(tmp_path):
    """A segmentation directory as ``hypseg segment`` writes it: NIfTI labels, a .npy embedding, centres."""
    shape = (6, 7, 8)
    rng = np.random.default_rng(0)
    image = Volume.from_array(rng.normal(size=shape), spacing=(2.0, 1.0, 1.0))
    data = tmp_path / "data"
    data.mkdir()
    save_volume(image, data / "case_a.nii.gz")
    seg = tmp_path / "seg"
    seg.mkdir()
    embedding = rng.uniform(-0.6, 0.6, size=shape + (2,)).astype(np.float32)
    np.save(seg / "case_a_embedding.npy", embedding)
    k2 = (embedding[..., 0] > 0).astype(np.int32)
    k4 = k2 + 2 * (embedding[..., 1] > 0)
    save_labels(k2, like=image, path=seg / "case_a_k2.nii.gz")
    save_labels(k4.astype(np.int32), like=image, path=seg / "case_a_k4.nii.gz")
    save_labels((embedding[..., 1] > 0).astype(np.uint8), like=image, path=data / "case_a_truth.nii.gz")
    manifest = {
        "model": "runs/fake",
        "clusters": [2, 4],
        "cases": [
            {
                "name": "case_a",
                "image": str(data / "case_a.nii.gz"),  # absolute
                "labels": {"4": "case_a_k4.nii.gz", "2": "case_a_k2.nii.gz"},  # relative, out of order
                "embedding": "case_a_embedding.npy",
                "centers": {"2": [[-0.3, 0.0], [0.3, 0.0]], "4": [[-0.3, -0.3], [0.3, -0.3], [-0.3, 0.3], [0.3, 0.3]]},
            }
        ],
    }
    (seg / "segmentation.json").write_text(json.dumps(manifest))
    return seg


def test_run_directory_gives_training_curves(run_dir):
    result = _invoke(run_dir)
    assert result.exit_code == 0, result.output
    out = run_dir / "plots" / "training_curves.png"
    assert f"wrote {out}" in result.output
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 200 and image.shape[1] > 400


def test_log_file_as_target_and_explicit_out(run_dir, tmp_path):
    result = _invoke(run_dir / "log.jsonl", "--out", tmp_path / "figs" / "nested")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "figs" / "nested" / "training_curves.png").stat().st_size > 0


def test_segmentation_directory_gives_slices_and_disk(seg_dir, tmp_path):
    out = tmp_path / "figures"
    result = _invoke(seg_dir, "--out", out, "--truth", seg_dir.parent / "data" / "case_a_truth.nii.gz")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["case_a_disk.png", "case_a_slices.png"]
    slices = matplotlib.image.imread(out / "case_a_slices.png")
    disk = matplotlib.image.imread(out / "case_a_disk.png")
    assert slices.shape[:2] == (4 * 300 + 40, 1040)  # rows volume, truth, k=2, k=4 (3 in each) + title; 3 columns
    assert disk.shape[:2] == (540, 3 * 500 + 120)  # panels: true class, k=2, k=4


def test_a_contained_levels_centres_are_drawn_for_its_labels_1_to_k_minus_1(seg_dir, monkeypatch):
    import hypseg.plotting as plotting

    drawn = {}

    def spy(points, **kwargs):
        drawn.update(kwargs)
        kwargs["path"].write_bytes(b"")
        return kwargs["path"]

    monkeypatch.setattr(plotting, "plot_poincare_panels", spy)
    manifest = json.loads((seg_dir / "segmentation.json").read_text())
    manifest["cases"][0]["centers"]["4"] = [[0.3, -0.3], [-0.3, 0.3], [0.3, 0.3]]  # labels 1..3 inside the object
    (seg_dir / "segmentation.json").write_text(json.dumps(manifest))
    result = _invoke(seg_dir)
    assert result.exit_code == 0, result.output
    assert {name: list(rows) for name, rows in drawn["center_labels"].items()} == {"k=2": [0, 1], "k=4": [1, 2, 3]}
    manifest["cases"][0]["finer_levels_divide"] = "specimen"  # around local contrast's object: the centres are the
    manifest["cases"][0]["level1_by_contrast"] = True         # specimen's, labels 0, 2, 3
    (seg_dir / "segmentation.json").write_text(json.dumps(manifest))
    assert _invoke(seg_dir, "--out", seg_dir / "again").exit_code == 0
    assert {name: list(rows) for name, rows in drawn["center_labels"].items()} == {"k=2": [0, 1], "k=4": [0, 2, 3]}


def test_segmentation_without_truth(seg_dir):
    result = _invoke(seg_dir)
    assert result.exit_code == 0, result.output
    disk = matplotlib.image.imread(seg_dir / "plots" / "case_a_disk.png")
    assert disk.shape[1] == 2 * 500 + 120


def _error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = _error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("hypseg: error: "), result.output
    return lines[0]


def test_missing_or_unknown_target_is_a_one_line_error(tmp_path):
    assert "no such run or segmentation directory" in _error(_invoke(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    assert "is neither a run directory" in _error(_invoke(tmp_path / "empty"))
    (tmp_path / "file.txt").write_text("x")
    assert "is a file" in _error(_invoke(tmp_path / "file.txt"))
    assert not (tmp_path / "empty" / "plots").exists()


def test_bad_segmentation_input_is_a_one_line_error(seg_dir, run_dir, tmp_path):
    assert "no case named 'other'" in _error(_invoke(seg_dir, "--case", "other"))
    truth = seg_dir.parent / "data" / "case_a_truth.nii.gz"
    assert "give one per case" in _error(_invoke(seg_dir, "--truth", truth, "--truth", truth))
    assert "apply to a segmentation directory" in _error(_invoke(run_dir, "--truth", truth))
    manifest = json.loads((seg_dir / "segmentation.json").read_text())
    manifest["cases"][0]["labels"]["2"] = "gone.nii.gz"
    (seg_dir / "segmentation.json").write_text(json.dumps(manifest))
    assert "gone.nii.gz: no such file" in _error(_invoke(seg_dir))
    (seg_dir / "segmentation.json").write_text("{not json")
    assert "is not valid JSON" in _error(_invoke(seg_dir))
    (run_dir / "log.jsonl").write_text("")
    assert "holds no records" in _error(_invoke(run_dir))


def test_a_bad_input_leaves_no_out_folder_and_no_figure(seg_dir, tmp_path):
    bad = tmp_path / "bad.nii.gz"
    bad.write_text("junk")
    assert "bad.nii.gz: cannot read" in _error(_invoke(seg_dir, "--truth", bad, "--out", tmp_path / "newdir"))
    assert not (tmp_path / "newdir").exists()
    manifest = json.loads((seg_dir / "segmentation.json").read_text())
    second = {**manifest["cases"][0], "name": "case_b", "labels": {"2": "gone.nii.gz"}}
    (seg_dir / "segmentation.json").write_text(json.dumps({**manifest, "cases": [manifest["cases"][0], second]}))
    assert "gone.nii.gz: no such file" in _error(_invoke(seg_dir, "--out", tmp_path / "figures"))
    assert not (tmp_path / "figures").exists()  # case_a was drawn, and is not left behind
    (tmp_path / "figures").mkdir()
    assert "gone.nii.gz: no such file" in _error(_invoke(seg_dir, "--out", tmp_path / "figures"))
    assert list((tmp_path / "figures").iterdir()) == []


def test_the_help_example_names_the_files_and_case_that_synth_writes(tmp_path):
    import re

    from hypseg.cli.plot import plot
    from hypseg.data.synthetic_config import SyntheticConfig
    from hypseg.data.synthetic_dataset import write_synthetic_dataset

    truth, case = re.search(r"--truth (\S+) --case (\S+)", plot.__doc__).groups()
    (tmp_path / "data").mkdir()
    write_synthetic_dataset(tmp_path / "data" / "synth", n=6, seed=0, kind="regular", config=SyntheticConfig.scaled(16))
    assert (tmp_path / truth).is_file()
    manifest = json.loads((tmp_path / "data" / "synth" / "manifest.json").read_text())
    entry = next(entry for entry in manifest["cases"] if entry["name"] == case)  # the case hypseg segment names
    assert f"data/synth/{entry['labels']['1']}" == truth


def test_truth_listed_in_the_manifest_and_the_models_curvature(seg_dir, tmp_path):
    """``hypseg segment`` lists truth maps per level and names the model, whose config gives c."""
    from hypseg.config import ModelConfig, RunConfig
    from hypseg.io.checkpoint import save_run_config

    model = tmp_path / "model"
    model.mkdir()
    save_run_config(model, RunConfig(model=ModelConfig(curvature=4.0)))
    manifest = json.loads((seg_dir / "segmentation.json").read_text())
    manifest["model"] = str(model)
    truth = str(seg_dir.parent / "data" / "case_a_truth.nii.gz")
    manifest["cases"][0]["truth"] = {"level2": truth, "level1": truth}
    (seg_dir / "segmentation.json").write_text(json.dumps(manifest))
    # the fake embedding reaches |x| = 0.85 > 1/sqrt(4): with the model's curvature it is off the ball
    assert "outside the Poincare ball of radius 0.5" in _error(_invoke(seg_dir))
    result = _invoke(seg_dir, "--curvature", "1")
    assert result.exit_code == 0, result.output
    slices = matplotlib.image.imread(seg_dir / "plots" / "case_a_slices.png")
    disk = matplotlib.image.imread(seg_dir / "plots" / "case_a_disk.png")
    assert slices.shape[0] == 5 * 300 + 40  # volume, truth level1, truth level2, k=2, k=4
    assert disk.shape[:2] == (2 * 500 + 40, 3 * 500 + 120)  # 4 panels wrap onto a second row


def test_euclidean_model_gets_no_disk(seg_dir, tmp_path):
    from hypseg.config import ModelConfig, RunConfig
    from hypseg.io.checkpoint import save_run_config

    model = tmp_path / "model"
    model.mkdir()
    save_run_config(model, RunConfig(model=ModelConfig(variant="euclidean")))
    manifest = json.loads((seg_dir / "segmentation.json").read_text())
    manifest["model"] = str(model)
    (seg_dir / "segmentation.json").write_text(json.dumps(manifest))
    result = _invoke(seg_dir)
    assert result.exit_code == 0, result.output
    assert "no Poincare disk" in result.output
    assert sorted(p.name for p in (seg_dir / "plots").iterdir()) == ["case_a_slices.png"]


def test_a_moved_image_is_named_with_the_way_out_and_a_moved_truth_is_left_out(seg_dir, tmp_path):
    manifest = json.loads((seg_dir / "segmentation.json").read_text())
    manifest["cases"][0]["truth"] = {"level1": str(tmp_path / "gone" / "truth.nii.gz")}
    (seg_dir / "segmentation.json").write_text(json.dumps(manifest))
    image = tmp_path / "data" / "case_a.nii.gz"
    moved = tmp_path / "case_a.nii.gz"
    image.rename(moved)
    assert _error(_invoke(seg_dir, "--curvature", "1")) == (
        f"hypseg: error: {image}: the image of case case_a is not there (moved?); give it with --volume "
        "(and --case case_a when the folder holds several cases)")
    result = _invoke(seg_dir, "--curvature", "1", "--volume", moved)
    assert result.exit_code == 0, result.output
    assert (f"note: the truth of case case_a is not at {tmp_path / 'gone' / 'truth.nii.gz'} (moved?); plotting "
            "without it (give it with --truth)") in result.output
    slices = matplotlib.image.imread(seg_dir / "plots" / "case_a_slices.png")
    assert slices.shape[0] == 3 * 300 + 40  # volume, k=2, k=4: no truth row


def test_a_run_stopped_while_writing_its_log_plots_what_it_logged(run_dir):
    """A kill can cut the log's last line short: it is skipped with a warning, and every other line is drawn."""
    import warnings

    with open(run_dir / "log.jsonl", "a") as handle:
        handle.write('{"step": 11, "split": "tr')
    with warnings.catch_warnings():  # shown, as on the command line (the suite turns warnings into errors)
        warnings.simplefilter("always")
        result = _invoke(run_dir)
    assert result.exit_code == 0, result.output
    assert f"hypseg: warning: {run_dir / 'log.jsonl'}:12: an unfinished last line (being written, or cut by a stopped run) " \
           "is skipped" in result.output
    assert (run_dir / "plots" / "training_curves.png").stat().st_size > 0
    with open(run_dir / "log.jsonl", "a") as handle:  # a line after it: a broken line, not one cut short
        handle.write('\n{"step": 12, "split": "train", "loss": 0.1}\n')
    assert _error(_invoke(run_dir)).startswith(f"hypseg: error: {run_dir / 'log.jsonl'}:12: is not JSON")


def test_a_run_that_logged_nothing_yet_is_named_as_a_run(tmp_path):
    from hypseg.config import smoke_recipe
    from hypseg.io.checkpoint import save_run_config

    save_run_config(tmp_path / "run", smoke_recipe())
    assert _error(_invoke(tmp_path / "run")) == (f"hypseg: error: {tmp_path / 'run'}: this run has logged no step yet "
                                                 "(log.jsonl is missing); there is nothing to plot")


def test_a_case_without_its_embedding_says_why_it_has_no_disk(seg_dir):
    manifest = json.loads((seg_dir / "segmentation.json").read_text())
    manifest["cases"][0]["embedding"] = None
    (seg_dir / "segmentation.json").write_text(json.dumps(manifest))
    result = _invoke(seg_dir)
    assert result.exit_code == 0, result.output
    assert "note: case case_a has no embedding saved (segmented with --no-embedding, or save_embedding=False), so no Poincare disk is drawn" in result.output
    assert sorted(p.name for p in (seg_dir / "plots").iterdir()) == ["case_a_slices.png"]
