r"""k-means on a product of Poincaré balls (several patch sides at once; method.md section 7).

A point is F points of the d-dimensional ball, one per factor (stored side by side as F*d
coordinates). The product metric gives

.. math:: d(x, y)^2 = \sum_{f=1}^F d_c(x_f, y_f)^2,

so the Fréchet mean of a cluster is the Fréchet mean of each factor separately, and k-means on the
product is Lloyd's algorithm with that squared distance and per-factor Fréchet means
(:func:`~hypseg.clustering.frechet_mean`, all clusters of a factor in one call). Seeding is
k-means++ with the product distance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hypseg.clustering.frechet import frechet_mean_unit
from hypseg.errors import UserError
from hypseg.geometry.math import _cdist


def product_sqdist(x: torch.Tensor, y: torch.Tensor, *, factors: int, c: float) -> torch.Tensor:
    """Squared product distances between rows of x (N, F*d) and y (K, F*d): (N, K)."""
    N, K = x.shape[0], y.shape[0]
    xs = x.view(N, factors, -1).transpose(0, 1)  # (F, N, d)
    ys = y.view(K, factors, -1).transpose(0, 1)  # (F, K, d)
    return _cdist(xs, ys, c).pow(2).sum(0)


class ProductBallKMeans:
    """k-means on the product of ``factors`` Poincaré balls (scikit-learn contract).

    Parameters
    ----------
    n_clusters : int
    factors : int
        F; the feature count must be a multiple of it.
    c : float
    n_init, max_iter, tol, random_state
        As in :class:`~hypseg.clustering.HyperbolicKMeans` (``tol``: stop when no centre moves
        farther than ``tol`` in the product distance).
    frechet_steps : int
        Fixed-point steps of each centre's Fréchet mean per Lloyd iteration, warm-started.
    chunk_size : int
        Rows per chunk of the distance computation.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = np.concatenate([0.02 * rng.standard_normal((40, 4)) + 0.4, 0.02 * rng.standard_normal((40, 4)) - 0.4])
    >>> km = ProductBallKMeans(2, factors=2, random_state=0).fit(a)
    >>> sorted(np.bincount(km.labels_).tolist())
    [40, 40]
    """

    def __init__(self, n_clusters: int = 8, *, factors: int = 1, c: float = 1.0, n_init: int = 1, max_iter: int = 100,
                 tol: float = 1e-4, random_state: Any = None, frechet_steps: int = 3, chunk_size: int = 1 << 16):
        self.n_clusters, self.factors, self.c, self.frechet_steps = n_clusters, factors, c, frechet_steps
        self.n_init, self.max_iter, self.tol, self.random_state, self.chunk_size = n_init, max_iter, tol, random_state, chunk_size

    # --------------------------------------------------------------------------------- helpers
    def _validate(self, X: Any) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(X), dtype=torch.float64)
        if x.dim() != 2 or x.shape[0] == 0:
            raise UserError(f"X must be a non-empty (n_samples, n_features) array, got shape {tuple(x.shape)}")
        if x.shape[1] % self.factors:
            raise UserError(f"{x.shape[1]} features cannot be split into {self.factors} factors")
        if not torch.isfinite(x).all():
            raise UserError("X contains NaN or Inf")
        norms = x.view(x.shape[0], self.factors, -1).norm(dim=-1) * self.c**0.5
        if (norms >= 1).any():
            raise UserError(f"X has a point outside the ball: sqrt(c)*|x_f| = {norms.max().item():.6g} >= 1")
        if not 1 <= self.n_clusters <= x.shape[0]:
            raise UserError(f"n_clusters={self.n_clusters} must be between 1 and n_samples={x.shape[0]}")
        return x

    def _validate_weights(self, sample_weight: Any, n: int) -> torch.Tensor:
        if sample_weight is None:
            return torch.ones(n, dtype=torch.float64)
        w = torch.as_tensor(np.asarray(sample_weight, dtype=np.float64))
        if tuple(w.shape) != (n,):
            raise UserError(f"sample_weight must have shape ({n},), got {tuple(w.shape)}")
        if not torch.isfinite(w).all() or (w < 0).any():
            raise UserError("sample_weight must be finite and non-negative")
        if int((w > 0).sum()) < self.n_clusters:
            raise UserError(f"sample_weight has fewer than n_clusters={self.n_clusters} positive entries")
        return w

    def _assign(self, x: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        labels, sq = [], []
        for start in range(0, x.shape[0], self.chunk_size):
            d2 = product_sqdist(x[start : start + self.chunk_size], centres, factors=self.factors, c=self.c)
            best = d2.min(dim=1)
            labels.append(best.indices)
            sq.append(best.values)
        return torch.cat(labels), torch.cat(sq)

    def _seed(self, x: torch.Tensor, w: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """k-means++: each next centre drawn in proportion to weight x squared distance to the nearest one."""
        share = (w / w.sum()).numpy()
        centres = x[[int(rng.choice(x.shape[0], p=share))]]
        closest = product_sqdist(x, centres, factors=self.factors, c=self.c)[:, 0]
        for _ in range(1, self.n_clusters):
            mass = w * closest
            p = (mass / mass.sum()).numpy() if mass.sum() > 0 else share
            new = x[[int(rng.choice(x.shape[0], p=p))]]
            centres = torch.cat([centres, new])
            closest = torch.minimum(closest, product_sqdist(x, new, factors=self.factors, c=self.c)[:, 0])
        return centres

    def _lloyd(self, x: torch.Tensor, w: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float, int]:
        N, k, F = x.shape[0], self.n_clusters, self.factors
        labels, sq = self._assign(x, centres)
        n_iter = 0
        for n_iter in range(1, self.max_iter + 1):
            # Empty clusters keep their centre; the others move to the per-factor Frechet means.
            filled = torch.bincount(labels, minlength=k) > 0
            group = (torch.cumsum(filled.long(), 0) - 1)[labels]  # cluster -> index among the filled
            new = centres.clone().view(k, F, -1)
            points = x.view(N, F, -1)
            scale = self.c**0.5  # the iteration runs in the unit ball
            for f in range(F):  # one call per factor moves every cluster's centre
                # A few fixed-point steps warm-started at the current centres, as Lloyd's algorithm
                # only needs each update to lower the cost (HyperbolicKMeans takes one step).
                result = frechet_mean_unit(points[:, f] * scale, w, group, new[filled, f] * scale,
                                           max_iter=self.frechet_steps, tol=0.0)
                new[filled, f] = result.mean / scale
            new = new.view(k, -1)
            shift = product_sqdist(new, centres, factors=F, c=self.c).diagonal().max().sqrt().item()
            centres = new
            labels, sq = self._assign(x, centres)
            if shift <= self.tol:
                break
        return centres, labels, float((w * sq).sum()), n_iter

    # ------------------------------------------------------------------------------ estimator API
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "ProductBallKMeans":
        """Fit on X (n_samples, F*d); ``sample_weight`` (n_samples,) non-negative weights (default all 1)."""
        x = self._validate(X)
        w = self._validate_weights(sample_weight, x.shape[0])
        rng = np.random.default_rng(self.random_state)
        best = None
        for _ in range(self.n_init):
            run = self._lloyd(x, w, self._seed(x, w, rng))
            if best is None or run[2] < best[2]:
                best = run
        centres, labels, inertia, n_iter = best
        self.cluster_centers_ = centres.numpy()
        self.labels_ = labels.numpy()
        self.inertia_, self.n_iter_ = inertia, n_iter
        return self

    def predict(self, X: Any) -> np.ndarray:
        x = self._validate_predict(X)
        return self._assign(x, torch.as_tensor(self.cluster_centers_))[0].numpy()

    def _validate_predict(self, X: Any) -> torch.Tensor:
        if not hasattr(self, "cluster_centers_"):
            raise ValueError("this ProductBallKMeans is not fitted yet; call fit first")
        x = torch.as_tensor(np.asarray(X), dtype=torch.float64)
        if x.dim() != 2 or x.shape[1] != self.cluster_centers_.shape[1]:
            raise UserError(f"X must have {self.cluster_centers_.shape[1]} features, got shape {tuple(x.shape)}")
        return x

    def transform(self, X: Any) -> np.ndarray:
        """Product distances to the centres, (n_samples, n_clusters)."""
        x = self._validate_predict(X)
        return product_sqdist(x, torch.as_tensor(self.cluster_centers_), factors=self.factors, c=self.c).sqrt().numpy()

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        return self.fit(X, sample_weight=sample_weight).labels_
