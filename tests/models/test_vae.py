"""The VAE: dense encoding equals patch encoding; variants; shapes; weight loading."""

from __future__ import annotations

import pytest
import torch

from hypseg.config import ModelConfig
from hypseg.distributions import EuclideanNormal, WrappedNormal
from hypseg.models import HVAE, VARIANT_SPECS

SMALL = dict(channels=(4, 6, 8), hidden=12)


@pytest.mark.parametrize(("variant", "activation"), [(v, "relu") for v in sorted(VARIANT_SPECS)] + [("hyperbolic-gyro", "leaky_relu")])
def test_patch_encoding_equals_the_dense_pass_at_the_centres(variant, activation):
    torch.manual_seed(0)
    m = 10
    model = HVAE(ModelConfig(variant=variant, patch_size=m, activation=activation, **SMALL)).double()
    volume = torch.randn(1, 1, 17, 15, 13, dtype=torch.float64)
    half = m // 2  # a voxel's patch spans [v - m//2, v - m//2 + m) on each axis
    padded = torch.nn.functional.pad(volume, (half, m - 1 - half) * 3, mode="replicate")
    dense = model.encoder.dense(padded)  # (1, d, 17, 15, 13): one row per voxel
    assert dense.loc.shape[2:] == volume.shape[2:]
    g = torch.Generator().manual_seed(1)
    centres = torch.stack([torch.randint(0, n, (20,), generator=g) for n in volume.shape[2:]], dim=1)
    patches = torch.stack([padded[0, :, z : z + m, y : y + m, x : x + m] for z, y, x in centres.tolist()])
    encoded = model.encoder(patches)
    for got, want in ((encoded.loc, dense.loc), (encoded.scale, dense.scale)):
        torch.testing.assert_close(got, want[0, :, centres[:, 0], centres[:, 1], centres[:, 2]].T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride", [2, 3])
def test_a_strided_dense_pass_is_the_full_pass_subsampled(stride):
    torch.manual_seed(0)
    model = HVAE(ModelConfig(patch_size=10, **SMALL)).double()
    volume = torch.randn(1, 1, 21, 18, 14, dtype=torch.float64)
    full, strided = model.encoder.dense(volume), model.encoder.dense(volume, stride=stride)
    for got, want in zip(strided, full):
        torch.testing.assert_close(got, want[..., ::stride, ::stride, ::stride])


@pytest.mark.parametrize("variant", sorted(VARIANT_SPECS))
def test_forward_shapes_and_posterior_family(variant):
    model = HVAE(ModelConfig(variant=variant, **SMALL))
    out = model(torch.randn(5, 1, 10, 10, 10), samples=3)
    assert out.z.shape == (3, 5, 2) and out.reconstruction.shape == (3, 5, 1, 10, 10, 10)
    family = EuclideanNormal if variant == "euclidean" else WrappedNormal
    assert isinstance(out.posterior, family)
    if variant != "euclidean":
        assert out.posterior.loc.norm(dim=-1).max() < 1  # means on the ball
    assert torch.isfinite(out.reconstruction).all()


def test_given_noise_fixes_the_samples():
    model = HVAE(ModelConfig(**SMALL))
    x = torch.randn(4, 1, 10, 10, 10)
    noise = torch.randn(2, 4, 2)
    a, b = model(x, noise=noise), model(x, noise=noise)
    torch.testing.assert_close(a.z, b.z)
    torch.testing.assert_close(a.z, a.posterior.reparameterise(noise))


def test_the_output_carries_the_noise_its_samples_were_drawn_from():
    model = HVAE(ModelConfig(variant="hyperbolic-gyro"))
    patches = torch.randn(5, 1, 10, 10, 10)
    noise = torch.randn(2, 5, 2)
    out = model(patches, noise=noise, decode=3)
    torch.testing.assert_close(out.noise, noise[:, :3])
    torch.manual_seed(0)
    drawn = model(patches, samples=4)
    assert drawn.noise.shape == (4, 5, 2)
    torch.testing.assert_close(drawn.z, drawn.posterior.reparameterise(drawn.noise))


def test_gradients_reach_every_parameter():
    torch.manual_seed(2)
    model = HVAE(ModelConfig(**SMALL))
    out = model(torch.randn(6, 1, 10, 10, 10), samples=2)
    (out.reconstruction.pow(2).mean() + out.posterior.loc.pow(2).sum() + out.posterior.scale.sum()).backward()
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert param.grad is not None and torch.isfinite(param.grad).all(), name


def test_load_weights_rejects_another_architecture():
    small, other = HVAE(ModelConfig(**SMALL)), HVAE(ModelConfig(channels=(4, 6, 8), hidden=16))
    small.load_weights(HVAE(ModelConfig(**SMALL)).state_dict(), source="same")
    with pytest.raises(ValueError, match=r"run/model.pt: weights do not match the model of its config \(wrong shape: "):
        small.load_weights(other.state_dict(), source="run/model.pt")
    with pytest.raises(ValueError, match=r"missing: "):
        small.load_weights({}, source="x")


@pytest.mark.parametrize(
    "options,message",
    [
        (dict(variant="poincare"), r"unknown model variant 'poincare'; choose one of hyperbolic-gyro, hyperbolic, euclidean"),
        (dict(patch_size=6, channels=(4, 4, 4)), r"3 valid convolutions of kernel 3 do not fit a patch of side 6"),
        (dict(curvature=0.0), r"ModelConfig: curvature must be positive, got 0.0"),
        (dict(activation="gelu"), r"ModelConfig: unknown activation 'gelu'; choose one of \('relu', 'leaky_relu'\)"),
    ],
)
def test_impossible_configs_fail_on_construction(options, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**options)


def test_a_leaky_encoder_whose_units_all_start_below_zero_still_tells_patches_apart():
    torch.manual_seed(0)
    patches = torch.randn(16, 1, 10, 10, 10)
    for activation, differs in (("relu", False), ("leaky_relu", True)):
        torch.manual_seed(0)
        model = HVAE(ModelConfig(activation=activation, **SMALL))
        with torch.no_grad():
            model.encoder.hidden.bias.fill_(-1000.0)  # every hidden unit negative on every patch
            loc = model.encode_mean(patches)
        assert bool((loc.std(0) > 0).any()) == differs
        loss = model.encode_mean(patches).pow(2).sum()  # and only the leaky units pass a gradient down
        loss.backward()
        assert bool(model.encoder.convs[0].weight.grad.abs().sum() > 0) == differs


def test_patches_of_the_wrong_shape_are_rejected():
    with pytest.raises(ValueError, match=r"patches must be shaped \(B, 1, 10, 10, 10\), got \(2, 1, 9, 10, 10\)"):
        HVAE(ModelConfig(**SMALL)).encode_mean(torch.zeros(2, 1, 9, 10, 10))
