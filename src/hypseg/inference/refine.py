"""The level-1 object's boundary, voxel by voxel, from the image's own intensity (beyond the paper).

Level 1 labels SLIC supervoxels whole, so its object's boundary can be no finer than theirs: on a soft-edged
object a supervoxel that straddles the edge goes wholly to one side, and an encoder that calls a patch bright
when part of it is bright tips such supervoxels towards the object. Refinement moves the boundary by at most one
voxel per pass, each voxel deciding for itself:

1. the **zone** is every voxel within ``band`` voxels (6-connected steps) of the boundary between the object and
   the outside; the object's voxels further in are its **core**, the outside's further out its **rim**;
2. each zone voxel compares its intensity with the **local means** of the core and of the rim: Gaussian-weighted
   means (``sigma`` voxels) over each set's voxels alone, so that a dim object beside a bright one, or a bright
   shell around a grey interior, is judged against its own neighbourhood rather than the volume's averages;
3. it joins the object when its intensity is nearer the core's local mean, the outside when nearer the rim's;
   a zone voxel with almost no core or rim voxels within reach of the Gaussian keeps its side.

Beyond the volume's faces lies the outside (the erosion's border), so an object voxel on a face is in the zone
and judged too.

Each pass reads only voxels within ``band`` + the Gaussian's radius, so ``passes`` passes on a block read with a
halo of :func:`reach` voxels give the whole-volume result in the block's interior: the chunked pipeline refines
chunk by chunk and gets the same object.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from hypseg.errors import UserError

__all__ = ["BAND", "SIGMA", "TRUNCATE", "boundary_zone", "radius", "reach", "refine_boundary"]

#: How far from the boundary a voxel may change side in one pass (voxels, 6-connected steps).
BAND = 1
#: The local means' Gaussian standard deviation (voxels).
SIGMA = 2.0
#: The Gaussian's radius in standard deviations (:func:`scipy.ndimage.gaussian_filter`'s ``truncate``).
TRUNCATE = 4.0
#: A zone voxel whose Gaussian-weighted share of core (or rim) voxels is below this keeps its side: nothing of
#: that side lies near enough to judge against.
MIN_SHARE = 1e-3


def radius(sigma: float = SIGMA) -> int:
    """The local means' Gaussian radius (voxels per axis), passed to :func:`scipy.ndimage.gaussian_filter`."""
    return int(TRUNCATE * float(sigma) + 0.5)


def reach(passes: int, *, band: int = BAND, sigma: float = SIGMA) -> int:
    """How many voxels away (per axis) a voxel's refined side may depend on, after ``passes`` passes.

    >>> reach(2)
    18
    """
    return int(passes) * (int(band) + radius(sigma))


def boundary_zone(inside: np.ndarray, band: int = BAND) -> np.ndarray:
    """The voxels within ``band`` voxels (6-connected steps) of the boundary between ``inside`` and the rest, on
    either side; beyond the volume's faces lies the rest, so ``inside``'s voxels on a face are in it.

    >>> inside = np.zeros((5, 5, 9), dtype=bool); inside[..., 4:] = True
    >>> boundary_zone(inside, 1)[2, 2].astype(int).tolist()
    [0, 0, 0, 1, 1, 0, 0, 0, 1]
    """
    if band < 1:  # scipy repeats a dilation of 0 iterations until nothing changes
        raise ValueError(f"a boundary zone is at least 1 voxel wide, got {band}")
    return ndimage.binary_dilation(inside, iterations=band) & ~ndimage.binary_erosion(inside, iterations=band)


def _local_mean(values: np.ndarray, mask: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian-weighted mean of ``values`` over ``mask``'s voxels around each voxel, and the weight's share."""
    share = ndimage.gaussian_filter(mask.astype(np.float64), sigma, mode="nearest", radius=radius(sigma))
    total = ndimage.gaussian_filter(np.where(mask, values, 0.0), sigma, mode="nearest", radius=radius(sigma))
    return total / np.maximum(share, np.finfo(np.float64).tiny), share


def refine_boundary(volume: np.ndarray, inside: np.ndarray, *, passes: int, band: int = BAND,
                    sigma: float = SIGMA) -> np.ndarray:
    """``inside`` (Z, Y, X) bool with its boundary refined ``passes`` times by ``volume``'s intensity (module
    docstring); no holes are filled here.

    Examples
    --------
    A bright cube whose object was found one voxel too large on every side shrinks back onto it:

    >>> volume = np.zeros((12, 12, 12)); volume[3:9, 3:9, 3:9] = 1.0
    >>> found = np.zeros(volume.shape, dtype=bool); found[2:10, 2:10, 2:10] = True
    >>> bool((refine_boundary(volume, found, passes=1) == (volume > 0)).all())
    True
    """
    volume = np.asarray(volume)
    inside = np.asarray(inside, dtype=bool)
    if volume.shape != inside.shape:
        raise UserError(f"a volume of shape {volume.shape} for an object of {inside.shape}")
    if passes < 0 or band < 1 or not sigma > 0:
        raise UserError(f"refinement needs passes >= 0, band >= 1 and sigma > 0, got {passes}, {band}, {sigma}")
    values = volume.astype(np.float64)
    for _ in range(int(passes)):
        zone = boundary_zone(inside, band)
        if not zone.any():
            break
        core = inside & ~zone
        rim = ~inside & ~zone
        core_mean, core_share = _local_mean(values, core, sigma)
        rim_mean, rim_share = _local_mean(values, rim, sigma)
        judged = zone & (core_share >= MIN_SHARE) & (rim_share >= MIN_SHARE)
        nearer_core = np.abs(values - core_mean) < np.abs(values - rim_mean)
        inside = np.where(judged, nearer_core, inside)
    return inside
