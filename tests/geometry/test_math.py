"""Laws of the Poincare-ball functions, over seeds, dtypes and curvatures."""

from __future__ import annotations

import itertools
import warnings

import pytest
import torch

from helpers import random_points
from hypseg.geometry import (
    TANGENT_CLIP,
    ball_eps,
    cdist,
    clip_tangent,
    dist,
    dist0,
    expmap,
    expmap0,
    gyroplane,
    lambda_x,
    logmap,
    logmap0,
    mobius_add,
    project,
    transp0,
    transp0back,
)

SEEDS = (0, 1, 2)
DTYPES = (torch.float32, torch.float64)
CURVATURES = (0.1, 1.0, 2.0)
GRID = list(itertools.product(SEEDS, DTYPES, CURVATURES))
# float32 loses ~1e-7 / (1 - c|x|^2)^2 in a Mobius sum: about 2e-3 within 8e-3 of the boundary.
TOL = {torch.float32: 5e-3, torch.float64: 1e-9}


@pytest.mark.parametrize("seed,dtype,c", GRID)
def test_logmap0_inverts_expmap0_below_the_clip(seed, dtype, c):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(500, 3, generator=g, dtype=torch.float64)
    v = v / v.norm(dim=-1, keepdim=True) * torch.rand(500, 1, generator=g, dtype=torch.float64) * TANGENT_CLIP / c**0.5
    v = v.to(dtype)
    rtol = 2e-4 if dtype == torch.float32 else 1e-10
    torch.testing.assert_close(logmap0(expmap0(v, c=c), c=c), v, rtol=rtol, atol=rtol / c**0.5)


@pytest.mark.parametrize("seed,dtype,c", GRID)
def test_distance_is_a_metric(seed, dtype, c):
    x, y, z = (random_points(300, 3, c=c, dtype=dtype, seed=seed * 10 + k) for k in range(3))
    tol = TOL[dtype]
    torch.testing.assert_close(dist(x, y, c=c), dist(y, x, c=c), rtol=tol, atol=tol / c**0.5)
    assert dist(x, x, c=c).abs().max() <= tol / c**0.5
    assert (dist(x, y, c=c) >= 0).all()
    assert (dist(x, z, c=c) <= dist(x, y, c=c) + dist(y, z, c=c) + tol / c**0.5).all()


