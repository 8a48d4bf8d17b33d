"""NIfTI-1/2 (``.nii``, ``.nii.gz``) through nibabel, keeping the affine.

nibabel's array is ``(x, y, z[, t])`` in Fortran order; its transpose is the ``(Z, Y, X)`` (or
``(C, Z, Y, X)``) C-order view that :class:`hypseg.io.Volume` uses, so no data is copied. Uncompressed
``.nii`` files are memory-mapped when the stored values need no scaling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hypseg.io._raw import BoxReader, RawVolume
from hypseg.io.volume import is_read_affine

_UNITS = ("meter", "mm", "micron")


def read(path: Path, *, mmap: bool) -> RawVolume:
    """Read a NIfTI file; a 4-D file's fourth axis becomes the leading channel axis."""
    import nibabel as nib

    img = nib.load(str(path), mmap="r" if mmap else False)
    if mmap and str(path).lower().endswith(".gz") and len(img.shape) == 3:
        data = ProxyView(img.dataobj)  # compressed: read (decompressed) box by box, never whole
    else:
        data = np.asanyarray(img.dataobj)
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    zooms = tuple(float(z) for z in img.header.get_zooms()[:3])
    zooms = zooms + (1.0,) * (3 - len(zooms))
    unit, time_unit = img.header.get_xyzt_units()
    qform, qform_code = img.get_qform(coded=True)
    return RawVolume(
        array=data if isinstance(data, ProxyView) else data.T,  # (x, y, z[, c]) -> ([c,] z, y, x)
        spacing=(zooms[2], zooms[1], zooms[0]),
        affine=np.asarray(img.affine, dtype=np.float64),
        metadata={"unit": unit, "nifti": {"qform_code": int(qform_code or 0), "sform_code": int(img.get_sform(coded=True)[1] or 0),
                                          "qform": None if qform is None else np.asarray(qform, dtype=np.float64).tolist(),
                                          "affine": np.asarray(img.affine, dtype=np.float64).tolist(),
                                          "time_unit": time_unit}},
        channel_axis=0 if data.ndim == 4 else None,  # NIfTI's fourth axis, first once transposed
    )


def write(path: Path, array: np.ndarray, *, affine: np.ndarray, metadata: dict[str, Any]) -> None:
    """Write ``array`` (Z, Y, X) with ``affine``; the stored dtype is ``array.dtype``."""
    import nibabel as nib

    img = nib.Nifti1Image(np.asarray(array).T, np.asarray(affine, dtype=np.float64), dtype=array.dtype)
    set_geometry(img.header, affine, metadata)
    nib.save(img, str(path))


def set_geometry(header, affine: np.ndarray, metadata: dict[str, Any]) -> None:
    """Give a NIfTI ``header`` ``affine`` and the rest of a read file's geometry that ``metadata`` keeps: the space and
    time units, and the qform and sform codes (which say what space the affine maps to: scanner, aligned, MNI...)
    with the qform's own matrix where the file had one and ``affine`` is still the file's (a crop's is not: its
    qform is ``affine`` too). A volume that came from no NIfTI file gets the affine as its sform, coded "aligned",
    as nibabel writes it."""
    unit = metadata.get("unit")
    kept = metadata.get("nifti") or {}
    header.set_xyzt_units(xyz=unit if unit in _UNITS else "unknown", t=kept.get("time_unit", "unknown"))
    affine = np.asarray(affine, dtype=np.float64)
    if kept:
        qform = kept.get("qform")
        header.set_sform(affine, code=int(kept.get("sform_code", 0)))
        header.set_qform(np.asarray(qform, dtype=np.float64) if qform is not None and is_read_affine(affine, kept.get("affine")) else affine,
                         code=int(kept.get("qform_code", 0)))


class ProxyView(BoxReader):
    """A 3-D NIfTI image's data proxy seen in (Z, Y, X) order: each index reads only its box from the file."""

    def __init__(self, proxy) -> None:
        self.proxy = proxy
        self.shape = tuple(int(n) for n in proxy.shape[::-1])
        self.dtype = np.dtype(proxy.dtype) if not getattr(proxy, "_has_scaling", False) else np.dtype(np.float64)

    def __getitem__(self, index) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        if any(i is Ellipsis for i in index):
            at = index.index(Ellipsis)
            index = index[:at] + (slice(None),) * (3 - len(index) + 1) + index[at + 1:]
        index = index + (slice(None),) * (3 - len(index))
        return np.asarray(self.proxy[index[::-1]]).T
