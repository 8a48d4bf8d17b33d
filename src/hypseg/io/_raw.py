"""What a format reader hands back before the shared checks (channel choice, dtype, values)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass
class RawVolume:
    """A format reader's result.

    ``array`` is ``(Z, Y, X)``, or ``(C, Z, Y, X)`` with the channel axis first, in the stored dtype
    (possibly a memory map); ``spacing`` is ``(dz, dy, dx)``; ``affine`` maps ``(x, y, z, 1)``.
    """

    array: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


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
    """One channel of a ``(C, Z, Y, X)`` array that reads lazily (Zarr, a box reader): each index reads
    only its box of that channel, where ``array[channel]`` would read the whole channel at once."""

    def __init__(self, array, channel: int) -> None:
        self.array = array
        self.channel = int(channel)
        self.shape = tuple(int(n) for n in array.shape[1:])
        self.dtype = np.dtype(array.dtype)

    def __getitem__(self, index) -> np.ndarray:
        index = index if isinstance(index, tuple) else (index,)
        return np.asarray(self.array[(self.channel, *index)])
