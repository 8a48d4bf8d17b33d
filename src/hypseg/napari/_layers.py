"""Geometry and colours shared by the reader, the writer, the sample data and the widget.

hypseg's :class:`~hypseg.io.Volume` places voxel ``array[z, y, x]`` at ``affine @ (x, y, z, 1)``
(:mod:`hypseg.io.volume`); napari places ``data[z, y, x]`` with a transform acting on the index in
array order, (z, y, x). The two transforms differ by reversing the first three coordinates on both
sides: ``napari = R @ affine @ R``. A diagonal transform with positive entries (MRC, TIFF, NumPy,
Zarr, most NIfTI files written by hypseg) becomes a layer's ``scale`` and ``translate``, which napari's
scale bar and measurements understand; any other (an oblique or flipped NIfTI) becomes its ``affine``.

Label maps are coloured by value with :func:`hypseg.plotting.value_colors`' rule (tab10 for the first ten
clusters), so that cluster k has the same colour in the viewer and on the Poincaré disk. napari leaves
label 0 transparent by default; that is right where 0 is the outside of the level-1 object
(containment) but would hide a whole cluster otherwise, so there label 0 gets its colour too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: reverses (x, y, z) <-> (z, y, x) and keeps the homogeneous coordinate
_REVERSE = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]], dtype=np.float64)


def layer_geometry(affine: np.ndarray) -> dict[str, Any]:
    """napari layer keywords that place a (Z, Y, X) array as the (x, y, z, 1) ``affine`` places it.

    Examples
    --------
    >>> from hypseg.io import affine_from_spacing
    >>> layer_geometry(affine_from_spacing((3.0, 2.0, 1.0), origin=(7.0, 8.0, 9.0)))
    {'scale': (3.0, 2.0, 1.0), 'translate': (9.0, 8.0, 7.0)}
    >>> sorted(layer_geometry(np.diag([-1.0, 1.0, 1.0, 1.0])))
    ['affine']
    """
    zyx = _REVERSE @ np.asarray(affine, dtype=np.float64) @ _REVERSE
    linear = zyx[:3, :3]
    diagonal = np.diag(linear)
    if np.array_equal(linear, np.diag(diagonal)) and np.all(diagonal > 0):
        return {"scale": tuple(float(s) for s in diagonal), "translate": tuple(float(t) for t in zyx[:3, 3])}
    return {"affine": zyx}


def layer_axes(unit: str | None) -> dict[str, Any]:
    """napari layer keywords that name the axes (z, y, x) and, where hypseg knows it (``Volume.metadata["unit"]``), their
    unit, so that the scale bar and the status bar read in it; an unknown unit leaves napari's default, pixels.

    >>> layer_axes("mm")
    {'axis_labels': ('z', 'y', 'x'), 'units': ('millimeter', 'millimeter', 'millimeter')}
    >>> layer_axes("unknown")
    {'axis_labels': ('z', 'y', 'x')}
    """
    from hypseg.io.blockwise import NGFF_UNITS

    axes: dict[str, Any] = {"axis_labels": ("z", "y", "x")}
    if unit in NGFF_UNITS:
        axes["units"] = (NGFF_UNITS[unit],) * 3
    return axes


def volume_affine(data_to_world: np.ndarray) -> np.ndarray:
    """The (x, y, z, 1) affine of a layer whose whole data-to-world transform, on (z, y, x), is
    ``data_to_world`` (4, 4): the inverse of :func:`layer_geometry`.

    >>> from hypseg.io import affine_from_spacing
    >>> start = affine_from_spacing((3.0, 2.0, 1.0), origin=(7.0, 8.0, 9.0))
    >>> kwargs = layer_geometry(start)
    >>> napari = np.diag(list(kwargs["scale"]) + [1.0]); napari[:3, 3] = kwargs["translate"]
    >>> bool(np.array_equal(volume_affine(napari), start))
    True
    """
    return _REVERSE @ np.asarray(data_to_world, dtype=np.float64) @ _REVERSE


def zero_is_outside(clusters: int, *, contained: bool, first: int, specimen: bool = False) -> bool:
    """Whether label 0 of a segmentation's map of ``clusters`` clusters is the outside of level 1's object rather than a
    cluster of its own: with containment (``contained``), at level 1 (``first`` clusters) always, and at the finer
    levels unless they divided the specimen around local contrast's object (``specimen``,
    ``SegmentConfig.contrast_divides``), where label 0 is the specimen's first cluster.

    >>> [zero_is_outside(k, contained=True, first=2, specimen=True) for k in (2, 3)]
    [True, False]
    """
    return contained and (clusters == first or not specimen)


def labels_colormap(clusters: int, *, outside: bool) -> dict:
    """A napari labels colormap for labels ``0..clusters-1``: label j takes its colour by value
    (:func:`hypseg.plotting.value_colors`), as in hypseg's plots; with ``outside`` label 0 is the object's outside and stays
    transparent. Values beyond ``clusters - 1`` are drawn grey (``None``'s colour)."""
    from hypseg.plotting import value_colors

    colors: dict[Any, Any] = {None: (0.5, 0.5, 0.5, 1.0)}
    colors.update(value_colors(np.arange(clusters)))
    if outside:
        colors[0] = (0.0, 0.0, 0.0, 0.0)
    return colors
