"""NumPy files: ``.npy`` (one array, memory-mapped) and ``.npz`` (``array`` plus ``spacing``, ``affine``).

A ``.npy`` file has no geometry: spacing 1 and the identity affine. An ``.npz`` file written by hypseg
holds ``array`` (Z, Y, X), ``spacing`` (dz, dy, dx) and ``affine`` (4, 4); an ``.npz`` holding a single
array of any name is read too. Pickled objects are never loaded (``allow_pickle=False``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hypseg.errors import UserError
from hypseg.io._raw import RawVolume
from hypseg.io.volume import affine_from_spacing, spacing_from_affine


def read_npy(path: Path, *, mmap: bool) -> RawVolume:
    """Read a ``.npy`` array (memory-mapped when ``mmap``)."""
    data = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    return RawVolume(array=data, spacing=(1.0, 1.0, 1.0), affine=np.eye(4), metadata={})


def read_npz(path: Path, *, mmap: bool) -> RawVolume:
    """Read an ``.npz`` archive (always into memory: archives cannot be memory-mapped)."""
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if "array" in names:
            key = "array"
        elif len(names) == 1:
            key = names[0]
        else:
            raise UserError(f"holds arrays {', '.join(names)} but none is named 'array'")
        data = archive[key]
        spacing = tuple(float(s) for s in archive["spacing"]) if "spacing" in names else (1.0, 1.0, 1.0)
        affine = archive["affine"].astype(np.float64) if "affine" in names else affine_from_spacing(spacing)
    return RawVolume(array=data, spacing=spacing, affine=affine, metadata={})


def write_npy(path: Path, array: np.ndarray, *, affine: np.ndarray, metadata: dict[str, Any]) -> None:
    """Write the array only (``.npy`` has no place for geometry)."""
    with open(path, "wb") as handle:
        np.save(handle, np.asarray(array), allow_pickle=False)


def write_npz(path: Path, array: np.ndarray, *, affine: np.ndarray, metadata: dict[str, Any]) -> None:
    """Write ``array``, ``spacing`` and ``affine`` into a compressed archive."""
    with open(path, "wb") as handle:
        np.savez_compressed(
            handle, array=np.asarray(array), spacing=np.asarray(spacing_from_affine(affine)), affine=np.asarray(affine)
        )
