"""What a format reader hands back before the shared checks (channel choice, dtype, values)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass
class RawVolume:
    """A format reader's result.

    ``array`` is ``(Z, Y, X)``, or 4-D with one channel axis among the spatial ones, in the stored dtype
    (possibly a memory map); ``spacing`` is ``(dz, dy, dx)``; ``affine`` maps ``(x, y, z, 1)``.
    ``channel_axis`` is the axis of a 4-D array that the format names as its channel (NIfTI's fourth
    axis, a TIFF C axis, an OME-Zarr channel axis); None where the format does not say (a ``.npy``
    file, a plain Zarr array, a TIFF of unnamed axes), and the shared checks then guess it from the shape.
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    channel_axis: int | None = None


class MissingDependency(ImportError):
    """An optional dependency needed for a format is not installed (the message says what to install)."""


class BoxReader:
    """Base of the arrays that read a file box by box (subclasses set ``shape`` and ``dtype`` and define
    ``__getitem__``): what NumPy and the checks need of a 3-D array besides indexing."""

    ndim = 3
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = np.asarray(self[...])
        return whole if dtype is None else whole.astype(dtype)


class ChannelView(BoxReader):
    """One index along ``axis`` of an array that reads lazily (Zarr, a box reader): each index reads only its
    box of that channel, where ``array[channel]`` would read the whole channel at once.

    The view has one axis fewer than ``array``; it also drops a length-1 time axis of an OME-Zarr image.
    """

    def __init__(self, array, channel: int, *, axis: int = 0) -> None:
        self.array = array
        self.channel = int(channel)
        self.axis = int(axis) % len(array.shape)
        self.shape = tuple(int(n) for i, n in enumerate(array.shape) if i != self.axis)
        self.ndim = len(self.shape)
        self.dtype = np.dtype(array.dtype)

    def __getitem__(self, index) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        if self.axis == 0:
            return np.asarray(self.array[(self.channel, *index)])
        index = _expand(index, ndim=self.ndim)  # the channel's place is counted from the left
        return np.asarray(self.array[(*index[: self.axis], self.channel, *index[self.axis :])])


def _expand(index: tuple, *, ndim: int) -> tuple:
    """``index`` with its Ellipsis replaced and trailing slices added: one entry per axis of ``ndim``."""
    if any(i is Ellipsis for i in index):
        at = next(k for k, i in enumerate(index) if i is Ellipsis)
        index = index[:at] + (slice(None),) * (ndim - len(index) + 1) + index[at + 1 :]
    return index + (slice(None),) * (ndim - len(index))
