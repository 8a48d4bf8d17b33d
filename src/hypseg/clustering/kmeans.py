r"""Hyperbolic k-means on the Poincaré ball (method.md §7), with the scikit-learn estimator contract.

Lloyd's iteration with the Poincaré distance for the assignment and the Fréchet mean for the
centroid (Lou et al. 2020 fixed-point iteration, :mod:`hypseg.clustering.frechet`):

1. seed ``k`` centres (k-means++ by hyperbolic distance, random points, or given);
2. assign every point to its nearest centre (:mod:`hypseg.clustering._kernel`: one ``(rows, k)``
   temporary per row chunk, transcendental functions once per point);
3. move every centre by ``frechet_steps`` fixed-point steps towards the Fréchet mean of its
   cluster, warm-started at the current centre; the first step reuses the distances of step 2, so
   with the default ``frechet_steps=1`` one iteration is one pass over the data. All ``k`` centres
   are updated in one vectorised segment sum, never a loop over clusters;
4. stop when ``sum_k d(old_k, new_k)^2 <= tol * spread`` (``spread``: the weighted mean squared
   distance of the points to their Fréchet mean, divided by the dimension, estimated on at most
   65,536 points: the hyperbolic analogue of scikit-learn's scaling by the mean feature variance).

At convergence the centres are fixed points of the update, i.e. Fréchet means of their clusters,
up to the tolerance. A centroid step that would raise its cluster's cost is rejected, so the
inertia never increases (``inertia_history_``). An emptied cluster is re-seeded at the point
farthest from its centre (never the only point of another cluster) with an
:class:`~hypseg.clustering.EmptyClusterWarning`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from hypseg.errors import UserError

from ._base import _SPREAD_SAMPLE, BaseKMeans, Data
from ._kernel import asinh_sqrt, nearest_t, t_to_sqdist
from ._validation import check_curvature
from .frechet import frechet_mean_unit, moments, moments_pass, unit_dist, update
from .seeding import poincare_sq_to

__all__ = ["HyperbolicKMeans"]


class HyperbolicKMeans(BaseKMeans):
    r"""k-means on the Poincaré ball: Poincaré distance, Fréchet-mean centroids.

    Follows the scikit-learn estimator contract: ``__init__`` only stores its arguments; ``fit``
    validates, computes and returns ``self``; learned state ends in ``_``.

    Parameters
    ----------
    n_clusters : int, default 8
        Number of clusters ``k``.
    c : float, default 1.0
        Curvature magnitude: the ball is ``{x : c|x|^2 < 1}`` of curvature ``-c``.
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features), default "k-means++"
        k-means++ (Arthur & Vassilvitskii 2007) with hyperbolic distances and
        ``2 + floor(ln k)`` greedy candidates per step; ``"random"``: ``k`` distinct points drawn in
        proportion to the sample weights; an array: these centres (then ``n_init`` is ignored).
    n_init : int, default 1
        Number of seeded runs; the one with the lowest inertia is kept.
    max_iter : int, default 100
        Maximum Lloyd iterations per run.
    tol : float, default 1e-4
        Relative tolerance of the stopping rule (see the module docstring).
    random_state : int, numpy.random.Generator or None
        Seeds the initialisation; equal seeds give identical results on the CPU (on CUDA up to the
        order of floating-point atomic additions).
    frechet_steps : int, default 1
        Fixed-point steps of the Fréchet mean per Lloyd iteration.
    init_size : int or None, default 131072
        k-means++ runs on a uniform random subsample of this many points (all points if there
        are fewer, or if None), so that seeding costs the same for 1M or 10M points (scikit-learn's
        ``MiniBatchKMeans`` does the same with its ``init_size``).
    chunk_size : int, optional
        Rows per chunk of the distance computation (default ``2**19 // n_clusters``, between 1,024
        and 65,536), which bounds the temporary memory whatever the number of points.
    device : str or torch.device, optional
        Where to compute (default: the device of ``X``; CPU for NumPy input).

    Attributes
    ----------
    cluster_centers_ : numpy.ndarray (n_clusters, n_features)
        Centres on the ball (the dtype of the input: float32 or float64).
    labels_ : numpy.ndarray (n_samples,) int64
        Cluster of every training point (consistent with ``cluster_centers_``).
    inertia_ : float
        ``sum_i w_i d_c(x_i, centre(x_i))^2``, squared Poincaré distances.
    n_iter_ : int
        Lloyd iterations of the kept run.
    inertia_history_ : numpy.ndarray (n_iter_ + 1,)
        Inertia after the initial assignment and after every iteration of the kept run
        (non-increasing).
    n_features_in_ : int

    Notes
    -----
    Outputs are NumPy arrays whatever the input (tensor or array) and device. Points are
    computed in the input dtype (float32 or float64) with float64 accumulation of all sums.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.concatenate([0.05 * rng.standard_normal((50, 2)) + [0.5, 0.0],
    ...                     0.05 * rng.standard_normal((50, 2)) - [0.5, 0.0]])
    >>> km = HyperbolicKMeans(n_clusters=2, random_state=0).fit(X)
    >>> sorted(np.bincount(km.labels_).tolist())
    [50, 50]
    >>> km.transform(X).shape
    (100, 2)
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        c: float = 1.0,
        init: Any = "k-means++",
        n_init: int = 1,
        max_iter: int = 100,
        tol: float = 1e-4,
        random_state: Any = None,
        frechet_steps: int = 1,
        init_size: int | None = 1 << 17,
        chunk_size: int | None = None,
        device: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.c = c
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.frechet_steps = frechet_steps
        self.init_size = init_size
        self.chunk_size = chunk_size
        self.device = device

    def _check_params(self) -> None:
        super()._check_params()
        check_curvature(self.c)
        s = self.frechet_steps
        if not (isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1):
            raise UserError(f"frechet_steps must be a positive integer, got {s!r}")

    def _n_extra_steps(self) -> int:
        return int(self.frechet_steps) - 1

    def _curvature_or_none(self) -> float:
        return check_curvature(self.c)

    def _to_working(self, x: torch.Tensor) -> torch.Tensor:
        return x * math.sqrt(self._curvature_or_none())

    def _from_working(self, xs: torch.Tensor) -> torch.Tensor:
        return xs / math.sqrt(self._curvature_or_none())

    def _sq_scale(self) -> float:
        return 1.0 / self._curvature_or_none()

    def _centre_aux(self, ys: torch.Tensor) -> torch.Tensor:
        return (1.0 / (1.0 - ys.to(torch.float64).pow(2).sum(dim=1))).to(ys.dtype)

    def _nearest(self, data: Data, sl: slice, ys, aux, prev):
        return nearest_t(data.xs[sl], data.inv_mx[sl], ys, aux, prev)

    def _r_to_sq(self, r: torch.Tensor) -> torch.Tensor:
        return t_to_sqdist(r)

    def _zero_moments(self, k: int, d: int, device) -> torch.Tensor:
        return torch.zeros(k, d + 2, dtype=torch.float64, device=device)

    def _accumulate(self, data: Data, sl: slice, labels, r, out) -> torch.Tensor:
        half = asinh_sqrt(r)  # d_1 / 2, shared by d^2 and g(t)
        if out is not None:
            w = None if data.w is None else data.w[sl]
            moments(data.xs[sl], data.x2[sl], data.inv_mx[sl], w, labels, r, out, asinh_root=half)
        return 4.0 * half * half

    def _update(self, m: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        return update(m, ys)

    def _moments_pass(self, data: Data, labels, ys, chunk: int) -> torch.Tensor:
        return moments_pass(data.xs, data.x2, data.inv_mx, data.w, labels, ys, chunk)

    def _centre_sqdist(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return unit_dist(a, b).pow(2)

    def _sq_to(self, data: Data):
        return poincare_sq_to(data.xs, data.inv_mx)

    def _spread(self, data: Data) -> float:
        n, d = data.xs.shape
        step = max(1, n // _SPREAD_SAMPLE)
        xs = data.xs[::step]
        w = None if data.w is None else data.w[::step]
        w64 = torch.ones(xs.shape[0], dtype=torch.float64, device=xs.device) if w is None else w.to(torch.float64)
        if float(w64.sum()) <= 0:
            return 0.0
        init = ((w64[:, None] * xs.to(torch.float64)).sum(0) / w64.sum()).to(xs.dtype)[None]
        labels = torch.zeros(xs.shape[0], dtype=torch.int64, device=xs.device)
        mean = frechet_mean_unit(xs, w, labels, init, max_iter=20, tol=1e-3).mean
        sq = poincare_sq_to(xs, data.inv_mx[::step])(slice(None), mean)[:, 0].to(torch.float64)
        return float((w64 * sq).sum() / w64.sum()) / d
