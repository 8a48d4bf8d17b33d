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

The statistics (:func:`statistics`) are taken over :func:`voxel_sample`: every voxel of a volume of up
to 2^24 voxels (256^3), and a regular grid of about that many voxels of a larger one, read slice by
slice. A volume larger than memory is then normalised chunk by chunk (:func:`apply`) exactly as it
would be whole.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hypseg.config import DataConfig
from hypseg.errors import UserError


#: Volumes up to this many voxels are normalised on every voxel; larger ones on a regular grid of about as many.
SAMPLE_VOXELS = 1 << 24


def voxel_sample(x, *, max_voxels: int = SAMPLE_VOXELS) -> np.ndarray:
    """The voxels the statistics of a (Z, Y, X) array are taken on, flattened.

    Every voxel when there are at most ``max_voxels``; otherwise every s-th voxel along each axis, with
    s the smallest stride that keeps the count within ``max_voxels``, read one z-slice at a time (a
    memory map or Zarr array is never read whole).

    >>> voxel_sample(np.arange(64.0).reshape(4, 4, 4), max_voxels=8).tolist()
    [0.0, 2.0, 8.0, 10.0, 32.0, 34.0, 40.0, 42.0]
    """
    shape = tuple(int(n) for n in x.shape)
    if int(np.prod(shape)) <= max_voxels:
        return np.asarray(x[...]).ravel()
    stride = 2
    while int(np.prod([-(-n // stride) for n in shape])) > max_voxels:
        stride += 1
    return np.concatenate([np.asarray(x[z])[::stride, ::stride].ravel() for z in range(0, shape[0], stride)])


def percentile_scale(
    x: np.ndarray, *, mask: np.ndarray | None = None, low: float = 1.0, high: float = 99.0, clip: bool = False
) -> np.ndarray:
    """Robust scaling y = (x - q_lo) / (q_hi - q_lo), percentiles over ``mask`` (or all voxels).

    >>> y = percentile_scale(np.arange(101.0), low=10, high=90)
    >>> float(y[10]), float(y[90])
    (0.0, 1.0)
    """
    return _scale(x, _percentiles(_masked(x, mask), low, high), clip)


def zscore(x: np.ndarray, *, mask: np.ndarray | None = None) -> np.ndarray:
    """Standardisation y = (x - mean) / std, with mean and std over ``mask`` (or all voxels).

    >>> y = zscore(np.array([1.0, 2.0, 3.0, 100.0]), mask=np.array([True, True, True, False]))
    >>> np.round(y[:3] * np.sqrt(2 / 3), 6).tolist()
    [-1.0, 0.0, 1.0]
    """
    return _standardise(x, _moments(_masked(x, mask)))


def _percentiles(values: np.ndarray, low: float, high: float) -> tuple[float, float]:
    q_lo, q_hi = np.percentile(values, [low, high])
    if not q_hi > q_lo:
        raise UserError(f"percentile normalisation: the percentiles {low:g} and {high:g} are equal ({q_lo:g}), so the volume is "
                        f"(nearly) constant; a volume that is mostly one value with a few objects needs a model trained with "
                        f'normalisation = "zscore" ([data] of hypseg train --config)')
    return float(q_lo), float(q_hi)


def _scale(x, stats: tuple[float, float], clip: bool) -> np.ndarray:
    q_lo, q_hi = stats
    y = (np.asarray(x, dtype=np.float32) - np.float32(q_lo)) / np.float32(q_hi - q_lo)
    return np.clip(y, 0.0, 1.0) if clip else y


def _moments(values: np.ndarray) -> tuple[float, float]:
    values = values.astype(np.float64)
    std = values.std()
    if not std > 0:
        raise UserError("z-score normalisation: the voxels under the mask are constant")
    return float(values.mean()), float(std)


def _standardise(x, stats: tuple[float, float]) -> np.ndarray:
    mean, std = stats
    return ((np.asarray(x, dtype=np.float64) - mean) / std).astype(np.float32)


def _masked(x, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        return voxel_sample(x)
    x = np.asarray(x)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != x.shape:
        raise UserError(f"normalisation: mask shape {mask.shape} differs from the volume's shape {x.shape}")
    if not mask.any():
        raise UserError("normalisation: the mask is empty")
    return x[mask]


def statistics(x, *, config: DataConfig, mask: np.ndarray | None = None) -> tuple[float, ...]:
    """What :func:`apply` needs to normalise ``x`` as ``config.normalisation`` says: (q_lo, q_hi) for
    ``"percentile"``, (mean, std) for ``"zscore"``, () for ``"none"``; over :func:`voxel_sample` of ``x``,
    or over ``mask``."""
    _check(config)
    if config.normalisation == "percentile":
        return _percentiles(_masked(x, mask), config.percentile_low, config.percentile_high)
    if config.normalisation == "zscore":
        return _moments(_masked(x, mask))
    return ()


def apply(x, *, config: DataConfig, stats: tuple[float, ...]) -> np.ndarray:
    """``x`` (any part of a volume) normalised with the volume's :func:`statistics`: float32."""
    _check(config)
    if config.normalisation == "percentile":
        return _scale(x, stats, config.clip)
    if config.normalisation == "zscore":
        return _standardise(x, stats)
    return np.asarray(x, dtype=np.float32)


#: The normalisations :func:`normalise` knows.
NORMALISATIONS = ("percentile", "zscore", "none")


def _check(config: DataConfig) -> None:
    if config.normalisation not in NORMALISATIONS:
        raise UserError(f"unknown normalisation {config.normalisation!r}; choose one of {sorted(NORMALISATIONS)}")


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
    return apply(x, config=config, stats=statistics(x, config=config, mask=mask))
