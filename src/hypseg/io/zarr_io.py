"""Zarr stores (``.zarr`` folders), chunked, for volumes larger than memory (optional: ``pip install 'hypseg[zarr]'``).

The store holds one array ``(Z, Y, X)`` (at the root, or named ``array`` or ``0`` in a group) with the
attributes ``spacing``, ``affine`` and ``unit``. Writing uses chunks of at most 64^3 voxels. Reading
validates chunk by chunk; ``load_volume(..., lazy=True)`` then reads only the boxes asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hypseg.errors import UserError
from hypseg.io._raw import MissingDependency, RawVolume
from hypseg.io.volume import affine_from_spacing, spacing_from_affine

_CHUNK = 64


def _zarr() -> Any:
    try:
        import zarr
    except ImportError:
        raise MissingDependency("Zarr volumes need the optional dependency zarr: pip install 'hypseg[zarr]'") from None
    return zarr


def read(path: Path, *, mmap: bool) -> RawVolume:
    """Read a Zarr store's array and its geometry attributes."""
    zarr = _zarr()
    node = zarr.open(str(path), mode="r")
    if not hasattr(node, "shape"):  # a group
        keys = sorted(k for k, _ in node.arrays())
        key = "array" if "array" in keys else "0" if "0" in keys else keys[0] if len(keys) == 1 else None
        if key is None:
            raise UserError(f"holds arrays {', '.join(keys) or '(none)'}; expected one array or one named 'array'")
        node = node[key]
    attrs = dict(node.attrs)
    data = node if mmap else np.asarray(node[...])  # a Zarr array reads lazily, chunk by chunk
    spacing = tuple(float(s) for s in attrs.get("spacing", (1.0, 1.0, 1.0)))
    affine = np.asarray(attrs["affine"], dtype=np.float64) if "affine" in attrs else affine_from_spacing(spacing)
    return RawVolume(array=data, spacing=spacing, affine=affine, metadata={"unit": str(attrs.get("unit", "unknown"))})


def write(path: Path, array: np.ndarray, *, affine: np.ndarray, metadata: dict[str, Any]) -> None:
    """Write ``array`` (Z, Y, X) as a chunked Zarr array with geometry attributes."""
    zarr = _zarr()
    array = np.asarray(array)
    chunks = tuple(min(_CHUNK, s) for s in array.shape)
    out = zarr.open_array(store=str(path), mode="w", shape=array.shape, chunks=chunks, dtype=array.dtype)
    out[...] = array
    out.attrs.update(
        {
            "spacing": list(spacing_from_affine(affine)),
            "affine": np.asarray(affine).tolist(),
            "unit": str(metadata.get("unit", "unknown")),
        }
    )
