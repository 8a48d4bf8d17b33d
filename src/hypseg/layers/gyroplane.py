r"""Gyroplane layers (Ganea et al. 2018 section 3.2; the paper's eq. 5 and eq. 7; method.md section 4).

A gyroplane :math:`H_{a,p}` through the point :math:`p` with normal :math:`a \in T_p` scores a point
by its signed, scaled distance :math:`f_{a,p}(x) = \operatorname{sign}(\langle w,a\rangle)\lambda_p|a|
\,d(x, H_{a,p})`, :math:`w = (-p)\oplus x` (see :func:`hypseg.geometry.gyroplane`). Planes are
parametrised by free Euclidean vectors, :math:`p = \exp_0(\tilde p)` and
:math:`a = PT_{0\to p}(\tilde a)`, so plain optimisers apply.

The score needs only inner products of the points with :math:`p` and :math:`a`, so every layer here
is a few matrix products and elementwise maps: no loop over voxels or kernel offsets.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hypseg.geometry import PoincareBall
from hypseg.geometry.math import _gyroplane_from_products, _plane_distance

Triple = tuple[int, int, int]


def _triple(value: int | tuple[int, ...], name: str, *, minimum: int) -> Triple:
    values = (value,) * 3 if isinstance(value, int) else tuple(value)
    if len(values) != 3 or not all(isinstance(v, int) and v >= minimum for v in values):
        raise ValueError(f"{name} must be an int >= {minimum} or three of them, got {value!r}")
    return values  # type: ignore[return-value]


class _Planes(torch.nn.Module):
    """Parameters of a set of gyroplanes, shaped ``plane_shape + (dim,)``."""

    def __init__(self, plane_shape: tuple[int, ...], dim: int, ball: PoincareBall):
        super().__init__()
        self.ball = ball
        # Planes start near the origin with unit-scale random normals.
        self.p_tangent = torch.nn.Parameter(torch.randn(*plane_shape, dim) * 0.1)
        self.a_tangent = torch.nn.Parameter(torch.randn(*plane_shape, dim) / math.sqrt(dim))

    def points_and_normals(self) -> tuple[torch.Tensor, torch.Tensor]:
        p = self.ball.expmap0(self.p_tangent)
        return p, self.ball.transp0(p, self.a_tangent)


def _check_features(dim: int, out_features: int, ball: PoincareBall | None) -> tuple[int, int, PoincareBall]:
    if dim < 1 or out_features < 1:
        raise ValueError(f"dim and out_features must be >= 1, got {dim} and {out_features}")
    return dim, out_features, ball if ball is not None else PoincareBall()


def _check_grid(x: torch.Tensor, dim: int, ball: PoincareBall, check_points: bool) -> None:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        raise ValueError(f"x must be a floating tensor, got {getattr(x, 'dtype', type(x).__name__)}")
    if x.dim() != 5 or x.shape[1] != dim:
        raise ValueError(f"x must be shaped (B, {dim}, D, H, W), got {tuple(x.shape)}")
    if check_points:
        ball.check_points(x.movedim(1, -1), "x")


class GyroplaneLinear(torch.nn.Module):
    """Score points against ``out_features`` gyroplanes: (..., dim) -> (..., out_features) (eq. 5).

    Examples
    --------
    >>> layer = GyroplaneLinear(2, 4)
    >>> layer(torch.zeros(3, 2)).shape
    torch.Size([3, 4])
    """

    def __init__(self, dim: int, out_features: int, ball: PoincareBall | None = None):
        super().__init__()
        self.dim, self.out_features, self.ball = _check_features(dim, out_features, ball)
        self.planes = _Planes((out_features,), dim, self.ball)
        self.check_inputs = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"x must be a floating tensor shaped (..., {self.dim}), got {tuple(getattr(x, 'shape', ()))}")
        if self.check_inputs:
            self.ball.check_points(x, "x")
        p, a = self.planes.points_and_normals()  # (J, d)
        return self.ball.gyroplane(x, p, a)  # (..., J)


class GyroplaneConv3d(torch.nn.Module):
    r"""Gyroplane convolution (the paper's eq. 7) over a 3D grid of ball points.

    For each output channel :math:`j`,
    :math:`y_j[r,s,t] = \sum_{o \in \text{window}} f_{a_{j(,o)},\,p_{j(,o)}}(x[(r,s,t)\cdot\text{stride}
    - \text{padding} + o\cdot\text{dilation}])`, where padded positions contribute 0.

    Parameters
    ----------
    dim : int
        Dimension of the ball (input channels).
    out_channels : int
    kernel_size, stride, padding, dilation : int or (int, int, int)
        As in :class:`torch.nn.Conv3d`.
    per_offset : bool
        ``False``: one plane per output channel, shared by the window's offsets. ``True``: one plane
        per (output channel, kernel offset), which lets a single point be lifted to a grid (kernel
        ``g``, padding ``g - 1`` over a 1x1x1 input gives a ``g^3`` output).
    ball : PoincareBall

    Notes
    -----
    Shared planes: the scores are computed once per input voxel, zero-padded and box-summed by a
    grouped convolution with a kernel of ones. Per-offset planes: the valid (output, offset, input)
    triples are enumerated once per input shape (cached), the points gathered, scored against their
    offset's planes and scattered into the outputs with ``index_add``, so padding costs nothing.

    Examples
    --------
    >>> conv = GyroplaneConv3d(2, 8, kernel_size=3, padding=1)
    >>> conv(torch.zeros(1, 2, 5, 5, 5)).shape
    torch.Size([1, 8, 5, 5, 5])
    """

    def __init__(
        self,
        dim: int,
        out_channels: int,
        kernel_size: int | Triple,
        stride: int | Triple = 1,
        padding: int | Triple = 0,
        dilation: int | Triple = 1,
        per_offset: bool = False,
        ball: PoincareBall | None = None,
    ):
        super().__init__()
        if dim < 1 or out_channels < 1:
            raise ValueError(f"dim and out_channels must be >= 1, got {dim} and {out_channels}")
        self.dim, self.out_channels, self.per_offset = dim, out_channels, per_offset
        self.kernel_size = _triple(kernel_size, "kernel_size", minimum=1)
        self.stride = _triple(stride, "stride", minimum=1)
        self.padding = _triple(padding, "padding", minimum=0)
        self.dilation = _triple(dilation, "dilation", minimum=1)
        self.ball = ball if ball is not None else PoincareBall()
        n_offsets = math.prod(self.kernel_size)
        self.planes = _Planes((out_channels, n_offsets) if per_offset else (out_channels,), dim, self.ball)
        self.check_inputs = True  # models may switch the (synchronising) inside-the-ball check off
        self._pairs_cache: dict[tuple, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def extra_repr(self) -> str:
        return (
            f"{self.dim}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, per_offset={self.per_offset}"
        )

    def output_shape(self, spatial: tuple[int, int, int]) -> Triple:
        """Spatial output shape for an input of spatial shape ``spatial`` (as nn.Conv3d)."""
        out = tuple(
            (n + 2 * p - d * (k - 1) - 1) // s + 1
            for n, k, s, p, d in zip(spatial, self.kernel_size, self.stride, self.padding, self.dilation)
        )
        if min(out) < 1:
            raise ValueError(f"input of spatial shape {tuple(spatial)} is smaller than the kernel's extent for {self.extra_repr()}")
        return out  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_grid(x, self.dim, self.ball, self.check_inputs)
        spatial = tuple(x.shape[2:])
        out_shape = self.output_shape(spatial)  # type: ignore[arg-type]
        p, a = self.planes.points_and_normals()
        if self.per_offset:
            return self._forward_per_offset(x, p, a, out_shape)
        return self._forward_shared(x, p, a)

    def _forward_shared(self, x: torch.Tensor, p: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        scores = self.ball.gyroplane(x.movedim(1, -1), p, a).movedim(-1, 1)  # (B, J, D, H, W)
        pd, ph, pw = self.padding
        scores = F.pad(scores, (pw, pw, ph, ph, pd, pd))  # padded positions contribute 0
        ones = scores.new_ones(self.out_channels, 1, *self.kernel_size)
        return F.conv3d(scores, ones, stride=self.stride, dilation=self.dilation, groups=self.out_channels)

    def _pairs(self, spatial: tuple[int, ...], device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(input index, offset index, output index) of every valid window position, flattened."""
        key = (spatial, str(device))
        if key not in self._pairs_cache:
            out_shape = self.output_shape(spatial)  # type: ignore[arg-type]
            def grid(shape):
                axes = [torch.arange(n, device=device) for n in shape]
                return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
            outs, offsets = grid(out_shape), grid(self.kernel_size)  # (N_out, 3), (K, 3)
            stride, padding, dilation = (torch.tensor(v, device=device) for v in (self.stride, self.padding, self.dilation))
            pos = outs[:, None, :] * stride - padding + offsets[None, :, :] * dilation  # (N_out, K, 3)
            size = torch.tensor(spatial, device=device)
            valid = ((pos >= 0) & (pos < size)).all(dim=-1)  # (N_out, K)
            flat = (pos[..., 0] * spatial[1] + pos[..., 1]) * spatial[2] + pos[..., 2]
            out_idx, off_idx = valid.nonzero(as_tuple=True)
            self._pairs_cache[key] = (flat[out_idx, off_idx], off_idx, out_idx)
        return self._pairs_cache[key]

    def _forward_per_offset(self, x: torch.Tensor, p: torch.Tensor, a: torch.Tensor, out_shape: Triple) -> torch.Tensor:
        B = x.shape[0]
        in_idx, off_idx, out_idx = self._pairs(tuple(x.shape[2:]), x.device)
        points = x.flatten(2)[:, :, in_idx].unsqueeze(2)  # (B, d, 1, M)
        p, a = p[:, off_idx].permute(2, 0, 1), a[:, off_idx].permute(2, 0, 1)  # (d, J, M)
        # d is small: broadcast products summed over it beat batched matrix products of tiny matrices.
        scores = _gyroplane_from_products(
            xp=(points * p).sum(dim=1),  # (B, J, M)
            xa=(points * a).sum(dim=1),
            x2=points.pow(2).sum(dim=1),  # (B, 1, M)
            p2=p.pow(2).sum(dim=0),  # (J, M)
            pa=(p * a).sum(dim=0),
            a_norm=a.norm(dim=0),
            c=self.ball.c,
        )  # (B, J, M)
        y = scores.new_zeros(B, self.out_channels, math.prod(out_shape)).index_add(2, out_idx, scores)
        return y.view(B, self.out_channels, *out_shape)


class ReleasedGyroplaneLinear(torch.nn.Module):
    r"""The gyroplane layer of the authors' released experiment: (..., dim) -> (..., out_features).

    Each output j has a free weight :math:`w_j \in \mathbb R^d` and a scalar bias :math:`s_j`. The
    plane's normal is the bias point :math:`a_j = \exp_0(s_j w_j)` and its offset point the transported
    weight :math:`p_j = (1 - c|a_j|^2) w_j` (both along :math:`w_j`; ``p_j`` is projected onto the ball,
    which leaves it unchanged whenever it lies inside). The output is the signed distance
    :math:`\operatorname{sign}(\langle (-p)\oplus x, a\rangle) d(x, H_{a,p})`, without the
    :math:`\lambda_p|a|` factor of :class:`GyroplaneLinear`. Weights start as Kaiming normals
    (a = sqrt 5), biases uniform in :math:`\pm 4/\sqrt d`.

    Examples
    --------
    >>> layer = ReleasedGyroplaneLinear(2, 5)
    >>> layer(torch.zeros(3, 2)).shape
    torch.Size([3, 5])
    """

    def __init__(self, dim: int, out_features: int, ball: PoincareBall | None = None):
        super().__init__()
        self.dim, self.out_features, self.ball = _check_features(dim, out_features, ball)
        self.weight = torch.nn.Parameter(torch.empty(out_features, dim))
        self.bias = torch.nn.Parameter(torch.empty(out_features, 1))
        torch.nn.init.kaiming_normal_(self.weight, a=math.sqrt(5))
        bound = 4 / math.sqrt(dim)
        torch.nn.init.uniform_(self.bias, -bound, bound)

    def normals_and_points(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, p), each (out_features, dim)."""
        a = self.ball.expmap0(self.weight * self.bias)
        p = self.ball.project((1 - self.ball.c * a.pow(2).sum(-1, keepdim=True)) * self.weight)
        return a, p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, p = self.normals_and_points()  # (J, d) each
        return _plane_distance(x, p, a, self.ball.c)  # (..., J)
