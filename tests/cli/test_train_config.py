"""hypseg train --config reads a hand-written TOML file or a run's own config.toml."""

from __future__ import annotations

import dataclasses

import numpy as np
from typer.testing import CliRunner

from hypseg.cli.app import app
from hypseg.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from hypseg.io.checkpoint import CONFIG_NAME, load_run_config, save_run_config

runner = CliRunner()

TINY = RunConfig(
    model=ModelConfig(patch_size=8, channels=(4, 4, 4), hidden=8),
    data=DataConfig(patch_min=5.0, patch_max=10.0, patch_resize=8, triplets_per_batch=8),
    train=TrainConfig(steps=1, shard_size=8, validation_batches=0, seed=3),
)


def _volume(tmp_path):
    path = tmp_path / "v.npy"
    np.save(path, np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32))
    return path


def test_a_runs_own_config_toml_trains_a_new_run_with_the_same_config(tmp_path):
    save_run_config(tmp_path / "first", TINY)
    assert "format_version = 1" in (tmp_path / "first" / CONFIG_NAME).read_text()
    result = runner.invoke(
        app, ["train", str(_volume(tmp_path)), "--config", str(tmp_path / "first" / CONFIG_NAME), "--out", str(tmp_path / "second"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert load_run_config(tmp_path / "second") == TINY


def test_a_partial_config_changes_only_its_keys_of_the_cpu_recipe(tmp_path):
    from hypseg.cli.train import read_config
    from hypseg.config import cpu_recipe

    path = tmp_path / "tr.toml"
    path.write_text("[train]\nsteps = 1\n")
    expected = dataclasses.replace(cpu_recipe(), train=dataclasses.replace(cpu_recipe().train, steps=1))
    assert read_config(path) == expected
    path.write_text("[model]\nhidden = 300\n[data]\npatch_max = 20.0\n")
    assert read_config(path) == dataclasses.replace(
        cpu_recipe(), model=dataclasses.replace(cpu_recipe().model, hidden=300),
        data=dataclasses.replace(cpu_recipe().data, patch_max=20.0),
    )
    volume = tmp_path / "big.npy"  # 34^3: the recipe's largest patch side fits, nothing is clipped
    np.save(volume, np.random.default_rng(0).normal(size=(34, 34, 34)).astype(np.float32))
    path.write_text("[train]\nsteps = 1\n")
    result = runner.invoke(app, ["train", str(volume), "--config", str(path), "--out", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert f"trained 1 step on 1 volume; model in {tmp_path / 'run'}\n" in result.output
    assert load_run_config(tmp_path / "run") == expected


def test_resume_with_more_steps_records_them_in_the_runs_config(tmp_path):
    save_run_config(tmp_path / "first", TINY)
    args = ["train", str(_volume(tmp_path)), "--out", str(tmp_path / "run"), "--no-progress"]
    assert runner.invoke(app, [*args, "--config", str(tmp_path / "first" / CONFIG_NAME)]).exit_code == 0
    result = runner.invoke(app, [*args, "--resume", "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert "trained to step 2 (1 step in this run) on 1 volume" in result.output
    assert load_run_config(tmp_path / "run") == dataclasses.replace(TINY, train=dataclasses.replace(TINY.train, steps=2))


def test_a_partial_config_that_contradicts_the_cpu_recipe_is_one_line(tmp_path):
    path = tmp_path / "tr.toml"
    path.write_text("[train]\nshard_size = 128\n")  # the CPU recipe's 64 triplets per batch are not a multiple
    result = runner.invoke(app, ["train", str(_volume(tmp_path)), "--config", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {path}: RunConfig: data.triplets_per_batch (64) must be a multiple of "
                             "train.shard_size (128)\n")
    assert not (tmp_path / "run").exists()


def test_a_4d_volume_trains_on_the_channel_given(tmp_path):
    volume = tmp_path / "v4.npy"
    np.save(volume, np.random.default_rng(0).normal(size=(16, 16, 16, 2)).astype(np.float32))  # ZYXC
    save_run_config(tmp_path / "first", TINY)
    args = ["train", str(volume), "--config", str(tmp_path / "first" / CONFIG_NAME), "--no-progress"]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "none")])
    assert result.exit_code == 2 and result.output.startswith(f"hypseg: error: {volume}: is 4-D with 2 channels")
    assert "--channel" in result.output and not (tmp_path / "none").exists()
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "bad"), "--channel", "2"])
    assert result.exit_code == 2 and result.output == f"hypseg: error: {volume}: has 2 channels; channel 2 does not exist\n"
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "run"), "--channel", "1", "--channel-axis", "3"])
    assert result.exit_code == 0, result.output
    assert "trained 1 step on 1 volume" in result.output


def test_a_config_of_another_format_version_is_one_line_and_exit_2(tmp_path):
    save_run_config(tmp_path / "first", TINY)
    path = tmp_path / "first" / CONFIG_NAME
    path.write_text(path.read_text().replace("format_version = 1", "format_version = 7"))
    result = runner.invoke(app, ["train", str(_volume(tmp_path)), "--config", str(path), "--out", str(tmp_path / "second")])
    assert result.exit_code == 2
    assert f"hypseg: error: {path}: written by run format version 7; this hypseg reads version 1\n" in result.output
    assert not (tmp_path / "second").exists()


def test_an_unknown_key_is_named(tmp_path):
    path = tmp_path / "cfg.toml"
    path.write_text("[train]\nstepz = 3\n")
    result = runner.invoke(app, ["train", str(_volume(tmp_path)), "--config", str(path), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert f"hypseg: error: {path}: TrainConfig: unknown key 'train.stepz'\n" in result.output


def test_recipe_paper_trains_the_released_experiment_with_the_variants_rate(tmp_path):
    from hypseg.config import paper_recipe

    result = runner.invoke(app, ["train", str(_volume(tmp_path)), "--recipe", "paper", "--variant", "euclidean", "--steps", "1",
                                 "--out", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    saved = load_run_config(tmp_path / "run")
    assert saved == paper_recipe("euclidean", steps=1)  # a 16^3 volume: the paper's sampler shrinks parents itself
    assert saved.train.learning_rate == 5e-5


def test_an_unknown_recipe_or_recipe_with_config_is_one_line(tmp_path):
    result = runner.invoke(app, ["train", str(_volume(tmp_path)), "--recipe", "fast", "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "hypseg: error: unknown training recipe 'fast'; choose one of cpu, paper, smoke\n" in result.output
    save_run_config(tmp_path / "first", TINY)
    result = runner.invoke(app, ["train", str(_volume(tmp_path)), "--recipe", "paper", "--config",
                                 str(tmp_path / "first" / CONFIG_NAME), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "hypseg: error: give --config or --recipe, not both\n" in result.output
    assert not (tmp_path / "run").exists()


def test_train_says_which_seed_the_model_is_when_a_collapsed_run_was_set_aside(tmp_path, monkeypatch):
    from helpers import kill_encoders_of

    kill_encoders_of({3}, monkeypatch)
    save_run_config(tmp_path / "first", TINY)
    out = tmp_path / "second"
    result = runner.invoke(app, ["train", str(_volume(tmp_path)), "--config", str(tmp_path / "first" / CONFIG_NAME), "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "the run with seed 3 collapsed and was set aside; the model is seed 1003's" in result.output
    assert load_run_config(out).train.seed == 1003 and load_run_config(out / "collapsed-seed3") == TINY
