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
