"""Clustering a ball's embeddings in the tangent space at the origin (``SegmentConfig.space = "tangent"``).

Every point of the Poincaré ball (each factor of a product of balls on its own) is mapped to the tangent
space at the origin by the log map, :math:`\\log_0(y) = \\operatorname{artanh}(\\sqrt c|y|)\\,y/(\\sqrt c|y|)`,
and clustered there as a Euclidean vector: arithmetic supervoxel means and Euclidean k-means. The centres
found are mapped back by the exp map, so that they are points of the ball like the ball's own centres.

The log map keeps every point's direction, and its length is half the point's geodesic distance from the
origin (a uniform factor, which k-means does not see); what it drops is the ball's stretching of the
distances *between* points far from the origin. A bright object's embeddings lie
far out, and there the ball's distances spread its cluster wide; in the tangent space the two clusters of
an object and its background keep comparable spreads. A Euclidean model's embeddings are already vectors:
``space`` leaves them alone.
"""

from __future__ import annotations

import numpy as np

from hypseg.config import ModelConfig


def in_ball(space: str, geometry: ModelConfig) -> bool:
    """Whether points are clustered with the ball's distances: a hyperbolic model, clustered in the ball."""
    return geometry.hyperbolic and space == "ball"


def _factor_norms(points: np.ndarray, factors: int) -> tuple[np.ndarray, int]:
    width = points.shape[-1]
    if factors < 1 or width % factors:
        raise ValueError(f"{width} coordinates cannot be split into {factors} factors")
    d = width // factors
    split = points.reshape(points.shape[:-1] + (factors, d))
    return np.linalg.norm(split.astype(np.float64, copy=False), axis=-1, keepdims=True), d


def _scaled(points: np.ndarray, factors: int, scale) -> np.ndarray:
    norms, d = _factor_norms(points, factors)
    factor = np.ones_like(norms)
    nonzero = norms > 0
    factor[nonzero] = scale(norms[nonzero]) / norms[nonzero]
    split = points.reshape(points.shape[:-1] + (factors, d))
    return (split * factor.astype(points.dtype)).reshape(points.shape)


def to_tangent(points: np.ndarray, *, factors: int = 1, c: float = 1.0) -> np.ndarray:
    """:math:`\\log_0` of every factor of ``points`` (..., F*d), in their dtype; points on the rim (up to
    rounding) are pulled inside it first, so that the result stays finite.

    >>> to_tangent(np.array([[0.5, 0.0, 0.0, 0.0]]), factors=2).round(4).tolist()
    [[0.5493, 0.0, 0.0, 0.0]]
    """
    sqrt_c = float(np.sqrt(c))
    rim = 1.0 - np.finfo(points.dtype if np.issubdtype(points.dtype, np.floating) else np.float64).eps * 4
    return _scaled(points, factors, lambda r: np.arctanh(np.minimum(sqrt_c * r, rim)) / sqrt_c)


def to_ball(vectors: np.ndarray, *, factors: int = 1, c: float = 1.0) -> np.ndarray:
    """:math:`\\exp_0` of every factor of ``vectors`` (..., F*d): the inverse of :func:`to_tangent`.

    >>> to_ball(to_tangent(np.array([[0.3, -0.4, 0.1, 0.2]]), factors=2), factors=2).round(6).tolist()
    [[0.3, -0.4, 0.1, 0.2]]
    """
    sqrt_c = float(np.sqrt(c))
    return _scaled(vectors, factors, lambda r: np.tanh(sqrt_c * r) / sqrt_c)
