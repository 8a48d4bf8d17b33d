r"""k-means++ seeding (Arthur & Vassilvitskii 2007) by hyperbolic or Euclidean distance.

The first centre is drawn with probability proportional to the sample weight; every next one with
probability proportional to ``w_i D(x_i)^2``, ``D`` the distance to the nearest centre chosen so far.
As in scikit-learn's greedy variant, ``2 + floor(ln k)`` candidates are drawn per step and the one
that most lowers the potential ``sum_i w_i D(x_i)^2`` is kept. Distances are computed in row chunks
(memory stays bounded) and the draws come from a NumPy ``Generator``, so a seed fixes the result on
every device. On the ball ``D`` is the Poincaré distance, so the seeding is invariant under isometries
such as Möbius translations (up to rounding).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import numpy as np
import torch

from hypseg.errors import UserError

from ._kernel import sq_euclid_all, t_to_sqdist
from ._validation import as_tensor, check_curvature, check_points_2d, check_weights

__all__ = ["SeedingResult", "kmeans_plusplus"]

#: (row slice, centres (m, d) in working coordinates) -> squared distances (n, m)
SqDistFn = Callable[[slice, torch.Tensor], torch.Tensor]


class SeedingResult(NamedTuple):
    """Result of :func:`kmeans_plusplus`: the centres (k, d) and their row indices in ``X`` (k,)."""

    centers: Any
    indices: np.ndarray


def _draw(cum: torch.Tensor, rng: np.random.Generator, size: int) -> torch.Tensor:
    """Indices drawn with probability proportional to the increments of the cumulative sum ``cum``."""
    u = torch.as_tensor(rng.random(size), dtype=torch.float64, device=cum.device) * cum[-1]
    return torch.searchsorted(cum, u, right=True).clamp_(max=cum.shape[0] - 1)


def kmeanspp_indices(
    n: int,
    n_clusters: int,
    sq_to: SqDistFn,
    xs: torch.Tensor,
    w: torch.Tensor | None,
    rng: np.random.Generator,
    *,
    chunk: int,
    n_local_trials: int | None = None,
) -> torch.Tensor:
    """Row indices (n_clusters,) of the k-means++ centres (private; inputs are trusted)."""
    device = xs.device
    trials = n_local_trials if n_local_trials is not None else 2 + int(math.log(n_clusters))
    w64 = None if w is None else w.to(torch.float64)
    chunks = [slice(s, s + chunk) for s in range(0, n, chunk)]

    def sq_to_all(centres: torch.Tensor) -> torch.Tensor:  # (n, m) float64, chunk by chunk
        return torch.cat([sq_to(sl, centres).to(torch.float64) for sl in chunks])

    weights = torch.ones(n, dtype=torch.float64, device=device) if w64 is None else w64
    first = _draw(torch.cumsum(weights, 0), rng, 1)
    indices = [int(first[0])]
    closest = torch.cat([sq_to(sl, xs[first])[:, 0].to(torch.float64) for sl in chunks])  # (n,)
    for _ in range(1, n_clusters):
        cum = torch.cumsum(closest * weights, 0)
        cand = _draw(cum, rng, trials)  # (trials,)
        pots = torch.zeros(trials, dtype=torch.float64, device=device)
        for sl in chunks:
            d2 = torch.minimum(sq_to(sl, xs[cand]).to(torch.float64), closest[sl, None])  # (n, trials)
            pots += (d2 * weights[sl, None]).sum(dim=0)
        best = int(cand[int(torch.argmin(pots))])
        indices.append(best)
        closest = torch.minimum(closest, sq_to_all(xs[best : best + 1])[:, 0])
    return torch.as_tensor(indices, dtype=torch.int64, device=device)


def poincare_sq_to(xs: torch.Tensor, inv_mx: torch.Tensor) -> SqDistFn:
    """Squared unit-ball distances from rows of ``xs`` to given centres (see ``_kernel``)."""

    def sq_to(sl: slice, ys: torch.Tensor) -> torch.Tensor:
        inv_my = 1.0 / (1.0 - ys.to(torch.float64).pow(2).sum(dim=1)).to(ys.dtype)
        return t_to_sqdist(sq_euclid_all(xs[sl], ys) * inv_my * inv_mx[sl, None])

    return sq_to


def euclidean_sq_to(x: torch.Tensor) -> SqDistFn:
    """Squared Euclidean distances from rows of ``x`` to given centres."""

    def sq_to(sl: slice, ys: torch.Tensor) -> torch.Tensor:
        return sq_euclid_all(x[sl], ys)

    return sq_to


def kmeans_plusplus(
    X: Any,
    n_clusters: int,
    *,
    c: float = 1.0,
    sample_weight: Any = None,
    random_state: int | np.random.Generator | None = None,
    n_local_trials: int | None = None,
) -> SeedingResult:
    """k-means++ initial centres on the Poincaré ball of curvature ``-c``.

    Parameters
    ----------
    X : array_like or torch.Tensor, shape (n_samples, n_features)
        Points strictly inside the ball.
    n_clusters : int
        Number of centres, at most ``n_samples``.
    c : float, default 1.0
        Curvature magnitude.
    sample_weight : array_like, shape (n_samples,), optional
        Non-negative weights.
    random_state : int, numpy.random.Generator or None
        Seed of the draws.
    n_local_trials : int, optional
        Candidates per step (default ``2 + floor(ln n_clusters)``).

    Returns
    -------
    SeedingResult
        ``centers`` (same type as ``X``) and ``indices`` (numpy int64).

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [0.01, 0.0], [0.9, 0.0], [0.0, -0.9]])
    >>> sorted(kmeans_plusplus(X, 3, random_state=0).indices.tolist())[1:]
    [2, 3]
    """
    c = check_curvature(c)
    xt = as_tensor(X, name="X")
    check_points_2d(xt, name="X", c=c)
    n = xt.shape[0]
    if not (isinstance(n_clusters, (int, np.integer)) and 1 <= n_clusters <= n):
        raise UserError(f"n_clusters={n_clusters} must be an integer in [1, n_samples={n}]")
    w = None if sample_weight is None else check_weights(sample_weight, shape=(n,), like=xt)
    xs = xt * math.sqrt(c)
    inv_mx = (1.0 / (1.0 - xs.to(torch.float64).pow(2).sum(dim=1))).to(xs.dtype)
    rng = np.random.default_rng(random_state)
    idx = kmeanspp_indices(
        n, int(n_clusters), poincare_sq_to(xs, inv_mx), xs, w, rng, chunk=1 << 16, n_local_trials=n_local_trials
    )
    centers = xt[idx]
    if not isinstance(X, torch.Tensor):
        centers = centers.cpu().numpy()
    return SeedingResult(centers=centers, indices=idx.cpu().numpy())
