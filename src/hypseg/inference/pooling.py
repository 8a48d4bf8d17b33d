r"""Supervoxel pooling: one point per supervoxel, the mean of its voxels' embeddings.

Beyond the paper (method.md section 7 clusters every voxel's embedding). The dense embedding of a
small patch side (p = 5) keeps boundaries sharp but carries the voxel-to-voxel noise of the image;
larger patches smooth the noise but blur the boundaries and swallow small objects. Pooling over SLIC
supervoxels of the image (:func:`hypseg.data.supervoxels`, regions that follow intensity edges) keeps
both: each supervoxel's point is the mean of its voxels' embeddings, the points are clustered with
each supervoxel weighted by its voxel count, and every voxel takes its supervoxel's cluster. With one
voxel per supervoxel this is exactly voxel clustering.

The mean of a supervoxel's points is the **Fréchet mean** on the ball (the point minimising the
weighted sum of squared Poincaré distances, :func:`hypseg.clustering.frechet_mean`, all supervoxels in
one vectorised iteration); on a product of balls (several patch sides) it is the Fréchet mean of each
factor; in the Euclidean ablation the arithmetic mean. Weighting by voxel count makes the
clustering's objective the voxel-level k-means objective of the piecewise-constant pooled embedding:

.. math:: \sum_s |s| \, d(\bar x_s, \mu_{k(s)})^2 .
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hypseg.clustering import frechet_mean


class PooledEmbedding(NamedTuple):
    """One point per supervoxel, its voxel count, and the supervoxel of every voxel inside the mask."""

    points: np.ndarray  # (S, F*d) float64
    weights: np.ndarray  # (S,) float64, voxels per supervoxel
    codes: np.ndarray  # (N,) int64, supervoxel of every voxel with segments >= 0, C order
    inside: np.ndarray  # (Z, Y, X) bool, segments >= 0


def pool_embedding(
    embedding: np.ndarray, segments: np.ndarray, *, c: float = 1.0, hyperbolic: bool = True, factors: int = 1
) -> PooledEmbedding:
    """Mean embedding of every supervoxel (see the module docstring).

    Parameters
    ----------
    embedding : numpy.ndarray
        (Z, Y, X, F*d) per-voxel points (on the ball when ``hyperbolic``).
    segments : numpy.ndarray of int
        (Z, Y, X) supervoxel of every voxel, 0..S-1 with every label present; -1 marks voxels to leave
        out (outside a mask), as :func:`hypseg.data.supervoxels` returns.
    c : float
        Curvature of the ball.
    hyperbolic : bool
        Fréchet means on the ball (True) or arithmetic means (the Euclidean ablation).
    factors : int
        F, the number of balls side by side (one per patch side).

    Examples
    --------
    >>> emb = np.zeros((1, 1, 4, 2)); emb[0, 0, :, 0] = [0.1, 0.3, -0.2, -0.2]
    >>> pooled = pool_embedding(emb, np.array([[[0, 0, 1, 1]]]), hyperbolic=False)
    >>> pooled.points[:, 0].round(3).tolist(), pooled.weights.tolist()
    ([0.2, -0.2], [2.0, 2.0])
    """
    if embedding.ndim != 4:
        raise ValueError(f"the embedding must be (Z, Y, X, d), got shape {embedding.shape}")
    segments = np.asarray(segments)
    if segments.shape != embedding.shape[:3]:
        raise ValueError(f"supervoxels of shape {segments.shape} for an embedding of {embedding.shape[:3]}")
    if not np.issubdtype(segments.dtype, np.integer):
        raise ValueError(f"supervoxel labels must be integers, got dtype {segments.dtype}")
    D = embedding.shape[-1]
    if factors < 1 or D % factors:
        raise ValueError(f"{D} embedding coordinates cannot be split into {factors} factors")
    inside = segments >= 0
    if not inside.any():
        raise ValueError("no voxel belongs to a supervoxel")
    codes = segments[inside].astype(np.int64)
    count = int(codes.max()) + 1
    weights = np.bincount(codes, minlength=count).astype(np.float64)
    if (weights == 0).any():
        raise ValueError(f"supervoxel labels must be 0..{count - 1} with every label present; {int(np.argmin(weights))} is missing")
    points = embedding[inside].astype(np.float64)  # (N, F*d)
    if hyperbolic:
        d = D // factors
        means = [frechet_mean(points[:, f * d : (f + 1) * d], labels=codes, n_groups=count, c=c) for f in range(factors)]
        pooled = np.concatenate(means, axis=1)
    else:
        pooled = np.stack([np.bincount(codes, weights=points[:, j], minlength=count) for j in range(D)], axis=1) / weights[:, None]
    return PooledEmbedding(points=pooled, weights=weights, codes=codes, inside=inside)
