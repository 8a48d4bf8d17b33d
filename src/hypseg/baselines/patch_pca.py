"""Patch PCA: principal components of every voxel's p^3 neighbourhood, then k-means.

A voxel is described by the ``p^3`` intensities of the cube centred on it (the volume is padded by
mirroring, scipy's ``"reflect"`` = NumPy's ``"symmetric"``). PCA is fitted on a random subsample of
patches (eigenvectors of their covariance), extracted through a strided view (``numpy.lib.stride_tricks.sliding_window_view``, no copy of
the whole patch matrix). The scores of *all* voxels are then computed without building the patch
matrix: the score on component ``w_c`` (a ``p^3`` kernel) is the correlation of the volume with that
kernel minus ``w_c . mean_patch``, one ``scipy.ndimage.correlate`` per component, so memory stays at a
few copies of the volume whatever its size. The scores are not whitened: the first component (about the
local mean) keeps its larger spread.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage

from hypseg.errors import UserError

from ._base import Baseline
from ._kmeans import subsample_kmeans

__all__ = ["PatchPCAKMeans", "patch_pca_scores", "patches_at", "principal_axes"]


def patches_at(x: np.ndarray, flat_index: np.ndarray, *, patch: int) -> np.ndarray:
    """The ``patch^3`` cubes centred on the given voxels, mirrored at the borders.

    Parameters
    ----------
    x : numpy.ndarray
        (Z, Y, X) volume.
    flat_index : numpy.ndarray
        (N,) indices into ``x.ravel()``.
    patch : int
        Odd side p.

    Returns
    -------
    numpy.ndarray
        (N, p^3) rows, in C order over the cube's (dz, dy, dx).
    """
    r = patch // 2
    padded = np.pad(x, r, mode="symmetric")
    view = sliding_window_view(padded, (patch,) * 3)  # (Z, Y, X, p, p, p), a view
    z, y, xx = np.unravel_index(flat_index, x.shape)
    return view[z, y, xx].reshape(flat_index.size, patch**3)


def principal_axes(rows: np.ndarray, *, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and leading principal axes of the rows (eigenvectors of their covariance matrix).

    The covariance ``(R - m)^T (R - m) / (n - 1)`` is only ``p^3 x p^3``, so ``numpy.linalg.eigh`` on
    it is much cheaper than an SVD of the (n, p^3) rows. Each axis's sign is fixed so that its entry of
    largest magnitude is positive (deterministic output).

    Parameters
    ----------
    rows : numpy.ndarray
        (n, D) samples, n >= 2.
    n_components : int
        Number of axes kept (at most D).

    Returns
    -------
    components : numpy.ndarray
        (C, D) unit axes, by decreasing variance.
    mean : numpy.ndarray
        (D,) mean row.

    Examples
    --------
    >>> rows = np.array([[-2.0, 0.1], [0.0, -0.2], [2.0, 0.1]])
    >>> principal_axes(rows, n_components=1)[0].round(3)
    array([[1., 0.]])
    """
    r = rows.astype(np.float64)
    mean = r.mean(axis=0)
    centred = r - mean
    cov = centred.T @ centred / max(r.shape[0] - 1, 1)  # (D, D)
    values, vectors = np.linalg.eigh(cov)  # ascending
    axes = vectors[:, ::-1][:, :n_components].T  # (C, D)
    signs = np.sign(axes[np.arange(axes.shape[0]), np.abs(axes).argmax(axis=1)])
    return axes * signs[:, None], mean


def patch_pca_scores(x: np.ndarray, components: np.ndarray, mean: np.ndarray, *, patch: int) -> np.ndarray:
    """Scores ``(patch(v) - mean) . w_c`` of every voxel v on every component, by correlation.

    Parameters
    ----------
    x : numpy.ndarray
        (Z, Y, X) volume.
    components : numpy.ndarray
        (C, p^3) principal axes (rows), C order over (dz, dy, dx) as in :func:`patches_at`.
    mean : numpy.ndarray
        (p^3,) mean patch.
    patch : int
        Odd side p.

    Returns
    -------
    numpy.ndarray
        (Z, Y, X, C) float32 scores; equal to projecting :func:`patches_at` rows (tested).
    """
    xf = x.astype(np.float64)
    out = np.empty(x.shape + (components.shape[0],), dtype=np.float32)
    for c, w in enumerate(components):  # one filter per component
        kernel = w.reshape((patch,) * 3)
        out[..., c] = ndimage.correlate(xf, kernel, mode="reflect") - float(w @ mean)
    return out


class PatchPCAKMeans(Baseline):
    """k-means on the leading principal components of p^3 patches.

    Parameters
    ----------
    patch : int, default 5
        Odd patch side p (the paper's segmentation used p = 5).
    n_components : int, default 8
        Principal components kept.
    fit_size : int, default 20000
        Patches subsampled (inside the mask) to fit the PCA and the k-means centres.
    n_init : int, default 4
        k-means restarts.
    """

    name = "patch_pca"

    def __init__(self, *, patch: int = 5, n_components: int = 8, fit_size: int = 20_000, n_init: int = 4) -> None:
        self.patch = patch
        self.n_components = n_components
        self.fit_size = fit_size
        self.n_init = n_init

    def _prepare(self, x: np.ndarray, mask: np.ndarray, random_state: int) -> np.ndarray:
        if self.patch < 1 or self.patch % 2 == 0:
            raise UserError(f"patch must be an odd positive integer, got {self.patch!r}")
        inside = np.flatnonzero(mask.ravel())
        rng = np.random.default_rng(random_state)
        sample = inside if inside.size <= self.fit_size else rng.choice(inside, size=self.fit_size, replace=False)
        rows = patches_at(x, np.sort(sample), patch=self.patch).astype(np.float64)  # (n, p^3)
        components, mean = principal_axes(rows, n_components=min(self.n_components, rows.shape[1]))
        scores = patch_pca_scores(x, components, mean, patch=self.patch)  # (Z, Y, X, C)
        return scores[mask]  # (N, C)

    def _cluster(self, prepared: np.ndarray, n_clusters: int, random_state: int) -> np.ndarray:
        return subsample_kmeans(prepared, n_clusters, random_state=random_state, n_init=self.n_init)
