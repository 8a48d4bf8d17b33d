r"""Distance kernels of the k-means hot path (working coordinates, chunk by chunk).

Hyperbolic k-means works in *unit-ball coordinates*: a point ``x`` of the ball of curvature ``-c``
is stored as ``xs = sqrt(c) x``, which lies in the unit ball, because

.. math:: d_c(x, y) = \frac{1}{\sqrt c}\, d_1(\sqrt c\, x, \sqrt c\, y)

(the map ``x -> sqrt(c) x`` is an isometry up to the factor ``1/sqrt(c)``; method.md §2). In the unit
ball the distance is (method.md §2; Nickel & Kiela 2017)

.. math:: d_1(x, y) = \operatorname{arccosh}(1 + 2t) = 2\operatorname{arsinh}\sqrt t,
          \qquad t = \frac{|x - y|^2}{(1 - |x|^2)(1 - |y|^2)},

and the ``arsinh`` form keeps full precision for small ``t``. Because ``(1 - |x|^2)`` is common to a
point's distances to all centres and ``t`` is increasing in ``d``, the nearest centre is the
``argmin_k |x - y_k|^2 / (1 - |y_k|^2)``: only that quantity is formed for every (point, centre)
pair; the transcendental functions run once per point. ``|x - y_k|^2`` is accumulated coordinate by
coordinate from exact differences when ``d <= 8`` (no cancellation, which matters near the
boundary), and through one matrix product otherwise, followed by an exact recomputation for the
winning centre. Callers loop over row chunks so that the ``(n, K)`` temporaries stay bounded.

These are private helpers: inputs are trusted (validated by the estimator).
"""

from __future__ import annotations

import torch

__all__: list[str] = []

#: Up to this many coordinates, squared distances are accumulated from exact differences.
_DIRECT_MAX_DIM = 8


def sq_euclid_all(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances of every row of ``x`` (n, d) to every row of ``y`` (K, d): (n, K)."""
    n, d = x.shape
    if d <= _DIRECT_MAX_DIM:
        acc = None
        for j in range(d):
            diff = x[:, j : j + 1] - y[:, j]  # (n, K)
            acc = diff * diff if acc is None else acc.addcmul_(diff, diff)
        return acc
    x2 = x.pow(2).sum(dim=1, keepdim=True)  # (n, 1)
    y2 = y.pow(2).sum(dim=1)  # (K,)
    return torch.addmm(y2 + x2, x, y.t(), alpha=-2.0).clamp_min_(0.0)


def sq_euclid_rows(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distance of each row of ``x`` (n, d) to the same row of ``y`` (n, d): (n,)."""
    return (x - y).pow(2).sum(dim=1)


def asinh_sqrt(t: torch.Tensor) -> torch.Tensor:
    r""":math:`\operatorname{arsinh}\sqrt t = \log(1 + \sqrt t + t / (1 + \sqrt{1 + t}))` for ``t >= 0``.

    The ``log1p`` form is exact in exact arithmetic (``sqrt(1+t) - 1 = t / (1 + sqrt(1+t))``), keeps
    full relative precision for small ``t``, and is several times faster than ``torch.asinh`` on
    CPU, where the latter is not vectorised.

    >>> x = torch.tensor([0.0, 1e-12, 0.3, 1e6], dtype=torch.float64)
    >>> bool(torch.allclose(asinh_sqrt(x), torch.asinh(x.sqrt()), rtol=1e-15, atol=0))
    True
    """
    t = t.clamp_min(0.0)
    return torch.log1p(t.sqrt() + t / (1.0 + (1.0 + t).sqrt()))


def t_to_sqdist(t: torch.Tensor) -> torch.Tensor:
    r"""Squared unit-ball distance from ``t``: :math:`d_1^2 = (2\operatorname{arsinh}\sqrt t)^2`."""
    return (2.0 * asinh_sqrt(t)).pow(2)


def nearest_t(
    xs: torch.Tensor,
    inv_mx: torch.Tensor,
    ys: torch.Tensor,
    inv_my: torch.Tensor,
    prev: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Nearest centre of each point of a chunk, in unit-ball coordinates.

    Parameters
    ----------
    xs : (n, d) points; ``inv_mx`` (n,) their ``1 / (1 - |xs|^2)``.
    ys : (K, d) centres; ``inv_my`` (K,) their ``1 / (1 - |ys|^2)``.
    prev : (n,) int64 labels or None
        If given, ``t`` of every point to the centre ``prev`` names is returned as well.

    Returns
    -------
    labels : (n,) int64, the nearest centre.
    t : (n,) ``t`` to the nearest centre (see the module docstring).
    t_prev : (n,) ``t`` to the centre ``prev[i]``, or None.
    """
    q = sq_euclid_all(xs, ys).mul_(inv_my)  # (n, K), |x - y_k|^2 / (1 - |y_k|^2)
    q_min, labels = q.min(dim=1)
    exact = xs.shape[1] <= _DIRECT_MAX_DIM
    if not exact:
        q_min = sq_euclid_rows(xs, ys[labels]) * inv_my[labels]
    t = q_min * inv_mx
    t_prev = None
    if prev is not None:
        q_prev = q.gather(1, prev[:, None])[:, 0] if exact else sq_euclid_rows(xs, ys[prev]) * inv_my[prev]
        t_prev = q_prev * inv_mx
    return labels, t, t_prev


def nearest_sq_euclid(
    x: torch.Tensor, y: torch.Tensor, prev: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Euclidean counterpart of :func:`nearest_t`: labels, squared distance, squared distance to ``prev``."""
    q = sq_euclid_all(x, y)  # (n, K)
    q_min, labels = q.min(dim=1)
    exact = x.shape[1] <= _DIRECT_MAX_DIM
    if not exact:
        q_min = sq_euclid_rows(x, y[labels])
    q_prev = None
    if prev is not None:
        q_prev = q.gather(1, prev[:, None])[:, 0] if exact else sq_euclid_rows(x, y[prev])
    return labels, q_min, q_prev
