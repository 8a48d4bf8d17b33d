"""Training on volumes larger than memory: normalised into one file slab by slab, patches read from it."""

from __future__ import annotations

import numpy as np
import torch
from typer.testing import CliRunner

from hypseg.cli import train as train_cli
from hypseg.cli.app import app
from hypseg.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from hypseg.data import Case, load_normalised, pack_normalised
from hypseg.data.sampling import PackedVolumes, PatchSource, TripletSampler
from hypseg.io import Volume, affine_from_spacing, save_volume
from hypseg.training import Trainer


def _cases(tmp_path):
    cases = []
    for i, (shape, suffix) in enumerate((((14, 16, 15), ".mrc"), ((13, 12, 17), ".npy"))):
        array = np.random.default_rng(i).gamma(2.0, size=shape).astype(np.float32)
        save_volume(Volume(array, spacing=(1, 1, 1), affine=affine_from_spacing((1, 1, 1))), tmp_path / f"v{i}{suffix}")
        cases.append(Case(name=f"v{i}", image=tmp_path / f"v{i}{suffix}"))
    return cases


def test_packed_volumes_hold_the_loaded_normalised_volumes(tmp_path):
    cases = _cases(tmp_path)
    config = DataConfig()
    packed = pack_normalised(cases, config=config, path=tmp_path / "packed.npy")
    assert isinstance(packed.buffer, np.memmap) and not packed.buffer.flags.writeable
    for view, loaded in zip(packed, load_normalised(cases, config=config)):
        np.testing.assert_array_equal(view, loaded)
    source = PatchSource(packed)
    assert source.buffer is packed.buffer  # no copy: patches are read from the file


def test_training_on_packed_volumes_gives_the_in_memory_weights(tmp_path):
    cases = _cases(tmp_path)
    cfg = RunConfig(model=ModelConfig(patch_size=8, channels=(4, 4, 4), hidden=8),
                    data=DataConfig(patch_min=5.0, patch_max=10.0, patch_resize=8, triplets_per_batch=8),
                    train=TrainConfig(steps=3, shard_size=8, validation_batches=0))
    weights = []
    for name, volumes in (("memory", load_normalised(cases, config=cfg.data)),
                          ("packed", pack_normalised(cases, config=cfg.data, path=tmp_path / "p.npy"))):
        Trainer(cfg, volumes, run_dir=tmp_path / name, progress=False).fit()
        weights.append(torch.load(tmp_path / name / "model.pt", weights_only=False))
    state = [w["model"] if "model" in w else w for w in weights]
    for key in state[0]:
        assert torch.equal(state[0][key], state[1][key]), key


def test_hypseg_train_streams_large_data_and_leaves_no_scratch(tmp_path, monkeypatch):
    _cases(tmp_path)
    monkeypatch.setattr(train_cli, "STREAM_VOXELS", 100)
    seen = []
    from hypseg import training

    class Spy(training.Trainer):
        def __init__(self, config, volumes, **kwargs):
            seen.append(type(volumes))
            super().__init__(config, volumes, **kwargs)

    monkeypatch.setattr(training, "Trainer", Spy)
    result = CliRunner().invoke(app, ["train", str(tmp_path / "v0.mrc"), str(tmp_path / "v1.npy"), "--out", str(tmp_path / "run"),
                                      "--recipe", "smoke", "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert seen == [PackedVolumes]
    assert not list(tmp_path.glob(".hypseg-volumes-*"))
    assert (tmp_path / "run" / "model.pt").exists()
    (tmp_path / "here").mkdir()  # --out .: the scratch folder lies in the run folder, a hidden entry it tolerates
    monkeypatch.chdir(tmp_path / "here")
    result = CliRunner().invoke(app, ["train", str(tmp_path / "v0.mrc"), "--out", ".", "--recipe", "smoke", "--steps", "2"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == ["config.toml", "data.json", "log.jsonl", "model.pt"]
