r"""Poincare-ball math as functions (curvature ``-c``, ``c > 0``).

The ball is :math:`\mathbb{D}^d_c = \{x \in \mathbb{R}^d : c|x|^2 < 1\}` with the metric
:math:`\lambda_x^2 I`, :math:`\lambda_x = 2 / (1 - c|x|^2)` (Ganea, Becigneul, Hofmann 2018,
"Hyperbolic Neural Networks"; method.md section 2). Vocabulary: ``x, y`` points, ``u, v`` tangent
vectors, ``c`` the curvature magnitude (keyword-only, a float or a tensor), a ``0`` suffix for maps
at the origin. The last axis is the ball's dimension; all other axes broadcast.

Each public function validates its arguments and raises ``ValueError`` naming the argument; its
private twin (leading underscore) computes without checks and is what layers and models call in
their hot paths. Points returned by maps are projected strictly inside the ball, with the margin of
:func:`hypseg.geometry.constants.ball_eps`.

We write the formulas here instead of calling geoopt's kappa-stereographic functions because we only
need ``c > 0``: geoopt's sign-agnostic versions carry Taylor branches for ``k -> 0`` that cost time in
every call. ``tests/geometry`` checks that both agree.
"""

from __future__ import annotations

from typing import NamedTuple, Union

import torch

from hypseg.geometry.constants import TANGENT_CLIP, ball_eps, min_norm

Curvature = Union[float, torch.Tensor]

__all__ = [
    "lambda_x",
    "mobius_add",
    "project",
    "expmap0",
    "logmap0",
    "expmap",
    "logmap",
    "dist",
    "dist0",
    "cdist",
    "transp0",
    "transp0back",
    "clip_tangent",
    "gyroplane",
]


# ----------------------------------------------------------------------------------------- checks
def check_curvature(c: Curvature) -> None:
    """Raise ``ValueError`` unless ``c`` is a finite positive number (or tensor of them)."""
    value = torch.as_tensor(c).detach()
    if value.numel() == 0 or not bool(torch.all(torch.isfinite(value) & (value > 0))):
        shown = value.item() if value.numel() == 1 else value.tolist()
        raise ValueError(f"c must be a positive finite curvature magnitude, got {shown}")


def check_tensor(x: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a floating tensor with at least one axis."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{name} must have a floating dtype, got {x.dtype}")
    if x.dim() < 1:
        raise ValueError(f"{name} must have a last axis holding coordinates, got shape {tuple(x.shape)}")


def check_points(x: torch.Tensor, name: str, *, c: Curvature) -> None:
    """Raise ``ValueError`` unless every row of ``x`` is finite and strictly inside the ball."""
    check_tensor(x, name)
    if not bool(torch.all(torch.isfinite(x))):
        raise ValueError(f"{name} contains NaN or Inf")
    scaled = (x.detach().norm(dim=-1) * torch.as_tensor(c).detach() ** 0.5).max() if x.numel() else None
    if scaled is not None and scaled >= 1:
        raise ValueError(f"{name} has a point outside the ball: sqrt(c)*|x| = {scaled.item():.6g} >= 1")


def _check_same_dim(x: torch.Tensor, y: torch.Tensor, names: str) -> None:
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(f"{names} must have the same last axis, got shapes {tuple(x.shape)} and {tuple(y.shape)}")


# ----------------------------------------------------------------------------------- helpers
def _norm(x: torch.Tensor, keepdim: bool = True) -> torch.Tensor:
    """Euclidean norm over the last axis, clamped away from 0 so that ``x / |x|`` stays finite."""
    return x.norm(dim=-1, keepdim=keepdim).clamp_min(min_norm(x.dtype))


def _artanh(z: torch.Tensor) -> torch.Tensor:
    """``artanh`` with its argument clamped inside (-1, 1) for the dtype."""
    bound = 1.0 - torch.finfo(z.dtype).eps
    return torch.atanh(z.clamp(-bound, bound))


