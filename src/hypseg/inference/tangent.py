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
import torch

from hypseg.config import ModelConfig
from hypseg.geometry import expmap0, logmap0


def in_tangent(space: str, geometry: ModelConfig) -> bool:
    """Whether ``geometry``'s embeddings are clustered in the tangent space: a hyperbolic model whose
    segmentation says ``space = "tangent"`` (a Euclidean model's embeddings are vectors already)."""
    return geometry.hyperbolic and space == "tangent"


def in_ball(space: str, geometry: ModelConfig) -> bool:
    """Whether ``geometry``'s embeddings are clustered in the Poincaré ball, with its distances and Fréchet means: a
    hyperbolic model outside the tangent space. Otherwise they are flat vectors, with arithmetic means."""
    return geometry.hyperbolic and not in_tangent(space, geometry)


def _per_factor(points: np.ndarray, factors: int, mapping, c: float) -> np.ndarray:
    """``mapping`` (:func:`hypseg.geometry.logmap0` or ``expmap0``) of every factor of ``points`` (..., F*d),
    computed in float64 and returned in the points' dtype."""
    width = points.shape[-1]
    if factors < 1 or width % factors:
        raise ValueError(f"{width} coordinates cannot be split into {factors} factors")
    split = torch.from_numpy(np.asarray(points, dtype=np.float64).reshape(points.shape[:-1] + (factors, width // factors)))
    return mapping(split, c=c).numpy().reshape(points.shape).astype(points.dtype, copy=False)


def to_tangent(points: np.ndarray, *, factors: int = 1, c: float = 1.0) -> np.ndarray:
    """:math:`\\log_0` of every factor of ``points`` (..., F*d), each a point strictly inside its ball.

    >>> to_tangent(np.array([[0.5, 0.0, 0.0, 0.0]]), factors=2).round(4).tolist()
    [[0.5493, 0.0, 0.0, 0.0]]
    """
    return _per_factor(points, factors, logmap0, c)


def to_ball(vectors: np.ndarray, *, factors: int = 1, c: float = 1.0) -> np.ndarray:
    """:math:`\\exp_0` of every factor of ``vectors`` (..., F*d): the inverse of :func:`to_tangent`.

    >>> to_ball(to_tangent(np.array([[0.3, -0.4, 0.1, 0.2]]), factors=2), factors=2).round(6).tolist()
    [[0.3, -0.4, 0.1, 0.2]]
    """
    return _per_factor(vectors, factors, expmap0, c)
