r"""Weighted Fréchet mean on the Poincaré ball, batched over groups.

The Fréchet (Karcher) mean of points :math:`x_1..x_N` with weights :math:`w_l \ge 0` is

.. math:: \mu = \operatorname{argmin}_y \sum_l w_l\, d_c(y, x_l)^2,

unique on the ball (the objective is strictly geodesically convex). It is computed with the
fixed-point iteration of Lou, Katsman, Jiang, Belongie, Lim & De Sa 2020, "Differentiating through
the Fréchet Mean" (ICML; Algorithm 1, the Poincaré ball of curvature -1; method.md §7): with

.. math:: g(t) = \frac{2\operatorname{arccosh}(1 + 2t)}{\sqrt{t^2 + t}}
              = \frac{4\operatorname{arsinh}\sqrt t}{\sqrt t\,\sqrt{1 + t}}, \qquad g(0) = 4,

.. math:: \alpha_l = w_l\, \frac{g\big(|x_l - y|^2 / ((1 - |x_l|^2)(1 - |y|^2))\big)}{1 - |x_l|^2},\quad
          a = \sum_l \alpha_l,\quad b = \sum_l \alpha_l x_l,\quad s = \sum_l \alpha_l |x_l|^2,

.. math:: y \leftarrow \frac{(a + s) - \sqrt{(a + s)^2 - 4|b|^2}}{2|b|^2}\, b
                     = \frac{2}{(a + s) + \sqrt{(a + s)^2 - 4|b|^2}}\, b .

The second form of the update is the same number without the cancellation (and the 0/0 at
``b = 0``); ``(a + s)^2 >= 4|b|^2`` by Cauchy-Schwarz. Near ``t = 0`` we use the series
``g(t) = 4 - 8t/3 + 32t^2/15 + O(t^3)``.

**Other curvatures.** Lou et al. state the iteration for ``c = 1``. Since
``d_c(x, y) = d_1(sqrt(c) x, sqrt(c) y) / sqrt(c)``, the objective for curvature ``-c`` is
``1/c`` times the ``c = 1`` objective of the rescaled points ``sqrt(c) x_l``. We therefore rescale the
points by ``sqrt(c)`` into the unit ball, run the ``c = 1`` iteration there, and scale the result
back by ``1/sqrt(c)``.

Groups: every point carries a group index (``labels``); all groups are updated together by
segment sums (``index_add_``), in row chunks so that memory stays bounded, with float64
accumulation. There is no Python loop over groups or points.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np
import torch

from hypseg.errors import UserError

from ._kernel import asinh_sqrt, sq_euclid_rows
from ._validation import as_tensor, check_curvature, check_points, check_weights
from .exceptions import ConvergenceWarning

__all__ = ["frechet_mean"]

#: Below this ``t`` the series of ``g`` is used (error ~ t^3, below the dtype's resolution).
_G_SERIES_BELOW = {torch.float64: 1e-5, torch.float32: 1e-2}

#: Default stopping tolerance on the length of a step (unit-ball distance), per dtype.
_DEFAULT_TOL = {torch.float64: 1e-12, torch.float32: 1e-5}

#: Steps without a new smallest step after which rounding is taken to have stopped the iteration.
_STALL_STEPS = 8

#: Rows per chunk in the segment sums.
_CHUNK = 1 << 16


class FrechetResult(NamedTuple):
    """Result of the private iteration: means (G, d) in unit-ball coordinates, iterations, success."""

    mean: torch.Tensor
    n_iter: int
    converged: bool


def g(t: torch.Tensor, asinh_root: torch.Tensor | None = None) -> torch.Tensor:
    r"""Lou et al.'s weight function :math:`g(t) = 2\operatorname{arccosh}(1+2t)/\sqrt{t^2+t}`, g(0) = 4.

    Evaluated as ``4 asinh(sqrt t) / (sqrt t sqrt(1 + t))`` and by its series
    ``4 - 8t/3 + 32t^2/15`` for small ``t``. ``asinh_root``, if given, is ``asinh(sqrt(t))``
    already computed by the caller.

    >>> g(torch.tensor([0.0, 1e-12, 1.0], dtype=torch.float64)).tolist()  # doctest: +ELLIPSIS
    [4.0, 3.99999999999..., 2.49...]
    """
    small = _G_SERIES_BELOW.get(t.dtype, 1e-2)
    series = 4.0 + t * (-8.0 / 3.0 + t * (32.0 / 15.0))
    safe = t.clamp_min(small)
    root = safe.sqrt()
    num = asinh_sqrt(safe) if asinh_root is None else asinh_root
    exact = 4.0 * num / (root * (1.0 + safe).sqrt())
    return torch.where(t < small, series, exact)


def moments(
    xs: torch.Tensor,
    x2: torch.Tensor,
    inv_mx: torch.Tensor,
    w: torch.Tensor | None,
    labels: torch.Tensor,
    t: torch.Tensor,
    out: torch.Tensor,
    asinh_root: torch.Tensor | None = None,
) -> None:
    """Add one chunk's ``[a, b_1..b_d, s]`` to ``out`` (G, d + 2) float64 (see the module docstring).

    ``xs`` (n, d) unit-ball points, ``x2`` (n,) their squared norms, ``inv_mx`` (n,) ``1/(1-|xs|^2)``,
    ``w`` (n,) weights or None, ``labels`` (n,) group of each point, ``t`` (n,) of each point to its
    group's current mean; ``asinh_root`` optionally ``asinh(sqrt(t))``. The segment sums are
    weighted ``torch.bincount`` calls, one per column (``index_add_`` of all columns when d > 8),
    accumulated in float64.
    """
    alpha = g(t, asinh_root) * inv_mx  # (n,)
    if w is not None:
        alpha = alpha * w
    k, d = out.shape[0], xs.shape[1]
    alpha64 = alpha.to(torch.float64)
    if d > 8:  # one segment sum of all columns
        rows = torch.cat([alpha64[:, None], alpha64[:, None] * xs, (alpha64 * x2)[:, None]], dim=1)
        out.index_add_(0, labels, rows)
        return
    # few columns: one weighted bincount per column is faster than index_add_ on CPU
    out[:, 0] += torch.bincount(labels, weights=alpha64, minlength=k)
    for j in range(d):
        out[:, 1 + j] += torch.bincount(labels, weights=alpha64 * xs[:, j], minlength=k)
    out[:, -1] += torch.bincount(labels, weights=alpha64 * x2, minlength=k)


def update(m: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """One fixed-point update from the moments ``m`` (G, d + 2); groups with ``a = 0`` keep ``ys``."""
    a, b, s = m[:, 0], m[:, 1:-1], m[:, -1]  # (G,), (G, d), (G,)
    big = a + s
    disc = (big * big - 4.0 * b.pow(2).sum(dim=1)).clamp_min(0.0)
    coef = 2.0 / (big + disc.sqrt()).clamp_min(torch.finfo(torch.float64).tiny)
    new = (coef[:, None] * b).to(ys.dtype)
    # Mathematically |new| < 1; keep it so in floating point.
    limit = 1.0 - torch.finfo(ys.dtype).eps * 4
    norm = new.norm(dim=1, keepdim=True)
    new = torch.where(norm > limit, new * (limit / norm.clamp_min(limit)), new)
    return torch.where((a > 0)[:, None], new, ys)


def unit_dist(y_old: torch.Tensor, y_new: torch.Tensor) -> torch.Tensor:
    """Unit-ball distances between corresponding rows (float64)."""
    y_old, y_new = y_old.to(torch.float64), y_new.to(torch.float64)
    num = sq_euclid_rows(y_old, y_new)
    den = (1.0 - y_old.pow(2).sum(dim=1)) * (1.0 - y_new.pow(2).sum(dim=1))
    return 2.0 * asinh_sqrt(num / den)


def moments_pass(
    xs: torch.Tensor,
    x2: torch.Tensor,
    inv_mx: torch.Tensor,
    w: torch.Tensor | None,
    labels: torch.Tensor,
    ys: torch.Tensor,
    chunk: int = _CHUNK,
) -> torch.Tensor:
    """Moments of all groups about the current means ``ys`` (G, d), chunk by chunk: (G, d + 2) float64."""
    n_groups, d = ys.shape
    inv_my = 1.0 / (1.0 - ys.pow(2).sum(dim=1))  # (G,)
    out = torch.zeros(n_groups, d + 2, dtype=torch.float64, device=xs.device)
    for start in range(0, xs.shape[0], chunk):
        sl = slice(start, start + chunk)
        lab = labels[sl]
        t = sq_euclid_rows(xs[sl], ys[lab]) * inv_mx[sl] * inv_my[lab]
        moments(xs[sl], x2[sl], inv_mx[sl], None if w is None else w[sl], lab, t, out)
    return out


def frechet_mean_unit(
    xs: torch.Tensor,
    w: torch.Tensor | None,
    labels: torch.Tensor,
    init: torch.Tensor,
    *,
    max_iter: int,
    tol: float,
    chunk: int = _CHUNK,
) -> FrechetResult:
    """Iterate Lou et al.'s update in the unit ball until every group's step is at most ``tol``."""
    x2 = xs.to(torch.float64).pow(2).sum(dim=1)
    inv_mx = (1.0 / (1.0 - x2)).to(xs.dtype)
    x2 = x2.to(xs.dtype)
    ys = init
    best, since_best = math.inf, 0
    for it in range(1, max_iter + 1):
        new = update(moments_pass(xs, x2, inv_mx, w, labels, ys, chunk), ys)
        step = float(unit_dist(ys, new).max())
        ys = new
        if step <= tol:
            return FrechetResult(mean=ys, n_iter=it, converged=True)
        # The iteration converges linearly, so the steps shrink until rounding takes over; a run of
        # steps without a new smallest one means the dtype's floor is reached.
        if step < best:
            best, since_best = step, 0
        else:
            since_best += 1
            if since_best >= _STALL_STEPS:
                return FrechetResult(mean=ys, n_iter=it, converged=True)
    return FrechetResult(mean=ys, n_iter=max_iter, converged=False)


def frechet_mean(
    x: Any,
    weights: Any = None,
    *,
    c: float = 1.0,
    labels: Any = None,
    n_groups: int | None = None,
    max_iter: int = 1000,
    tol: float | None = None,
) -> Any:
    r"""Weighted Fréchet mean on the Poincaré ball of curvature ``-c``, for one or many groups.

    Minimises :math:`\sum_l w_l d_c(y, x_l)^2` with the fixed-point iteration of Lou et al. 2020
    (ICML, "Differentiating through the Fréchet Mean", Algorithm 1), generalised to curvature ``-c``
    by rescaling the points by ``sqrt(c)`` to the unit ball, iterating there with ``c = 1`` and
    scaling the result back by ``1/sqrt(c)`` (see the module docstring for the formulas).

    Parameters
    ----------
    x : torch.Tensor or numpy.ndarray, shape (N, d) or (..., N, d)
        Points strictly inside the ball ``c|x|^2 < 1``.
    weights : array_like, shape like ``x`` without its last axis, optional
        Non-negative weights (default all 1). Every group needs a positive total weight.
    c : float, default 1.0
        Curvature magnitude (keyword-only).
    labels : array_like of int, shape (N,), optional
        Group index of each point (``x`` must then be (N, d)). All groups' means are computed in
        one vectorised iteration.
    n_groups : int, optional
        Number of groups (default ``labels.max() + 1``); every group must have a point.
    max_iter : int, default 1000
        Iteration cap; a :class:`~hypseg.clustering.ConvergenceWarning` is issued if it is reached.
    tol : float, optional
        Stop when no group's mean moves by more than ``tol`` (distance in the unit ball, i.e.
        ``sqrt(c)`` times the distance at curvature ``-c``). Default 1e-12 for float64, 1e-5 for
        float32. The iteration also stops, as converged, when rounding keeps the steps from
        shrinking (8 steps in a row without a new smallest step), which happens for means within
        about 1e-3 of the boundary.

    Returns
    -------
    Same type as ``x`` (tensor or ndarray)
        (d,) for (N, d) input; (G, d) with ``labels``; (..., d) for batched (..., N, d) input.

    Raises
    ------
    UserError
        Empty input, non-finite points, points outside the ball, bad weights (wrong shape, negative,
        non-finite, zero total in a group), bad labels (not 1-D of length N, out of range, an empty
        group), or a bad ``c``.

    Examples
    --------
    The mean of one point is the point; the mean of ``x`` and ``-x`` is the origin:

    >>> x = torch.tensor([[0.3, -0.2]], dtype=torch.float64)
    >>> frechet_mean(x).tolist()
    [0.3, -0.2]
    >>> frechet_mean(torch.cat([x, -x])).abs().max().item() < 1e-15
    True

    Two groups at once:

    >>> pts = torch.tensor([[0.1, 0.0], [0.3, 0.0], [0.0, 0.5]], dtype=torch.float64)
    >>> frechet_mean(pts, labels=torch.tensor([0, 0, 1])).shape
    torch.Size([2, 2])
    """
    c = check_curvature(c)
    is_numpy = not isinstance(x, torch.Tensor)
    xt = as_tensor(x, name="x")
    if xt.dim() < 2:
        raise UserError(f"x must have shape (N, d) or (..., N, d), got shape {tuple(xt.shape)}")
    check_points(xt, name="x", c=c)
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise UserError(f"max_iter must be a positive integer, got {max_iter!r}")
    batch_shape, n, d = tuple(xt.shape[:-2]), xt.shape[-2], xt.shape[-1]
    w = None if weights is None else check_weights(weights, shape=tuple(xt.shape[:-1]), like=xt, name="weights")

    if labels is not None:
        if batch_shape:
            raise UserError(f"labels need x of shape (N, d), got shape {tuple(xt.shape)}")
        lab = as_tensor(labels, name="labels") if not isinstance(labels, torch.Tensor) else labels
        if lab.is_floating_point() and not bool((lab == lab.round()).all()):
            raise UserError("labels must be integers")
        lab = lab.to(device=xt.device, dtype=torch.int64)
        if tuple(lab.shape) != (n,):
            raise UserError(f"labels must have shape ({n},), got {tuple(lab.shape)}")
        if bool((lab < 0).any()):
            raise UserError("labels must be non-negative")
        top = int(lab.max()) + 1
        groups = top if n_groups is None else int(n_groups)
        if top > groups:
            raise UserError(f"labels must be < n_groups={groups}, got {top - 1}")
        flat_x, flat_w = xt, w
    else:
        groups = int(np.prod(batch_shape)) if batch_shape else 1
        flat_x = xt.reshape(groups * n, d)
        flat_w = None if w is None else w.reshape(groups * n)
        lab = torch.arange(groups, device=xt.device).repeat_interleave(n)

    total = torch.zeros(groups, dtype=torch.float64, device=xt.device)
    total.index_add_(0, lab, torch.ones_like(lab, dtype=torch.float64) if flat_w is None else flat_w.to(torch.float64))
    if bool((total <= 0).any()):
        empty = int(torch.nonzero(total <= 0)[0, 0])
        raise UserError(f"group {empty} has no points with positive weight")

    xs = flat_x * math.sqrt(c)  # unit-ball coordinates
    # Start at the weighted Euclidean mean of each group (inside the ball by convexity).
    sums = torch.zeros(groups, d + 1, dtype=torch.float64, device=xt.device)
    ww = torch.ones(flat_x.shape[0], dtype=torch.float64, device=xt.device) if flat_w is None else flat_w.to(torch.float64)
    sums.index_add_(0, lab, torch.cat([ww[:, None], ww[:, None] * xs.to(torch.float64)], dim=1))
    init = (sums[:, 1:] / sums[:, :1]).to(xs.dtype)

    if tol is None:
        tol = _DEFAULT_TOL.get(xs.dtype, 1e-5)
    res = frechet_mean_unit(xs, flat_w, lab, init, max_iter=max_iter, tol=float(tol))
    if not res.converged:
        warnings.warn(
            f"frechet_mean stopped after max_iter={max_iter} iterations before its tolerance {tol:g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    mean = res.mean / math.sqrt(c)
    if labels is None:
        mean = mean.reshape(*batch_shape, d) if batch_shape else mean.reshape(d)
    if is_numpy:
        return mean.cpu().numpy()
    return mean.to(x.device) if isinstance(x, torch.Tensor) else mean
