"""SLIC supervoxels of a volume: compact regions that follow intensity edges (scikit-image ``slic``).

SLIC (Achanta et al. 2012, "SLIC superpixels compared to state-of-the-art superpixel methods", TPAMI)
grows about ``n_segments`` regions by k-means in (intensity, position) space, restricted to a window of
twice the grid step around every seed; ``compactness`` weighs position against intensity. The intensity
is z-scored first (over ``mask`` when given), so that ``compactness`` means the same whatever the
scanner's units or the normalisation.

Two consumers share this one function, so that they see the same regions:

- the SLIC peer (:class:`hypseg.baselines.SlicKMeans`) clusters each supervoxel's mean intensity;
- segmentation with supervoxel pooling (:mod:`hypseg.inference.pooling`) clusters each supervoxel's
  mean embedding, which removes the voxel-to-voxel noise of the embedding and puts the label
  boundaries on the image's edges.

The map numbers the supervoxels 0..S-1 (in SLIC's order, every number used) and marks voxels outside
``mask`` with -1; every supervoxel is connected (``enforce_connectivity``). Ask for a count
(``n_segments``) or for a size in voxels (``size``: ``n_segments = round(voxels inside / size)``).

**Tiles.** With ``tile``, the volume is cut into a fixed grid of boxes of at most ``tile`` voxels per
side (:func:`tile_bounds`: the sides split evenly) and SLIC runs in each box alone, numbering the
supervoxels box by box in raster order. A supervoxel then never crosses a box face, so the map of any
box depends on that box's voxels only: a volume larger than memory is cut box by box
(:mod:`hypseg.inference.chunked`) into exactly the map that this function returns for the whole volume.
"""

from __future__ import annotations

import itertools

import numpy as np
from skimage.segmentation import slic

from hypseg.config import DEFAULT_SUPERVOXEL_SIZE
from hypseg.data.normalise import voxel_sample, zscore
from hypseg.errors import UserError

__all__ = ["DEFAULT_SUPERVOXEL_SIZE", "supervoxels", "tile_bounds"]

#: SLIC compactness on z-scored intensities (also :class:`hypseg.baselines.SlicKMeans`'s)
DEFAULT_COMPACTNESS = 0.2


