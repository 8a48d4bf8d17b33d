"""Zarr stores (``.zarr`` folders), chunked, for volumes larger than memory (optional: ``pip install 'hypseg[zarr]'``).

The store holds one array ``(Z, Y, X)`` (at the root, or named ``array`` or ``0`` in a group) with the
attributes ``spacing``, ``affine`` and ``unit``. Writing uses chunks of at most 64^3 voxels. Reading
validates chunk by chunk; ``load_volume(..., lazy=True)`` then reads only the boxes asked for.

An OME-Zarr image (OME-NGFF 0.1 to 0.5: a group whose attributes hold ``multiscales``, under ``ome``
from 0.5 on) is read at its first dataset, the full resolution. Its geometry comes from the dataset's
``coordinateTransformations`` followed by the multiscale's own (a ``scale`` multiplies, a
``translation`` adds): the scale along the three space axes is the spacing and the translation the
origin, in the space axes' unit. Non-space axes (time, channel) of one point are dropped; one longer
non-space axis is the named channel axis (:func:`hypseg.io.read.load_volume` picks a channel of it).
Attributes ``spacing`` and ``affine`` written by hypseg on the array take precedence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hypseg.errors import UserError
from hypseg.io._raw import ChannelView, MissingDependency, RawVolume
from hypseg.io._units import one_unit
from hypseg.io.volume import affine_from_spacing, spacing_from_affine

_CHUNK = 64

#: the NGFF axis type of an axis given only by name (NGFF 0.3 axes; 0.1 and 0.2 are always t, c, z, y, x)
_AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}


def _zarr() -> Any:
    try:
        import zarr
    except ImportError:
        raise MissingDependency("Zarr volumes need the optional dependency zarr: pip install 'hypseg[zarr]'") from None
    return zarr


def read(path: Path, *, mmap: bool) -> RawVolume:
    """Read a Zarr store's array and its geometry (hypseg's attributes, else OME-NGFF metadata)."""
    zarr = _zarr()
    node = zarr.open(str(path), mode="r")
    multiscale = None
    if not hasattr(node, "shape"):  # a group
        attrs = dict(node.attrs)
        multiscales = dict(attrs.get("ome", {})).get("multiscales", attrs.get("multiscales"))
        if multiscales:
            multiscale = multiscales[0]
            key = str(multiscale["datasets"][0]["path"])  # datasets run from the full resolution down
        else:
            keys = sorted(k for k, _ in node.arrays())
            key = "array" if "array" in keys else "0" if "0" in keys else keys[0] if len(keys) == 1 else None
            if key is None:
                raise UserError(f"holds arrays {', '.join(keys) or '(none)'}; expected one array or one named 'array'")
        node = node[key]
    attrs = dict(node.attrs)
    data = node if mmap else np.asarray(node[...])  # a Zarr array reads lazily, chunk by chunk
    if multiscale is not None:
        raw = _ngff(data, multiscale)
    else:
        raw = RawVolume(array=data, spacing=(1.0, 1.0, 1.0), affine=np.eye(4), metadata={"unit": "unknown"})
    raw.spacing = tuple(float(s) for s in attrs.get("spacing", raw.spacing))  # hypseg's own attributes come first
    if "affine" in attrs:
        raw.affine = np.asarray(attrs["affine"], dtype=np.float64)
    else:
        raw.affine = affine_from_spacing(raw.spacing, origin=raw.affine[:3, 3])
    raw.metadata["unit"] = str(attrs.get("unit", raw.metadata["unit"]))
    return raw


def _ngff(data, multiscale: dict[str, Any]) -> RawVolume:
    """An NGFF image's full-resolution array with its non-space axes of one point dropped, with the spacing,
    origin and unit of its space axes and its channel axis (None when no non-space axis is left)."""
    shape = tuple(int(n) for n in data.shape)
    axes = multiscale.get("axes") or list("tczyx"[-len(shape) :])
    if len(axes) != len(shape):
        raise UserError(f"its OME-NGFF metadata names {len(axes)} axes for an array of shape {shape}")
    axes = [a if isinstance(a, dict) else {"name": a} for a in axes]
    kinds = [a.get("type") or _AXIS_TYPES.get(str(a.get("name", "")).lower()) for a in axes]
    transforms = list(multiscale["datasets"][0].get("coordinateTransformations", []))
    scale, shift = _compose(transforms + list(multiscale.get("coordinateTransformations", [])), ndim=len(shape))
    space = [i for i, k in enumerate(kinds) if k == "space"]
    if len(space) != 3:  # a 2-D image or a 4-D space: no 3-D geometry to keep (the shape checks reject it)
        return RawVolume(array=data, spacing=(1.0, 1.0, 1.0), affine=np.eye(4), metadata={"unit": "unknown"})
    factors, unit = one_unit([axes[i].get("unit") for i in space])
    spacing = tuple(scale[i] * f for i, f in zip(space, factors))
    origin = tuple(shift[i] * f for i, f in zip(space, factors))[::-1]
    for i in reversed(range(len(shape))):
        if i not in space and shape[i] == 1:
            data = data[(slice(None),) * i + (0,)] if isinstance(data, np.ndarray) else ChannelView(data, 0, axis=i)
            kinds.pop(i)
            axes.pop(i)
    others = [i for i, k in enumerate(kinds) if k != "space"]
    if len(others) > 1:
        named = ", ".join(f"{axes[i].get('name', i)} of {data.shape[i]}" for i in others)
        raise UserError(f"has more than one non-space axis of more than one point ({named}); hypseg reads one 3-D volume")
    return RawVolume(
        array=data,
        spacing=spacing,
        affine=affine_from_spacing(spacing, origin),
        metadata={"unit": unit},
        channel_axis=others[0] if others else None,
    )


def _compose(transforms: list[dict[str, Any]], *, ndim: int) -> tuple[np.ndarray, np.ndarray]:
    """Scale and translation, one per axis, of NGFF coordinate transformations applied in order."""
    scale, shift = np.ones(ndim), np.zeros(ndim)
    for transform in transforms:
        kind = transform.get("type")
        if kind == "identity":
            continue
        if kind not in ("scale", "translation"):
            raise UserError(f"has an OME-NGFF coordinate transformation of type {kind!r}; hypseg reads scale and translation")
        if kind not in transform:
            raise UserError(f"its OME-NGFF {kind} is stored apart (path {transform.get('path')!r}); hypseg reads it inline only")
        values = np.asarray(transform[kind], dtype=np.float64)
        if values.shape != (ndim,):
            raise UserError(f"its OME-NGFF {kind} has {values.size} values for {ndim} axes")
        if kind == "scale":
            scale, shift = scale * values, shift * values
        else:
            shift = shift + values
    return scale, shift


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