# ------------------------------------------------------------------------------- private twins
def _lambda_x(x: torch.Tensor, c: Curvature, keepdim: bool = True) -> torch.Tensor:
    return 2.0 / (1.0 - c * x.pow(2).sum(dim=-1, keepdim=keepdim)).clamp_min(min_norm(x.dtype))


def _mobius_add(x: torch.Tensor, y: torch.Tensor, c: Curvature) -> torch.Tensor:
    x2 = x.pow(2).sum(dim=-1, keepdim=True)
    y2 = y.pow(2).sum(dim=-1, keepdim=True)
    xy = (x * y).sum(dim=-1, keepdim=True)
    num = (1 + 2 * c * xy + c * y2) * x + (1 - c * x2) * y
    den = 1 + 2 * c * xy + c**2 * x2 * y2
    return num / den.clamp_min(min_norm(x.dtype))


def _project(x: torch.Tensor, c: Curvature) -> torch.Tensor:
    norm = _norm(x)
    max_norm = (1.0 - ball_eps(x.dtype)) / c**0.5
    return torch.where(norm > max_norm, x / norm * max_norm, x)


def _expmap0(u: torch.Tensor, c: Curvature) -> torch.Tensor:
    sqrt_c = c**0.5
    norm = _norm(u)
    return _project(torch.tanh(sqrt_c * norm) * u / (sqrt_c * norm), c)


def _logmap0(y: torch.Tensor, c: Curvature) -> torch.Tensor:
    sqrt_c = c**0.5
    norm = _norm(y)
    return _artanh(sqrt_c * norm) * y / (sqrt_c * norm)


def _expmap(x: torch.Tensor, u: torch.Tensor, c: Curvature) -> torch.Tensor:
    sqrt_c = c**0.5
    norm = _norm(u)
    step = torch.tanh(sqrt_c * _lambda_x(x, c) * norm / 2) * u / (sqrt_c * norm)
    return _project(_mobius_add(x, step, c), c)


def _logmap(x: torch.Tensor, y: torch.Tensor, c: Curvature) -> torch.Tensor:
    sqrt_c = c**0.5
    w = _mobius_add(-x, y, c)
    norm = _norm(w)
    return 2.0 / (sqrt_c * _lambda_x(x, c)) * _artanh(sqrt_c * norm) * w / norm


def _dist(x: torch.Tensor, y: torch.Tensor, c: Curvature, keepdim: bool = False) -> torch.Tensor:
    sqrt_c = c**0.5
    return 2.0 / sqrt_c * _artanh(sqrt_c * _norm(_mobius_add(-x, y, c), keepdim=keepdim))


def _dist0(x: torch.Tensor, c: Curvature, keepdim: bool = False) -> torch.Tensor:
    sqrt_c = c**0.5
    return 2.0 / sqrt_c * _artanh(sqrt_c * _norm(x, keepdim=keepdim))


def _cdist(x: torch.Tensor, y: torch.Tensor, c: Curvature) -> torch.Tensor:
    # |(-x) (+) y|^2 = |x - y|^2 / (|x - y|^2 + (1 - c|x|^2)(1 - c|y|^2) / c) for every pair, with
    # |x - y|^2 from one matrix product.
    x2 = x.pow(2).sum(dim=-1, keepdim=True)  # (..., N, 1)
    y2 = y.pow(2).sum(dim=-1).unsqueeze(-2)  # (..., 1, K)
    diff2 = (x2 + y2 - 2 * x @ y.transpose(-1, -2)).clamp_min(0)  # (..., N, K)
    margin = (1 - c * x2) * (1 - c * y2)
    sqrt_c = c**0.5
    return 2.0 / sqrt_c * _artanh((c * diff2 / (c * diff2 + margin)).sqrt())


def _transp0(x: torch.Tensor, u: torch.Tensor, c: Curvature) -> torch.Tensor:
    return u * (1 - c * x.pow(2).sum(dim=-1, keepdim=True))


def _transp0back(x: torch.Tensor, u: torch.Tensor, c: Curvature) -> torch.Tensor:
    return u / (1 - c * x.pow(2).sum(dim=-1, keepdim=True)).clamp_min(min_norm(x.dtype))


