"""hypseg train: what an interrupt leaves and says, fresh runs and resumed ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from hypseg.cli.app import app
from hypseg.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from hypseg.io.checkpoint import CONFIG_NAME, load_run_config, save_run_config
from hypseg.training.stream import TripletStream

runner = CliRunner()

TINY = RunConfig(
    model=ModelConfig(patch_size=8, channels=(4, 4, 4), hidden=8),
    data=DataConfig(patch_min=5.0, patch_max=10.0, patch_resize=8, triplets_per_batch=8),
    train=TrainConfig(steps=6, shard_size=8, validation_batches=0, checkpoint_every=100, seed=3),
)


@pytest.fixture
def args(tmp_path):
    volume = tmp_path / "v.npy"
    np.save(volume, np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32))
    save_run_config(tmp_path / "recipe", TINY)
    return ["train", str(volume), "--config", str(tmp_path / "recipe" / CONFIG_NAME), "--out", str(tmp_path / "run"), "--no-progress"]


def _interrupt_at(step: int, monkeypatch) -> None:
    original = TripletStream.batch

    def batch(self, seen, shards, **kwargs):
        if seen == step:
            raise KeyboardInterrupt
        return original(self, seen, shards, **kwargs)

    monkeypatch.setattr(TripletStream, "batch", batch)


@pytest.mark.parametrize(("at", "aside", "said", "again"), [
    (5, False, "interrupted; {run}/ holds step 4 of 6; run the same command with --resume to continue", ["--resume"]),
    (1, False, "interrupted before the first checkpoint; nothing of this run was saved in {run}/; run the same command "
     "to start again", []),
    (1, True, "interrupted before the first checkpoint; nothing of this run was saved in {run}/ beside the collapsed run "
     "in collapsed-seed0/; run the same command to start again", []),  # a retry after a collapse
])
def test_an_interrupted_run_says_what_it_saved_and_the_command_it_names_finishes_it(args, tmp_path, monkeypatch, at, aside,
                                                                                      said, again):
    if aside:
        (tmp_path / "run" / "collapsed-seed0").mkdir(parents=True)
    _interrupt_at(at, monkeypatch)
    result = runner.invoke(app, args)
    assert result.exit_code == 130
    assert result.stderr == f"hypseg: {said.format(run=tmp_path / 'run')}\n"
    if not again:  # nothing saved, nothing left: the run's config and data record go, and the folder it made
        left = sorted(p.name for p in (tmp_path / "run").iterdir()) if (tmp_path / "run").exists() else None
        assert left == (["collapsed-seed0"] if aside else None)
    monkeypatch.undo()
    result = runner.invoke(app, [*args, *again])
    assert result.exit_code == 0, result.output
    trained = "to step 6 (2 steps in this run)" if again else "6 steps"
    assert f"trained {trained} on 1 volume" in result.output
    assert torch.load(tmp_path / "run" / "model.pt", weights_only=True)["step"] == 6


def test_resume_with_fewer_steps_than_the_run_has_is_one_line_and_keeps_the_run(args, tmp_path):
    assert runner.invoke(app, args).exit_code == 0
    log = (tmp_path / "run" / "log.jsonl").read_text()
    (tmp_path / "v.npy").unlink()  # refused before any volume is read
    result = runner.invoke(app, [*args, "--resume", "--steps", "4"])
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {tmp_path / 'run'} is already at step 6, past the 4 steps asked for; "
                             "resume it with more steps to train longer\n")
    assert (tmp_path / "run" / "log.jsonl").read_text() == log
    assert torch.load(tmp_path / "run" / "model.pt", weights_only=True)["step"] == 6
    assert load_run_config(tmp_path / "run") == TINY


@pytest.mark.parametrize("made", ["nothing", "config"])
def test_resume_with_nothing_to_resume_says_to_drop_resume(args, tmp_path, made):
    if made == "config":  # a run killed before its first checkpoint
        save_run_config(tmp_path / "run", TINY)
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 2
    reason = f"model directory {tmp_path / 'run'} does not exist" if made == "nothing" else f"{tmp_path / 'run'} holds no checkpoint: model.pt is missing"
    assert result.output == f"hypseg: error: {reason}; drop --resume to start a new run\n"


def test_resume_on_another_volume_is_one_line_and_keeps_the_run(args, tmp_path):
    assert runner.invoke(app, [*args, "--steps", "4"]).exit_code == 0
    kept = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()}
    np.save(tmp_path / "v.npy", np.random.default_rng(1).normal(size=(16, 16, 16)).astype(np.float32))
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {tmp_path / 'run'}: training volume 0 is not the one it was trained on (its "
                             "voxels differ); resume it with the volumes it started with, or start a new run in another folder\n")
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()} == kept


def test_resuming_a_finished_run_says_nothing_was_trained_and_leaves_it_as_it_was(args, tmp_path):
    assert runner.invoke(app, args).exit_code == 0
    kept = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()}
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    assert result.output == (f"{tmp_path / 'run'} already held all 6 steps: nothing was trained; pass --steps with more to "
                             "train longer\n")
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()} == kept


def test_a_new_run_into_a_used_folder_is_refused_in_one_line_before_any_volume_is_read(args, tmp_path, monkeypatch):
    import hypseg.data

    def unread(*_, **__):
        raise AssertionError("a volume was read")

    monkeypatch.setattr(hypseg.data, "discover_cases", unread)
    run = tmp_path / "run"
    run.mkdir()
    (run / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["train", "nowhere.npy", *args[2:]])
    assert result.exit_code == 2
    assert result.output == f"hypseg: error: {run} holds notes.txt, which is not part of a hypseg run; choose a new or empty folder\n"
    assert [p.name for p in run.iterdir()] == ["notes.txt"]


def test_a_folder_names_the_volumes_it_trains_on_and_those_that_look_like_label_maps(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for name in ("cell_a", "cell_b", "cell_b_labels", "cell_a_k4", "notes"):
        np.save(data / f"{name}.npy", rng.normal(size=(12, 12, 12)).astype(np.float32))
    save_run_config(tmp_path / "recipe", TINY)
    result = runner.invoke(app, ["train", str(data), "--out", str(tmp_path / "run"), "--config",
                                 str(tmp_path / "recipe" / "config.toml"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        f"{data}: training on 5 volumes found there: cell_a, cell_a_k4, cell_b, cell_b_labels, notes",
        "note: cell_a_k4, cell_b_labels may be label maps, which a model should not learn from; to leave them out, give "
        "the volumes by name"]
    named = runner.invoke(app, ["train", str(data / "cell_a.npy"), str(data / "cell_b.npy"), "--out", str(tmp_path / "run2"),
                                "--config", str(tmp_path / "recipe" / "config.toml"), "--no-progress"])
    assert named.exit_code == 0 and "found there" not in named.stdout and "label maps" not in named.stdout


@pytest.mark.parametrize("steps", [[], ["--steps", "8"]])
def test_resume_with_another_recipe_is_refused_not_ignored(args, tmp_path, steps):
    """--recipe names a whole config: resuming with one the run was not trained with is refused, as another --seed
    is, whether the run is finished or trained longer."""
    assert runner.invoke(app, args).exit_code == 0
    kept = {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()}
    resume = [a for a in args if a not in ("--config", str(tmp_path / "recipe" / CONFIG_NAME))]
    result = runner.invoke(app, [*resume, "--resume", "--recipe", "smoke", *steps])
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {tmp_path / 'run'} was trained with another config; resume it with its own "
                             "config.toml\n")
    assert {p.name: p.read_bytes() for p in (tmp_path / "run").iterdir() if p.is_file()} == kept


def test_under_torchrun_only_the_first_rank_reports(args, tmp_path, monkeypatch):
    from hypseg.training import distributed

    np.save(tmp_path / "v.npy", np.random.default_rng(0).normal(size=(9, 16, 16)).astype(np.float32))  # a clipping note
    save_run_config(tmp_path / "recipe", dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, collapse_retries=0)))
    first = runner.invoke(app, [*args[:-3], "--out", str(tmp_path / "first"), "--no-progress"])
    assert first.exit_code == 0 and "clipped" in first.output and "trained" in first.output, first.output
    second = distributed.DistributedContext(rank=1, world_size=2, local_rank=1)
    monkeypatch.setattr(distributed, "context_from_env", lambda: second)  # the command's view; the trainer runs alone
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output == ""


def test_resume_with_the_runs_own_config_is_accepted_also_where_its_patch_sides_were_clipped(args, tmp_path):
    """A volume smaller than the config's largest patch side clips the run's saved config; the same --config on
    resume is compared after the same clipping, so the interrupt note's "the same command with --resume" works."""
    np.save(tmp_path / "v.npy", np.random.default_rng(0).normal(size=(9, 16, 16)).astype(np.float32))
    once = dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, collapse_retries=0))  # a noise volume may collapse
    save_run_config(tmp_path / "recipe", once)
    assert runner.invoke(app, [*args, "--steps", "4"]).exit_code == 0
    assert load_run_config(tmp_path / "run").data.patch_max == 9.0  # clipped from 10
    result = runner.invoke(app, [*args, "--steps", "6", "--resume"])
    assert result.exit_code == 0, result.output
    assert "trained to step 6 (2 steps in this run)" in result.output
