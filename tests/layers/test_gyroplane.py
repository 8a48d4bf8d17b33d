"""Gyroplane layers against a slow loop-based reference, gradcheck, and isometry invariance."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from helpers import random_points
from hypseg.geometry import PoincareBall
from hypseg.geometry.math import _mobius_add
from hypseg.layers import ExpMap0, GyroplaneConv3d, GyroplaneLinear, LogMap0


def reference_score(x: torch.Tensor, p: torch.Tensor, a: torch.Tensor, c: float) -> torch.Tensor:
    """f_{a,p}(x) from the definition: x (B, d), p and a (J, d) -> (B, J)."""
    w = _mobius_add(-p[None], x[:, None], c)  # (B, J, d)
    wa = (w * a[None]).sum(-1)
    a_norm = a.norm(dim=-1)
    d_plane = torch.asinh(2 * c**0.5 * wa.abs() / ((1 - c * w.pow(2).sum(-1)) * a_norm)) / c**0.5
    lam_p = 2 / (1 - c * p.pow(2).sum(-1))
    return torch.sign(wa) * lam_p * a_norm * d_plane


def reference_conv(layer: GyroplaneConv3d, x: torch.Tensor) -> torch.Tensor:
    """Loops over output voxels and kernel offsets; padded positions are skipped."""
    c = float(layer.ball.c)
    p, a = layer.planes.points_and_normals()
    B, _, D, H, W = x.shape
    out_shape = layer.output_shape((D, H, W))
    y = torch.zeros(B, layer.out_channels, *out_shape, dtype=x.dtype)
    offsets = list(itertools.product(*(range(k) for k in layer.kernel_size)))
    for out in itertools.product(*(range(n) for n in out_shape)):
        for k, offset in enumerate(offsets):
            pos = [o * s - pad + off * dil for o, s, pad, off, dil in zip(out, layer.stride, layer.padding, offset, layer.dilation)]
            if not all(0 <= q < n for q, n in zip(pos, (D, H, W))):
                continue
            planes = (p[:, k], a[:, k]) if layer.per_offset else (p, a)
            y[(slice(None), slice(None), *out)] += reference_score(x[:, :, pos[0], pos[1], pos[2]], *planes, c)
    return y


def grid_points(shape, dim, c, seed, dtype=torch.float64):
    B, D, H, W = shape
    points = random_points(B * D * H * W, dim, c=c, dtype=dtype, seed=seed, max_rel=0.95)
    return points.view(B, D, H, W, dim).permute(0, 4, 1, 2, 3).contiguous()


CONV_CASES = [
    dict(kernel_size=k, stride=s, padding=p, per_offset=po)
    for k, s, p, po in itertools.product((1, 3, 5), (1, 2), (0, 1), (False, True))
] + [
    dict(kernel_size=3, stride=1, padding=2, dilation=2, per_offset=False),
    dict(kernel_size=3, stride=2, padding=2, dilation=2, per_offset=True),
    dict(kernel_size=(3, 1, 2), stride=(1, 2, 1), padding=(1, 0, 1), per_offset=True),
]


@pytest.mark.parametrize("options", CONV_CASES, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
def test_conv_matches_the_loop_reference(options):
    torch.manual_seed(0)
    c = 0.7
    layer = GyroplaneConv3d(2, 3, ball=PoincareBall(c=c), **options).double()
    x = grid_points((2, 7, 6, 5), 2, c, seed=1)
    torch.testing.assert_close(layer(x), reference_conv(layer, x), rtol=1e-6, atol=1e-6)


def test_per_offset_conv_lifts_a_single_point_to_a_grid():
    torch.manual_seed(1)
    g = 4
    layer = GyroplaneConv3d(2, 5, kernel_size=g, padding=g - 1, per_offset=True).double()
    z = grid_points((3, 1, 1, 1), 2, 1.0, seed=2)
    y = layer(z)
    assert y.shape == (3, 5, g, g, g)
    torch.testing.assert_close(y, reference_conv(layer, z), rtol=1e-6, atol=1e-6)
    # Every output voxel sees the point through its own plane: the map (offset -> plane) is a flip.
    p, a = layer.planes.points_and_normals()
    k = g**3 - 1  # output voxel 0 sees the input through the last kernel offset
    torch.testing.assert_close(y[:, :, 0, 0, 0], reference_score(z[:, :, 0, 0, 0], p[:, k], a[:, k], 1.0))


@pytest.mark.parametrize("per_offset", (False, True))
def test_conv_passes_gradcheck(per_offset):
    torch.manual_seed(2)
    layer = GyroplaneConv3d(2, 2, kernel_size=3, stride=2, padding=1, per_offset=per_offset, ball=PoincareBall(c=1.5)).double()
    x = grid_points((1, 4, 3, 4), 2, 1.5, seed=3).requires_grad_(True)
    p_tangent, a_tangent = layer.planes.p_tangent, layer.planes.a_tangent

    def func(x, p_t, a_t):  # the layer as a function of its input and both plane parameters
        return torch.func.functional_call(layer, {"planes.p_tangent": p_t, "planes.a_tangent": a_t}, (x,))

    inputs = (x, p_tangent.detach().clone().requires_grad_(True), a_tangent.detach().clone().requires_grad_(True))
    assert torch.autograd.gradcheck(func, inputs, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("per_offset", (False, True))
def test_conv_is_invariant_under_a_common_rotation(per_offset):
    torch.manual_seed(3)
    dim = 3
    layer = GyroplaneConv3d(dim, 4, kernel_size=3, padding=1, per_offset=per_offset).double()
    rotated = GyroplaneConv3d(dim, 4, kernel_size=3, padding=1, per_offset=per_offset).double()
    q, _ = torch.linalg.qr(torch.randn(dim, dim, dtype=torch.float64))
    with torch.no_grad():
        rotated.planes.p_tangent.copy_(layer.planes.p_tangent @ q.T)
        rotated.planes.a_tangent.copy_(layer.planes.a_tangent @ q.T)
    x = grid_points((2, 4, 5, 3), dim, 1.0, seed=4)
    x_rotated = torch.einsum("ij,bjdhw->bidhw", q, x)
    torch.testing.assert_close(rotated(x_rotated), layer(x), rtol=1e-9, atol=1e-9)


def test_linear_matches_the_reference_and_is_rotation_invariant():
    torch.manual_seed(4)
    c = 2.0
    layer = GyroplaneLinear(3, 5, ball=PoincareBall(c=c)).double()
    x = random_points(50, 3, c=c, dtype=torch.float64, seed=5)
    p, a = layer.planes.points_and_normals()
    torch.testing.assert_close(layer(x), reference_score(x, p, a, c), rtol=1e-9, atol=1e-9)
    q, _ = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64))
    with torch.no_grad():
        layer.planes.p_tangent.copy_(layer.planes.p_tangent @ q.T)
        layer.planes.a_tangent.copy_(layer.planes.a_tangent @ q.T)
    torch.testing.assert_close(layer(x @ q.T), reference_score(x, p, a, c), rtol=1e-9, atol=1e-9)


def test_linear_passes_gradcheck():
    torch.manual_seed(5)
    layer = GyroplaneLinear(2, 3).double()
    x = random_points(6, 2, c=1.0, dtype=torch.float64, seed=6).requires_grad_(True)
    assert torch.autograd.gradcheck(layer, (x,), eps=1e-6, atol=1e-5)


def test_maps_at_the_origin_act_on_the_chosen_axis_and_invert_each_other():
    ball = PoincareBall(c=1.0)
    u = torch.randn(2, 3, 4, 4, 4, dtype=torch.float64)
    u = u / u.norm(dim=1, keepdim=True) * 2.0  # below the clip
    x = ExpMap0(ball, axis=1)(u)
    assert x.norm(dim=1).max() < 1
    torch.testing.assert_close(LogMap0(ball, axis=1)(x), u)
    clipped = ExpMap0(ball, axis=1)(u * 10)
    torch.testing.assert_close(LogMap0(ball, axis=1)(clipped).norm(dim=1), torch.full((2, 4, 4, 4), 3.0, dtype=torch.float64))


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: GyroplaneConv3d(2, 4, 3)(torch.zeros(2, 2, 5, 5)), r"x must be shaped \(B, 2, D, H, W\), got \(2, 2, 5, 5\)"),
        (lambda: GyroplaneConv3d(2, 4, 3)(torch.zeros(1, 3, 5, 5, 5)), r"x must be shaped \(B, 2, D, H, W\), got \(1, 3, 5, 5, 5\)"),
        (lambda: GyroplaneConv3d(2, 4, 3)(torch.zeros(1, 2, 5, 5, 5, dtype=torch.int64)), r"x must be a floating tensor, got torch.int64"),
        (lambda: GyroplaneConv3d(2, 4, 3)(torch.full((1, 2, 5, 5, 5), 0.9)), r"x has a point outside the ball"),
        (lambda: GyroplaneConv3d(2, 4, 5)(torch.zeros(1, 2, 4, 9, 9)), r"input of spatial shape \(4, 9, 9\) is smaller than the kernel's extent"),
        (lambda: GyroplaneConv3d(2, 4, 0), r"kernel_size must be an int >= 1 or three of them, got 0"),
        (lambda: GyroplaneConv3d(2, 4, 3, stride=(1, 2)), r"stride must be an int >= 1 or three of them, got \(1, 2\)"),
        (lambda: GyroplaneConv3d(2, 4, 3, padding=-1), r"padding must be an int >= 0 or three of them, got -1"),
        (lambda: GyroplaneConv3d(0, 4, 3), r"dim and out_channels must be >= 1, got 0 and 4"),
        (lambda: GyroplaneLinear(2, 3)(torch.zeros(4, 3)), r"x must be a floating tensor shaped \(\.\.\., 2\), got \(4, 3\)"),
        (lambda: GyroplaneLinear(2, 3, ball=PoincareBall(c=4.0))(torch.full((1, 2), 0.5)), r"x has a point outside the ball"),
    ],
)
def test_bad_input_raises_a_value_error_naming_it(call, message):
    with pytest.raises(ValueError, match=message):
        call()
