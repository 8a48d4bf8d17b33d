"""WrappedNormal: a normalised density on the ball, consistent sampling, reparameterised gradients."""

from __future__ import annotations

import math

import pytest
import torch

from hypseg.distributions import EuclideanNormal, WrappedNormal, log_sinhc
from hypseg.geometry import PoincareBall, dist

CASES = [  # (loc, scale, c)
    ([0.3, -0.2], [0.5, 0.8], 1.0),
    ([0.0, 0.5], [0.3, 0.3], 0.5),
    ([0.4, 0.3], [1.0, 0.6], 2.0),
    ([-0.6, 0.1], [0.2, 0.4], 1.0),
]


def _grid(c: float, n: int = 1601):
    """Midpoint grid over the disk of radius 1/sqrt(c): points inside and the cell area."""
    radius = 1 / math.sqrt(c)
    h = 2 * radius / n
    axis = -radius + h * (torch.arange(n, dtype=torch.float64) + 0.5)
    z = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1).reshape(-1, 2)
    return z[c * z.pow(2).sum(-1) < 1 - 1e-9], h * h


@pytest.mark.parametrize("loc,scale,c", CASES)
def test_density_integrates_to_one_against_the_riemannian_volume(loc, scale, c):
    q = WrappedNormal(torch.tensor(loc, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64), PoincareBall(c=c))
    z, area = _grid(c)
    volume = (2 / (1 - c * z.pow(2).sum(-1))) ** 2  # lambda_z^d with d = 2
    total = (q.log_prob(z).exp() * volume).sum() * area
    assert total.item() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("loc,scale,c", CASES[:3])
def test_sample_distances_match_the_expectation_under_log_prob(loc, scale, c):
    torch.manual_seed(0)
    ball = PoincareBall(c=c)
    loc_t = torch.tensor(loc, dtype=torch.float64)
    q = WrappedNormal(loc_t, torch.tensor(scale, dtype=torch.float64), ball)
    sampled = dist(loc_t, q.rsample((100_000,)), c=c).mean()
    z, area = _grid(c)
    density = q.log_prob(z).exp() * (2 / (1 - c * z.pow(2).sum(-1))) ** 2
    expected = (dist(loc_t, z, c=c) * density).sum() * area
    assert sampled.item() == pytest.approx(expected.item(), rel=0.02)


def test_log_prob_is_finite_at_the_mean_and_equals_the_normal_peak_there():
    for c in (0.5, 1.0, 2.0):
        loc = torch.tensor([[0.2, -0.1]], dtype=torch.float64)
        scale = torch.tensor([[0.5, 2.0]], dtype=torch.float64)
        value = WrappedNormal(loc, scale, PoincareBall(c=c)).log_prob(loc)
        assert torch.isfinite(value).all()
        peak = -math.log(2 * math.pi) - math.log(0.5 * 2.0)
        assert value.item() == pytest.approx(peak, abs=1e-9)


def test_gradients_reach_loc_and_scale_through_rsample():
    torch.manual_seed(1)
    ball = PoincareBall(c=1.0)
    loc_tangent = torch.tensor([[0.3, 0.4], [0.0, 0.0]], requires_grad=True)
    scale = torch.tensor([[0.5, 0.7], [1.0, 1.0]], requires_grad=True)
    q = WrappedNormal(ball.expmap0(loc_tangent), scale, ball)
    z = q.rsample((8,))
    (z.pow(2).sum() + q.log_prob(z).sum()).backward()
    for name, tensor in (("loc", loc_tangent), ("scale", scale)):
        assert tensor.grad is not None and torch.isfinite(tensor.grad).all() and tensor.grad.abs().sum() > 0, name


def test_batch_and_sample_shapes_follow_torch_conventions():
    ball = PoincareBall()
    q = WrappedNormal(torch.zeros(4, 3, 2), torch.ones(4, 1, 2), ball)
    assert q.batch_shape == (4, 3) and q.event_shape == (2,)
    assert q.rsample().shape == (4, 3, 2) and q.sample((5,)).shape == (5, 4, 3, 2)
    assert q.log_prob(q.rsample((5,))).shape == (5, 4, 3)
    isotropic = WrappedNormal(torch.zeros(2), 0.5, ball)
    assert isotropic.scale.shape == (2,)


def test_tangent_coordinates_invert_the_sampler_and_their_norm_is_the_distance():
    torch.manual_seed(2)
    ball = PoincareBall(c=2.0)
    loc = torch.tensor([0.3, -0.4], dtype=torch.float64)
    q = WrappedNormal(loc, torch.tensor([0.4, 0.9], dtype=torch.float64), ball)
    u = torch.randn(1000, 2, dtype=torch.float64) * q.scale
    z = ball.mobius_add(loc.expand_as(u), ball.expmap0(u / 2))
    torch.testing.assert_close(q.tangent(z), u, rtol=1e-8, atol=1e-8)
    torch.testing.assert_close(u.norm(dim=-1), dist(loc, z, c=2.0), rtol=1e-8, atol=1e-8)


def test_log_sinhc_is_stable_and_continuous():
    x = torch.tensor([0.0, 1e-8, 9.99e-3, 1.001e-2, 1.0, 50.0, 800.0], dtype=torch.float64)
    value = log_sinhc(x)
    assert torch.isfinite(value).all() and value[0] == 0
    mid = x[1:6]
    torch.testing.assert_close(value[1:6], torch.log(torch.sinh(mid) / mid), rtol=1e-10, atol=1e-12)
    assert value[-1].item() == pytest.approx(800 - math.log(2 * 800), rel=1e-12)


def test_euclidean_normal_matches_an_independent_normal():
    loc = torch.randn(3, 2)
    scale = torch.rand(3, 2) + 0.1
    reference = torch.distributions.Independent(torch.distributions.Normal(loc, scale), 1)
    q = EuclideanNormal(loc, scale)
    z = torch.randn(5, 3, 2)
    torch.testing.assert_close(q.log_prob(z), reference.log_prob(z))
    assert q.rsample((7,)).shape == (7, 3, 2)


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: WrappedNormal(torch.zeros(2), torch.tensor([1.0, 0.0]), PoincareBall()), r"scale must be positive and finite, got min value 0"),
        (lambda: WrappedNormal(torch.zeros(2), -1.0, PoincareBall()), r"scale must be positive and finite, got min value -1"),
        (lambda: WrappedNormal(torch.tensor([1.0, 0.0]), 1.0, PoincareBall()), r"loc has a point outside the ball"),
        (lambda: WrappedNormal(torch.zeros(3, 2), torch.ones(4, 2), PoincareBall()), r"loc and scale must broadcast, got shapes \(3, 2\) and \(4, 2\)"),
        (lambda: WrappedNormal(torch.zeros(2, dtype=torch.int64), 1.0, PoincareBall()), r"loc must have a floating dtype, got torch.int64"),
        (lambda: EuclideanNormal(torch.zeros(2), 0.0), r"scale must be positive and finite, got min value 0"),
    ],
)
def test_bad_parameters_raise_value_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build()
