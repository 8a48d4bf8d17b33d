"""SLIC supervoxels, then k-means on their mean intensities (scikit-image ``slic``).

SLIC (Achanta et al. 2012) grows about ``n_segments`` compact supervoxels that follow intensity edges;
clustering supervoxels instead of voxels removes the salt-and-pepper noise of intensity k-means, at the
price of merging structures smaller than a supervoxel. Each supervoxel is described by its mean and
standard deviation of intensity, both in units of the volume's (z-scored) intensity, the standard
deviation weighted by ``std_weight`` (they are not standardised separately: on a piecewise-constant
image that would blow the noise-level spread of the standard deviations up to unit variance), and the k-means fit weights every supervoxel by its size, so the centres are those of
a voxel-level clustering of the piecewise-constant image.

The supervoxels are :func:`hypseg.data.supervoxels`, the very regions that supervoxel pooling of the
learned embeddings uses (:mod:`hypseg.inference.pooling`), so the two differ only in what describes a
supervoxel: its intensity statistics here, its mean embedding there.

Defaults: 250 supervoxels (``n_segments``), compactness 0.2 on the z-scored intensities, no smoothing
(``sigma`` 0) and ``std_weight`` 0.5.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hypseg.data.supervoxels import supervoxels

from ._base import Baseline
from ._kmeans import subsample_kmeans

__all__ = ["SlicKMeans", "supervoxel_intensity"]


def supervoxel_intensity(codes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S, 2) mean and standard deviation of ``values`` per supervoxel id in ``codes`` (0..S-1, same shape),
    and the (S,) voxel counts: the description SLIC clusters.

    >>> statistics, sizes = supervoxel_intensity(np.array([0, 0, 1]), np.array([1.0, 3.0, 5.0]))
    >>> statistics.tolist(), sizes.tolist()
    ([[2.0, 1.0], [5.0, 0.0]], [2.0, 1.0])
    """
    codes, values = np.ravel(codes), np.ravel(values).astype(np.float64)
    count = int(codes.max()) + 1
    sizes = np.bincount(codes, minlength=count).astype(np.float64)
    mean = np.bincount(codes, weights=values, minlength=count) / sizes
    second = np.bincount(codes, weights=values * values, minlength=count) / sizes
    return np.stack([mean, np.sqrt(np.maximum(second - mean * mean, 0.0))], axis=1), sizes


class _Supervoxels(NamedTuple):
    features: np.ndarray  # (S, F) per supervoxel
    sizes: np.ndarray  # (S,) voxels per supervoxel
    codes: np.ndarray  # (N,) supervoxel index of every voxel of the mask


class SlicKMeans(Baseline):
    """k-means on SLIC supervoxel features.

    Parameters
    ----------
    n_segments : int, default 250
        Approximate number of supervoxels (50^3 / 250 = 500 voxels, an 8-voxel cube).
    compactness : float, default 0.2
        SLIC trade-off between intensity (z-scored) and space; higher is more cube-like.
    sigma : float, default 0.0
        Gaussian pre-smoothing inside SLIC, in voxels. Smoothing blurs the supervoxel boundaries off
        the intensity edges (a two-intensity phantom is then no longer recovered exactly).
    std_weight : float, default 0.5
        Weight of the supervoxel's intensity standard deviation relative to its mean (0 drops it).
    n_init : int, default 4
        k-means restarts.
    """

    name = "slic"

    def __init__(
        self,
        *,
        n_segments: int = 250,
        compactness: float = 0.2,
        sigma: float = 0.0,
        std_weight: float = 0.5,
        n_init: int = 4,
    ) -> None:
        self.n_segments = n_segments
        self.compactness = compactness
        self.sigma = sigma
        self.std_weight = std_weight
        self.n_init = n_init

    def _prepare(self, x: np.ndarray, mask: np.ndarray, random_state: int) -> _Supervoxels:
        segments = supervoxels(x, n_segments=self.n_segments, compactness=self.compactness, sigma=self.sigma,
                               mask=None if mask.all() else mask)  # (Z, Y, X), -1 outside the mask
        codes = segments[mask]
        statistics, sizes = supervoxel_intensity(codes, x[mask])
        features = statistics * [1.0, self.std_weight]  # (S, 2)
        return _Supervoxels(features=features, sizes=sizes, codes=codes)

    def _cluster(self, prepared: _Supervoxels, n_clusters: int, random_state: int) -> np.ndarray:
        if prepared.sizes.size <= n_clusters:
            return prepared.codes  # every supervoxel is its own cluster
        ids = subsample_kmeans(
            prepared.features,
            n_clusters,
            random_state=random_state,
            n_init=self.n_init,
            sample_weight=prepared.sizes,
        )
        return ids[prepared.codes]

