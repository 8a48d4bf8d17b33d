"""Shared fixtures: random points spread over the whole ball (explicit seeds), test images, a tiny trained model,
runs made to collapse and collapsed copies of a model."""

from __future__ import annotations

import ctypes
import sys

import numpy as np
import pytest
import torch


#: a test of glibc's malloc, skipped elsewhere
glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "gnu_get_libc_version"),
                           reason="glibc only")


def cell_image(shape, *, seed=0) -> np.ndarray:
    """A bright shell around a dim core with a vesicle, in noise: an object with a hole-free inside."""
    grid = np.stack(np.meshgrid(*(np.linspace(-1, 1, n) for n in shape), indexing="ij"))
    r = np.sqrt((grid ** 2).sum(0))
    image = 2.0 * (r < 0.8) - 1.2 * (r < 0.5) + 1.5 * (np.sqrt(((grid - 0.2) ** 2).sum(0)) < 0.2)
    return (image + np.random.default_rng(seed).normal(0, 0.3, shape)).astype(np.float32)


def split_field_image(*, seed=2) -> tuple[np.ndarray, np.ndarray]:
    """(image, cube): two slabs of a 20 x 34 x 28 field, differing more than the cube between them in intensity, off
    every face, differs from either. Two clusters are the slabs (no object in a field of view); three find the cube."""
    cube = np.zeros((20, 34, 28), dtype=bool)
    cube[5:15, 10:24, 9:19] = True
    image = np.where(np.arange(28) < 14, 2.0, -2.0)[None, None, :] * np.ones((20, 34, 1))
    image[cube] = 0.0
    return (image + np.random.default_rng(seed).normal(0, 0.2, image.shape)).astype(np.float32), cube


def speckle_image(*, seed=0, brightness=2.0) -> np.ndarray:
    """A 20 x 34 x 28 field of white noise with ten small cubes ``brightness`` above it: no object in a field of view
    at two or three clusters of a tiny model's embedding, small objects by local contrast."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0, 1, (20, 34, 28))
    for z, y, x in rng.integers(2, (16, 30, 24), size=(10, 3)):
        image[z:z + 3, y:y + 3, x:x + 3] += brightness
    return image.astype(np.float32)


def random_points(n: int, dim: int, *, c: float, dtype: torch.dtype, seed: int, max_rel: float = 0.99) -> torch.Tensor:
    """``n`` points whose relative radius sqrt(c)|x| is uniform in [0, max_rel) and directions uniform."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(n, dim, generator=g, dtype=torch.float64)
    direction = direction / direction.norm(dim=-1, keepdim=True)
    radius = torch.rand(n, 1, generator=g, dtype=torch.float64) * max_rel
    return (direction * radius / c**0.5).to(dtype)


def train_tiny_model(run, volume, *, steps: int = 2):
    """Train a model of m = 10 (the presets' patch sides 5 and 10 fit it; widths 4, 4, 4, 8 hidden units)
    for ``steps`` steps on ``volume`` into the folder ``run``; returns ``run``."""
    from hypseg.config import DataConfig, ModelConfig, RunConfig, TrainConfig
    from hypseg.training import Trainer

    config = RunConfig(
        model=ModelConfig(patch_size=10, channels=(4, 4, 4), hidden=8),
        data=DataConfig(patch_min=5.0, patch_max=10.0, patch_resize=10, triplets_per_batch=8),
        train=TrainConfig(steps=steps, shard_size=8, validation_batches=0),
    )
    Trainer(config, [volume], run_dir=run, progress=False).fit()
    return run


def kill_encoders_of(seeds, monkeypatch) -> None:
    """Make the training runs of ``seeds`` collapse for real: their encoder starts with every unit of its last
    ReLU layer dead (bias -1000), so every patch embeds at the head's bias and no gradient reaches the
    layers below. Other seeds train as usual."""
    from hypseg.training import Trainer

    original = Trainer._build

    def build(self):
        model, optimiser = original(self)
        if self.config.train.seed in seeds:
            with torch.no_grad():
                model.encoder.hidden.bias.fill_(-1000.0)
        return model, optimiser

    monkeypatch.setattr(Trainer, "_build", build)


def collapsed_copy(model_dir, out):
    """A copy of the run folder ``model_dir`` at ``out`` whose encoder weights are all zero: every patch
    embeds at the biases' point, as a run whose training collapsed does. Returns ``out``."""
    import shutil

    shutil.copytree(model_dir, out)
    state = torch.load(out / "model.pt", weights_only=True)
    state["model"] = {name: torch.zeros_like(value) if name.startswith("encoder.") and name.endswith("weight") else value
                      for name, value in state["model"].items()}
    torch.save(state, out / "model.pt")
    return out
