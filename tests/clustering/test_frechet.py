"""Laws of the Fréchet mean (hypseg.clustering.frechet_mean).

The optimality check uses the Riemannian gradient of f(y) = sum_l w_l d_c(y, x_l)^2. Its closed
form is grad f(y) = -2 sum_l w_l log_y(x_l) (a tangent vector at y, in ball coordinates); its
Riemannian norm is |v|_y = lambda_y |v|, lambda_y = 2 / (1 - c|y|^2). We compute it from the closed
form with hypseg.geometry.logmap, and cross-check it against autograd: the Euclidean gradient
nabla f relates to it by grad f = nabla f / lambda_y^2, so |grad f|_y = |nabla f| / lambda_y.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hypseg.clustering import ConvergenceWarning, frechet_mean
from hypseg.geometry import dist, expmap, expmap0, logmap, mobius_add

F64 = torch.float64


def riemannian_grad_norm(y: torch.Tensor, x: torch.Tensor, c: float, w: torch.Tensor | None = None) -> float:
    """|grad f(y)|_y from the closed form -2 sum_l w_l log_y(x_l)."""
    logs = logmap(y.expand_as(x), x, c=c)  # (N, d)
    if w is not None:
        logs = logs * w[:, None]
    v = -2.0 * logs.sum(dim=0)
    lam = 2.0 / (1.0 - c * y.pow(2).sum())
    return float(lam * v.norm())


def autograd_grad_norm(y: torch.Tensor, x: torch.Tensor, c: float) -> float:
    """|grad f(y)|_y = |nabla f(y)| / lambda_y, nabla f by autograd through the arsinh form of d."""
    y = y.clone().requires_grad_(True)
    t = c * (x - y).pow(2).sum(1) / ((1 - c * x.pow(2).sum(1)) * (1 - c * y.pow(2).sum()))
    f = ((2 * torch.asinh(t.sqrt())) ** 2 / c).sum()
    (grad,) = torch.autograd.grad(f, y)
    lam = 2.0 / (1.0 - c * y.detach().pow(2).sum())
    return float(grad.norm() / lam)


def cloud(n: int, c: float, centre_radius: float, spread: float, seed: int) -> torch.Tensor:
    """Wrapped-normal-like cloud: mu (+) exp_0(u/2) with u ~ N(0, spread^2), so d(mu, x) = |u|."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(2, generator=g, dtype=F64)
    mu = direction / direction.norm() * centre_radius / math.sqrt(c)
    u = torch.randn(n, 2, generator=g, dtype=F64) * spread
    return mobius_add(mu.expand(n, 2), expmap0(u / 2, c=c), c=c)


@pytest.mark.parametrize(
    ("c", "centre_radius", "spread"),
    [
        (1.0, 0.0, 1.0),
        (1.0, 0.5, 0.5),
        (1.0, 0.99, 0.7),  # near the boundary
        (1.0, 0.999, 0.3),  # nearer
        (0.3, 0.9, 1.5),
        (2.5, 0.98, 0.8),
    ],
)
def test_riemannian_gradient_vanishes(c, centre_radius, spread):
    x = cloud(60, c, centre_radius, spread, seed=int(100 * c + 10 * centre_radius))
    assert float((x.norm(dim=1) * math.sqrt(c)).max()) < 1.0
    y = frechet_mean(x, c=c)
    assert riemannian_grad_norm(y, x, c) < 1e-6
    assert autograd_grad_norm(y, x, c) < 1e-6


def test_weighted_gradient_vanishes_and_weights_matter():
    x = cloud(40, 1.0, 0.8, 1.0, seed=3)
    w = torch.rand(40, generator=torch.Generator().manual_seed(4), dtype=F64) * 3
    y = frechet_mean(x, w)
    assert riemannian_grad_norm(y, x, 1.0, w) < 1e-6
    assert float(dist(y, frechet_mean(x))) > 1e-3


def test_geodesic_midpoint_of_two_points():
    for c in (1.0, 0.5, 3.0):
        x = torch.tensor([[0.6, 0.1], [-0.2, 0.5]], dtype=F64) / math.sqrt(c)
        mid = expmap(x[0], 0.5 * logmap(x[0], x[1], c=c), c=c)
        y = frechet_mean(x, c=c)
        assert torch.allclose(y, mid, atol=1e-12, rtol=0)
        assert float(dist(y, x[0], c=c)) == pytest.approx(float(dist(y, x[1], c=c)), abs=1e-10)


