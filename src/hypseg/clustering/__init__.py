"""Clustering on the Poincaré ball: Fréchet mean, hyperbolic (and Euclidean) k-means, k-means++.

* :func:`frechet_mean` — weighted Fréchet mean for any curvature, batched over groups
  (Lou et al. 2020 fixed-point iteration).
* :class:`HyperbolicKMeans` — k-means with Poincaré distances and Fréchet-mean centroids, the
  scikit-learn estimator contract, chunked so that 10M points fit in bounded memory, CPU or CUDA.
* :class:`EuclideanKMeans` — the same interface in R^d (ablations).
* :class:`TiedGaussianMixture` — a Gaussian mixture with one shared covariance, weighted EM in R^d.
* :func:`kmeans_plusplus` — the seeding on its own.
* :class:`EmptyClusterWarning`, :class:`ConvergenceWarning`.

This package imports only :mod:`hypseg.geometry` from hypseg (design.md).
"""

from __future__ import annotations

from .euclidean import EuclideanKMeans
from .exceptions import ClusteringWarning, ConvergenceWarning, EmptyClusterWarning
from .frechet import frechet_mean
from .kmeans import HyperbolicKMeans
from .mixture import TiedGaussianMixture
from .product import ProductBallKMeans, product_sqdist
from .seeding import SeedingResult, kmeans_plusplus

__all__ = [
    "ClusteringWarning",
    "ConvergenceWarning",
    "EmptyClusterWarning",
    "EuclideanKMeans",
    "HyperbolicKMeans",
    "ProductBallKMeans",
    "product_sqdist",
    "SeedingResult",
    "TiedGaussianMixture",
    "frechet_mean",
    "kmeans_plusplus",
]