def _clip_tangent(u: torch.Tensor, c: Curvature, max_norm: float = TANGENT_CLIP) -> torch.Tensor:
    limit = max_norm / c**0.5
    return u * (limit / _norm(u)).clamp_max(1.0)


class _PlaneArgument(NamedTuple):
    """The arsinh argument of a plane score and the clamped factors the score reuses."""

    arg: torch.Tensor
    big_b: torch.Tensor  # 1 - c|p|^2, clamped
    a_norm: torch.Tensor  # |a|, clamped


def _plane_argument(
    xp: torch.Tensor, xa: torch.Tensor, x2: torch.Tensor, p2: torch.Tensor, pa: torch.Tensor, a_norm: torch.Tensor, c: Curvature
) -> _PlaneArgument:
    r"""The argument of the arsinh in the distance to gyroplanes, from inner products only (all broadcast).

    With :math:`w = (-p) \oplus x`, :math:`A = 1 - 2c\langle p,x\rangle + c|x|^2` and
    :math:`B = 1 - c|p|^2`, Mobius addition gives :math:`\langle w,a\rangle = (B\langle x,a\rangle
    - A\langle p,a\rangle)/\delta` and :math:`1 - c|w|^2 = B(1 - c|x|^2)/\delta`, so the denominator
    :math:`\delta` cancels in

    .. math:: \sqrt c\, d_\pm(x, H_{a,p}) = \operatorname{arsinh}\Big(
              \frac{2\sqrt c\,(B\langle x,a\rangle - A\langle p,a\rangle)}{B\,(1 - c|x|^2)\,|a|}\Big).

    ``xp = <x,p>``, ``xa = <x,a>``, ``x2 = |x|^2``, ``p2 = |p|^2``, ``pa = <p,a>``, ``a_norm = |a|``.
    Each factor is computed once: the gyroplane score's backward pass then sums its gradients in one
    fixed order, which keeps trained weights reproducible.
    """
    tiny = min_norm(xp.dtype)
    big_a = 1 - 2 * c * xp + c * x2
    big_b = (1 - c * p2).clamp_min(tiny)
    inside = (1 - c * x2).clamp_min(tiny)
    a_norm = a_norm.clamp_min(tiny)
    arg = 2 * c**0.5 * (big_b * xa - big_a * pa) / (big_b * inside * a_norm)
    return _PlaneArgument(arg, big_b, a_norm)


def _gyroplane_from_products(**products) -> torch.Tensor:
    r"""Signed, scaled distance :math:`f = \lambda_p|a|\, d_\pm(x, H_{a,p})` to gyroplanes from the inner
    products of :func:`_plane_argument` (same keywords, and ``c``)."""
    c = products["c"]
    arg, big_b, a_norm = _plane_argument(**products)
    return 2 * a_norm / (big_b * c**0.5) * torch.asinh(arg)


def _plane_distance_from_products(**products) -> torch.Tensor:
    r"""Signed distance :math:`d_\pm(x, H_{a,p})`, the score of :func:`_gyroplane_from_products` without
    its :math:`\lambda_p|a|` factor."""
    return torch.asinh(_plane_argument(**products).arg) / products["c"] ** 0.5


def _plane_products(x: torch.Tensor, p: torch.Tensor, a: torch.Tensor) -> dict[str, torch.Tensor]:
    """The inner products that the plane scores take, for x (..., d) and planes p, a (K, d)."""
    return {
        "xp": x @ p.transpose(0, 1),
        "xa": x @ a.transpose(0, 1),
        "x2": x.pow(2).sum(dim=-1, keepdim=True),
        "p2": p.pow(2).sum(dim=-1),
        "pa": (p * a).sum(dim=-1),
        "a_norm": a.norm(dim=-1),
    }


def _gyroplane(x: torch.Tensor, p: torch.Tensor, a: torch.Tensor, c: Curvature) -> torch.Tensor:
    # x (..., d); p, a (K, d) -> (..., K)
    return _gyroplane_from_products(**_plane_products(x, p, a), c=c)


