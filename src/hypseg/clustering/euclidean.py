"""Euclidean k-means behind the same interface as :class:`HyperbolicKMeans` (for the ablations).

Lloyd's algorithm with squared Euclidean distances and weighted arithmetic means, sharing the
chunked assignment, k-means++ seeding, empty-cluster re-seeding, stopping rule (``tol`` times the
mean per-feature variance, as in scikit-learn) and estimator contract of
:mod:`hypseg.clustering._base`.
"""

from __future__ import annotations

from typing import Any

import torch

from ._base import BaseKMeans, Data
from ._kernel import nearest_sq_euclid, sq_euclid_rows
from .seeding import euclidean_sq_to

__all__ = ["EuclideanKMeans"]


class EuclideanKMeans(BaseKMeans):
    """k-means in R^d with the interface of :class:`HyperbolicKMeans` (no curvature, no ball check).

    Parameters and attributes are those of :class:`HyperbolicKMeans` without ``c`` and
    ``frechet_steps`` (``init_size`` included); ``inertia_`` is the sum of squared Euclidean distances.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> EuclideanKMeans(n_clusters=2, random_state=0).fit(X).cluster_centers_[:, 0].round(2).tolist() in (
    ...     [0.05, 5.05], [5.05, 0.05])
    True
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: int = 1,
        max_iter: int = 100,
        tol: float = 1e-4,
        random_state: Any = None,
        init_size: int | None = 1 << 17,
        chunk_size: int | None = None,
        device: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.init_size = init_size
        self.chunk_size = chunk_size
        self.device = device

    def _curvature_or_none(self) -> None:
        return None

    def _to_working(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def _from_working(self, xs: torch.Tensor) -> torch.Tensor:
        return xs

    def _centre_aux(self, ys: torch.Tensor) -> torch.Tensor:
        return ys

    def _nearest(self, data: Data, sl: slice, ys, aux, prev):
        return nearest_sq_euclid(data.xs[sl], ys, prev)

    def _r_to_sq(self, r: torch.Tensor) -> torch.Tensor:
        return r

    def _zero_moments(self, k: int, d: int, device) -> torch.Tensor:
        return torch.zeros(k, d + 1, dtype=torch.float64, device=device)

    def _accumulate(self, data: Data, sl: slice, labels, r, out) -> torch.Tensor:
        if out is None:
            return r
        xs = data.xs[sl].to(torch.float64)
        w = torch.ones(xs.shape[0], dtype=torch.float64, device=xs.device) if data.w is None else data.w[sl].to(torch.float64)
        out.index_add_(0, labels, torch.cat([w[:, None], w[:, None] * xs], dim=1))
        return r

    def _update(self, m: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        total = m[:, :1]
        new = (m[:, 1:] / total.clamp_min(torch.finfo(torch.float64).tiny)).to(ys.dtype)
        return torch.where(total > 0, new, ys)

    def _moments_pass(self, data: Data, labels, ys, chunk: int) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError("the Euclidean mean is exact in one step")

    def _centre_sqdist(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return sq_euclid_rows(a.to(torch.float64), b.to(torch.float64))

    def _sq_to(self, data: Data):
        return euclidean_sq_to(data.xs)

    def _spread(self, data: Data) -> float:
        x = data.xs.to(torch.float64)
        w = torch.ones(x.shape[0], dtype=torch.float64, device=x.device) if data.w is None else data.w.to(torch.float64)
        mean = (w[:, None] * x).sum(0) / w.sum()
        return float((w * (x - mean).pow(2).sum(1)).sum() / w.sum()) / x.shape[1]
