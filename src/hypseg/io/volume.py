"""The :class:`Volume` record: a 3-D scalar image with its voxel geometry.

Axis order
----------
``Volume.array`` is indexed ``array[z, y, x]``: the slowest-varying axis on disk first, the fastest last
(C order). That is how MRC (sections, rows, columns), TIFF stacks (pages, rows, columns), NumPy and Zarr
store a volume. NIfTI stores x fastest, so nibabel's ``(i, j, k)`` array is transposed on reading
(a free view) and back on writing: ``volume.array[z, y, x] == nibabel_array[x, y, z]``.

Geometry
--------
``spacing`` is the voxel size along the array axes, ``(dz, dy, dx)``, in the file's unit
(``metadata["unit"]``: millimetres for NIfTI, Angstrom for MRC, the ImageJ unit for TIFF).
``affine`` is the 4x4 world transform of the voxel index **(x, y, z, 1)** (the NIfTI / ITK convention,
the reversed array index): ``world = affine @ (x, y, z, 1)``. For a NIfTI file it is the file's own
affine; for the other formats it is ``diag(dx, dy, dz, 1)`` plus the origin the format stores.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from hypseg.errors import UserError


@dataclasses.dataclass(eq=False)
class Volume:
    """A 3-D image: a float32 array ``(Z, Y, X)`` with spacing, affine, source format and metadata.

    Parameters
    ----------
    array : ndarray, shape (Z, Y, X), float32
        The voxel values (possibly a read-only memory map).
    spacing : tuple of 3 floats
        Voxel size ``(dz, dy, dx)`` along the array axes.
    affine : ndarray, shape (4, 4)
        World transform of the voxel index ``(x, y, z, 1)``.
    format : str
        Source format: ``"nifti"``, ``"mrc"``, ``"tiff"``, ``"npy"``, ``"npz"``, ``"zarr"`` or ``"array"``.
    path : Path or None
        The file it was read from.
    metadata : dict
        Format details worth keeping (``unit``, ``channel``, ...); JSON-compatible values.

    Examples
    --------
    >>> v = Volume.from_array(np.zeros((4, 5, 6)), spacing=(3.0, 2.0, 1.0))
    >>> v.shape, v.array.dtype, np.diag(v.affine).tolist()
    ((4, 5, 6), dtype('float32'), [1.0, 2.0, 3.0, 1.0])
    >>> v
    Volume(shape=(4, 5, 6), spacing=(3.0, 2.0, 1.0), unit='unknown', format='array')
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    format: str = "array"
    path: Path | None = None
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:  # the dataclass's would print every voxel
        where = "" if self.path is None else f", path={str(self.path)!r}"
        return (f"Volume(shape={self.shape}, spacing={self.spacing}, unit={self.metadata.get('unit', 'unknown')!r}, "
                f"format={self.format!r}{where})")

    def __post_init__(self) -> None:
        if self.array.ndim != 3:
            raise UserError(f"Volume: array must be 3-D (Z, Y, X), got shape {self.array.shape}")
        if self.array.dtype != np.float32:
            raise UserError(f"Volume: array must be float32, got {self.array.dtype}")
        self.spacing = tuple(float(s) for s in self.spacing)  # type: ignore[assignment]
        if len(self.spacing) != 3 or not all(np.isfinite(s) and s > 0 for s in self.spacing):
            raise UserError(f"Volume: spacing must be 3 positive numbers, got {self.spacing}")
        self.affine = np.asarray(self.affine, dtype=np.float64)
        if self.affine.shape != (4, 4) or not np.all(np.isfinite(self.affine)):
            raise UserError(f"Volume: affine must be a finite 4x4 matrix, got shape {self.affine.shape}")

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(Z, Y, X)``."""
        return tuple(self.array.shape)  # type: ignore[return-value]

    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        *,
        spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
        affine: np.ndarray | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> "Volume":
        """Wrap an in-memory ``(Z, Y, X)`` array; the default affine is ``diag(dx, dy, dz, 1)``."""
        if affine is None:
            affine = affine_from_spacing(spacing)
        return cls(
            array=np.asarray(array, dtype=np.float32),
            spacing=spacing,
            affine=affine,
            format="array",
            metadata=dict(metadata or {}),
        )


def affine_from_spacing(
    spacing: tuple[float, float, float], origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> np.ndarray:
    """The affine ``diag(dx, dy, dz, 1)`` with translation ``origin = (ox, oy, oz)``.

    >>> affine_from_spacing((3.0, 2.0, 1.0), origin=(7.0, 8.0, 9.0))[:3].tolist()
    [[1.0, 0.0, 0.0, 7.0], [0.0, 2.0, 0.0, 8.0], [0.0, 0.0, 3.0, 9.0]]
    """
    dz, dy, dx = (float(s) for s in spacing)
    affine = np.diag([dx, dy, dz, 1.0])
    affine[:3, 3] = origin
    return affine


def is_read_affine(affine: np.ndarray, read: object) -> bool:
    """Whether ``affine`` is still ``read``, the affine a file's reader recorded in a volume's metadata (None: none
    was), to 1e-9: a label map of an unmoved volume takes the rest of that file's geometry (a NIfTI qform, MRC start
    indices); a crop's does not, since it starts elsewhere.

    >>> a = affine_from_spacing((1.0, 1.0, 1.0))
    >>> is_read_affine(a, a.tolist()), is_read_affine(a + 1.0, a.tolist()), is_read_affine(a, None)
    (True, False, False)
    """
    return read is not None and np.allclose(np.asarray(affine, dtype=np.float64), np.asarray(read, dtype=np.float64),
                                            rtol=0.0, atol=1e-9)


def spacing_from_affine(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel size ``(dz, dy, dx)``: the norms of the affine's columns for x, y, z, reversed.

    >>> spacing_from_affine(affine_from_spacing((3.0, 2.0, 1.0)))
    (3.0, 2.0, 1.0)
    """
    norms = np.linalg.norm(np.asarray(affine, dtype=np.float64)[:3, :3], axis=0)
    return (float(norms[2]), float(norms[1]), float(norms[0]))
