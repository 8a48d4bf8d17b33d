"""Clustering of voxel intensities alone: k-means and a Gaussian mixture.

The simplest peers: a voxel's label depends only on its own (z-scored) intensity, not on its
neighbourhood, so texture and noise make the boundaries ragged.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from ._base import Baseline
from ._kmeans import subsample_kmeans

__all__ = ["GaussianMixtureBaseline", "IntensityKMeans"]


class IntensityKMeans(Baseline):
    """k-means (scikit-learn ``KMeans``, k-means++ seeding) on the voxel intensities.

    Parameters
    ----------
    fit_size : int, default 50000
        Voxels subsampled to fit the centres; every voxel is then assigned to the nearest one.
    n_init : int, default 4
        k-means restarts.
    """

    name = "kmeans"

    def __init__(self, *, fit_size: int = 50_000, n_init: int = 4) -> None:
        self.fit_size = fit_size
        self.n_init = n_init

    def _prepare(self, x: np.ndarray, mask: np.ndarray, random_state: int) -> np.ndarray:
        return x[mask].reshape(-1, 1)  # (N, 1)

    def _cluster(self, prepared: np.ndarray, n_clusters: int, random_state: int) -> np.ndarray:
        return subsample_kmeans(
            prepared, n_clusters, random_state=random_state, fit_size=self.fit_size, n_init=self.n_init
        )


class GaussianMixtureBaseline(Baseline):
    """Gaussian mixture model (scikit-learn ``GaussianMixture``, EM) on the voxel intensities.

    A voxel gets the component of highest posterior probability. Unlike k-means, components may have
    different variances, so a wide textured class and a narrow one can share an intensity range.

    Parameters
    ----------
    fit_size : int, default 50000
        Voxels subsampled to fit the mixture.
    n_init : int, default 2
        EM restarts (k-means initialisation); the highest likelihood wins.
    max_iter : int, default 200
        EM iterations per restart. A restart that has not converged is still used (the
        ``ConvergenceWarning`` is silenced: the fit is a baseline, not a model to diagnose).
    """

    name = "gmm"

    def __init__(self, *, fit_size: int = 50_000, n_init: int = 2, max_iter: int = 200) -> None:
        self.fit_size = fit_size
        self.n_init = n_init
        self.max_iter = max_iter

    def _prepare(self, x: np.ndarray, mask: np.ndarray, random_state: int) -> np.ndarray:
        return x[mask].reshape(-1, 1).astype(np.float64)  # (N, 1)

    def _cluster(self, prepared: np.ndarray, n_clusters: int, random_state: int) -> np.ndarray:
        n = prepared.shape[0]
        rows = np.arange(n)
        if n > self.fit_size:
            rows = np.sort(np.random.default_rng(random_state).choice(n, size=self.fit_size, replace=False))
        model = GaussianMixture(
            n_components=n_clusters,
            covariance_type="full",
            n_init=self.n_init,
            max_iter=self.max_iter,
            reg_covar=1e-4,
            random_state=random_state,
        )
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            model.fit(prepared[rows])
        return model.predict(prepared)
