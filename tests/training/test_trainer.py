"""Training: losses fall, runs are reproducible, resume continues exactly, DDP equals one process."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from hypseg.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from hypseg.data import generate_volume, normalise
from hypseg.errors import UserError
from hypseg.models.collapse import COLLAPSED_SPREAD, CollapsedModelWarning
from hypseg.io.checkpoint import load_run_config, save_run_config
from hypseg.training import Trainer, read_log, smoothed
from hypseg.training.stream import TripletStream
from helpers import kill_encoders_of

DATA = DataConfig(patch_min=5.0, patch_max=16.0, patch_resize=8, triplets_per_batch=16)
MODEL = ModelConfig(patch_size=8, channels=(4, 8, 8), hidden=16)
TRAIN = TrainConfig(steps=20, shard_size=8, log_every=1, validate_every=10, validation_batches=1, checkpoint_every=10, learning_rate=3e-3)


@pytest.fixture(scope="module")
def volumes():
    crops = []
    for seed in range(2):
        image = generate_volume(np.random.default_rng(seed)).image
        crops.append(normalise(image[9:41, 9:41, 9:41], config=DATA))  # the cell and what it holds
    return crops


def config(**train) -> RunConfig:
    return RunConfig(model=MODEL, data=DATA, train=dataclasses.replace(TRAIN, **train))


def train_losses(run_dir: Path) -> dict[int, dict]:
    return {r["step"]: r for r in read_log(run_dir) if r["split"] == "train"}


def _without_rate(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "triplets_per_s"}


def _without_rates(records: dict[int, dict]) -> dict[int, dict]:
    return {step: {k: v for k, v in r.items() if k != "triplets_per_s"} for step, r in records.items()}


def test_a_few_hundred_steps_lower_the_elbo_and_the_triplet_loss(volumes, tmp_path):
    Trainer(config(steps=300, validate_every=1000, checkpoint_every=1000), volumes, run_dir=tmp_path, progress=False).fit()
    records = sorted(train_losses(tmp_path).values(), key=lambda r: r["step"])
    assert len(records) == 300
    values = {k: np.array([r[k] for r in records]) for k in ("loss", "reconstruction", "kl", "triplet")}
    assert all(np.isfinite(v).all() for v in values.values())
    elbo = smoothed(values["reconstruction"] + values["kl"], 50)
    triplet = smoothed(values["triplet"], 50)
    assert elbo[-1] < elbo[0]
    assert triplet[-1] < triplet[0]


def test_the_same_seed_gives_the_same_losses(volumes, tmp_path):
    for name in ("a", "b"):
        Trainer(config(steps=6), volumes, run_dir=tmp_path / name, progress=False).fit()
    first = _without_rates(train_losses(tmp_path / "a"))
    assert sorted(first) == list(range(1, 7))
    assert first == _without_rates(train_losses(tmp_path / "b"))
    other = tmp_path / "c"
    Trainer(config(steps=6, seed=1), volumes, run_dir=other, progress=False).fit()
    assert train_losses(other)[6]["loss"] != train_losses(tmp_path / "a")[6]["loss"]


def test_a_resumed_run_continues_with_the_losses_of_an_uninterrupted_one(volumes, tmp_path):
    full = tmp_path / "full"
    Trainer(config(steps=20), volumes, run_dir=full, progress=False).fit()
    part = tmp_path / "part"
    Trainer(config(steps=10), volumes, run_dir=part, progress=False).fit()  # stops with a checkpoint at 10
    Trainer(config(steps=20), volumes, run_dir=part, progress=False).fit(resume=True)
    assert load_run_config(part) == load_run_config(full) == config(steps=20)  # config.toml says the steps it trains to
    expected, got = _without_rates(train_losses(full)), _without_rates(train_losses(part))
    assert sorted(got) == list(range(1, 21))
    for step in range(11, 21):
        for key in ("loss", "reconstruction", "kl", "triplet"):
            assert got[step][key] == pytest.approx(expected[step][key], rel=1e-5, abs=1e-6), (step, key)


def test_an_interrupted_run_keeps_a_checkpoint_and_resumes_exactly(volumes, tmp_path, monkeypatch):
    full = tmp_path / "full"
    Trainer(config(steps=14, checkpoint_every=100), volumes, run_dir=full, progress=False).fit()
    killed = tmp_path / "killed"
    original = TripletStream.batch

    def interrupt_at_step_9(self, step, shards, **kwargs):
        if step == 9 and kwargs.get("stream", 0) == 0:
            raise KeyboardInterrupt
        return original(self, step, shards, **kwargs)

    monkeypatch.setattr(TripletStream, "batch", interrupt_at_step_9)
    with pytest.raises(KeyboardInterrupt):
        Trainer(config(steps=14, checkpoint_every=100), volumes, run_dir=killed, progress=False).fit()
    monkeypatch.setattr(TripletStream, "batch", original)
    assert torch.load(killed / "model.pt", weights_only=True)["step"] == 8
    Trainer(config(steps=14, checkpoint_every=100), volumes, run_dir=killed, progress=False).fit(resume=True)
    expected, got = _without_rates(train_losses(full)), _without_rates(train_losses(killed))
    for step in range(9, 15):
        assert got[step]["loss"] == pytest.approx(expected[step]["loss"], rel=1e-5), step


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "model.pt", weights_only=True)["model"]


def _interrupt_at(step: int):
    def interrupt(seen: int) -> None:
        if seen == step:
            raise KeyboardInterrupt

    return interrupt


@pytest.mark.parametrize("where", ["on_step", "validation", "checkpoint"])
def test_a_run_interrupted_after_an_update_saves_that_step_and_resumes_to_the_uninterrupted_weights(
    volumes, tmp_path, monkeypatch, where
):
    cfg = config(steps=14, checkpoint_every=4, validate_every=5)
    full = tmp_path / "full"
    Trainer(cfg, volumes, run_dir=full, progress=False).fit()
    killed = tmp_path / "killed"
    at = {"on_step": 6, "validation": 10, "checkpoint": 8}[where]
    on_step = _interrupt_at(at) if where == "on_step" else None
    if where == "validation":  # validated at steps 5 and 10: interrupted in the second
        validate, calls = Trainer.validate, []

        def validate_once(self, model):
            calls.append(len(calls))
            if len(calls) == 2:
                raise KeyboardInterrupt
            return validate(self, model)

        monkeypatch.setattr(Trainer, "validate", validate_once)
    if where == "checkpoint":  # the checkpoint of step 8 is interrupted before it is written
        save, calls = Trainer._save, []

        def save_once(self, model, optimiser, step):
            calls.append(step)
            if calls.count(at) == 1 and step == at:
                raise KeyboardInterrupt
            save(self, model, optimiser, step)

        monkeypatch.setattr(Trainer, "_save", save_once)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, volumes, run_dir=killed, progress=False, on_step=on_step).fit()
    monkeypatch.undo()
    assert torch.load(killed / "model.pt", weights_only=True)["step"] == at  # step ``at``'s update, labelled ``at``
    Trainer(cfg, volumes, run_dir=killed, progress=False).fit(resume=True)
    expected, got = _weights(full), _weights(killed)
    assert expected.keys() == got.keys()
    assert all(torch.equal(expected[name], got[name]) for name in expected)
    assert sorted(train_losses(killed)) == list(range(1, 15))
    # the log is the uninterrupted one's, the validation that the interrupt cut short included
    assert [_without_rate(r) for r in read_log(killed)] == [_without_rate(r) for r in read_log(full)]


def test_a_run_interrupted_inside_an_update_keeps_its_previous_checkpoint(volumes, tmp_path, monkeypatch):
    cfg = config(steps=14, checkpoint_every=4)
    full = tmp_path / "full"
    Trainer(cfg, volumes, run_dir=full, progress=False).fit()
    killed = tmp_path / "killed"
    build = Trainer._build

    def build_torn_at_6(self):  # step 6's update is applied, then the interrupt comes before optimiser.step returns
        model, optimiser = build(self)
        step, calls = optimiser.step, []

        def torn(*args, **kwargs):
            step(*args, **kwargs)
            calls.append(len(calls) + 1)
            if calls[-1] == 6:
                raise KeyboardInterrupt

        optimiser.step = torn
        return model, optimiser

    monkeypatch.setattr(Trainer, "_build", build_torn_at_6)
    with pytest.raises(KeyboardInterrupt):
        Trainer(cfg, volumes, run_dir=killed, progress=False).fit()
    monkeypatch.undo()
    assert torch.load(killed / "model.pt", weights_only=True)["step"] == 4  # weights that may be torn are not saved
    Trainer(cfg, volumes, run_dir=killed, progress=False).fit(resume=True)
    expected, got = _weights(full), _weights(killed)
    assert all(torch.equal(expected[name], got[name]) for name in expected)


def test_a_new_run_in_a_folder_without_a_checkpoint_starts_a_fresh_log(volumes, tmp_path):
    save_run_config(tmp_path, config(steps=250))  # what a run killed before its first checkpoint leaves
    (tmp_path / "log.jsonl").write_text("".join(json.dumps({"step": s, "split": "train", "loss": 1.0}) + "\n" for s in range(10, 251, 10)))
    Trainer(config(steps=6), volumes, run_dir=tmp_path, progress=False).fit()
    assert [(r["step"], r["split"]) for r in read_log(tmp_path)] == [(s, "train") for s in range(1, 7)] + [(6, "val")]
    assert load_run_config(tmp_path) == config(steps=6)


def test_resume_drops_a_torn_last_log_line_and_names_any_other_broken_line(volumes, tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    Trainer(config(steps=14), volumes, run_dir=full, progress=False).fit()
    Trainer(config(steps=10), volumes, run_dir=part, progress=False).fit()
    log = part / "log.jsonl"
    with open(log, "a", encoding="utf-8") as handle:
        handle.write('{"step": 11, "split": "tra')  # a run killed while writing step 11's line
    Trainer(config(steps=14), volumes, run_dir=part, progress=False).fit(resume=True)
    assert _without_rates(train_losses(part)) == _without_rates(train_losses(full))
    lines = log.read_text().splitlines()
    log.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    with pytest.raises(UserError, match=f"^{re.escape(str(log))}:2: is not JSON \\(Expecting property name enclosed in double quotes\\)$"):
        Trainer(config(steps=16), volumes, run_dir=part, progress=False).fit(resume=True)


def test_on_step_sees_every_step_and_an_exception_it_raises_stops_the_run(volumes, tmp_path):
    seen: list[int] = []

    def stop_after_3(step: int) -> None:
        seen.append(step)
        if step == 3:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="^stop$"):
        Trainer(config(steps=14, checkpoint_every=2), volumes, run_dir=tmp_path, progress=False, on_step=stop_after_3).fit()
    assert seen == [1, 2, 3]
    assert torch.load(tmp_path / "model.pt", weights_only=True)["step"] == 2  # nothing was saved after the stop
    assert max(train_losses(tmp_path)) == 3


def test_resume_refuses_another_config_and_a_fresh_run_refuses_an_existing_checkpoint(volumes, tmp_path):
    Trainer(config(steps=2), volumes, run_dir=tmp_path, progress=False).fit()
    with pytest.raises(FileExistsError, match=r"already holds a checkpoint; resume it \(--resume, resume=True\) or choose another output folder$"):
        Trainer(config(steps=2), volumes, run_dir=tmp_path, progress=False).fit()
    with pytest.raises(ValueError, match="was trained with another config"):
        Trainer(config(steps=4, learning_rate=1e-2), volumes, run_dir=tmp_path, progress=False).fit(resume=True)


def test_resume_refuses_other_volumes_naming_the_first_difference_and_leaves_the_run_as_it_was(volumes, tmp_path):
    Trainer(config(steps=2), volumes, run_dir=tmp_path, progress=False).fit()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    way_out = "resume it with the volumes it started with, or start a new run in another folder"
    changed = [volumes[0], volumes[1].copy()]
    changed[1][3, 4, 5] += 0.5
    cases = [
        ([volumes[0]], None, f"{tmp_path} was trained on 2 volumes, not 1; {way_out}"),
        ([volumes[0], volumes[1][:-1]], None,
         f"{tmp_path}: training volume 1 has shape (31, 32, 32), the one it was trained on (32, 32, 32); {way_out}"),
        (changed, None, f"{tmp_path}: training volume 1 is not the one it was trained on (its voxels differ); {way_out}"),
        (volumes[::-1], None, f"{tmp_path}: training volume 0 is not the one it was trained on (its voxels differ); {way_out}"),
        (volumes, [volumes[0]], f"{tmp_path} was validated on its training volumes, not on separate ones; {way_out}"),
    ]
    for training, validation, message in cases:
        with pytest.raises(UserError) as caught:
            Trainer(config(steps=4), training, run_dir=tmp_path, validation=validation, progress=False).fit(resume=True)
        assert str(caught.value) == message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    resumed = Trainer(config(steps=4), [v.copy() for v in volumes], run_dir=tmp_path, progress=False).fit(resume=True)
    assert resumed.step == 4


def test_a_malformed_data_fingerprint_and_missing_validation_volumes_are_one_line(volumes, tmp_path):
    Trainer(config(steps=2), volumes, run_dir=tmp_path, validation=volumes[:1], progress=False).fit()
    with pytest.raises(UserError) as caught:
        Trainer(config(steps=4), volumes, run_dir=tmp_path, progress=False).fit(resume=True)
    assert str(caught.value).startswith(f"{tmp_path} was validated on 1 separate volume; give them again: ")
    with pytest.raises(UserError, match=f"^{tmp_path} was validated on 1 volume, not 2; "):
        Trainer(config(steps=4), volumes, run_dir=tmp_path, validation=volumes, progress=False).fit(resume=True)
    other = tmp_path / "no-validation"
    Trainer(config(steps=2), volumes, run_dir=other, validation=[], progress=False).fit()
    assert Trainer(config(steps=4), volumes, run_dir=other, progress=False).fit(resume=True).step == 4  # [] is None
    for text in ('{"training": [1, 2], "validation": null}', '{"training": "abcd", "validation": null}', '{"training": {"a": 1}, "validation": null}'):
        (tmp_path / "data.json").write_text(text)
        with pytest.raises(UserError, match=r"data.json: not a data fingerprint \(.*\); remove it to resume without the check$"):
            Trainer(config(steps=4), volumes, run_dir=tmp_path, validation=volumes[:1], progress=False).fit(resume=True)


def test_a_run_folder_without_a_data_fingerprint_resumes_unchecked(volumes, tmp_path):
    Trainer(config(steps=2), volumes, run_dir=tmp_path, progress=False).fit()
    (tmp_path / "data.json").unlink()  # a run written before hypseg recorded its data
    assert Trainer(config(steps=4), volumes[:1], run_dir=tmp_path, progress=False).fit(resume=True).step == 4


def test_a_run_whose_log_was_removed_resumes_into_a_new_log(volumes, tmp_path):
    Trainer(config(steps=10), volumes, run_dir=tmp_path, progress=False).fit()
    (tmp_path / "log.jsonl").unlink()
    assert Trainer(config(steps=20), volumes, run_dir=tmp_path, progress=False).fit(resume=True).step == 20
    records = read_log(tmp_path)
    assert sorted(r["step"] for r in records if r["split"] == "train") == list(range(11, 21))
    assert sorted(r["step"] for r in records if r["split"] == "val") == [10, 20]  # step 10's, lost with the log, again


def test_a_collapsed_run_is_set_aside_and_trains_again_with_another_seed(volumes, tmp_path, monkeypatch, capsys):
    kill_encoders_of({0}, monkeypatch)
    run = tmp_path / "run"
    result = Trainer(config(steps=6), volumes, run_dir=run, progress=False).fit()
    assert result.collapsed == (0,) and result.config.train.seed == 1000
    assert result.spread >= COLLAPSED_SPREAD
    aside = run / "collapsed-seed0"
    assert sorted(p.name for p in aside.iterdir()) == ["config.toml", "log.jsonl", "model.pt"]
    assert load_run_config(aside).train.seed == 0 and load_run_config(run).train.seed == 1000
    probe = Trainer(config(), volumes, run_dir=tmp_path / "probe", progress=False)
    assert probe.spread(probe._build()[0]) == 0.0  # a dead encoder embeds every patch at one point
    # the kept run is exactly a run with seed 1000, and resumes as one
    direct = tmp_path / "direct"
    Trainer(config(steps=6, seed=1000), volumes, run_dir=direct, progress=False).fit()
    assert _without_rates(train_losses(run)) == _without_rates(train_losses(direct))
    Trainer(config(steps=8, seed=1000), volumes, run_dir=run, progress=False).fit(resume=True)
    assert max(train_losses(run)) == 8
    err = capsys.readouterr().err
    assert f"training with seed 0 collapsed (the model embeds every patch alike: spread 0, below 0.0001); that run is kept in collapsed-seed0/ of the run folder, training again with seed 1000" in err


def test_a_dead_run_stops_at_its_first_checkpoint_while_a_retry_remains(volumes, tmp_path, monkeypatch, capsys):
    kill_encoders_of({0, 1000}, monkeypatch)
    result = Trainer(config(steps=30, checkpoint_every=10, collapse_retries=2), volumes, run_dir=tmp_path,
                     progress=False).fit()
    for seed in (0, 1000):  # both stopped at step 10, and seed 2000 trained to the end
        assert max(train_losses(tmp_path / f"collapsed-seed{seed}")) == 10
    assert result.config.train.seed == 2000 and result.step == 30 and max(train_losses(tmp_path)) == 30
    assert "training with seed 0 collapsed at step 10 (the model embeds every patch alike" in capsys.readouterr().err
    kill_encoders_of({0}, monkeypatch)
    with pytest.warns(CollapsedModelWarning):  # no retry left: the run finishes, dead or not
        kept = Trainer(config(steps=30, checkpoint_every=10, collapse_retries=0), volumes, run_dir=tmp_path / "kept",
                       progress=False).fit()
    assert kept.step == 30


def test_an_earlier_set_aside_run_of_the_same_seed_is_kept(volumes, tmp_path, monkeypatch):
    kill_encoders_of({0}, monkeypatch)
    (tmp_path / "collapsed-seed0").mkdir()
    (tmp_path / "collapsed-seed0" / "note.txt").write_text("earlier")
    Trainer(config(steps=3), volumes, run_dir=tmp_path, progress=False).fit()
    assert (tmp_path / "collapsed-seed0" / "note.txt").read_text() == "earlier"
    assert sorted(p.name for p in (tmp_path / "collapsed-seed0-2").iterdir()) == ["config.toml", "log.jsonl", "model.pt"]


def test_a_run_that_collapses_every_time_is_kept_with_a_warning(volumes, tmp_path, monkeypatch):
    kill_encoders_of({0, 1000}, monkeypatch)
    with pytest.warns(CollapsedModelWarning, match=r"the trained model embeds every patch alike \(spread 0, below 0.0001\) after 2 training runs;"):
        result = Trainer(config(steps=3, collapse_retries=1), volumes, run_dir=tmp_path, progress=False).fit()
    assert result.collapsed == (0,) and result.spread == 0.0 and result.config.train.seed == 1000
    assert (tmp_path / "model.pt").exists() and (tmp_path / "collapsed-seed0" / "model.pt").exists()
    with pytest.warns(CollapsedModelWarning, match="after 1 training run;"):
        kept = Trainer(config(steps=3, collapse_retries=0), volumes, run_dir=tmp_path / "kept", progress=False).fit()
    assert kept.collapsed == () and not any(p.is_dir() for p in (tmp_path / "kept").iterdir())


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda v, d: Trainer(config(), [], run_dir=d), r"no training volumes were given"),
        (lambda v, d: Trainer(config(), [np.zeros((6, 6, 6), np.float32) + np.arange(6)], run_dir=d), r"training volume 0 of shape \(6, 6, 6\) is smaller than the largest patch side 16; lower data.patch_max"),
        (lambda v, d: RunConfig(model=MODEL, data=dataclasses.replace(DATA, patch_resize=10), train=TRAIN), r"model.patch_size \(8\) must equal data.patch_resize \(10\)"),
        (lambda v, d: RunConfig(model=MODEL, data=DATA, train=dataclasses.replace(TRAIN, shard_size=5)), r"triplets_per_batch \(16\) must be a multiple of train.shard_size \(5\)"),
        (lambda v, d: TrainConfig(optimiser="sgd"), r"TrainConfig: unknown optimiser 'sgd'"),
        (lambda v, d: TrainConfig(device="tpu"), r"device must be 'cpu', 'cuda' or 'cuda:N', got 'tpu'"),
        (lambda v, d: TrainConfig(collapse_retries=-1), r"TrainConfig: collapse_retries must be >= 0, got -1"),
    ],
)
def test_bad_input_fails_before_training(volumes, tmp_path, build, message):
    with pytest.raises(ValueError, match=message):
        build(volumes, tmp_path)
    assert not (tmp_path / "model.pt").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DDP_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, torch
    from hypseg.config import RunConfig
    from hypseg.training import Trainer, context_from_env
    out, volumes = sys.argv[1], list(np.load(sys.argv[2]))
    cfg = RunConfig.load_toml(sys.argv[3])
    ctx = context_from_env()
    result = Trainer(cfg, volumes, run_dir=out, progress=False).fit()
    torch.save(result.model.state_dict(), f"{out}/rank{ctx.rank}.pt")
    """
)


