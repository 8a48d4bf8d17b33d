"""ELBO and triplet loss: against direct formulas, reductions, invariances."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import random_points
from hypseg.distributions import EuclideanNormal, WrappedNormal
from hypseg.geometry import PoincareBall
from hypseg.losses import centre_precision, negative_elbo, triplet_loss


def _elbo_inputs(seed: int, *, B: int, K: int, side: int, d: int = 2):
    """Random patches, reconstructions, a wrapped-normal posterior on the unit ball, its prior and K samples."""
    torch.manual_seed(seed)
    ball = PoincareBall()
    patches = torch.randn(B, 1, side, side, side, dtype=torch.float64)
    reconstruction = torch.randn(K, B, 1, side, side, side, dtype=torch.float64)
    q = WrappedNormal(random_points(B, d, c=1.0, dtype=torch.float64, seed=seed + 1, max_rel=0.8), torch.rand(B, d, dtype=torch.float64) + 0.2, ball)
    prior = WrappedNormal(torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64), ball)
    return patches, reconstruction, q, prior, q.rsample((K,))


def test_negative_elbo_matches_a_direct_computation():
    B, K = 4, 3
    patches, reconstruction, q, prior, z = _elbo_inputs(0, B=B, K=K, side=3)
    terms = negative_elbo(patches, reconstruction, z, q, prior, kl_weight=0.5)
    rec, kl = 0.0, 0.0
    for k in range(K):
        for b in range(B):
            diff = (reconstruction[k, b] - patches[b]).flatten()
            rec += 0.5 * diff.dot(diff) + 0.5 * 27 * math.log(2 * math.pi)
            kl += q.log_prob(z[k, b])[b] - prior.log_prob(z[k, b])
    assert terms.reconstruction.item() == pytest.approx(rec.item() / (K * B), rel=1e-12)
    assert terms.kl.item() == pytest.approx(kl.item() / (K * B), rel=1e-12)
    assert terms.loss.item() == pytest.approx(terms.reconstruction.item() + 0.5 * terms.kl.item(), rel=1e-12)


def test_a_voxel_precision_weighs_each_squared_error_as_a_gaussian_of_that_precision():
    patches, reconstruction, q, prior, z = _elbo_inputs(2, B=3, K=2, side=4)
    w = centre_precision(4, 0.3, dtype=torch.float64)
    terms = negative_elbo(patches, reconstruction, z, q, prior, precision=w)
    normal = torch.distributions.Normal(reconstruction, w.rsqrt())
    expected = -normal.log_prob(patches.unsqueeze(0)).flatten(2).sum(-1).mean()
    assert terms.reconstruction.item() == pytest.approx(expected.item(), rel=1e-12)
    ones = negative_elbo(patches, reconstruction, z, q, prior, precision=torch.ones_like(w))
    assert ones.reconstruction.item() == pytest.approx(negative_elbo(patches, reconstruction, z, q, prior).reconstruction.item(), rel=1e-12)


def test_the_centre_precision_has_mean_one_peaks_at_the_centre_and_is_symmetric():
    w = centre_precision(7, 0.25, dtype=torch.float64)[0]
    assert w.mean().item() == pytest.approx(1.0, rel=1e-12)
    assert w.argmax().item() == 3 * 49 + 3 * 7 + 3
    for dims in ((0,), (1,), (2,), (0, 1, 2)):
        assert torch.equal(w.flip(dims), w)
    torch.testing.assert_close(w, w.permute(1, 2, 0), rtol=1e-15, atol=0)
    with pytest.raises(ValueError, match="sigma > 0"):
        centre_precision(7, 0.0)
    with pytest.raises(ValueError, match="too narrow for side 10: the corners' weights vanish"):
        centre_precision(10, 0.03)


def test_monte_carlo_kl_of_the_euclidean_posterior_matches_the_closed_form():
    torch.manual_seed(1)
    loc, scale = torch.tensor([[0.5, -1.0]], dtype=torch.float64), torch.tensor([[0.7, 1.3]], dtype=torch.float64)
    q, prior = EuclideanNormal(loc, scale), EuclideanNormal(torch.zeros(2, dtype=torch.float64), 1.0)
    z = q.rsample((200_000,))
    patches = torch.zeros(1, 1, 1, 1, 1, dtype=torch.float64)
    mc = negative_elbo(patches, torch.zeros(200_000, 1, 1, 1, 1, 1, dtype=torch.float64), z, q, prior).kl
    exact = (0.5 * (scale**2 + loc**2 - 1) - scale.log()).sum()
    assert mc.item() == pytest.approx(exact.item(), rel=0.02)


def test_the_kl_from_the_noise_equals_the_kl_from_the_samples_and_is_bounded_at_the_edge():
    ball = PoincareBall()
    prior = WrappedNormal(torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64), ball)
    q = WrappedNormal(random_points(8, 2, c=1.0, dtype=torch.float64, seed=2, max_rel=0.8),
                      torch.rand(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) + 0.1, ball)
    eps = torch.randn(4, 8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    z = q.reparameterise(eps)
    patches, reconstruction = torch.zeros(8, 1, 2, 2, 2, dtype=torch.float64), torch.zeros(4, 8, 1, 2, 2, 2, dtype=torch.float64)
    via_z = negative_elbo(patches, reconstruction, z, q, prior).kl
    via_noise = negative_elbo(patches, reconstruction, z, q, prior, noise=eps).kl
    assert via_noise.item() == pytest.approx(via_z.item(), rel=1e-10)
    # A mean at the edge with a tiny scale on one axis and a huge one on the other: one training run
    # reached this, where the samples, projected back into the ball, gave a KL of -56,000 nats per patch.
    edge = WrappedNormal(torch.tensor([[0.995, 0.0]]).expand(8, 2), torch.tensor([[1e-3, 4000.0]]).expand(8, 2), ball)
    z32 = edge.reparameterise(eps.float())
    prior32 = WrappedNormal(torch.zeros(2), torch.ones(2), ball)
    assert negative_elbo(patches.float(), reconstruction.float(), z32, edge, prior32).kl < -1000
    assert negative_elbo(patches.float(), reconstruction.float(), z32, edge, prior32, noise=eps.float()).kl > 1e6
    with pytest.raises(ValueError, match=r"noise must be shaped like z \(4, 8, 2\), got \(4, 8\)"):
        negative_elbo(patches.float(), reconstruction.float(), z32, edge, prior32, noise=eps[..., 0].float())


def test_elbo_rejects_mismatched_reconstructions():
    q = EuclideanNormal(torch.zeros(2, 2), 1.0)
    with pytest.raises(ValueError, match=r"reconstruction must be shaped \(K or 1, B, \*patch\) = \(1, 2, \*\(1, 3, 3, 3\)\)"):
        negative_elbo(torch.zeros(2, 1, 3, 3, 3), torch.zeros(1, 2, 1, 4, 4, 4), torch.zeros(1, 2, 2), q, q)


@pytest.mark.parametrize("squared", (False, True))
def test_triplet_loss_is_the_mean_hinge_of_poincare_distances(squared):
    ball = PoincareBall(c=1.0)
    a, p, n = (random_points(64, 2, c=1.0, dtype=torch.float64, seed=s) for s in range(3))
    d_pos, d_neg = ball.dist(a, p), ball.dist(a, n)
    if squared:
        d_pos, d_neg = d_pos**2, d_neg**2
    expected = torch.clamp(d_pos - d_neg + 0.3, min=0).mean()
    got = triplet_loss(a, p, n, ball=ball, margin=0.3, squared=squared)
    assert got.item() == pytest.approx(expected.item(), rel=1e-12)


def test_triplet_loss_is_invariant_under_mobius_translation_and_zero_when_satisfied():
    ball = PoincareBall(c=1.0)
    a, p, n = (random_points(32, 2, c=1.0, dtype=torch.float64, seed=s, max_rel=0.7) for s in range(3))
    shift = torch.tensor([0.3, -0.4], dtype=torch.float64).expand_as(a)
    moved = [ball.mobius_add(shift, v) for v in (a, p, n)]  # an isometry of the ball
    assert triplet_loss(*moved, ball=ball).item() == pytest.approx(triplet_loss(a, p, n, ball=ball).item(), rel=1e-9)
    assert triplet_loss(a, a, ball.mobius_add(a, torch.full_like(a, 0.6)), ball=ball, margin=0.1).item() == 0.0


def test_euclidean_triplet_loss_uses_euclidean_distances():
    a = torch.zeros(1, 2)
    p, n = torch.tensor([[0.3, 0.4]]), torch.tensor([[0.6, 0.0]])
    assert triplet_loss(a, p, n, ball=None, margin=0.2).item() == pytest.approx(0.5 - 0.6 + 0.2)


def test_triplet_loss_rejects_bad_shapes_and_margins():
    with pytest.raises(ValueError, match=r"anchor, positive and negative must share a \(B, d\) shape, got \(2, 2\), \(2, 2\), \(3, 2\)"):
        triplet_loss(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(3, 2), ball=None)
    with pytest.raises(ValueError, match=r"margin must be >= 0, got -1"):
        triplet_loss(torch.zeros(2, 2), torch.zeros(2, 2), torch.zeros(2, 2), ball=None, margin=-1)


def test_centre_precision_is_built_once_per_side_sigma_dtype_and_device():
    from hypseg.losses import centre_precision

    first = centre_precision(8, 0.25, dtype=torch.float32, device=torch.device("cpu"))
    assert centre_precision(8, 0.25, dtype=torch.float32, device=torch.device("cpu")) is first  # no rebuild per step
    assert centre_precision(8, 0.3, dtype=torch.float32, device=torch.device("cpu")) is not first
