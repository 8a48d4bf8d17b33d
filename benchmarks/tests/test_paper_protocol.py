"""benchmarks/paper_protocol.py: the paper's per-voxel protocol and its one-change-at-a-time recipes."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hypseg.config import cpu_recipe, paper_recipe
from hypseg.geometry import expmap0
from hypseg.metrics import matched_dice


@pytest.fixture(scope="module")
def script():
    from benchmarks import paper_protocol

    return paper_protocol


def test_each_change_moves_exactly_its_part_of_the_recipe(script):
    base = script.row_config("cpu", "full", change="none", steps=None, seed=0)
    assert base.model == cpu_recipe().model and base.data == cpu_recipe().data
    sampling = script.row_config("cpu", "full", change="sampling", steps=None, seed=0)
    assert sampling.data.sampler == "paper" and sampling.model == base.model and sampling.train == base.train
    assert sampling.data.normalisation == base.data.normalisation  # the intensities stay as the recipe has them
    balance = script.row_config("cpu", "full", change="balance", steps=None, seed=0)
    assert (balance.train.reduction, balance.train.reconstruct, balance.train.triplet_weight) == ("sum", "parent", 1000.0)
    assert balance.model == base.model and balance.data == base.data
    assert script.row_config("cpu", "euclidean base", change="balance", steps=None, seed=0).train.triplet_weight == 0.0
    decoder = script.row_config("cpu", "full", change="decoder", steps=None, seed=0)
    assert decoder.model.decoder == "paper" and decoder.train.samples == 8 and decoder.data == base.data
    assert script.row_config("cpu", "full", change="scale", steps=None, seed=0).train.steps == 10 * base.train.steps
    paper = script.row_config("paper", "euclidean base", change="none", steps=7, seed=2)
    assert paper.model == paper_recipe("euclidean").model and paper.train.steps == 7 and paper.train.triplet_weight == 0.0
    assert paper.train.checkpoint_every == 1 and base.train.checkpoint_every == cpu_recipe().train.steps // 4
    ball_rate = script.row_config("paper", "euclidean base", change="ball-rate", steps=7, seed=2)
    assert (ball_rate.train.optimiser, ball_rate.train.learning_rate, ball_rate.train.grad_clip) == ("amsgrad", 5e-7, 8.0)
    assert ball_rate.model == paper.model and ball_rate.data == paper.data
    assert dataclasses.replace(ball_rate.train, learning_rate=5e-5, grad_clip=0.0) == paper.train
    full = script.row_config("paper", "full", change="none", steps=7, seed=2)
    assert script.row_config("paper", "full", change="ball-rate", steps=7, seed=2) == full  # the ball's own rate


def test_per_volume_clustering_finds_two_separated_blobs(script):
    rng = np.random.default_rng(0)
    truth = np.zeros((6, 6, 6), dtype=np.int64)
    truth[:, :, 3:] = 1
    points = np.where(truth[..., None] == 1, [0.4, 0.0], [-0.4, 0.0]) + rng.normal(scale=0.02, size=truth.shape + (2,))
    ball = expmap0(torch.from_numpy(points), c=1.0).numpy()
    for hyperbolic in (True, False):
        labels = script.protocol_labels(ball, hyperbolic=hyperbolic, curvature=1.0, k=2, seed=0)
        assert labels.shape == truth.shape and matched_dice(labels, truth).mean == 1.0


def test_intensity_axis_is_one_for_an_embedding_that_is_the_local_mean(script):
    rng = np.random.default_rng(1)
    volume = rng.normal(size=(12, 12, 12))
    import scipy.ndimage as ndi

    local = ndi.uniform_filter(volume, size=5, mode="nearest")
    embedding = np.stack([local, 0.5 * local], axis=-1) * 0.1  # one axis, following the local mean
    share, corr = script.intensity_axis(embedding, volume, hyperbolic=False, curvature=1.0)
    assert share == pytest.approx(1.0) and corr == pytest.approx(1.0)
    noise = rng.normal(size=(12, 12, 12, 2)) * 0.1  # two equal axes, unrelated to intensity
    share, corr = script.intensity_axis(noise, volume, hyperbolic=False, curvature=1.0)
    assert share < 0.6 and corr < 0.2


def test_weights_moved_is_zero_at_the_initial_weights_and_the_relative_norm_of_a_change(script, tmp_path):
    from hypseg.models import HVAE
    from hypseg.training.trainer import TrainResult

    run = script.row_config("cpu", "full", change="none", steps=1, seed=3)
    torch.manual_seed(3)
    model = HVAE(run.model)
    result = TrainResult(run_dir=tmp_path, step=0, last={}, model=model, config=run, spread=1.0)
    assert script.weights_moved(result) == 0.0
    norm = sum(float((p.detach().double() ** 2).sum()) for p in model.parameters()) ** 0.5
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    first = next(model.parameters())
    assert script.weights_moved(result) == pytest.approx(first.numel() ** 0.5 / norm)


def test_the_table_names_a_seed_that_trained_again(script):
    record = {"dice": {"1": [0.8, 0.9], "2": [0.5, 0.5], "3": [0.3, 0.3]}, "share": [0.99], "corr": [0.98],
              "train_minutes": 1.0}
    retried = dict(record, trained_seed=1001, weights_moved=0.5)
    text = script.table({"cpu": {"full": [dict(record, trained_seed=0, weights_moved=0.25), retried]}}, title="t")
    assert "| cpu | full | 2 | 0.850 | 0.500 | 0.300 | - | 0.990 | 0.980 | 0.38 | 1.0 |" in text
    assert "- cpu / full: seed 1 collapsed in training; its model trained again with seed 1001" in text
    assert "| 0.990 | 0.980 | - | 1.0 |" in script.table({"cpu": {"full": [record]}}, title="t")  # scored before it was recorded


def test_an_interrupted_run_resumes_training_and_scoring_to_the_uninterrupted_record(script, tmp_path, monkeypatch):
    import dataclasses
    import json

    from hypseg.config import smoke_recipe
    from hypseg.training import Trainer

    run = smoke_recipe()  # at the protocol's m = 10, on which p = 5 is upsampled
    run = dataclasses.replace(run, model=dataclasses.replace(run.model, patch_size=10),
                              data=dataclasses.replace(run.data, patch_resize=10))
    rng = np.random.default_rng(0)
    volumes = [rng.normal(size=(16, 16, 16)).astype(np.float32) for _ in range(3)]
    truths = [{level: (ndi_mean(v) > 0).astype(np.int64) for level in script.LEVELS} for v in volumes]
    whole = script.score_run(run, volumes[:1], volumes, truths, run_dir=tmp_path / "whole")
    assert len(whole["dice"]["1"]) == 3 and whole["steps"] == run.train.steps

    cut = tmp_path / "cut"  # stopped at its first checkpoint, before any volume was scored
    half = dataclasses.replace(run, train=dataclasses.replace(run.train, steps=run.train.checkpoint_every))
    Trainer(half, volumes[:1], run_dir=cut, progress=False).fit()
    resumed = script.score_run(run, volumes[:1], volumes, truths, run_dir=cut)
    assert resumed["dice"] == whole["dice"] and resumed["share"] == whole["share"]
    assert resumed["weights_moved"] == whole["weights_moved"]

    saved = json.loads((cut / "scored.json").read_text())  # stopped again after scoring one volume
    (cut / "scored.json").write_text(json.dumps({"step": saved["step"], "volumes": saved["volumes"][:1]}))
    embedded = []
    embed = script.protocol_embedding
    monkeypatch.setattr(script, "protocol_embedding", lambda model, volume: embedded.append(1) or embed(model, volume))
    again = script.score_run(run, volumes[:1], volumes, truths, run_dir=cut)
    assert len(embedded) == 2 and again["dice"] == whole["dice"]  # the first volume's score was read back

    (cut / "scored.json").write_text(json.dumps({"step": saved["step"] - 1, "volumes": saved["volumes"][:1]}))
    embedded.clear()
    script.score_run(run, volumes[:1], volumes, truths, run_dir=cut)
    assert len(embedded) == 3  # scores of another model's step are not reused


def test_a_run_whose_first_training_collapsed_resumes_with_its_retry_and_keeps_its_training_time(script, tmp_path, monkeypatch):
    import dataclasses
    import json

    from helpers import kill_encoders_of
    from hypseg.config import smoke_recipe
    from hypseg.training import Trainer

    run = smoke_recipe()
    run = dataclasses.replace(run, model=dataclasses.replace(run.model, patch_size=10),
                              data=dataclasses.replace(run.data, patch_resize=10))
    rng = np.random.default_rng(0)
    volumes = [rng.normal(size=(16, 16, 16)).astype(np.float32) for _ in range(2)]
    truths = [{level: (ndi_mean(v) > 0).astype(np.int64) for level in script.LEVELS} for v in volumes]
    kill_encoders_of({0}, monkeypatch)
    whole = script.score_run(run, volumes[:1], volumes, truths, run_dir=tmp_path / "whole")
    assert whole["trained_seed"] == 1000

    cut = tmp_path / "cut"  # trained (seed 0 set aside, seed 1000 kept), stopped before scoring
    Trainer(run, volumes[:1], run_dir=cut, progress=False).fit()
    resumed = script.score_run(run, volumes[:1], volumes, truths, run_dir=cut)
    assert resumed["trained_seed"] == 1000 and resumed["dice"] == whole["dice"]
    assert resumed["weights_moved"] == whole["weights_moved"]

    saved = json.loads((cut / "scored.json").read_text())  # stopped again after one volume, much later
    assert saved["seed"] == 1000 and saved["train_minutes"] == resumed["train_minutes"]
    (cut / "scored.json").write_text(json.dumps(dict(saved, volumes=saved["volumes"][:1])))
    (cut / "config.toml").touch()  # timestamps no longer measure the training
    again = script.score_run(run, volumes[:1], volumes, truths, run_dir=cut)
    assert again["train_minutes"] == resumed["train_minutes"] and again["dice"] == whole["dice"]


def ndi_mean(volume):
    import scipy.ndimage as ndi

    return ndi.uniform_filter(volume, size=5)


def saved_records(script, tmp_path, monkeypatch, level1: dict[str, list[float]]) -> None:
    """A work folder holding only the records named ``{change}-{row}-{steps}`` (three test volumes, seed 0):
    main() must read them back and train nothing."""
    import json

    monkeypatch.setattr(script, "score_run", lambda *a, **k: pytest.fail("a saved record was trained again"))
    monkeypatch.setattr(script, "write_synthetic_dataset", lambda *a, **k: pytest.fail("the dataset was made again"))
    data = tmp_path / "regular"
    data.mkdir()
    (data / "manifest.json").write_text("{}")
    truth = tmp_path / "truth.npy"
    np.save(truth, np.zeros((4, 4, 4), dtype=np.int64))
    cases = [type("Case", (), {"split": "test", "truth": {str(level): truth for level in script.LEVELS}})() for _ in range(3)]
    monkeypatch.setattr(script, "discover_cases", lambda dirs: cases)
    for key, dice in level1.items():
        change_row, steps = key.rsplit("-", 1)
        record = {"dice": {"1": dice, "2": [0.5] * 3, "3": [0.3] * 3}, "share": [0.9], "corr": [0.8],
                  "train_minutes": 1.0, "trained_seed": 0, "steps": int(steps), "weights_moved": 0.1}
        (tmp_path / f"paper-{change_row}-0-test-3-{steps}.json").write_text(json.dumps(record))


def test_rows_compare_with_the_euclidean_base_at_another_step_count_listed_as_its_own_row(script, tmp_path, monkeypatch):
    saved_records(script, tmp_path, monkeypatch, {
        "none-full-5": [0.9, 0.8, 0.7], "none-euclidean_base-5": [0.6, 0.6, 0.6], "none-euclidean_base-1": [0.7, 0.7, 0.8]})
    out = tmp_path / "table.md"
    script.main(["--recipe", "paper", "--rows", "full", "--rows", "euclidean base", "--split", "test", "--seeds", "1",
                 "--steps", "5", "--base-steps", "1", "--workdir", str(tmp_path), "--out", str(out)])
    lines = {line.split(" | ")[1]: line for line in out.read_text().splitlines() if line.startswith("| paper |")}
    assert "| L1 - euclidean base at 1 step [95%] |" in out.read_text()
    assert lines["full"].split(" | ")[3] == "0.800" and lines["full"].split(" | ")[6].startswith("+0.067 [")
    assert lines["euclidean base"].split(" | ")[6].startswith("-0.133 [")
    assert lines["euclidean base at 1 step"].split(" | ")[3:7] == ["0.733", "0.500", "0.300", "-"]


def test_a_change_that_leaves_a_row_as_it_was_reads_that_rows_unchanged_run(script, tmp_path, monkeypatch):
    # the paper recipe already trains the ball at the ball's rate: only the Euclidean base has a ball-rate run
    saved_records(script, tmp_path, monkeypatch, {"none-full-5": [0.9, 0.8, 0.7], "ball-rate-euclidean_base-5": [0.8, 0.7, 0.7]})
    out = tmp_path / "table.md"
    script.main(["--recipe", "paper", "--change", "ball-rate", "--rows", "full", "--rows", "euclidean base", "--split", "test",
                 "--seeds", "1", "--steps", "5", "--workdir", str(tmp_path), "--out", str(out)])
    lines = {line.split(" | ")[1]: line for line in out.read_text().splitlines() if line.startswith("| paper + the ball's rate for every row |")}
    assert lines["full"].split(" | ")[3] == "0.800" and lines["full"].split(" | ")[6].startswith("+0.067 [")
    assert lines["euclidean base"].split(" | ")[3] == "0.733"


def test_pairs_print_the_paired_difference_at_every_level_across_settings(script, tmp_path, monkeypatch):
    from hypseg.metrics import paired_interval

    saved_records(script, tmp_path, monkeypatch, {
        "none-full-5": [0.9, 0.8, 0.7], "none-euclidean_base-5": [0.6, 0.6, 0.6], "ball-rate-euclidean_base-5": [0.8, 0.7, 0.5]})
    out = tmp_path / "table.md"
    script.main(["--recipe", "paper", "--change", "none", "--change", "ball-rate", "--rows", "full", "--rows", "euclidean base",
                 "--split", "test", "--seeds", "1", "--steps", "5", "--pair", "none/full", "ball-rate/euclidean base",
                 "--workdir", str(tmp_path), "--out", str(out)])
    lo, hi = paired_interval([0.9, 0.8, 0.7], [0.8, 0.7, 0.5])
    pairs = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.read_text().splitlines() if line.startswith("| (paper) full")]
    assert pairs == [["(paper) full", "(paper + the ball's rate for every row) euclidean base", f"+0.133 [{lo:+.3f}, {hi:+.3f}]",
                      "+0.000 [+0.000, +0.000]", "+0.000 [+0.000, +0.000]"]]


def test_a_pair_outside_the_runs_changes_or_rows_is_a_usage_error(script, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        script.main(["--recipe", "paper", "--rows", "full", "--pair", "none/full", "ball-rate/full", "--workdir", str(tmp_path)])
    assert exit_.value.code == 2
    assert "--pair 'ball-rate/full' is not a CHANGE/ROW of this run: runs none/full" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_runs_name_only_the_runs_scored_not_every_change_with_every_row(script, tmp_path, monkeypatch):
    # the cross product of these changes and rows would also train none/euclidean triplet (ball-rate/full is none/full)
    saved_records(script, tmp_path, monkeypatch, {"none-full-5": [0.9, 0.8, 0.7], "ball-rate-euclidean_triplet-5": [0.9, 0.7, 0.8]})
    out = tmp_path / "table.md"
    script.main(["--recipe", "paper", "--run", "none/full", "--run", "ball-rate/euclidean triplet", "--split", "test", "--seeds", "1",
                 "--steps", "5", "--pair", "none/full", "ball-rate/euclidean triplet", "--workdir", str(tmp_path), "--out", str(out)])
    rows = [line.split(" | ")[:2] for line in out.read_text().splitlines() if line.startswith("| paper")]
    assert rows == [["| paper", "full"], ["| paper + the ball's rate for every row", "euclidean triplet"]]
    pairs = [[cell.strip() for cell in line.strip("|").split("|")] for line in out.read_text().splitlines() if line.startswith("| (paper) full")]
    assert [pair[:3] for pair in pairs] == [["(paper) full", "(paper + the ball's rate for every row) euclidean triplet", "+0.000 [-0.100, +0.100]"]]


def test_only_seed_trains_that_seed_alone(script, tmp_path, monkeypatch):
    # seed 1 has no record: scoring it would train (and fail); --only-seed 0 reads seed 0 back and touches nothing else
    saved_records(script, tmp_path, monkeypatch, {"none-full-5": [0.9, 0.8, 0.7]})
    out = tmp_path / "table.md"
    script.main(["--recipe", "paper", "--run", "none/full", "--split", "test", "--seeds", "2", "--only-seed", "0",
                 "--steps", "5", "--workdir", str(tmp_path), "--out", str(out)])
    row = next(line for line in out.read_text().splitlines() if line.startswith("| paper |"))
    assert row.split(" | ")[2:4] == ["1", "0.800"]
    monkeypatch.setattr(script, "load_normalised", lambda cases, config: [])
    with pytest.raises(pytest.fail.Exception, match="a saved record was trained again"):
        script.main(["--recipe", "paper", "--run", "none/full", "--split", "test", "--seeds", "2", "--only-seed", "1",
                     "--steps", "5", "--workdir", str(tmp_path)])


@pytest.mark.parametrize("argv, message", [
    (["--run", "none/full", "--rows", "full"], "--run names each run itself: give it without --change and --rows"),
    (["--run", "none/ful"], "--run 'none/ful' is not a CHANGE/ROW: changes none, sampling, balance, decoder, scale, ball-rate; rows "),
    (["--run", "none/full", "--pair", "none/full", "ball-rate/full"], "--pair 'ball-rate/full' is not a CHANGE/ROW of this run: runs none/full"),
    (["--device", "tpu"], "unknown device 'tpu'; choose auto, cpu, cuda or cuda:N"),
    (["--seeds", "2", "--only-seed", "2"], "--only-seed 2 is not one of the --seeds 2 (0..1)"),
])
def test_runs_and_devices_outside_the_choices_are_usage_errors(script, tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        script.main(["--recipe", "paper", *argv, "--workdir", str(tmp_path / "work")])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def test_a_run_tag_names_the_unchanged_run_when_the_change_leaves_the_row_as_it_was(script):
    tag = script.run_tag("paper", "full", change="ball-rate", steps=7, seed=1, split="val", volumes=6)
    assert tag == script.run_tag("paper", "full", change="none", steps=7, seed=1, split="val", volumes=6) == "paper-none-full-1-val-6-7"
    assert script.run_tag("paper", "euclidean base", change="ball-rate", steps=7, seed=1, split="val", volumes=6) == "paper-ball-rate-euclidean_base-1-val-6-7"
    cuda = script.row_config("paper", "full", change="none", steps=7, seed=1, device="cuda")
    assert cuda.train.device == "cuda" and dataclasses.replace(cuda.train, device="cpu") == script.row_config(
        "paper", "full", change="none", steps=7, seed=1).train


def test_a_run_missing_from_the_workdir_trains_on_the_device_asked_for(script, tmp_path, monkeypatch):
    import json

    saved_records(script, tmp_path, monkeypatch, {"none-full-5": [0.9, 0.8, 0.7]})
    trained = []

    def score_run(run, train, scored, truths, *, run_dir):
        trained.append((run.train.device, run_dir.name))
        return json.loads((tmp_path / "paper-none-full-0-test-3-5.json").read_text())

    monkeypatch.setattr(script, "score_run", score_run)
    monkeypatch.setattr(script, "resolve_device", lambda name: name)  # no CUDA on this machine: the name is passed on as given
    monkeypatch.setattr(script, "load_normalised", lambda cases, *, config: [])
    script.main(["--recipe", "paper", "--run", "none/full", "--run", "none/euclidean base", "--split", "test", "--seeds", "1",
                 "--steps", "5", "--device", "cuda:1", "--workdir", str(tmp_path)])
    assert trained == [("cuda:1", "paper-none-euclidean_base-0-test-3-5")]  # the saved full run is read back, not trained