def supervoxels(
    volume: np.ndarray, *, n_segments: int | None = None, size: float | None = None,
    compactness: float = DEFAULT_COMPACTNESS, sigma: float = 0.0, mask: np.ndarray | None = None,
    tile: int | None = None, scale: tuple[float, float] | None = None,
) -> np.ndarray:
    """SLIC supervoxels of a (Z, Y, X) volume: an int32 map, 0..S-1 inside ``mask``, -1 outside.

    Parameters
    ----------
    volume : numpy.ndarray
        (Z, Y, X) finite intensities, not constant under the mask.
    n_segments : int, optional
        Approximate number of supervoxels (SLIC's grid has about this many seeds); at least 1.
    size : float, optional
        Instead of ``n_segments``: approximate voxels per supervoxel (e.g. :data:`DEFAULT_SUPERVOXEL_SIZE`).
    compactness : float, default 0.2
        Weight of position against z-scored intensity; larger gives more cube-like regions. Positive.
    sigma : float, default 0.0
        Gaussian pre-smoothing inside SLIC, in voxels (0: none, so the regions keep sharp edges).
    mask : numpy.ndarray of bool, optional
        Only these voxels are divided into supervoxels.
    tile : int, optional
        Cut the volume into boxes of at most this side and run SLIC in each alone (module docstring);
        ``n_segments`` or ``size`` then applies to each box in proportion to its voxels inside.
    scale : (mean, std), optional
        z-score the intensities with these instead of the volume's own (under ``mask``); with
        ``tile``, the boxes share the whole volume's (over :func:`hypseg.data.normalise.voxel_sample`).

    Examples
    --------
    Two halves of different intensity are never mixed in one supervoxel:

    >>> v = np.zeros((8, 8, 8)); v[:, :, 4:] = 1.0
    >>> s = supervoxels(v, n_segments=8)
    >>> bool(set(np.unique(s[:, :, :4])).isdisjoint(np.unique(s[:, :, 4:])))
    True
    """
    x = np.asarray(volume)
    if x.ndim != 3:
        raise UserError(f"supervoxels need a (Z, Y, X) volume, got shape {x.shape}")
    if (n_segments is None) == (size is None):
        raise UserError("give either n_segments or size")
    if n_segments is not None and not (isinstance(n_segments, (int, np.integer)) and n_segments >= 1):
        raise UserError(f"n_segments must be a positive integer, got {n_segments!r}")
    if size is not None and not size > 0:
        raise UserError(f"size must be positive, got {size!r}")
    if not compactness > 0:
        raise UserError(f"compactness must be positive, got {compactness!r}")
    if not sigma >= 0:
        raise UserError(f"sigma must be >= 0, got {sigma!r}")
    inside = np.ones(x.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if inside.shape != x.shape:
        raise UserError(f"mask has shape {inside.shape}, the volume {x.shape}")
    if not inside.any():
        raise UserError("the mask selects no voxels")
    if not np.isfinite(x[inside]).all():
        raise UserError("the volume has NaN or infinite voxels")
    if tile is not None:
        if scale is None:
            values = voxel_sample(x) if mask is None else x[inside]
            scale = (float(values.astype(np.float64).mean()), float(values.astype(np.float64).std()))
        return _tiled(x, inside, mask is not None, tile=tile, n_segments=n_segments, size=size,
                      compactness=compactness, sigma=sigma, scale=scale)
    if n_segments is None:
        n_segments = max(1, round(int(inside.sum()) / size))
    if scale is None:
        z = zscore(x, mask=None if mask is None else inside).astype(np.float64)
    else:
        if not scale[1] > 0:
            raise UserError("supervoxels: the volume is constant")
        z = (x.astype(np.float64) - scale[0]) / scale[1]
    segments = slic(
        z, n_segments=int(n_segments), compactness=float(compactness), sigma=float(sigma), channel_axis=None,
        mask=None if inside.all() else inside, start_label=1, enforce_connectivity=True,
    )  # (Z, Y, X), 0 outside the mask
    labels = segments[inside]  # >= 1; SLIC may leave numbers unused
    rank = np.cumsum(np.bincount(labels) > 0) - 1  # label -> 0..S-1, in O(voxels)
    out = np.full(x.shape, -1, dtype=np.int32)
    out[inside] = rank[labels]
    return out


def tile_bounds(n: int, tile: int) -> np.ndarray:
    """Edges of the tiles along an axis of ``n`` voxels: ``ceil(n / tile)`` tiles of (nearly) equal side.

    >>> tile_bounds(300, 128).tolist(), tile_bounds(100, 128).tolist()
    ([0, 100, 200, 300], [0, 100])
    """
    if not (isinstance(tile, (int, np.integer)) and tile >= 1):
        raise UserError(f"the supervoxel tile must be a positive integer, got {tile!r}")
    count = -(-int(n) // int(tile))
    return (np.arange(count + 1) * int(n)) // count


def _tiled(x: np.ndarray, inside: np.ndarray, masked: bool, *, tile: int, n_segments, size, **options) -> np.ndarray:
    """SLIC box by box (``supervoxels(..., tile=)``), numbered on from box to box in raster order."""
    total = int(inside.sum())
    out = np.full(x.shape, -1, dtype=np.int32)
    start = 0
    edges = [tile_bounds(n, tile) for n in x.shape]
    for box in _boxes(edges):
        part = inside[box]
        count = int(part.sum())
        if not count:
            continue
        share = dict(size=size) if size is not None else dict(n_segments=max(1, round(n_segments * count / total)))
        local = supervoxels(x[box], mask=part if masked else None, **share, **options)
        out[box] = np.where(local >= 0, local + start, -1)
        start += int(local.max()) + 1
    return out


def _boxes(edges):
    """The tiles' index boxes in raster order, from each axis's tile edges."""
    for index in itertools.product(*(range(len(e) - 1) for e in edges)):
        yield tuple(slice(e[i], e[i + 1]) for e, i in zip(edges, index))
