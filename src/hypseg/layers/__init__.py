"""Hyperbolic layers: gyroplane scoring (linear and 3D convolution) and the maps at the origin."""

from hypseg.layers.gyroplane import GyroplaneConv3d, GyroplaneLinear, ReleasedGyroplaneLinear
from hypseg.layers.maps import ExpMap0, LogMap0

__all__ = ["GyroplaneConv3d", "GyroplaneLinear", "ReleasedGyroplaneLinear", "ExpMap0", "LogMap0"]
