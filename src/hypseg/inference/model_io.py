"""Rebuild a trained model from its run directory (config.toml + tensors-only model.pt)."""

from __future__ import annotations

from pathlib import Path

import torch

from hypseg.config import RunConfig
from hypseg.io.checkpoint import WEIGHTS_NAME, load_checkpoint, load_run_config
from hypseg.models import HVAE


def load_model(run_dir: str | Path, *, device: str | torch.device = "cpu") -> tuple[HVAE, RunConfig]:
    """The trained model in eval mode and its run config; clear errors for missing or foreign runs."""
    config = load_run_config(run_dir)
    state = load_checkpoint(run_dir, map_location=device)
    model = HVAE(config.model).to(device)
    model.load_weights(state["model"], source=str(Path(run_dir) / WEIGHTS_NAME))
    return model.eval(), config
