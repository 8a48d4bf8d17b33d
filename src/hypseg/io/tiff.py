"""TIFF stacks (``.tif``, ``.tiff``, OME-TIFF) through tifffile, keeping ImageJ or OME spacing.

The ``(Z, Y, X)`` stack is the page order. Spacing, first found first: the ``spacing`` of a JSON
description written by hypseg (files in a dtype that ImageJ cannot hold, int32, int64, ..., are plain
TIFF carrying ``spacing``, ``affine`` and ``unit``), then an OME-XML description's ``PhysicalSizeZ/Y/X``
(in micrometres unless its ``PhysicalSize*Unit`` says otherwise), then x and y from the XResolution /
YResolution tags (pixels per unit) and z from the ImageJ ``spacing`` entry. An ImageJ or OME file only
keeps a diagonal affine without origin. Uncompressed contiguous files are memory-mapped.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import numpy as np

from hypseg.io._raw import BoxReader, RawVolume
from hypseg.io._units import one_unit, unit_name
from hypseg.io.volume import affine_from_spacing, spacing_from_affine

_IMAGEJ_DTYPES = (np.uint8, np.int16, np.uint16, np.float32)


def read(path: Path, *, mmap: bool) -> RawVolume:
    """Read the first series of a TIFF file; a C, S or T axis of a 4-D series is its named channel axis.

    tifffile calls the axes of a plain multi-page file it cannot name Q; a 4-D series of those leaves the
    channel axis to the shared guess from the shape (:func:`hypseg.io.read.load_volume`).
    """
    import tifffile

    with tifffile.TiffFile(str(path)) as tif:
        series = tif.series[0]
        axes = series.axes
        imagej = tif.imagej_metadata or {}
        shaped = (tif.shaped_metadata or ({},))[0] or {}
        ome = _ome_sizes(tif.ome_metadata) if tif.is_ome else {}
        tags = tif.pages[0].tags
        res = [_resolution(tags.get(name)) for name in ("YResolution", "XResolution")]
        offset = series.dataoffset
        if mmap and offset is not None:
            data = np.memmap(path, dtype=series.dtype, mode="r", offset=offset, shape=series.shape)
        elif mmap and len(series.shape) == 3 and len(tif.pages) == series.shape[0]:
            data = PageStack(path, tuple(series.shape), series.dtype)  # compressed: decoded page by page
        else:
            data = series.asarray()
    if data.ndim == 3 and axes.endswith("S"):
        data, axes = data[..., 0], axes[:-1]  # an RGB(A) image is 2-D: the checks reject it
    channel_axis = next((axes.index(a) for a in "CST" if a in axes), None) if data.ndim == 4 else None
    dz = float(imagej.get("spacing", 1.0))
    spacing = (dz, res[0], res[1])
    unit = unit_name(imagej.get("unit"))
    if ome:
        spacing = tuple(ome.get(a, s) for a, s in zip("ZYX", spacing))
        unit = ome["unit"]
    if "spacing" in shaped and len(shaped["spacing"]) == 3:
        spacing = tuple(float(s) for s in shaped["spacing"])
    affine = np.asarray(shaped["affine"], dtype=np.float64) if "affine" in shaped else affine_from_spacing(spacing)
    unit = shaped.get("unit", unit)
    return RawVolume(array=data, spacing=spacing, affine=affine, metadata={"unit": str(unit)}, channel_axis=channel_axis)


def _ome_sizes(xml: str | None) -> dict[str, Any]:
    """The voxel size of an OME-XML description's first image: ``{"Z": dz, "Y": dy, "X": dx, "unit": u}``.

    Only the axes whose ``PhysicalSize`` is stated are keys (the others keep the ImageJ or default value);
    their units (default micrometre, the OME schema's) are brought to one (:func:`hypseg.io._units.one_unit`).
    An empty dict when there is no ``Pixels`` element or it states no size.
    """
    if not xml:
        return {}
    root = ElementTree.fromstring(xml)
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return {}
    stated = [a for a in "ZYX" if pixels.get(f"PhysicalSize{a}") is not None]
    if not stated:
        return {}
    factors, unit = one_unit([pixels.get(f"PhysicalSize{a}Unit", "µm") for a in stated])
    sizes = {a: float(pixels.get(f"PhysicalSize{a}")) * f for a, f in zip(stated, factors)}
    return {**sizes, "unit": unit}


def read_pages(path: Path, start: int, stop: int) -> np.ndarray:
    """Pages ``start:stop`` of a 3-D stack stored one page per z, decoded alone: (n, Y, X)."""
    import tifffile

    with tifffile.TiffFile(str(path)) as tif:
        shape = tif.series[0].shape
        return tif.asarray(key=range(start, stop)).reshape(stop - start, *shape[1:])


class PageStack(BoxReader):
    """A compressed (Z, Y, X) TIFF stack as a read-only array that decodes only the pages indexed."""

    def __init__(self, path: Path, shape: tuple[int, int, int], dtype) -> None:
        self.path, self.shape, self.dtype = Path(path), shape, np.dtype(dtype)

    def __getitem__(self, index) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        if index and index[0] is Ellipsis:
            index = (slice(None),) * (4 - len(index)) + index[1:]
        first = index[0] if index else slice(None)
        if isinstance(first, (int, np.integer)):
            z = int(first) % self.shape[0]
            return read_pages(self.path, z, z + 1)[0][index[1:]]
        if isinstance(first, slice):
            start, stop, step = first.indices(self.shape[0])
            pages = read_pages(self.path, start, max(start, stop)) if stop > start else np.zeros((0,) + self.shape[1:], self.dtype)
            return pages[(slice(None, None, step),) + index[1:]]
        return np.asarray(read_pages(self.path, 0, self.shape[0]))[index]



def _resolution(tag: Any) -> float:
    """Voxel size from a resolution tag (pixels per unit as a rational); 1 when absent."""
    if tag is None:
        return 1.0
    num, den = tag.value
    return float(den) / float(num) if num else 1.0


def write(path: Path, array: np.ndarray, *, affine: np.ndarray, metadata: dict[str, Any]) -> None:
    """Write ``array`` (Z, Y, X) as an ImageJ hyperstack when its dtype allows, else as plain TIFF."""
    import tifffile

    array = np.ascontiguousarray(array)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    dz, dy, dx = spacing_from_affine(affine)
    unit = unit_name(metadata.get("unit"))
    unit = unit if unit.isascii() else "unknown"  # a TIFF description is ASCII
    if array.dtype in _IMAGEJ_DTYPES:
        tifffile.imwrite(
            str(path), array, imagej=True, resolution=(1.0 / dx, 1.0 / dy),
            metadata={"spacing": dz, "unit": unit, "axes": "ZYX"},
        )
    else:
        tifffile.imwrite(
            str(path), array, photometric="minisblack", resolution=(1.0 / dx, 1.0 / dy),
            metadata={"spacing": [dz, dy, dx], "affine": np.asarray(affine).tolist(), "unit": unit, "axes": "ZYX"},
        )
