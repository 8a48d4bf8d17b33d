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


@pytest.mark.parametrize("family", (WrappedNormal, EuclideanNormal))
def test_log_prob_of_the_noise_equals_the_log_prob_of_its_sample(family):
    torch.manual_seed(3)
    ball = PoincareBall(c=1.5)
    loc = torch.tensor([[0.3, -0.4], [0.0, 0.1], [-0.5, 0.2]], dtype=torch.float64)
    q = family(loc, torch.tensor([[0.4, 0.9], [1.2, 0.3], [0.05, 0.7]], dtype=torch.float64), ball)
    eps = torch.randn(50, 3, 2, dtype=torch.float64)
    torch.testing.assert_close(q.log_prob_noise(eps), q.log_prob(q.reparameterise(eps)), rtol=1e-9, atol=1e-9)


def test_origin_distance_matches_the_samples_distance_where_the_sample_is_representable():
    g = torch.Generator().manual_seed(4)
    for c in (1.0, 2.0):
        ball = PoincareBall(c=c)
        loc = (torch.rand(400, 3, generator=g, dtype=torch.float64) - 0.5) * 0.9 / math.sqrt(c)
        q = WrappedNormal(loc, torch.rand(400, 3, generator=g, dtype=torch.float64) * 3 + 0.01, ball)
        eps = torch.randn(4, 400, 3, generator=g, dtype=torch.float64)
        z = q.reparameterise(eps)
        direct = dist(torch.zeros_like(z), z, c=c)
        inside = direct < 8 / math.sqrt(c)  # float64 keeps such points exactly
        assert inside.float().mean() > 0.9
        torch.testing.assert_close(q.origin_distance(eps)[inside], direct[inside], rtol=1e-10, atol=1e-10)


def test_origin_distance_is_exact_along_a_geodesic_through_the_origin_far_past_the_balls_edge():
    # A mean on the x axis and noise along it: the sample's distance from the origin is |a +- r|.
    ball = PoincareBall()
    loc = torch.tensor([[0.6, 0.0]], dtype=torch.float64)
    a = 2 * math.atanh(0.6)
    for r in (0.5, 25.0, 4000.0):
        for sign in (1.0, -1.0):
            q = WrappedNormal(loc, torch.tensor([[r, 1.0]], dtype=torch.float64), ball)
            got = q.origin_distance(torch.tensor([[[sign, 0.0]]], dtype=torch.float64)).item()
            assert got == pytest.approx(abs(a + sign * r), rel=1e-9)


def test_the_kl_sample_punishes_a_wide_posterior_at_the_edge_with_finite_gradients():
    ball = PoincareBall()
    prior = WrappedNormal(torch.zeros(2), torch.ones(2), ball)
    eps = torch.randn(64, 2, generator=torch.Generator().manual_seed(0))
    # the degenerate optimum one training run found: a mean at the edge, one scale tiny and one huge
    loc = torch.tensor([0.99, 0.01], requires_grad=True)
    raw = torch.tensor([1e-3, 4000.0]).log().requires_grad_()
    kl = WrappedNormal(loc, raw.exp(), ball).kl_sample(eps, prior)
    assert kl.mean() > 1e5
    kl.sum().backward()
    assert torch.isfinite(loc.grad).all() and torch.isfinite(raw.grad).all()
    assert raw.grad[1] > 0  # widening further costs more


def test_the_far_branch_agrees_with_the_half_angle_form_at_any_angle(monkeypatch):
    # Above |u| sqrt(c) = 30 the distance comes from log cosh; in float64 the half-angle form still
    # holds there (cosh 300 ~ 1e130), so both must agree for general angles and curvatures.
    from hypseg.distributions import wrapped_normal

    g = torch.Generator().manual_seed(6)
    for c in (0.4, 1.0, 2.5):
        ball = PoincareBall(c=c)
        loc = (torch.rand(200, 3, generator=g, dtype=torch.float64) - 0.5) * 1.1 / math.sqrt(c)
        scale = torch.rand(200, 3, generator=g, dtype=torch.float64) * 40 + 20  # sqrt(c) |u| below cosh's overflow at 710
        q = WrappedNormal(loc, scale, ball)
        eps = torch.randn(200, 3, generator=g, dtype=torch.float64)
        far = q.origin_distance(eps)
        assert (math.sqrt(c) * (eps * scale).norm(dim=-1) > wrapped_normal._LARGE).float().mean() > 0.5
        monkeypatch.setattr(wrapped_normal, "_LARGE", 1e9)
        torch.testing.assert_close(far, q.origin_distance(eps), rtol=1e-12, atol=1e-9)
        monkeypatch.undo()


def test_the_kl_samples_gradient_at_a_mean_on_the_origin_is_the_samples_gradient():
    # At loc = 0 the distance's parts are not smooth one by one; their sum is, and its gradient must
    # equal the one through the (unprojected) float64 sample.
    ball = PoincareBall(c=1.3)
    prior = WrappedNormal(torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64), ball)
    eps = torch.tensor([[0.6, -0.8], [1.5, 0.2]], dtype=torch.float64)
    grads = []
    for via_noise in (True, False):
        loc = torch.zeros(2, 2, dtype=torch.float64, requires_grad=True)
        q = WrappedNormal(loc, torch.tensor([[0.5, 0.7]] * 2, dtype=torch.float64), ball)
        z = q.reparameterise(eps)
        kl = q.kl_sample(eps, prior) if via_noise else q.log_prob(z) - prior.log_prob(z)
        (grad,) = torch.autograd.grad(kl.sum(), loc)
        grads.append(grad)
    assert grads[1].abs().min() > 0.1
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-12)


def test_origin_distance_has_the_gradients_of_the_float64_formula():
    ball = PoincareBall(c=1.3)
    eps = torch.randn(3, 5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(5))

    def distance(loc, scale):
        return WrappedNormal(loc, scale, ball).origin_distance(eps)

    loc = torch.tensor([[0.2, -0.3]] * 5, dtype=torch.float64, requires_grad=True)
    for scale in (torch.full((5, 2), 0.7, dtype=torch.float64), torch.full((5, 2), 60.0, dtype=torch.float64)):
        assert torch.autograd.gradcheck(distance, (loc, scale.requires_grad_()))


def test_the_kl_sample_equals_the_samples_kl_under_a_prior_with_a_scale_per_axis():
    ball = PoincareBall(c=0.8)
    g = torch.Generator().manual_seed(7)
    q = WrappedNormal((torch.rand(30, 3, generator=g, dtype=torch.float64) - 0.5), torch.rand(30, 3, generator=g, dtype=torch.float64) + 0.1, ball)
    prior = WrappedNormal(torch.zeros(3, dtype=torch.float64), torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64), ball)
    eps = torch.randn(4, 30, 3, generator=g, dtype=torch.float64)
    z = q.reparameterise(eps)
    torch.testing.assert_close(q.kl_sample(eps, prior), q.log_prob(z) - prior.log_prob(z), rtol=1e-9, atol=1e-9)


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
