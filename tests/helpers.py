"""Shared fixtures: random points spread over the whole ball, with explicit seeds."""

from __future__ import annotations

import torch


def random_points(n: int, dim: int, *, c: float, dtype: torch.dtype, seed: int, max_rel: float = 0.99) -> torch.Tensor:
    """``n`` points whose relative radius sqrt(c)|x| is uniform in [0, max_rel) and directions uniform."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(n, dim, generator=g, dtype=torch.float64)
    direction = direction / direction.norm(dim=-1, keepdim=True)
    radius = torch.rand(n, 1, generator=g, dtype=torch.float64) * max_rel
    return (direction * radius / c**0.5).to(dtype)
