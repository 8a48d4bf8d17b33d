"""The optimiser factory: Adam (optionally AMSGrad), or geoopt's RiemannianAdam for parameters on a manifold."""

from __future__ import annotations

import warnings
from typing import Iterable

import torch

from hypseg.config import TrainConfig


def build_optimiser(parameters: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """Adam (``"adam"``), Adam with AMSGrad (``"amsgrad"``, betas 0.9 / 0.999) or RiemannianAdam
    (``"riemannian-adam"``) with the configured learning rate."""
    parameters = [p for p in parameters if p.requires_grad]
    if config.optimiser in ("adam", "amsgrad"):
        return torch.optim.Adam(parameters, lr=config.learning_rate, betas=(0.9, 0.999), amsgrad=config.optimiser == "amsgrad")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".torch.jit.script. is deprecated", category=DeprecationWarning)
        import geoopt
    return geoopt.optim.RiemannianAdam(parameters, lr=config.learning_rate)
