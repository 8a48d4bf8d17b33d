"""Label maps written box by box, for volumes larger than memory.

:func:`label_writer` creates the file of a (Z, Y, X) integer map at its full size, with the geometry of
the volume it segments (as :func:`hypseg.io.save_labels` writes it), and the returned
:class:`BlockWriter` fills it one box at a time; every box goes through a memory map opened for that
box alone (or a Zarr chunk), so that the memory of the writing process stays that of one box.

- MRC: the header by ``mrcfile``, then the data block by memory map (uint8 is stored as uint16,
  mode 6, as ``mrcfile`` stores it), in the input's axis order; the header's min/max/mean are set from the
  boxes when closed.
- NumPy ``.npy``: :func:`numpy.lib.format.open_memmap`.
- TIFF: an uncompressed ImageJ stack (uint8/uint16) by :func:`tifffile.memmap`, with the spacing.
- NIfTI: the header by ``nibabel`` (affine, units), the data at offset 352 (x fastest, which is the
  (Z, Y, X) C order); ``.nii.gz`` is written as ``.nii`` and compressed in a stream when closed.
- Zarr: an OME-Zarr image (NGFF 0.4 ``multiscales`` metadata: axes z, y, x with the unit, the voxel
  size as scale and the origin as translation) whose one resolution level ``0`` also carries
  hypseg's ``spacing``/``affine``/``unit`` attributes, so :func:`hypseg.io.load_labels` reads it back.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from hypseg.errors import UserError
from hypseg.io._atomic import full_suffix
from hypseg.io.formats import format_of
from hypseg.io.volume import Volume, spacing_from_affine

__all__ = ["BlockWriter", "label_writer", "NGFF_UNITS"]

#: hypseg's unit names -> the NGFF (UDUNITS-2) names napari and the OME-Zarr tools expect
NGFF_UNITS = {"angstrom": "angstrom", "nm": "nanometer", "micron": "micrometer", "um": "micrometer",
              "mm": "millimeter", "meter": "meter"}

_NIFTI_OFFSET = 352
_ZARR_CHUNK = 64


class BlockWriter:
    """An open label file of a given shape and dtype; :meth:`write` fills a box, :meth:`close` ends it."""

    def __init__(self, path: Path, shape: tuple[int, int, int], dtype: np.dtype, like: Volume, *, name: str | None = None) -> None:
        self.path, self.shape, self.dtype, self.like = Path(path), tuple(int(n) for n in shape), np.dtype(dtype), like
        self.name = self.path.stem if name is None else name  # an OME-Zarr image's name (the file's, not a temporary's)
        self.kind = format_of(self.path).name
        if self.kind == "npz":
            raise UserError(f"{path}: .npz cannot be written box by box; use .npy, .mrc, .tif, .nii or .zarr")
        if self.kind == "tiff" and self.dtype not in (np.uint8, np.uint16):
            raise UserError(f"{path}: a label TIFF written box by box must be uint8 or uint16, got {self.dtype}")
        if self.kind == "mrc" and self.dtype not in (np.uint8, np.uint16, np.int8, np.int16):
            raise UserError(f"{path}: MRC stores integers up to 16 bits, got {self.dtype}")
        self._low, self._high, self._sum, self._sq = np.inf, -np.inf, 0.0, 0.0
        self._create()

    # -- the file's full-size skeleton -------------------------------------------------------------
    def _create(self) -> None:
        dz, dy, dx = spacing_from_affine(self.like.affine)
        unit = str(self.like.metadata.get("unit", "unknown"))
        if self.kind == "mrc":
            import mrcfile

            from hypseg.io.mrc import file_axes, set_header

            mode = {np.dtype(np.int8): 0, np.dtype(np.int16): 1, np.dtype(np.uint8): 6, np.dtype(np.uint16): 6}[self.dtype]
            self._axes = file_axes(self.like.metadata)
            self._stored_shape = tuple(self.shape[a] for a in self._axes)  # the data block in the input's axis order
            with mrcfile.new_mmap(str(self.path), shape=self._stored_shape, mrc_mode=mode, overwrite=True) as mrc:
                set_header(mrc, affine=self.like.affine, metadata=self.like.metadata, shape=self.shape)
                self._offset = int(mrc.header.nbytes) + int(mrc.header.nsymbt)
                self._stored = mrc.data.dtype
        elif self.kind == "npy":
            np.lib.format.open_memmap(self.path, mode="w+", dtype=self.dtype, shape=self.shape).flush()
        elif self.kind == "tiff":
            import tifffile

            created = tifffile.memmap(str(self.path), shape=self.shape, dtype=self.dtype, imagej=True,
                                      resolution=(1.0 / dx, 1.0 / dy), metadata={"spacing": dz, "unit": unit, "axes": "ZYX"})
            created.flush()
            del created
        elif self.kind == "nifti":
            self._write_nifti_header()
        elif self.kind == "zarr":
            self._create_zarr(unit, (dz, dy, dx))

    def _raw_nifti(self) -> Path:
        return self.path.with_name(self.path.name[: -len(".gz")]) if full_suffix(self.path) == ".nii.gz" else self.path

    def _write_nifti_header(self) -> None:
        import nibabel as nib

        from hypseg.io.nifti import set_geometry

        image = nib.Nifti1Image(np.zeros((1, 1, 1), dtype=self.dtype), np.asarray(self.like.affine, dtype=np.float64), dtype=self.dtype)
        image.update_header()
        header = image.header
        header.set_data_shape(self.shape[::-1])
        set_geometry(header, self.like.affine, self.like.metadata)
        header["vox_offset"] = _NIFTI_OFFSET
        with open(self._raw_nifti(), "wb") as handle:
            header.write_to(handle)
            handle.write(b"\0" * (_NIFTI_OFFSET - handle.tell()))  # no extensions
            handle.truncate(_NIFTI_OFFSET + int(np.prod(self.shape)) * self.dtype.itemsize)

    def _create_zarr(self, unit: str, spacing: tuple[float, float, float]) -> None:
        from hypseg.io.zarr_io import _zarr

        zarr = _zarr()
        try:
            group = zarr.open_group(str(self.path), mode="w", zarr_format=2)  # NGFF 0.4 is Zarr format 2
        except TypeError:  # zarr 2, which writes nothing else and has no such keyword
            group = zarr.open_group(str(self.path), mode="w")
        chunks = tuple(min(_ZARR_CHUNK, n) for n in self.shape)
        create = getattr(group, "create_array", None) or group.create_dataset
        array = create("0", shape=self.shape, chunks=chunks, dtype=self.dtype, fill_value=0)
        array.attrs.update({"spacing": list(spacing), "affine": np.asarray(self.like.affine).tolist(), "unit": unit})
        origin = np.asarray(self.like.affine)[:3, 3][::-1]  # (x, y, z) -> (z, y, x)
        axes = [{"name": name, "type": "space", **({"unit": NGFF_UNITS[unit]} if unit in NGFF_UNITS else {})} for name in "zyx"]
        group.attrs["multiscales"] = [{
            "version": "0.4", "name": self.name, "axes": axes,
            "datasets": [{"path": "0", "coordinateTransformations": [
                {"type": "scale", "scale": [float(s) for s in spacing]},
                {"type": "translation", "translation": [float(o) for o in origin]}]}],
        }]

    # -- filling it ----------------------------------------------------------------------------------
    def write(self, box: tuple[slice, ...], block: np.ndarray) -> None:
        """Store ``block`` at ``box`` (three slices) of the label map."""
        block = np.asarray(block)
        if block.size and self.kind == "mrc":  # the MRC header's statistics, kept as the boxes come
            self._low, self._high = min(self._low, float(block.min())), max(self._high, float(block.max()))
            self._sum += float(block.sum(dtype=np.float64))
            self._sq += float(np.square(block, dtype=np.float64).sum())
        target = self._open()
        target[box] = block
        if hasattr(target, "flush"):
            target.flush()
        del target

    def _open(self) -> Any:
        if self.kind == "mrc":
            stored = np.memmap(self.path, dtype=self._stored, mode="r+", offset=self._offset, shape=self._stored_shape)
            return stored.transpose(np.argsort(self._axes))  # seen in (Z, Y, X) order, whatever the file's
        if self.kind == "npy":
            return np.load(self.path, mmap_mode="r+")
        if self.kind == "tiff":
            import tifffile

            return tifffile.memmap(str(self.path), mode="r+")
        if self.kind == "nifti":
            return np.memmap(self._raw_nifti(), dtype=self.dtype, mode="r+", offset=_NIFTI_OFFSET, shape=self.shape)
        from hypseg.io.zarr_io import _zarr

        return _zarr().open_group(str(self.path), mode="r+")["0"]

    def close(self) -> Path:
        """Finish the file (MRC statistics, NIfTI compression); returns its path."""
        if self.kind == "mrc" and np.isfinite(self._low):
            import mrcfile

            n = float(np.prod(self.shape))
            with mrcfile.mmap(str(self.path), mode="r+") as mrc:  # maps the data without reading it
                mrc.header.dmin, mrc.header.dmax = self._low, self._high
                mrc.header.dmean = self._sum / n
                mrc.header.rms = float(np.sqrt(max(self._sq / n - (self._sum / n) ** 2, 0.0)))
        if self.kind == "nifti" and full_suffix(self.path) == ".nii.gz":
            raw = self._raw_nifti()
            with open(raw, "rb") as source, gzip.open(self.path, "wb", compresslevel=6) as target:
                shutil.copyfileobj(source, target, length=1 << 24)
            os.unlink(raw)
        return self.path


def label_writer(path: str | os.PathLike, *, shape: tuple[int, int, int], dtype, like: Volume) -> BlockWriter:
    """Create the label file ``path`` (format from its suffix) of ``shape`` and ``dtype`` with the
    geometry of ``like``, to be filled box by box (module docstring)."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.integer):
        raise UserError(f"{path}: labels must have an integer dtype, got {dtype}")
    return BlockWriter(Path(path), shape, dtype, like)