@pytest.mark.parametrize("seed,dtype", list(itertools.product(SEEDS, DTYPES)))
def test_mobius_distance_equals_arccosh_form_for_unit_curvature(seed, dtype):
    x, y = (random_points(300, 2, c=1.0, dtype=dtype, seed=seed * 10 + k) for k in range(2))
    x64, y64 = x.double(), y.double()
    expected = torch.acosh(1 + 2 * (x64 - y64).pow(2).sum(-1) / ((1 - x64.pow(2).sum(-1)) * (1 - y64.pow(2).sum(-1))))
    tol = TOL[dtype]
    torch.testing.assert_close(dist(x, y, c=1.0).double(), expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("seed,dtype,c", GRID)
def test_mobius_left_cancellation(seed, dtype, c):
    x, y = (random_points(300, 3, c=c, dtype=dtype, seed=seed * 10 + k, max_rel=0.95) for k in range(2))
    tol = TOL[dtype]
    torch.testing.assert_close(mobius_add(-x, mobius_add(x, y, c=c), c=c), y, rtol=tol, atol=tol / c**0.5)


@pytest.mark.parametrize("seed,dtype,c", GRID)
def test_expmap_and_logmap_are_inverse(seed, dtype, c):
    x, y = (random_points(300, 3, c=c, dtype=dtype, seed=seed * 10 + k, max_rel=0.9) for k in range(2))
    tol = 1e-3 if dtype == torch.float32 else 1e-9
    torch.testing.assert_close(expmap(x, logmap(x, y, c=c), c=c), y, rtol=tol, atol=tol / c**0.5)
    # |log_x y|_x = lambda_x |log_x y| = d(x, y)
    norm = (lambda_x(x, c=c) * logmap(x, y, c=c)).norm(dim=-1)
    torch.testing.assert_close(norm, dist(x, y, c=c), rtol=tol, atol=tol)


@pytest.mark.parametrize("seed,dtype,c", GRID)
def test_pairwise_distances_match_dist(seed, dtype, c):
    x = random_points(40, 3, c=c, dtype=dtype, seed=seed)
    y = random_points(7, 3, c=c, dtype=dtype, seed=seed + 100)
    tol = TOL[dtype]
    torch.testing.assert_close(cdist(x, y, c=c), dist(x[:, None], y[None], c=c), rtol=tol, atol=tol / c**0.5)


@pytest.mark.parametrize("dtype,c", list(itertools.product(DTYPES, CURVATURES)))
def test_returned_points_stay_strictly_inside(dtype, c):
    g = torch.Generator().manual_seed(0)
    huge = torch.randn(200, 3, generator=g).to(dtype) * 100
    x = random_points(200, 3, c=c, dtype=dtype, seed=1, max_rel=0.999999)
    limit = (1 - ball_eps(dtype) / 2) / c**0.5
    for points in (expmap0(huge, c=c), expmap(x, huge, c=c), mobius_add(x, x, c=c), project(huge, c=c)):
        assert torch.isfinite(points).all()
        assert points.norm(dim=-1).max() < limit


@pytest.mark.parametrize("dtype,c", list(itertools.product(DTYPES, CURVATURES)))
def test_parallel_transport_scales_by_conformal_factors(dtype, c):
    x = random_points(50, 3, c=c, dtype=dtype, seed=3)
    u = torch.randn(50, 3, dtype=dtype)
    tol = TOL[dtype]
    # Transport is an isometry of tangent spaces: lambda_x |PT_0->x u| = lambda_0 |u|.
    torch.testing.assert_close(
        (lambda_x(x, c=c) * transp0(x, u, c=c)).norm(dim=-1), 2 * u.norm(dim=-1), rtol=tol, atol=tol
    )
    torch.testing.assert_close(transp0back(x, transp0(x, u, c=c), c=c), u, rtol=tol, atol=tol)


def test_clip_tangent_caps_the_scaled_norm_and_keeps_small_vectors():
    for c in CURVATURES:
        u = torch.tensor([[100.0, 0.0], [0.1, 0.2]], dtype=torch.float64)
        clipped = clip_tangent(u, c=c)
        assert clipped[0].norm().item() == pytest.approx(TANGENT_CLIP / c**0.5)
        torch.testing.assert_close(clipped[1], u[1])


@pytest.mark.parametrize("c", CURVATURES)
def test_agrees_with_geoopt(c):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import geoopt
    ball = geoopt.PoincareBall(c=torch.tensor(c, dtype=torch.float64))
    x, y = (random_points(100, 3, c=c, dtype=torch.float64, seed=k) for k in range(2))
    u = torch.randn(100, 3, dtype=torch.float64)
    tol = dict(rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(mobius_add(x, y, c=c), ball.mobius_add(x, y), **tol)
    torch.testing.assert_close(dist(x, y, c=c), ball.dist(x, y), **tol)
    torch.testing.assert_close(dist0(x, c=c), ball.dist0(x), **tol)
    torch.testing.assert_close(expmap(x, u, c=c), ball.expmap(x, u), **tol)
    torch.testing.assert_close(logmap(x, y, c=c), ball.logmap(x, y), **tol)
    torch.testing.assert_close(expmap0(u, c=c), ball.expmap0(u), **tol)
    torch.testing.assert_close(logmap0(y, c=c), ball.logmap0(y), **tol)
    torch.testing.assert_close(lambda_x(x, c=c), ball.lambda_x(x, keepdim=True), **tol)
    torch.testing.assert_close(transp0(x, u, c=c), ball.transp0(x, u), **tol)


def _definition_gyroplane(x, p, a, c):
    """f_{a,p}(x) straight from the definition, one plane at a time."""
    from hypseg.geometry.math import _mobius_add

    out = []
    for pk, ak in zip(p, a):
        w = _mobius_add(-pk, x, c)
        wa = (w * ak).sum(-1)
        d_plane = torch.asinh(2 * c**0.5 * wa.abs() / ((1 - c * w.pow(2).sum(-1)) * ak.norm())) / c**0.5
        lam_p = 2 / (1 - c * pk.pow(2).sum())
        out.append(torch.sign(wa) * lam_p * ak.norm() * d_plane)
    return torch.stack(out, dim=-1)


@pytest.mark.parametrize("c", CURVATURES)
def test_gyroplane_matches_its_definition(c):
    x = random_points(200, 3, c=c, dtype=torch.float64, seed=5)
    p = random_points(6, 3, c=c, dtype=torch.float64, seed=6, max_rel=0.9)
    a = torch.randn(6, 3, dtype=torch.float64)
    torch.testing.assert_close(gyroplane(x, p, a, c=c), _definition_gyroplane(x, p, a, c), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype,c", list(itertools.product(DTYPES, CURVATURES)))
def test_gradients_are_finite_at_the_origin_and_near_the_boundary(dtype, c):
    direction = torch.tensor([0.6, -0.8, 0.0], dtype=dtype)
    origin = torch.zeros(3, dtype=dtype)
    near_edge = direction * (1 - 1e-3) / c**0.5
    other = torch.tensor([0.1, 0.2, -0.1], dtype=dtype) / c**0.5
    p = torch.tensor([[0.2, 0.1, 0.0]], dtype=dtype) / c**0.5
    a = torch.tensor([[1.0, -1.0, 0.5]], dtype=dtype)
    functions = {
        "expmap0": lambda x: expmap0(x, c=c),
        "logmap0": lambda x: logmap0(x, c=c),
        "dist0": lambda x: dist0(x, c=c),
        "dist to other": lambda x: dist(x, other, c=c),
        "dist to self": lambda x: dist(x, x.detach(), c=c),
        "expmap": lambda x: expmap(x, other, c=c),
        "logmap": lambda x: logmap(x, other, c=c),
        "mobius_add": lambda x: mobius_add(x, other, c=c),
        "lambda_x": lambda x: lambda_x(x, c=c),
        "gyroplane": lambda x: gyroplane(x[None], p, a, c=c),
    }
    for where, point in (("origin", origin), ("near the boundary", near_edge)):
        for name, func in functions.items():
            x = point.clone().requires_grad_(True)
            func(x).sum().backward()
            assert torch.isfinite(x.grad).all(), f"{name} at {where}: {x.grad}"


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: dist0(torch.zeros(2), c=-1.0), r"c must be a positive finite curvature magnitude, got -1.0"),
        (lambda: expmap0(torch.zeros(2), c=0.0), r"c must be a positive finite curvature magnitude, got 0.0"),
        (lambda: dist(torch.tensor([0.6, 0.8]), torch.zeros(2)), r"x has a point outside the ball: sqrt\(c\)\*\|x\| = 1 >= 1"),
        (lambda: logmap0(torch.tensor([0.5, 0.5]), c=4.0), r"y has a point outside the ball: sqrt\(c\)\*\|x\| = 1.41421 >= 1"),
        (lambda: dist(torch.zeros(2), torch.tensor([float("nan"), 0.0])), r"y contains NaN or Inf"),
        (lambda: expmap0(torch.zeros(2, dtype=torch.int64)), r"u must have a floating dtype, got torch.int64"),
        (lambda: dist(torch.zeros(2), torch.zeros(3)), r"x and y must have the same last axis, got shapes \(2,\) and \(3,\)"),
        (lambda: clip_tangent(torch.zeros(2), max_norm=0.0), r"max_norm must be positive, got 0.0"),
        (lambda: gyroplane(torch.zeros(4, 2), torch.zeros(2), torch.zeros(2)), r"p and a must both be \(K, d\), got shapes \(2,\) and \(2,\)"),
    ],
)
def test_bad_input_raises_a_value_error_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()
