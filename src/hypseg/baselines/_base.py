"""The common interface of the classical baselines: :class:`Baseline`.

Every baseline segments a 3-D volume ``(Z, Y, X)`` into ``n_clusters`` clusters without supervision. The
public :meth:`Baseline.segment` validates its arguments, standardises the intensities and composes the
label map; a subclass supplies two private steps:

- ``_prepare(x, mask, random_state)`` computes whatever does not depend on the number of clusters
  (intensities, filter responses, supervoxels, PCA scores), so that several levels of the hierarchy
  (k = 2, 4, 8) share it (:meth:`Baseline.segment_levels`);
- ``_cluster(prepared, n_clusters, random_state)`` returns one cluster id per voxel of the mask.

Label convention (tested)
-------------------------
- **Order.** Clusters are numbered by ascending mean intensity of their voxels (ties by the clustering's
  own id), and empty clusters are dropped, so the labels are consecutive and the same for the same
  input whatever the clustering's internal numbering.
- **Without a mask** the labels are ``0 .. m-1`` (``m <= n_clusters`` clusters that received voxels).
- **With a mask** only the voxels inside are clustered; voxels outside get **0** and the clusters inside
  are ``1 .. m``, so "outside" never shares a label with a cluster. Filters and patches still see the
  whole volume (the mask chooses which voxels are clustered, not what they look at).
"""

from __future__ import annotations

import abc
import numbers
from typing import ClassVar, Sequence

import numpy as np

from hypseg.data import zscore
from hypseg.errors import UserError

__all__ = ["Baseline", "LABEL_DTYPE"]

#: dtype of every label map a baseline returns
LABEL_DTYPE = np.int32


class Baseline(abc.ABC):
    """An unsupervised segmentation of a 3-D volume into a given number of clusters.

    Subclasses set :attr:`name` (the registry key, see :data:`hypseg.baselines.BASELINES`) and implement
    ``_prepare`` and ``_cluster`` (see the module docstring). Hyper-parameters are keyword arguments of
    the subclass's ``__init__``, which only stores them (the scikit-learn contract).
    """

    #: registry key
    name: ClassVar[str] = ""

    def segment(
        self,
        volume: np.ndarray,
        n_clusters: int,
        *,
        mask: np.ndarray | None = None,
        random_state: int = 0,
    ) -> np.ndarray:
        """Segment ``volume`` into ``n_clusters`` clusters.

        Parameters
        ----------
        volume : numpy.ndarray
            (Z, Y, X) real-valued intensities; any scale (they are z-scored over the mask first).
        n_clusters : int
            Number of clusters, at least 2.
        mask : numpy.ndarray of bool, optional
            (Z, Y, X); only voxels where it is True are clustered, the others get label 0 and the
            clusters are numbered from 1 (see the module docstring).
        random_state : int, default 0
            Seed of every random choice (subsamples, k-means initialisation); the same seed gives the
            same labels.

        Returns
        -------
        numpy.ndarray
            (Z, Y, X) int32 labels, ordered by ascending mean intensity of their cluster.

        Raises
        ------
        UserError
            If the volume is not 3-D, not real or not finite, ``n_clusters`` is not an integer >= 2,
            the mask's shape differs, or fewer than ``n_clusters`` voxels are to be clustered.
        """
        return self.segment_levels(volume, (n_clusters,), mask=mask, random_state=random_state)[n_clusters]

    def segment_levels(
        self,
        volume: np.ndarray,
        n_clusters: Sequence[int],
        *,
        mask: np.ndarray | None = None,
        random_state: int = 0,
    ) -> dict[int, np.ndarray]:
        """Segment ``volume`` once per cluster count, sharing the work that does not depend on it.

        ``segment_levels(v, (2, 4))[4]`` equals ``segment(v, 4)`` (same seed).

        Parameters
        ----------
        volume, mask, random_state
            As in :meth:`segment`.
        n_clusters : sequence of int
            Cluster counts, each at least 2.

        Returns
        -------
        dict[int, numpy.ndarray]
            Cluster count -> (Z, Y, X) int32 label map.
        """
        x, inside = _validate_volume(volume, mask)
        counts = [_validate_n_clusters(k) for k in n_clusters]
        n_inside = int(inside.sum())
        if counts and n_inside < max(counts):
            raise UserError(
                f"{self.name}: {n_inside} voxel(s) to cluster, fewer than n_clusters={max(counts)}"
            )
        x = zscore(x, mask=None if mask is None else inside)  # (Z, Y, X) float32
        prepared = self._prepare(x, inside, random_state)
        values = x[inside]
        out: dict[int, np.ndarray] = {}
        for k in counts:
            if k in out:
                continue
            ids = np.asarray(self._cluster(prepared, k, random_state)).reshape(-1)  # (n_inside,)
            ordered = _order_by_intensity(ids, values)
            labels = np.zeros(x.shape, dtype=LABEL_DTYPE)
            labels[inside] = ordered if mask is None else ordered + 1
            out[k] = labels
        return out

    @abc.abstractmethod
    def _prepare(self, x: np.ndarray, mask: np.ndarray, random_state: int) -> object:
        """Work shared by every cluster count; ``x`` (Z, Y, X) float32 z-scored, ``mask`` (Z, Y, X) bool."""

    @abc.abstractmethod
    def _cluster(self, prepared: object, n_clusters: int, random_state: int) -> np.ndarray:
        """One integer cluster id per voxel of the mask, in ``x[mask]`` order: shape (mask.sum(),)."""

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({params})"


def _validate_volume(volume: object, mask: object) -> tuple[np.ndarray, np.ndarray]:
    """Return the volume as float32 and the mask as bool (all True when None), or raise UserError."""
    x = np.asarray(volume)
    if x.ndim != 3:
        raise UserError(f"volume must be 3-D (Z, Y, X), got {x.ndim}-D with shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or x.dtype == np.bool_:
        raise UserError(f"volume must hold real numbers, got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise UserError("volume holds non-finite values (NaN or inf)")
    if mask is None:
        return x, np.ones(x.shape, dtype=bool)
    inside = np.asarray(mask)
    if inside.shape != x.shape:
        raise UserError(f"mask shape {inside.shape} differs from the volume's shape {x.shape}")
    return x, inside.astype(bool, copy=False)


def _validate_n_clusters(n_clusters: object) -> int:
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral) or n_clusters < 2:
        raise UserError(f"n_clusters must be an integer >= 2, got {n_clusters!r}")
    return int(n_clusters)


def _order_by_intensity(ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Renumber cluster ids 0..m-1 by ascending mean of ``values`` (ties by id); empty ids vanish."""
    present, codes = np.unique(ids, return_inverse=True)
    counts = np.bincount(codes, minlength=present.size)
    means = np.bincount(codes, weights=values.astype(np.float64), minlength=present.size) / counts
    rank = np.empty(present.size, dtype=np.int64)
    rank[np.argsort(means, kind="stable")] = np.arange(present.size)
    return rank[codes.reshape(-1)]
