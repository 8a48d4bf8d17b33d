"""Multi-scale filter bank + k-means: the ilastik-style pixel features, clustered without labels.

Per voxel and per scale sigma (Gaussian derivatives, ``scipy.ndimage``; ``G_s`` is Gaussian smoothing):

===============  ======================================================================
feature          definition
===============  ======================================================================
``gaussian``     smoothed intensity G_s * x
``std``          local standard deviation sqrt(max(G_s * x^2 - (G_s * x)^2, 0))
``gradient``     gradient magnitude |grad (G_s * x)|
``log``          Laplacian of Gaussian, the trace of the Hessian of G_s * x
``hessian``      the three eigenvalues (ascending) of the Hessian of G_s * x
===============  ======================================================================

Each feature is standardised (zero mean, unit variance over the clustered voxels), then multiplied by
the weight of its kind (:attr:`FilterBankKMeans.weights`), so that a kind with several columns (three
Hessian eigenvalues per scale) does not dominate by count alone. k-means is fitted on a voxel subsample
and assigns every voxel. All filters are separable and vectorised: a 50^3 volume takes well under a
second for four scales.

Defaults: smoothed intensity (weight 1) and local standard deviation (weight 0.3) at the scales
0.5, 1, 2 and 4 voxels; the edge and curvature kinds (gradient, LoG, Hessian) have weight 0, so they
are not computed, and are available through ``features=``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy import ndimage

from hypseg.errors import UserError

from ._base import Baseline
from ._kmeans import subsample_kmeans

__all__ = ["DEFAULT_FEATURES", "DEFAULT_SIGMAS", "FEATURE_KINDS", "FilterBankKMeans", "filter_bank_features"]

#: every feature kind, in column order within a scale
FEATURE_KINDS: tuple[str, ...] = ("gaussian", "std", "gradient", "log", "hessian")

#: scales in voxels
DEFAULT_SIGMAS: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)

#: feature kind -> weight after standardisation (0 leaves the kind out)
DEFAULT_FEATURES: Mapping[str, float] = {"gaussian": 1.0, "std": 0.3, "gradient": 0.0, "log": 0.0, "hessian": 0.0}

_SECOND_ORDERS = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))


def filter_bank_features(
    x: np.ndarray, *, sigmas: Sequence[float] = DEFAULT_SIGMAS, kinds: Sequence[str] = FEATURE_KINDS
) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """Raw (unstandardised) filter responses of every voxel.

    Parameters
    ----------
    x : numpy.ndarray
        (Z, Y, X) volume.
    sigmas : sequence of float
        Gaussian scales in voxels, each > 0.
    kinds : sequence of str
        Feature kinds from :data:`FEATURE_KINDS`.

    Returns
    -------
    features : numpy.ndarray
        (Z, Y, X, F) float32.
    columns : list of (kind, sigma)
        What each of the F columns is (``hessian`` contributes three columns per scale).

    Raises
    ------
    UserError
        On an unknown kind or a non-positive sigma.

    Examples
    --------
    >>> f, cols = filter_bank_features(np.zeros((8, 8, 8)), sigmas=(1.0,), kinds=("gaussian", "hessian"))
    >>> f.shape, cols[:2]
    ((8, 8, 8, 4), [('gaussian', 1.0), ('hessian', 1.0)])
    """
    unknown = sorted(set(kinds) - set(FEATURE_KINDS))
    if unknown:
        raise UserError(f"unknown filter-bank feature(s) {unknown}; choose from {list(FEATURE_KINDS)}")
    if not sigmas or any(not s > 0 for s in sigmas):
        raise UserError(f"sigmas must be a non-empty sequence of positive scales, got {tuple(sigmas)!r}")
    xf = x.astype(np.float32)
    blocks: list[np.ndarray] = []  # each (Z, Y, X)
    columns: list[tuple[str, float]] = []
    for s in sigmas:
        s = float(s)
        smooth = ndimage.gaussian_filter(xf, s)
        need_hessian = "log" in kinds or "hessian" in kinds
        if need_hessian:
            second = {}
            for a, b in _SECOND_ORDERS:
                order = [0, 0, 0]
                order[a] += 1
                order[b] += 1
                second[a, b] = ndimage.gaussian_filter(xf, s, order=order)
        for kind in FEATURE_KINDS:
            if kind not in kinds:
                continue
            if kind == "gaussian":
                blocks.append(smooth)
                columns.append((kind, s))
            elif kind == "std":
                blocks.append(np.sqrt(np.maximum(ndimage.gaussian_filter(xf * xf, s) - smooth * smooth, 0.0)))
                columns.append((kind, s))
            elif kind == "gradient":
                blocks.append(ndimage.gaussian_gradient_magnitude(xf, s))
                columns.append((kind, s))
            elif kind == "log":
                blocks.append(second[0, 0] + second[1, 1] + second[2, 2])
                columns.append((kind, s))
            else:  # hessian
                h = np.empty(x.shape + (3, 3), dtype=np.float32)  # (Z, Y, X, 3, 3)
                for (a, b), v in second.items():
                    h[..., a, b] = v
                    h[..., b, a] = v
                eig = np.linalg.eigvalsh(h)  # (Z, Y, X, 3), ascending
                blocks.extend(eig[..., i] for i in range(3))
                columns.extend([(kind, s)] * 3)
    return np.stack(blocks, axis=-1).astype(np.float32, copy=False), columns


class FilterBankKMeans(Baseline):
    """k-means on standardised multi-scale filter responses (Gaussian, std, gradient, LoG, Hessian).

    Parameters
    ----------
    sigmas : sequence of float, default :data:`DEFAULT_SIGMAS`
        Scales in voxels.
    features : mapping of str to float, default :data:`DEFAULT_FEATURES`
        Feature kind -> weight applied after standardisation; kinds with weight 0 are not computed.
    fit_size : int, default 20000
        Voxels subsampled to fit the k-means centres.
    n_init : int, default 4
        k-means restarts.
    """

    name = "filter_bank"

    def __init__(
        self,
        *,
        sigmas: Sequence[float] = DEFAULT_SIGMAS,
        features: Mapping[str, float] = DEFAULT_FEATURES,
        fit_size: int = 20_000,
        n_init: int = 4,
    ) -> None:
        self.sigmas = tuple(sigmas)
        self.features = dict(features)
        self.fit_size = fit_size
        self.n_init = n_init

    def _prepare(self, x: np.ndarray, mask: np.ndarray, random_state: int) -> np.ndarray:
        kinds = [k for k, w in self.features.items() if w != 0]
        if not kinds:
            raise UserError("filter_bank: every feature weight is 0; nothing to cluster")
        raw, columns = filter_bank_features(x, sigmas=self.sigmas, kinds=kinds)
        f = raw[mask].astype(np.float64)  # (N, F)
        std = f.std(axis=0)
        f = (f - f.mean(axis=0)) / np.where(std > 0, std, 1.0)
        weights = np.array([self.features[kind] for kind, _ in columns])
        return (f * weights).astype(np.float32)

    def _cluster(self, prepared: np.ndarray, n_clusters: int, random_state: int) -> np.ndarray:
        return subsample_kmeans(
            prepared, n_clusters, random_state=random_state, fit_size=self.fit_size, n_init=self.n_init
        )
