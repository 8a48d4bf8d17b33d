"""Writing volumes and label maps, atomically, in the format given by the output suffix.

A label map takes the geometry of the volume it belongs to (``like``): same affine, spacing and unit,
so that napari, ITK-SNAP, 3D Slicer and IMOD overlay it on the input. The integer dtype is kept
(MRC narrows wider integers to 16 bits, see :mod:`hypseg.io.mrc`). A Zarr label map is an OME-Zarr image (NGFF 0.4,
:mod:`hypseg.io.blockwise`), so OME tools and napari read its voxel size; a Zarr volume is a plain array.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hypseg.errors import UserError
from hypseg.io._atomic import atomic_path
from hypseg.io.formats import format_of, write_array
from hypseg.io.volume import Volume


def save_volume(volume: Volume, path: str | os.PathLike) -> Path:
    """Write ``volume`` to ``path`` (format from the suffix) with its geometry; returns the path.

    The file is written under a temporary name in the same folder and renamed at the end, so an
    interrupted write never leaves a half-written file.
    """
    return _save(np.asarray(volume.array), path=Path(path), affine=volume.affine, metadata=volume.metadata)


def save_labels(labels: np.ndarray, *, like: Volume, path: str | os.PathLike) -> Path:
    """Write an integer label map ``(Z, Y, X)`` with the geometry of ``like``; returns the path.

    Parameters
    ----------
    labels : ndarray of an integer or bool dtype, shape ``like.shape``
    like : Volume
        The volume the labels segment.
    path : path-like
        Output file; its suffix picks the format (use the input's for viewers to overlay them).

    Raises
    ------
    UserError
        If ``labels`` is not an integer array of ``like``'s shape.
    """
    path = Path(path)
    labels = np.asarray(labels)
    if labels.dtype == np.bool_:
        labels = labels.astype(np.uint8)
    if not np.issubdtype(labels.dtype, np.integer):
        raise UserError(f"{path}: labels must have an integer dtype, got {labels.dtype}")
    if labels.shape != like.shape:
        raise UserError(f"{path}: labels of shape {labels.shape} do not match the volume's shape {like.shape}")
    if format_of(path).name == "zarr":  # an OME-Zarr image, as a label map written box by box is
        from hypseg.io.blockwise import BlockWriter

        with atomic_path(path) as tmp:
            writer = BlockWriter(tmp, labels.shape, labels.dtype, like, name=path.stem)
            writer.write((slice(None),) * 3, labels)
            writer.close()
        return path
    return _save(labels, path=path, affine=like.affine, metadata=like.metadata)


def _save(array: np.ndarray, *, path: Path, affine: np.ndarray, metadata: dict) -> Path:
    format_of(path)  # unknown suffix: fail before creating anything
    tmp = None
    try:
        with atomic_path(path) as tmp:
            write_array(tmp, array, affine=affine, metadata=metadata)
    except ValueError as err:  # a writer's complaint about the data: name the target, not the temporary
        message = str(err) if tmp is None else str(err).replace(str(tmp), str(path))
        raise UserError(message if message.startswith(f"{path}:") else f"{path}: {message}") from None
    return path