def _two_gloo_processes(script: str, cfg: RunConfig, volumes, tmp_path) -> subprocess.CompletedProcess:
    """Run ``script`` under torchrun with two CPU processes on ``volumes`` and ``cfg``, into ``tmp_path / "ddp"``."""
    cfg.save_toml(tmp_path / "cfg.toml")
    np.save(tmp_path / "volumes.npy", np.stack(volumes))
    (tmp_path / "ddp.py").write_text(script)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={_free_port()}",
               str(tmp_path / "ddp.py"), str(tmp_path / "ddp"), str(tmp_path / "volumes.npy"), str(tmp_path / "cfg.toml")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_two_gloo_processes_keep_identical_parameters_and_match_one_process(volumes, tmp_path):
    cfg = config(steps=4, validation_batches=0, checkpoint_every=100)
    _two_gloo_processes(DDP_SCRIPT, cfg, volumes, tmp_path)
    rank0, rank1 = (torch.load(tmp_path / "ddp" / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    single = Trainer(cfg, volumes, run_dir=tmp_path / "single", progress=False).fit().model.state_dict()
    for name in rank0:
        torch.testing.assert_close(rank0[name], rank1[name], rtol=0, atol=0)
        torch.testing.assert_close(rank0[name], single[name], rtol=1e-4, atol=1e-5)
    # only rank 0 writes: one training line per step (log_every = 1), not two
    assert (tmp_path / "ddp" / "log.jsonl").read_text().count('"split": "train"') == cfg.train.steps


def test_a_new_run_refuses_a_folder_holding_the_users_files_and_writes_nothing(volumes, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "data").mkdir()
    with pytest.raises(UserError) as caught:
        Trainer(config(steps=3), volumes, run_dir=tmp_path, progress=False).fit()
    assert str(caught.value) == f"{tmp_path} holds data, which is not part of a hypseg run; choose a new or empty folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "notes.txt"]
    (tmp_path / "data").rmdir()
    (tmp_path / "notes.txt").unlink()
    (tmp_path / "config.toml").write_text("# my notes\n")
    with pytest.raises(UserError) as caught:
        Trainer(config(steps=3), volumes, run_dir=tmp_path, progress=False).fit()
    assert str(caught.value) == (f"{tmp_path} holds a config.toml this hypseg cannot use (not a run's config (it has no "
                                 "format_version)); choose a new or empty folder")
    assert (tmp_path / "config.toml").read_text() == "# my notes\n"
    (tmp_path / "config.toml").unlink()
    (tmp_path / ".DS_Store").write_text("a file manager's")  # hidden files are no one's run files
    (tmp_path / ".config.tmp-1234abcd.toml").write_text("another process's temporary")
    assert Trainer(config(steps=3), volumes, run_dir=tmp_path, progress=False).fit().step == 3
    assert (tmp_path / ".DS_Store").read_text() == "a file manager's"
    with pytest.raises(UserError, match=f"^{tmp_path / 'config.toml'} is a file; choose a folder for the run$"):
        Trainer(config(steps=3), volumes, run_dir=tmp_path / "config.toml", progress=False).fit()


def test_a_resumed_run_counts_the_runs_it_set_aside_and_says_why_another_config_is_refused(volumes, tmp_path, monkeypatch):
    kill_encoders_of({0, 1000, 2000}, monkeypatch)
    with pytest.warns(CollapsedModelWarning):
        Trainer(config(steps=3, collapse_retries=1), volumes, run_dir=tmp_path, progress=False).fit()
    assert load_run_config(tmp_path).train.seed == 1000
    with pytest.raises(ValueError, match=r"was trained with another config \(seed 1000: a collapsed run was trained again\)"):
        Trainer(config(steps=6, collapse_retries=1), volumes, run_dir=tmp_path, progress=False).fit(resume=True)
    with pytest.warns(CollapsedModelWarning):  # its one retry is spent: seed 1000 goes on, no seed 2000
        resumed = Trainer(config(steps=6, seed=1000, collapse_retries=1), volumes, run_dir=tmp_path, progress=False).fit(resume=True)
    assert resumed.collapsed == () and resumed.step == 6 and not (tmp_path / "collapsed-seed1000").exists()


DDP_COLLAPSE_SCRIPT = textwrap.dedent(
    """
    import sys, numpy as np, torch
    from hypseg.config import RunConfig
    from hypseg.training import Trainer, context_from_env
    original = Trainer._build
    def build(self):  # seed 0's encoder starts dead on every process
        model, optimiser = original(self)
        if self.config.train.seed == 0:
            with torch.no_grad():
                model.encoder.hidden.bias.fill_(-1000.0)
        return model, optimiser
    Trainer._build = build
    out, volumes = sys.argv[1], list(np.load(sys.argv[2]))
    result = Trainer(RunConfig.load_toml(sys.argv[3]), volumes, run_dir=out, progress=False).fit()
    torch.save({"seed": result.config.train.seed, "state": result.model.state_dict()}, f"{out}/rank{context_from_env().rank}.pt")
    """
)


def test_two_gloo_processes_set_a_collapsed_run_aside_together(volumes, tmp_path):
    cfg = config(steps=20, validation_batches=1, checkpoint_every=5, collapse_retries=1)
    done = _two_gloo_processes(DDP_COLLAPSE_SCRIPT, cfg, volumes, tmp_path)
    rank0, rank1 = (torch.load(tmp_path / "ddp" / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert rank0["seed"] == rank1["seed"] == 1000
    for name in rank0["state"]:
        torch.testing.assert_close(rank0["state"][name], rank1["state"][name], rtol=0, atol=0)
    assert max(train_losses(tmp_path / "ddp" / "collapsed-seed0")) == 5  # stopped at its first checkpoint
    assert done.stderr.count("training with seed 0 collapsed at step 5") == 1  # said once, by rank 0


def test_a_centre_weighted_run_trains_and_a_too_narrow_weighting_is_a_config_error(volumes, tmp_path):
    from hypseg.config.train import MIN_CENTRE_SIGMA

    weighted = Trainer(config(steps=4, centre_sigma=0.25), volumes, run_dir=tmp_path / "w", progress=False).fit()
    plain = Trainer(config(steps=4), volumes, run_dir=tmp_path / "p", progress=False).fit()
    assert np.isfinite(weighted.last["loss"]) and weighted.last["reconstruction"] != plain.last["reconstruction"]
    with pytest.raises(UserError, match=f"^TrainConfig: centre_sigma must be 0 \\(off\\) or at least {MIN_CENTRE_SIGMA} of the patch side"):
        config(centre_sigma=0.05)


def test_a_run_that_diverges_says_to_lower_the_learning_rate_in_one_line(volumes, tmp_path):
    from hypseg.training.trainer import TrainingDiverged

    with pytest.raises(TrainingDiverged) as caught:
        Trainer(config(steps=30, learning_rate=1e9), volumes, run_dir=tmp_path, progress=False).fit()
    assert isinstance(caught.value, UserError) and isinstance(caught.value, FloatingPointError)
    assert str(caught.value).endswith("; lower the learning rate") and "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []  # diverged before its first checkpoint: none of its files stay
