"""Euclidean k-means on a subsample of the voxels, then every voxel assigned to its nearest centre.

Shared by the feature-based baselines. Fitting on a random subsample of ``fit_size`` rows (drawn with
``numpy.random.default_rng(random_state)``) keeps the cost independent of the volume size; assigning
all rows is one vectorised ``KMeans.predict``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

__all__ = ["subsample_kmeans"]


def subsample_kmeans(
    features: np.ndarray,
    n_clusters: int,
    *,
    random_state: int,
    fit_size: int = 20_000,
    n_init: int = 4,
    sample_weight: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster the rows of ``features`` with k-means fitted on a subsample.

    Parameters
    ----------
    features : numpy.ndarray
        (N, F) feature rows (N voxels or supervoxels).
    n_clusters : int
        k.
    random_state : int
        Seed of the subsample and of the k-means++ initialisation.
    fit_size : int, default 20000
        At most this many rows are used to fit the centres (all of them when N is smaller).
    n_init : int, default 4
        k-means restarts; the lowest inertia wins.
    sample_weight : numpy.ndarray, optional
        (N,) row weights (e.g. supervoxel sizes) used in the fit.

    Returns
    -------
    numpy.ndarray
        (N,) cluster ids in ``0 .. n_clusters-1``.

    Notes
    -----
    When the rows hold fewer distinct points than ``n_clusters`` (a piecewise-constant phantom),
    scikit-learn warns and leaves clusters empty; the warning is silenced here because the caller
    drops empty clusters by design (see :mod:`hypseg.baselines._base`).
    """
    n = features.shape[0]
    rows = np.arange(n)
    if n > fit_size:
        rows = np.sort(np.random.default_rng(random_state).choice(n, size=fit_size, replace=False))
    weight = None if sample_weight is None else sample_weight[rows]
    model = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=random_state)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Number of distinct clusters", category=ConvergenceWarning)
        model.fit(features[rows], sample_weight=weight)
    return model.predict(features)
