"""The released experiment's model and objective: encoder shapes, grid decoder, loss of a tiny batch."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from hypseg.config import cpu_recipe, paper_recipe
from hypseg.geometry import PoincareBall
from hypseg.layers import ReleasedGyroplaneLinear
from hypseg.models import HVAE
from hypseg.models.paper_decoder import PaperDecoder, sample_grid
from hypseg.training.optim import build_optimiser
from hypseg.training.stream import StepBatch
from hypseg.training.trainer import compute_losses


def test_the_encoder_follows_the_stated_paddings():
    model = HVAE(paper_recipe().model)
    x = torch.zeros(2, 1, 10, 10, 10)
    sides = []
    for conv in model.encoder.convs:
        x = conv(x)
        sides.append(x.shape[-1])
    assert sides == [10, 8, 6, 2]  # paddings 2, 1, 1, 0 with kernel 5
    assert x.shape[1] * x[0, 0].numel() == 1024  # the flattened input of the 300-unit layer
    assert model.encoder.hidden.out_channels == 300


def test_the_grid_puts_sample_n_at_its_stated_position():
    z = torch.randn(8, 3, 2)
    grid = sample_grid(z)  # (B, d, 2, 2, 2)
    for n in range(8):
        i, j, k = n // 4, (n // 2) % 2, n % 2
        torch.testing.assert_close(grid[:, :, i, j, k], z[n])
    with pytest.raises(ValueError, match="takes 8 samples per patch, got 4"):
        sample_grid(z[:4])


def test_the_grid_decoder_gives_one_nonnegative_reconstruction_per_patch():
    torch.manual_seed(0)
    dec = PaperDecoder(2, PoincareBall(), lift="gyroplane")
    with torch.no_grad():  # keep every ReLU of this small check alive
        for layer in (dec.mix, *dec.deconvs):
            layer.weight.abs_()
            layer.bias.fill_(0.01)
    z = PoincareBall().expmap0(torch.randn(8, 5, 2) * 0.5)
    out = dec(z)
    assert out.shape == (1, 5, 1, 10, 10, 10) and out.min() >= 0
    # the reconstruction depends on where each sample sits in the grid
    swapped = z[[1, 0, 2, 3, 4, 5, 6, 7]]
    assert not torch.allclose(dec(swapped), out)
    per_sample = PaperDecoder(2, None, lift="linear")(torch.randn(8, 5, 2))
    assert per_sample.shape == (8, 5, 1, 10, 10, 10) and per_sample.min() >= 0


def test_the_released_gyroplane_is_the_signed_distance_to_its_plane():
    torch.manual_seed(1)
    c = 1.0
    ball = PoincareBall(c=c)
    layer = ReleasedGyroplaneLinear(2, 6, ball).double()
    x = ball.expmap0(torch.randn(10, 2, dtype=torch.float64))
    a, p = layer.normals_and_points()
    # slow reference: w = (-p) (+) x, d = asinh(2 sqrt(c) <w, a> / ((1 - c|w|^2)|a|)) / sqrt(c)
    expected = torch.empty(10, 6, dtype=torch.float64)
    for i in range(10):
        for j in range(6):
            w = ball.mobius_add(-p[j], x[i])
            expected[i, j] = torch.asinh(2 * math.sqrt(c) * (w @ a[j]) / ((1 - c * w @ w) * a[j].norm())) / math.sqrt(c)
    torch.testing.assert_close(layer(x), expected)
    # normal and point both lie along the weight
    w = layer.weight.detach()
    cos = lambda u, v: (u * v).sum(-1) / (u.norm(dim=-1) * v.norm(dim=-1))  # noqa: E731
    torch.testing.assert_close(cos(a, w).abs(), torch.ones(6, dtype=torch.float64))
    torch.testing.assert_close(cos(p, w).abs(), torch.ones(6, dtype=torch.float64))


def test_the_loss_of_a_tiny_batch_equals_a_hand_computation():
    torch.manual_seed(2)
    config = paper_recipe("euclidean")
    model = HVAE(config.model).double()
    B, K = 2, 8
    patches = torch.randn(3 * B, 1, 10, 10, 10, dtype=torch.float64)
    noise = torch.randn(K, 3 * B, 2, dtype=torch.float64)
    losses = compute_losses(model, StepBatch(patches, noise), config)

    loc, scale = model.encoder(patches)
    z = loc[:B] + scale[:B] * noise[:, :B]  # (K, B, d): parents only
    x_hat = model.decode(z)  # (K, B, 1, 10, 10, 10)
    total = 0.0
    for b in range(B):
        nll = [0.5 * ((patches[b] - x_hat[k, b]) ** 2).sum() + 500 * math.log(2 * math.pi) for k in range(K)]
        q = torch.distributions.Normal(loc[b], scale[b])
        p = torch.distributions.Normal(torch.zeros(2, dtype=torch.float64), 1.0)
        kl = [q.log_prob(z[k, b]).sum() - p.log_prob(z[k, b]).sum() for k in range(K)]
        total = total + sum(nll) / K + sum(kl) / K  # summed over the batch
    a, pos, neg = loc[:B], loc[B : 2 * B], loc[2 * B :]
    hinge = torch.relu(((a - pos) ** 2).sum(-1) - ((a - neg) ** 2).sum(-1) + 0.2)
    total = total + 1000 * hinge.mean()
    torch.testing.assert_close(losses.loss, total)


@pytest.mark.parametrize("recipe", ("cpu", "paper"))
def test_training_takes_the_kl_from_the_noise_where_samples_leave_the_ball(recipe):
    torch.manual_seed(4)
    config = cpu_recipe() if recipe == "cpu" else paper_recipe("hyperbolic-gyro")
    model = HVAE(config.model).double()
    with torch.no_grad():  # scales of about 20: most samples lie past float64's ball and are projected
        model.encoder.scale_head.bias.fill_(20.0)
    patches = torch.randn(6, 1, 10, 10, 10, dtype=torch.float64)
    noise = torch.randn(config.train.samples, 6, 2, dtype=torch.float64)
    losses = compute_losses(model, StepBatch(patches, noise), config)
    n = 2 if config.train.reconstruct == "parent" else 6
    q = model.posterior(patches[:n])
    prior = model.prior(patches)
    exact = q.kl_sample(noise[:, :n], prior).mean()
    from_samples = (q.log_prob(q.reparameterise(noise[:, :n])) - prior.log_prob(q.reparameterise(noise[:, :n]))).mean()
    torch.testing.assert_close(losses.kl, exact)
    assert exact > from_samples + 50


def test_the_hyperbolic_loss_uses_squared_poincare_distances():
    torch.manual_seed(3)
    config = paper_recipe("hyperbolic-gyro")
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, triplet_weight=1.0))
    model = HVAE(config.model).double()
    patches = torch.randn(6, 1, 10, 10, 10, dtype=torch.float64)
    losses = compute_losses(model, StepBatch(patches, torch.randn(8, 6, 2, dtype=torch.float64)), config)
    loc = model.encoder(patches).loc
    d2 = lambda x, y: model.ball.dist(x, y) ** 2  # noqa: E731
    expected = torch.relu(d2(loc[:2], loc[2:4]) - d2(loc[:2], loc[4:]) + 0.2).mean()
    torch.testing.assert_close(losses.triplet, expected)


@pytest.mark.parametrize("variant, lr, clip", [("hyperbolic-gyro", 5e-7, 8.0), ("hyperbolic", 5e-7, 8.0), ("euclidean", 5e-5, 0.0)])
def test_the_optimiser_is_amsgrad_with_the_per_variant_rate(variant, lr, clip):
    config = paper_recipe(variant)
    opt = build_optimiser(HVAE(config.model).parameters(), config.train)
    group = opt.param_groups[0]
    assert isinstance(opt, torch.optim.Adam) and group["amsgrad"] and group["lr"] == lr and group["betas"] == (0.9, 0.999)
    assert config.train.grad_clip == clip and config.data.triplets_per_batch == 128
    assert config.data.normalisation == "none" and config.model.decoder == "paper"


def test_a_paper_run_trains_and_its_steps_repeat_exactly(tmp_path):
    from hypseg.training import Trainer

    config = paper_recipe("hyperbolic-gyro", steps=2)
    config = dataclasses.replace(
        config,
        data=dataclasses.replace(config.data, triplets_per_batch=16),
        train=dataclasses.replace(config.train, checkpoint_every=1, validate_every=1, log_every=1, validation_batches=0),
    )
    volumes = [np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32)]
    one = Trainer(config, volumes, run_dir=tmp_path / "a", progress=False).fit()
    two = Trainer(config, volumes, run_dir=tmp_path / "b", progress=False).fit()
    assert one.step == 2 and np.isfinite(one.last["loss"])
    losses = ("loss", "reconstruction", "kl", "triplet")
    assert [one.last[k] for k in losses] == [two.last[k] for k in losses]  # the same batches, noise and weights
