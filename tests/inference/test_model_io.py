"""load_model: a run directory's model, and a warning when its training did not finish."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from hypseg.config import DataConfig, ModelConfig, RunConfig, TrainConfig
from hypseg.inference.model_io import UnfinishedTrainingWarning, load_model
from hypseg.training import Trainer

TINY = RunConfig(
    model=ModelConfig(patch_size=8, channels=(4, 4, 4), hidden=8),
    data=DataConfig(patch_min=5.0, patch_max=10.0, patch_resize=8, triplets_per_batch=8),
    train=TrainConfig(steps=4, shard_size=8, validation_batches=0, checkpoint_every=2, seed=3),
)


def _stop_at_2(step: int) -> None:
    if step == 2:
        raise KeyboardInterrupt


def test_a_model_whose_training_did_not_finish_loads_with_a_warning_naming_its_step(tmp_path):
    volumes = [np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32)]
    with pytest.raises(KeyboardInterrupt):
        Trainer(TINY, volumes, run_dir=tmp_path, progress=False, on_step=_stop_at_2).fit()
    message = f"{tmp_path}: the model is from step 2 of 4: its training did not finish (hypseg train ... --out {tmp_path} --resume continues it)"
    with pytest.warns(UnfinishedTrainingWarning, match=f"^{re.escape(message)}$"):
        partial = load_model(tmp_path)
    weights = torch.load(tmp_path / "model.pt", weights_only=True)["model"]
    assert all(torch.equal(partial.network.state_dict()[name], weights[name]) for name in weights)  # loaded all the same
    Trainer(TINY, volumes, run_dir=tmp_path, progress=False).fit(resume=True)
    assert load_model(tmp_path).config == TINY  # finished: no warning (the tests' warnings are errors)
