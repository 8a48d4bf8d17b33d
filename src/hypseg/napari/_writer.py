"""Save a napari labels layer as a label map, in any format the command line writes.

The format comes from the file's suffix (NIfTI, MRC, TIFF, NumPy, Zarr: :data:`hypseg.io.FORMATS`),
as ``hypseg segment`` writes a label map in its input's format. The geometry is the layer's own:
its scale, translation, rotation, shear and affine, composed as napari composes them, become the
file's affine (:func:`hypseg.napari._layers.volume_affine`), so the saved map opens beside its image
in napari, ITK-SNAP, 3D Slicer or IMOD. A layer read from a segmentation folder
(:mod:`hypseg.napari._reader`) also keeps the input's unit. Values are stored in the smallest
unsigned type that holds them (uint8 or uint16; larger values in uint32).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hypseg.errors import UserError
from hypseg.napari._layers import volume_affine


class LabelsNotWritten(RuntimeError):
    """A labels layer hypseg cannot write, with the one-line reason. Not a ``ValueError`` (as :class:`UserError` is):
    napari takes a writer's ``ValueError`` for "this plugin does not write that" and drops its message."""


def write_labels(path: str | os.PathLike, data: Any, attributes: dict[str, Any]) -> list[str]:
    """Write one labels layer (``data`` and napari's ``attributes`` of the layer) to ``path``.

    Returns
    -------
    list of str
        The file written, as napari's writer contract asks.

    Raises
    ------
    LabelsNotWritten
        For a multiscale or non-3-D layer, negative labels, values the format cannot hold, or a suffix hypseg does not
        write; its message is the one line of the :class:`UserError` behind it.
    """
    try:
        return _write_labels(path, data, attributes)
    except UserError as err:
        raise LabelsNotWritten(str(err)) from None


def _write_labels(path: str | os.PathLike, data: Any, attributes: dict[str, Any]) -> list[str]:
    from hypseg.io import Volume, save_labels, spacing_from_affine

    path = Path(path)
    if attributes.get("multiscale"):
        raise UserError(f"{path}: a multiscale labels layer cannot be saved as one label map; save its first level")
    labels = np.asarray(data)
    if labels.ndim != 3:
        raise UserError(f"{path}: hypseg writes 3-D label maps (Z, Y, X); this layer has shape {labels.shape}")
    if labels.size and labels.min() < 0:
        raise UserError(f"{path}: labels must not be negative (the smallest is {int(labels.min())})")
    top = int(labels.max()) if labels.size else 0
    small = labels.astype(np.uint8 if top < 2**8 else np.uint16 if top < 2**16 else np.uint32)
    origin = (attributes.get("metadata") or {}).get("hypseg", {})
    metadata = {"unit": origin["unit"]} if origin.get("unit") else {}
    affine = volume_affine(data_to_world(attributes))
    # the geometry without voxels behind it: a read-only broadcast of one float32 zero
    like = Volume(array=np.broadcast_to(np.zeros((), dtype=np.float32), labels.shape),
                  spacing=spacing_from_affine(affine), affine=affine, metadata=metadata)
    return [str(save_labels(small, like=like, path=path))]


def data_to_world(attributes: dict[str, Any]) -> np.ndarray:
    """A 3-D layer's whole data-to-world transform (4, 4) on (z, y, x), from its saved attributes:
    ``affine`` after ``translate``, ``rotate``, ``shear`` and ``scale``, as napari composes them."""
    from napari.utils.transforms import Affine, CompositeAffine

    physical = CompositeAffine(
        scale=attributes.get("scale", (1.0, 1.0, 1.0)), translate=attributes.get("translate", (0.0, 0.0, 0.0)),
        rotate=attributes.get("rotate"), shear=attributes.get("shear"), ndim=3,
    )
    world = Affine(affine_matrix=np.asarray(attributes.get("affine", np.eye(4)), dtype=np.float64), ndim=3)
    return world.compose(physical).affine_matrix
