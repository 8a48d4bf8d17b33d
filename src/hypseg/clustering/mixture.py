"""A Gaussian mixture with one covariance shared by its components, fitted with point weights.

k-means measures every direction of the space with the same unit, so the direction along which the
points vary most decides the clusters. A mixture whose components share one covariance Σ (Fraley and
Raftery 2002, the "tied" or EEE model) measures each direction against the spread *within* the
clusters instead: a point's score for component j is

.. math::

    \\log \\pi_j - \\tfrac12 (x - \\mu_j)^\\top \\Sigma^{-1} (x - \\mu_j),

so that a direction in which the clusters are narrow separates them however little of the total
variance lies along it. The boundaries stay planes (linear discriminants), as k-means' do.

EM with point weights w_i (e.g. a supervoxel's voxel count: the point stands for that many voxels):

- E step: responsibilities r_ij, the softmax over j of the scores above;
- M step: :math:`N_j = \\sum_i w_i r_{ij}`, :math:`\\pi_j = N_j / \\sum_i w_i`,
  :math:`\\mu_j = \\sum_i w_i r_{ij} x_i / N_j`,
  :math:`\\Sigma = \\sum_{ij} w_i r_{ij} (x_i - \\mu_j)(x_i - \\mu_j)^\\top / \\sum_i w_i + \\epsilon I`,

started from weighted k-means (:class:`EuclideanKMeans`, ``n_init`` restarts) and stopped when the
mean weighted log-likelihood gains less than ``tol``. scikit-learn's ``GaussianMixture`` fits the same
model but takes no point weights, which supervoxel means need.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from hypseg.errors import UserError

from .euclidean import EuclideanKMeans

__all__ = ["TiedGaussianMixture"]

#: Rows per block when scoring points (bounds the (rows, k) and (rows, d) temporaries).
_CHUNK = 1 << 18


class TiedGaussianMixture(BaseEstimator):
    """Gaussian mixture in R^d whose components share one full covariance; weighted EM from k-means.

    Parameters
    ----------
    n_clusters : int
        Components k.
    n_init : int
        Restarts of the k-means that starts EM (the lowest inertia is kept).
    max_iter : int
        EM iterations at most.
    tol : float
        Stop when the mean log-likelihood per unit weight gains less than this.
    reg_covar : float
        Added to the covariance's diagonal, relative to the points' mean variance per coordinate (keeps it
        invertible, and the whitened distances bounded, when the clusters are flat in some direction).
    random_state : int, optional
        Seed of the k-means start.
    device : str, optional
        Where the k-means start runs (:class:`EuclideanKMeans`); EM itself runs in NumPy on the CPU.
    likeliest : bool
        Assign each point (:meth:`predict`, :attr:`labels_`) to its most likely component, the mixing weights
        left out, instead of its most probable: a rare component then reaches to where its density equals a
        common one's, where the posterior would give that ground to the common one. EM fits the same mixture.

    Attributes
    ----------
    cluster_centers_ : ndarray (k, d)
        The component means.
    weights_ : ndarray (k,)
        The mixing proportions pi_j.
    covariance_ : ndarray (d, d)
        The shared covariance.
    labels_ : ndarray (N,)
        The most probable (``likeliest``: most likely) component of every point fitted.
    n_iter_ : int
        EM iterations run (``max_iter`` when the likelihood was still gaining more than ``tol``).

    Examples
    --------
    Two clusters that differ only along the second axis, which holds far less of the variance than the
    first: k-means cuts along the first, the mixture along the second.

    >>> rng = np.random.default_rng(0)
    >>> x = np.column_stack([rng.normal(0, 5, 400), np.repeat([-1.0, 1.0], 200) + rng.normal(0, 0.2, 400)])
    >>> truth = np.repeat([0, 1], 200)
    >>> agree = lambda labels: max(np.mean(labels == truth), np.mean(labels != truth))
    >>> float(agree(TiedGaussianMixture(2, random_state=0).fit(x).labels_))
    1.0
    >>> float(agree(EuclideanKMeans(2, random_state=0).fit(x).labels_)) < 0.7
    True

    A rare component holds more points when each goes to its likeliest component:

    >>> y = np.concatenate([rng.normal(0, 1, 950), rng.normal(3, 1, 50)])[:, None]
    >>> [int((TiedGaussianMixture(2, random_state=0, likeliest=m).fit(y).labels_ == 1).sum()) > 60 for m in (False, True)]
    [False, True]
    """

    def __init__(self, n_clusters: int = 8, *, n_init: int = 3, max_iter: int = 100, tol: float = 1e-6,
                 reg_covar: float = 1e-6, random_state: Any = None, device: Any = None, likeliest: bool = False) -> None:
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.reg_covar = reg_covar
        self.random_state = random_state
        self.device = device
        self.likeliest = likeliest

    def fit(self, X, y=None, sample_weight=None) -> TiedGaussianMixture:
        """Fit the mixture to ``X`` (N, d), point i weighing ``sample_weight[i]`` (default 1)."""
        if not (int(self.n_clusters) >= 1 and int(self.max_iter) >= 1 and self.tol >= 0 and self.reg_covar >= 0):
            raise UserError(f"TiedGaussianMixture needs n_clusters >= 1, max_iter >= 1, tol >= 0 and reg_covar >= 0, got "
                            f"{self.n_clusters}, {self.max_iter}, {self.tol} and {self.reg_covar}")
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 2 or not np.isfinite(x).all():
            raise UserError(f"the points must be a finite (N, d) array, got shape {x.shape}")
        w = np.ones(len(x)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (len(x),) or (w < 0).any() or not w.sum() > 0:
            raise UserError(f"sample_weight must be {len(x)} weights >= 0, not all 0")
        if int((w > 0).sum()) < self.n_clusters:
            raise UserError(f"{self.n_clusters} components need at least as many weighted points, got {int((w > 0).sum())}")
        start = EuclideanKMeans(self.n_clusters, n_init=self.n_init, random_state=self.random_state,
                                device=self.device).fit(x, sample_weight=w)
        resp = np.eye(self.n_clusters)[np.asarray(start.labels_)]
        self.cluster_centers_ = np.asarray(start.cluster_centers_, dtype=np.float64)  # kept by a component left empty
        total = w.sum()
        spread = float(np.average((x - np.average(x, axis=0, weights=w)) ** 2, axis=0, weights=w).mean())
        floor = self.reg_covar * max(spread, np.finfo(np.float64).tiny)
        previous = -np.inf
        self.n_iter_ = 0
        while self.n_iter_ < self.max_iter:
            self.n_iter_ += 1
            self._m_step(x, w, resp, floor)
            scores = self._scores(x)  # (N, k): log pi_j + log N(x | mu_j, Sigma), up to a shared constant
            top = scores.max(axis=1, keepdims=True)
            norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
            resp = np.exp(scores - norm[:, None])
            likelihood = float(w @ norm) / total - self._half_logdet  # - log|Sigma| / 2: Sigma changes between steps
            if likelihood - previous < self.tol:
                break
            previous = likelihood
        self._m_step(x, w, resp, floor)
        self.labels_ = self.predict(x)
        return self

    def _m_step(self, x: np.ndarray, w: np.ndarray, resp: np.ndarray, floor: float) -> None:
        """Means, proportions and the shared covariance (``floor`` added to its diagonal) from weighted
        responsibilities (N, k)."""
        mass = resp * w[:, None]  # (N, k)
        counts = mass.sum(axis=0)  # (k,)
        alive = counts > 0
        means = np.where(alive[:, None], mass.T @ x / np.where(alive, counts, 1.0)[:, None], self.cluster_centers_)
        covariance = np.zeros((x.shape[1], x.shape[1]))
        for j in np.flatnonzero(alive):
            centred = x - means[j]
            covariance += (centred * mass[:, j : j + 1]).T @ centred
        covariance /= w.sum()
        covariance += np.eye(x.shape[1]) * floor
        self.cluster_centers_ = means
        self.weights_ = counts / counts.sum()
        self.covariance_ = covariance
        try:
            lower = np.linalg.cholesky(covariance)  # Sigma = L L^T
        except np.linalg.LinAlgError:
            raise UserError("the points lie in a subspace, so their covariance is singular: give reg_covar > 0") from None
        self._whiten = np.linalg.inv(lower)  # |L^-1 (x - mu)|^2 is the Mahalanobis distance
        self._half_logdet = float(np.log(np.diag(lower)).sum())

    def _scores(self, x: np.ndarray) -> np.ndarray:
        """(N, k) log pi_j - |L^-1 (x - mu_j)|^2 / 2: the log posterior of every component, up to a per-point constant."""
        with np.errstate(divide="ignore"):
            log_pi = np.log(self.weights_)
        centres = self.cluster_centers_ @ self._whiten.T  # (k, d)
        offset = log_pi - 0.5 * (centres ** 2).sum(axis=1)  # (k,)
        out = np.empty((len(x), len(centres)))
        for s in range(0, len(x), _CHUNK):
            white = x[s : s + _CHUNK] @ self._whiten.T  # (n, d)
            # log pi_j - |w - c_j|^2 / 2 = log pi_j - |c_j|^2 / 2 + w . c_j - |w|^2 / 2
            out[s : s + _CHUNK] = offset + white @ centres.T - 0.5 * (white ** 2).sum(axis=1, keepdims=True)
        return out

    def predict(self, X) -> np.ndarray:
        """The most probable component of every point of ``X`` (N, d); with ``likeliest`` the most likely."""
        scores = self._scores(np.asarray(X, dtype=np.float64))
        if self.likeliest:  # an empty component keeps its score of -inf: it stays empty
            scores = scores - np.log(np.where(self.weights_ > 0, self.weights_, 1.0))
        return scores.argmax(axis=1)

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit to ``X`` and return the labels of its points (:attr:`labels_`)."""
        return self.fit(X, sample_weight=sample_weight).labels_
