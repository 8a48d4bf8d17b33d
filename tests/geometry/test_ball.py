"""The thin PoincareBall class: delegation, learnable curvature, validation."""

from __future__ import annotations

import pytest
import torch

from helpers import random_points
from hypseg.geometry import PoincareBall, dist, expmap0, gyroplane, logmap, mobius_add


def test_methods_delegate_to_the_functions_with_the_held_curvature():
    ball = PoincareBall(c=2.0)
    x, y = (random_points(20, 3, c=2.0, dtype=torch.float64, seed=k) for k in range(2))
    u = torch.randn(20, 3, dtype=torch.float64)
    torch.testing.assert_close(ball.dist(x, y), dist(x, y, c=2.0))
    torch.testing.assert_close(ball.expmap0(u), expmap0(u, c=2.0))
    torch.testing.assert_close(ball.logmap(x, y), logmap(x, y, c=2.0))
    torch.testing.assert_close(ball.mobius_add(x, y), mobius_add(x, y, c=2.0))
    torch.testing.assert_close(ball.gyroplane(x, y[:4], u[:4]), gyroplane(x, y[:4], u[:4], c=2.0))


def test_learnable_curvature_receives_gradients():
    ball = PoincareBall(c=1.0, learnable=True)
    x = torch.tensor([[0.3, 0.1]])
    ball.dist0(x).sum().backward()
    params = [q for q in ball.parameters() if q.requires_grad]
    assert len(params) == 1 and params[0].grad is not None and torch.isfinite(params[0].grad).all()
    assert not any(q.requires_grad for q in PoincareBall(c=1.0).parameters())


def test_expmap0_clipped_stays_invertible_in_float32():
    ball = PoincareBall(c=1.0)
    u = torch.tensor([[50.0, 0.0]])
    x = ball.expmap0_clipped(u)
    torch.testing.assert_close(ball.logmap0(x), torch.tensor([[3.0, 0.0]]), rtol=1e-4, atol=1e-4)


def test_bad_curvature_and_points_are_rejected():
    with pytest.raises(ValueError, match=r"c must be a positive finite curvature magnitude, got -2.0"):
        PoincareBall(c=-2.0)
    with pytest.raises(ValueError, match=r"points has a point outside the ball"):
        PoincareBall(c=1.0).check_points(torch.tensor([[2.0, 0.0]]), "points")