def test_single_point_is_its_own_mean():
    x = torch.tensor([[0.3, -0.9]], dtype=F64)
    assert torch.allclose(frechet_mean(x), x[0], atol=1e-15, rtol=0)
    assert np.allclose(frechet_mean(x.numpy() / 2, c=4.0), x[0].numpy() / 2, atol=1e-15, rtol=0)


@pytest.mark.parametrize("c", [1.0, 0.7])
def test_equivariant_under_mobius_translation(c):
    x = cloud(50, c, 0.6, 1.0, seed=7)
    p = torch.tensor([0.45, -0.3], dtype=F64) / math.sqrt(c)
    moved = mobius_add(p.expand_as(x), x, c=c)
    lhs = frechet_mean(moved, c=c)
    rhs = mobius_add(p, frechet_mean(x, c=c), c=c)
    assert float((lhs - rhs).norm()) < 1e-6
    assert float(dist(lhs, rhs, c=c)) < 1e-6


def test_groups_match_separate_calls_and_batched_form():
    xs = [cloud(30 + 5 * i, 1.0, 0.3 * i, 0.8, seed=i) for i in range(4)]
    x = torch.cat(xs)
    labels = torch.cat([torch.full((len(v),), i) for i, v in enumerate(xs)])
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    grouped = frechet_mean(x[perm], labels=labels[perm])
    separate = torch.stack([frechet_mean(v) for v in xs])
    assert grouped.shape == (4, 2)
    assert torch.allclose(grouped, separate, atol=1e-10, rtol=0)
    batched = frechet_mean(torch.stack([v[:30] for v in xs]))  # (4, 30, 2) -> (4, 2)
    assert torch.allclose(batched, torch.stack([frechet_mean(v[:30]) for v in xs]), atol=1e-10, rtol=0)


def test_float32_and_numpy_round_trip():
    x = cloud(100, 1.0, 0.5, 0.5, seed=9)
    y32 = frechet_mean(x.float())
    assert y32.dtype == torch.float32
    assert float((y32.double() - frechet_mean(x)).norm()) < 1e-5
    y_np = frechet_mean(x.numpy())
    assert isinstance(y_np, np.ndarray) and y_np.shape == (2,)


def test_max_iter_reached_warns():
    x = cloud(20, 1.0, 0.5, 2.0, seed=1)
    with pytest.warns(ConvergenceWarning, match="frechet_mean stopped after max_iter=1 iterations"):
        frechet_mean(x, max_iter=1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"x": torch.zeros(0, 2, dtype=F64)}, r"^x is empty: got shape \(0, 2\)$"),
        ({"x": torch.tensor([[0.1, float("nan")]])}, r"^x contains NaN or infinity$"),
        ({"x": torch.tensor([[0.6, 0.8]])}, r"^x has points outside the Poincare ball of curvature -1: max sqrt\(c\)\*\|x\| = 1 >= 1$"),
        ({"x": torch.tensor([[0.6, 0.0]]), "c": 4.0}, r"^x has points outside the Poincare ball of curvature -4"),
        ({"x": torch.tensor([[0.1, 0.0]]), "c": -1.0}, r"^c must be a positive finite number, got -1.0$"),
        ({"x": torch.tensor([0.1, 0.0])}, r"^x must have shape \(N, d\) or \(\.\.\., N, d\), got shape \(2,\)$"),
        ({"x": torch.zeros(3, 2), "weights": torch.tensor([1.0, -1.0, 1.0])}, r"^weights must be non-negative$"),
        ({"x": torch.zeros(3, 2), "weights": torch.ones(2)}, r"^weights must have shape \(3,\), got \(2,\)$"),
        ({"x": torch.zeros(3, 2), "weights": torch.zeros(3)}, r"^group 0 has no points with positive weight$"),
        ({"x": torch.zeros(3, 2), "labels": torch.tensor([0, 2, 2])}, r"^group 1 has no points with positive weight$"),
        ({"x": torch.zeros(3, 2), "labels": torch.tensor([0, 1])}, r"^labels must have shape \(3,\), got \(2,\)$"),
        ({"x": torch.zeros(3, 2), "labels": torch.tensor([0, 1, 5]), "n_groups": 3}, r"^labels must be < n_groups=3, got 5$"),
    ],
)
def test_bad_input_raises(kwargs, message):
    with pytest.raises(ValueError, match=message):
        frechet_mean(**kwargs)


def test_high_dimensional_groups():
    g = torch.Generator().manual_seed(2)
    x = expmap0(torch.randn(300, 12, generator=g, dtype=F64) * 0.3)
    labels = torch.arange(300) % 3
    means = frechet_mean(x, labels=labels)
    for j in range(3):
        assert riemannian_grad_norm(means[j], x[labels == j], 1.0) < 1e-6
