"""The registry of volume formats: file suffix -> reader and writer.

An unknown suffix fails loudly with the list of known ones (style rule 6).
"""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Callable

import numpy as np

from hypseg.errors import UserError
from hypseg.io import mrc, nifti, numpy_io, tiff, zarr_io
from hypseg.io._atomic import full_suffix
from hypseg.io._raw import RawVolume


class Format(typing.NamedTuple):
    """A volume format: its name, reader and writer."""

    name: str
    read: Callable[..., RawVolume]
    write: Callable[..., None]


_NIFTI = Format("nifti", nifti.read, nifti.write)
_MRC = Format("mrc", mrc.read, mrc.write)
_TIFF = Format("tiff", tiff.read, tiff.write)
_NPY = Format("npy", numpy_io.read_npy, numpy_io.write_npy)
_NPZ = Format("npz", numpy_io.read_npz, numpy_io.write_npz)
_ZARR = Format("zarr", zarr_io.read, zarr_io.write)

#: file suffix -> format
FORMATS: dict[str, Format] = {
    ".nii": _NIFTI,
    ".nii.gz": _NIFTI,
    ".mrc": _MRC,
    ".rec": _MRC,
    ".map": _MRC,
    ".tif": _TIFF,
    ".tiff": _TIFF,
    ".npy": _NPY,
    ".npz": _NPZ,
    ".zarr": _ZARR,
}


def format_of(path: Path) -> Format:
    """The format of ``path`` from its suffix.

    Raises
    ------
    UserError
        For an unknown suffix, naming the file and the known suffixes.
    """
    suffix = full_suffix(Path(path))
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        raise UserError(f"{path}: unknown volume format {suffix or '(no suffix)'!r}; expected one of {known}")
    return FORMATS[suffix]


def is_volume_path(path: Path) -> bool:
    """Whether ``path`` has the suffix of a known volume format."""
    return full_suffix(Path(path)) in FORMATS


def write_array(path: Path, array: np.ndarray, *, affine: np.ndarray, metadata: dict[str, Any]) -> None:
    """Write an array in the format of ``path`` (no atomicity here; see :mod:`hypseg.io.write`)."""
    format_of(path).write(path, array, affine=affine, metadata=metadata)