def _plane_distance(x: torch.Tensor, p: torch.Tensor, a: torch.Tensor, c: Curvature) -> torch.Tensor:
    # x (..., d); p, a (K, d) -> (..., K): signed distances, without the lambda_p |a| factor
    return _plane_distance_from_products(**_plane_products(x, p, a), c=c)


# ------------------------------------------------------------------------------ public functions
def lambda_x(x: torch.Tensor, *, c: Curvature = 1.0, keepdim: bool = True) -> torch.Tensor:
    r"""Conformal factor :math:`\lambda_x = 2 / (1 - c|x|^2)`.

    >>> lambda_x(torch.zeros(2)).item()
    2.0
    """
    check_curvature(c)
    check_points(x, "x", c=c)
    return _lambda_x(x, c, keepdim=keepdim)


def mobius_add(x: torch.Tensor, y: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Mobius addition (Ganea et al. 2018, eq. 2)

    .. math:: x \oplus_c y = \frac{(1 + 2c\langle x,y\rangle + c|y|^2)x + (1 - c|x|^2)y}
                                  {1 + 2c\langle x,y\rangle + c^2|x|^2|y|^2}.

    It is not commutative; the left cancellation law :math:`(-x) \oplus (x \oplus y) = y` holds.
    The result is projected (rounding can otherwise carry it onto the boundary); the private twin
    ``_mobius_add`` is the raw formula.

    >>> mobius_add(torch.tensor([0.0, 0.0]), torch.tensor([0.5, 0.0])).tolist()
    [0.5, 0.0]
    """
    check_curvature(c)
    check_points(x, "x", c=c)
    check_points(y, "y", c=c)
    _check_same_dim(x, y, "x and y")
    return _project(_mobius_add(x, y, c), c)


def project(x: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Pull points back to :math:`|x| \le (1 - \epsilon)/\sqrt c` (``epsilon`` from the dtype)."""
    check_curvature(c)
    check_tensor(x, "x")
    return _project(x, c)


def expmap0(u: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Exponential map at the origin :math:`\exp_0(u) = \tanh(\sqrt c|u|)\,u/(\sqrt c|u|)`, projected.

    Beyond :math:`\sqrt c|u| \approx 3.1` float32 saturates at the projection radius; clip with
    :func:`clip_tangent` first when ``logmap0`` must invert it.
    """
    check_curvature(c)
    check_tensor(u, "u")
    return _expmap0(u, c)


def logmap0(y: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Logarithmic map at the origin :math:`\log_0(y) = \operatorname{artanh}(\sqrt c|y|)\,y/(\sqrt c|y|)`."""
    check_curvature(c)
    check_points(y, "y", c=c)
    return _logmap0(y, c)


def expmap(x: torch.Tensor, u: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Exponential map :math:`\exp_x(u) = x \oplus (\tanh(\sqrt c\lambda_x|u|/2)\,u/(\sqrt c|u|))`, projected."""
    check_curvature(c)
    check_points(x, "x", c=c)
    check_tensor(u, "u")
    _check_same_dim(x, u, "x and u")
    return _expmap(x, u, c)


def logmap(x: torch.Tensor, y: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Logarithmic map :math:`\log_x(y) = \frac{2}{\sqrt c\lambda_x}\operatorname{artanh}(\sqrt c|w|)\,w/|w|`,
    :math:`w = (-x)\oplus y`."""
    check_curvature(c)
    check_points(x, "x", c=c)
    check_points(y, "y", c=c)
    _check_same_dim(x, y, "x and y")
    return _logmap(x, y, c)


def dist(x: torch.Tensor, y: torch.Tensor, *, c: Curvature = 1.0, keepdim: bool = False) -> torch.Tensor:
    r"""Geodesic distance :math:`d_c(x,y) = \frac{2}{\sqrt c}\operatorname{artanh}(\sqrt c|(-x)\oplus y|)`.

    For ``c = 1`` it equals :math:`\operatorname{arccosh}(1 + 2|x-y|^2/((1-|x|^2)(1-|y|^2)))`.

    >>> round(dist(torch.zeros(2), torch.tensor([0.5, 0.0])).item(), 6)  # 2 artanh(0.5)
    1.098612
    """
    check_curvature(c)
    check_points(x, "x", c=c)
    check_points(y, "y", c=c)
    _check_same_dim(x, y, "x and y")
    return _dist(x, y, c, keepdim=keepdim)


def dist0(x: torch.Tensor, *, c: Curvature = 1.0, keepdim: bool = False) -> torch.Tensor:
    r"""Distance from the origin :math:`\frac{2}{\sqrt c}\operatorname{artanh}(\sqrt c|x|)`."""
    check_curvature(c)
    check_points(x, "x", c=c)
    return _dist0(x, c, keepdim=keepdim)


def cdist(x: torch.Tensor, y: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""All pairwise distances between ``x`` (..., N, d) and ``y`` (..., K, d), shaped (..., N, K).

    Uses :math:`|(-x)\oplus y|^2 = c|x-y|^2 / (c|x-y|^2 + (1-c|x|^2)(1-c|y|^2))` (times ``1/c``), so
    that the only ``O(NK d)`` work is one matrix product. Not differentiable where ``x == y``.
    """
    check_curvature(c)
    check_points(x, "x", c=c)
    check_points(y, "y", c=c)
    _check_same_dim(x, y, "x and y")
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError(f"x and y must be (..., N, d) and (..., K, d), got shapes {tuple(x.shape)} and {tuple(y.shape)}")
    return _cdist(x, y, c)


def transp0(x: torch.Tensor, u: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Parallel transport from the origin to ``x``: :math:`u \mapsto (\lambda_0/\lambda_x) u = (1 - c|x|^2)u`."""
    check_curvature(c)
    check_points(x, "x", c=c)
    check_tensor(u, "u")
    _check_same_dim(x, u, "x and u")
    return _transp0(x, u, c)


def transp0back(x: torch.Tensor, u: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Parallel transport from ``x`` to the origin: :math:`u \mapsto u / (1 - c|x|^2)`."""
    check_curvature(c)
    check_points(x, "x", c=c)
    check_tensor(u, "u")
    _check_same_dim(x, u, "x and u")
    return _transp0back(x, u, c)


def clip_tangent(u: torch.Tensor, *, c: Curvature = 1.0, max_norm: float = TANGENT_CLIP) -> torch.Tensor:
    r"""Rescale tangent vectors so that :math:`\sqrt c|u| \le` ``max_norm`` (default :data:`TANGENT_CLIP`).

    Applied before :func:`expmap0` it keeps points where float32 can still invert the map.

    >>> round(clip_tangent(torch.tensor([30.0, 40.0])).norm().item(), 5)
    3.0
    """
    check_curvature(c)
    check_tensor(u, "u")
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    return _clip_tangent(u, c, max_norm)


def gyroplane(x: torch.Tensor, p: torch.Tensor, a: torch.Tensor, *, c: Curvature = 1.0) -> torch.Tensor:
    r"""Signed distance of points to gyroplanes, scaled by the normal's norm (Ganea et al. 2018, eq. 25):

    .. math:: f_{a,p}(x) = \operatorname{sign}(\langle w,a\rangle)\,\lambda_p|a|\,d_c(x, H_{a,p}),\quad
              d_c(x, H_{a,p}) = \frac{1}{\sqrt c}\operatorname{arsinh}
              \frac{2\sqrt c|\langle w,a\rangle|}{(1 - c|w|^2)|a|},\quad w = (-p)\oplus x.

    Parameters
    ----------
    x : (..., d) points.
    p : (K, d) points on the planes.
    a : (K, d) normals, tangent vectors at ``p``.

    Returns
    -------
    (..., K) tensor.
    """
    check_curvature(c)
    check_points(x, "x", c=c)
    check_points(p, "p", c=c)
    check_tensor(a, "a")
    if p.dim() != 2 or a.shape != p.shape:
        raise ValueError(f"p and a must both be (K, d), got shapes {tuple(p.shape)} and {tuple(a.shape)}")
    _check_same_dim(x, p, "x and p")
    return _gyroplane(x, p, a, c)
