"""MRC / CCP4 maps (``.mrc``, ``.rec``, ``.map``) through mrcfile: cryo-EM and cryo-ET volumes.

The data block is ``(sections, rows, columns)``; with the standard axis mapping (MAPC, MAPR, MAPS) =
(1, 2, 3) that is ``(Z, Y, X)``; other mappings are transposed to it. The voxel size (Angstrom) comes
from the header (``cella / mx``); a zero voxel size (an unset header) reads as 1. The origin header field
becomes the affine's translation. Reading is memory-mapped: the header is parsed by mrcfile and the
data block is opened with :class:`numpy.memmap`, so nothing is loaded until it is used.

MRC stores integers only as int8, int16 and uint16 (mrcfile widens uint8 to uint16); wider integer
labels are narrowed to int16 or uint16 when their values fit, else writing fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hypseg.errors import UserError
from hypseg.io._raw import RawVolume
from hypseg.io.volume import affine_from_spacing, is_read_affine, spacing_from_affine


def read(path: Path, *, mmap: bool) -> RawVolume:
    """Read an MRC file (memory-mapped when ``mmap``)."""
    import mrcfile

    with mrcfile.mmap(str(path), mode="r", permissive=False) as mrc:
        header = mrc.header
        voxel = mrc.voxel_size
        sizes_xyz = [float(voxel.x), float(voxel.y), float(voxel.z)]
        origin = (float(header.origin.x), float(header.origin.y), float(header.origin.z))
        mapping = (int(header.maps), int(header.mapr), int(header.mapc))  # axes of (sections, rows, cols)
        if mmap:
            offset = int(header.nbytes) + int(header.nsymbt)
            data = np.memmap(path, dtype=mrc.data.dtype, mode="r", offset=offset, shape=mrc.data.shape)
        else:
            data = np.array(mrc.data)
        nstart = (int(header.nxstart), int(header.nystart), int(header.nzstart))
    sizes_xyz = [s if s > 0 else 1.0 for s in sizes_xyz]
    if data.ndim == 3 and sorted(mapping) == [1, 2, 3] and mapping != _STANDARD:
        # axis t (1 = x, 2 = y, 3 = z) lives at data axis mapping.index(t); we want (z, y, x)
        data = data.transpose([mapping.index(3), mapping.index(2), mapping.index(1)])
    else:
        mapping = _STANDARD
    spacing = (sizes_xyz[2], sizes_xyz[1], sizes_xyz[0])
    affine = affine_from_spacing(spacing, origin)
    return RawVolume(
        array=data,
        spacing=spacing,
        affine=affine,
        metadata={"unit": "angstrom", "mrc": {"mapping": list(mapping), "nstart": list(nstart), "affine": affine.tolist()}},
        channel_axis=0 if data.ndim == 4 else None,  # a volume stack: (volumes, sections, rows, columns)
    )


_STANDARD = (3, 2, 1)  # the physical axes (1 = x, 2 = y, 3 = z) of the data block's (sections, rows, columns)


def write(path: Path, array: np.ndarray, *, affine: np.ndarray, metadata: dict[str, Any]) -> None:
    """Write ``array`` (Z, Y, X) in the axis order ``metadata`` keeps (:func:`set_header`)."""
    import mrcfile

    array = _mrc_dtype(np.asarray(array))
    with mrcfile.new(str(path), overwrite=True) as mrc:
        mrc.set_data(np.ascontiguousarray(array.transpose(file_axes(metadata))))
        set_header(mrc, affine=affine, metadata=metadata, shape=array.shape)


def file_axes(metadata: dict[str, Any]) -> tuple[int, int, int]:
    """The permutation from a (Z, Y, X) array to the data block's (sections, rows, columns) order of the file
    ``metadata`` came from (the identity for the standard mapping or another format's volume)."""
    mapping = tuple((metadata.get("mrc") or {}).get("mapping", _STANDARD))
    return tuple(3 - axis for axis in mapping)  # physical axis t (3 = z) is axis 3 - t of (Z, Y, X)


def set_header(mrc, *, affine: np.ndarray, metadata: dict[str, Any], shape: tuple[int, int, int]) -> None:
    """Give an open MRC file (its data block already in :func:`file_axes` order) the geometry of a (Z, Y, X) volume of
    ``shape``: voxel size from the affine's column norms, origin from its translation, and the axis mapping and start
    indices of the file ``metadata`` came from. The start indices are kept only where ``affine`` is still that file's
    (a crop's is not: it starts elsewhere, which its origin says)."""
    kept = metadata.get("mrc") or {}
    header = mrc.header
    mapping = tuple(kept.get("mapping", _STANDARD))
    header.maps, header.mapr, header.mapc = mapping
    header.mx, header.my, header.mz = shape[2], shape[1], shape[0]  # samples along x, y, z
    dz, dy, dx = spacing_from_affine(affine)
    mrc.voxel_size = (dx, dy, dz)
    header.origin = tuple(float(v) for v in np.asarray(affine)[:3, 3])
    if is_read_affine(affine, kept.get("affine")):
        header.nxstart, header.nystart, header.nzstart = kept.get("nstart", (0, 0, 0))


def _mrc_dtype(array: np.ndarray) -> np.ndarray:
    if array.dtype in (np.int8, np.int16, np.uint16, np.uint8, np.float32):
        return array
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.bool_):
        return array.astype(np.int8)
    lo, hi = (int(array.min()), int(array.max())) if array.size else (0, 0)
    for dtype in (np.int16, np.uint16):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return array.astype(dtype)
    raise UserError(f"MRC stores integers up to 16 bits; values {lo}..{hi} do not fit")
