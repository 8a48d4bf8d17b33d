"""Intensity normalisation, applied identically at training and at inference.

Both the training data pipeline and segmentation call :func:`normalise` with the run's
:class:`hypseg.config.DataConfig` (saved in the run's ``config.toml``), so a volume is mapped the same way
whichever job reads it. Statistics are computed per volume, over the voxels of ``mask`` when one is given
(for BraTS the brain, FLAIR > 0), and the map is applied to every voxel:

- ``"percentile"`` (robust scaling): y = (x - q_lo) / (q_hi - q_lo), with q_lo, q_hi the
  ``percentile_low`` and ``percentile_high`` percentiles (1 and 99 by default); optionally clipped to
  [0, 1]. Insensitive to a few extreme voxels (hot pixels, gold fiducials in cryo-ET).
- ``"zscore"``: y = (x - mean) / std, mean and standard deviation over the mask.
- ``"none"``: y = x.

A degenerate spread (q_hi == q_lo, std == 0) is an error naming the problem. The output is float32.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hypseg.config import DataConfig
from hypseg.errors import UserError


def percentile_scale(
    x: np.ndarray, *, mask: np.ndarray | None = None, low: float = 1.0, high: float = 99.0, clip: bool = False
) -> np.ndarray:
    """Robust scaling y = (x - q_lo) / (q_hi - q_lo), percentiles over ``mask`` (or all voxels).

    >>> y = percentile_scale(np.arange(101.0), low=10, high=90)
    >>> float(y[10]), float(y[90])
    (0.0, 1.0)
    """
    values = _masked(x, mask)
    q_lo, q_hi = np.percentile(values, [low, high])
    if not q_hi > q_lo:
        raise UserError(f"percentile normalisation: the {low}th and {high}th percentiles are equal ({q_lo:g}); the volume is (nearly) constant")
    y = (np.asarray(x, dtype=np.float32) - np.float32(q_lo)) / np.float32(q_hi - q_lo)
    return np.clip(y, 0.0, 1.0) if clip else y


def zscore(x: np.ndarray, *, mask: np.ndarray | None = None) -> np.ndarray:
    """Standardisation y = (x - mean) / std, with mean and std over ``mask`` (or all voxels).

    >>> y = zscore(np.array([1.0, 2.0, 3.0, 100.0]), mask=np.array([True, True, True, False]))
    >>> np.round(y[:3] * np.sqrt(2 / 3), 6).tolist()
    [-1.0, 0.0, 1.0]
    """
    values = _masked(x, mask).astype(np.float64)
    std = values.std()
    if not std > 0:
        raise UserError("z-score normalisation: the voxels under the mask are constant")
    return ((np.asarray(x, dtype=np.float64) - values.mean()) / std).astype(np.float32)


def _identity(x: np.ndarray, *, mask: np.ndarray | None = None) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def _masked(x: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    x = np.asarray(x)
    if mask is None:
        return x.ravel()
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != x.shape:
        raise UserError(f"normalisation: mask shape {mask.shape} differs from the volume's shape {x.shape}")
    if not mask.any():
        raise UserError("normalisation: the mask is empty")
    return x[mask]


#: config.normalisation -> function(x, *, mask, config)
NORMALISERS: dict[str, Callable[..., np.ndarray]] = {
    "percentile": lambda x, *, mask, config: percentile_scale(
        x, mask=mask, low=config.percentile_low, high=config.percentile_high, clip=config.clip
    ),
    "zscore": lambda x, *, mask, config: zscore(x, mask=mask),
    "none": lambda x, *, mask, config: _identity(x, mask=mask),
}


def normalise(x: np.ndarray, *, config: DataConfig, mask: np.ndarray | None = None) -> np.ndarray:
    """Normalise one volume as ``config.normalisation`` says (the single entry point for all jobs).

    Parameters
    ----------
    x : ndarray (Z, Y, X)
    config : DataConfig
    mask : bool ndarray (Z, Y, X), optional
        Voxels the statistics are computed on.

    Returns
    -------
    ndarray (Z, Y, X), float32
    """
    if config.normalisation not in NORMALISERS:
        raise UserError(f"unknown normalisation {config.normalisation!r}; choose one of {sorted(NORMALISERS)}")
    return NORMALISERS[config.normalisation](x, mask=mask, config=config)
