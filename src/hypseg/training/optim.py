"""The optimiser factory: Adam, or geoopt's RiemannianAdam for parameters that live on a manifold."""

from __future__ import annotations

import warnings
from typing import Iterable

import torch

from hypseg.config import TrainConfig


def build_optimiser(parameters: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam (``"adam"``) or RiemannianAdam (``"riemannian-adam"``) with the configured learning rate."""
    parameters = [p for p in parameters if p.requires_grad]
    if config.optimiser == "adam":
        return torch.optim.Adam(parameters, lr=config.learning_rate)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".torch.jit.script. is deprecated", category=DeprecationWarning)
        import geoopt
    return geoopt.optim.RiemannianAdam(parameters, lr=config.learning_rate)
