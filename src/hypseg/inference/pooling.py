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

**Purity weighting** (``voxel_weights``, beyond the paper). A voxel near its supervoxel's edge has a
patch that reaches into the neighbouring region, so its embedding describes a mixture: the mean is
pulled towards the neighbours, most for small and thin supervoxels. :func:`patch_purity` gives every
voxel the fraction of its p^3 patch that lies in its own supervoxel, and :func:`purity_weights` raises it
to a power gamma; each supervoxel's point is then the mean weighted by these numbers (gamma = 0 is the plain
mean, large gamma keeps the voxels whose patch lies wholly inside). The clustering still weighs each
supervoxel by its voxel count.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hypseg.clustering import frechet_mean
from hypseg.errors import UserError


class PooledEmbedding(NamedTuple):
    """One point per supervoxel, its voxel count, and the supervoxel of every voxel inside the mask."""

    points: np.ndarray  # (S, F*d) float64
    weights: np.ndarray  # (S,) float64, voxels per supervoxel
    codes: np.ndarray  # (N,) int64, supervoxel of every voxel with segments >= 0, C order
    inside: np.ndarray  # (Z, Y, X) bool, segments >= 0


def patch_purity(segments: np.ndarray, patch_size: int) -> np.ndarray:
    """Fraction of every voxel's p^3 patch that lies in the voxel's own supervoxel: (Z, Y, X) float32.

    The patch is placed as the dense embedding places it (voxel i covers ``i - p // 2`` to
    ``i - p // 2 + p - 1`` per axis) and the map is extended past the volume by its edge values, as the
    embedding pads the image. Values lie in [1 / p^3, 1]; -1 (outside a mask) counts as one more label.
    It costs p^3 vectorised passes over the map (0.23 s for p = 5 at 128^3, ``bench inference``).
    """
    segments = np.asarray(segments)
    if segments.ndim != 3:
        raise UserError(f"supervoxels must be (Z, Y, X), got shape {segments.shape}")
    p = int(patch_size)
    if p < 1:
        raise UserError(f"patch_size must be >= 1, got {patch_size}")
    before, after = p // 2, p - 1 - p // 2
    return purity_of_padded(np.pad(segments, [(before, after)] * 3, mode="edge"), p)


def purity_of_padded(padded: np.ndarray, patch_size: int) -> np.ndarray:
    """:func:`patch_purity` of the map inside ``padded``, a map extended by ``p // 2`` voxels before and
    ``p - 1 - p // 2`` after on every axis (by its edge values, or by a larger map's neighbours)."""
    p = int(patch_size)
    Z, Y, X = (n - p + 1 for n in padded.shape)
    before = p // 2
    segments = padded[before : before + Z, before : before + Y, before : before + X]
    same = np.zeros((Z, Y, X), dtype=np.int32)
    for dz in range(p):
        for dy in range(p):
            for dx in range(p):
                same += padded[dz : dz + Z, dy : dy + Y, dx : dx + X] == segments
    return (same / float(p**3)).astype(np.float32)


def purity_weights(segments: np.ndarray, patch_sizes, power: float) -> np.ndarray:
    """:func:`patch_purity` ** ``power`` for every patch side: (Z, Y, X, F), one factor per side."""
    if not power >= 0:
        raise UserError(f"the purity power must be >= 0, got {power}")
    return np.stack([patch_purity(segments, p) ** np.float32(power) for p in patch_sizes], axis=-1)


def pool_embedding(
    embedding: np.ndarray, segments: np.ndarray, *, c: float = 1.0, hyperbolic: bool = True, factors: int = 1,
    voxel_weights: np.ndarray | None = None, device=None,
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
    voxel_weights : numpy.ndarray, optional
        (Z, Y, X) or (Z, Y, X, G) non-negative weight of every voxel in its supervoxel's mean, e.g.
        :func:`purity_weights`; with G columns (G dividing F), factor f takes column f mod G, so one
        model's weights serve several models' embeddings side by side. Every supervoxel needs a
        positive weight. The returned ``weights`` stay the voxel counts.
    device : str or torch.device, optional
        Where the Fréchet means are computed (default: the CPU).

    Examples
    --------
    >>> emb = np.zeros((1, 1, 4, 2)); emb[0, 0, :, 0] = [0.1, 0.3, -0.2, -0.2]
    >>> pooled = pool_embedding(emb, np.array([[[0, 0, 1, 1]]]), hyperbolic=False)
    >>> pooled.points[:, 0].round(3).tolist(), pooled.weights.tolist()
    ([0.2, -0.2], [2.0, 2.0])
    """
    if embedding.ndim != 4:
        raise UserError(f"the embedding must be (Z, Y, X, d), got shape {embedding.shape}")
    segments = np.asarray(segments)
    if segments.shape != embedding.shape[:3]:
        raise UserError(f"supervoxels of shape {segments.shape} for an embedding of {embedding.shape[:3]}")
    if not np.issubdtype(segments.dtype, np.integer):
        raise UserError(f"supervoxel labels must be integers, got dtype {segments.dtype}")
    D = embedding.shape[-1]
    if factors < 1 or D % factors:
        raise UserError(f"{D} embedding coordinates cannot be split into {factors} factors")
    inside = segments >= 0
    if not inside.any():
        raise ValueError("no voxel belongs to a supervoxel")
    codes = segments[inside].astype(np.int64)
    count = int(codes.max()) + 1
    weights = np.bincount(codes, minlength=count).astype(np.float64)
    if (weights == 0).any():
        raise ValueError(f"supervoxel labels must be 0..{count - 1} with every label present; {int(np.argmin(weights))} is missing")
    points = embedding[inside].astype(np.float64)  # (N, F*d)
    d = D // factors
    factor_weights = _factor_weights(voxel_weights, segments.shape, factors, inside, codes, count)
    means = []
    for f, w in enumerate(factor_weights):  # w: (N,) weights of the voxels in factor f's means, or None
        x = points[:, f * d : (f + 1) * d]
        if hyperbolic:
            if device is None:
                means.append(frechet_mean(x, w, labels=codes, n_groups=count, c=c))
            else:
                import torch

                on = lambda a: None if a is None else torch.as_tensor(a, device=device)  # noqa: E731
                means.append(frechet_mean(on(x), on(w), labels=on(codes), n_groups=count, c=c).cpu().numpy())
        else:
            w = np.ones(len(codes)) if w is None else w
            sums = np.stack([np.bincount(codes, weights=w * x[:, j], minlength=count) for j in range(d)], axis=1)
            means.append(sums / np.bincount(codes, weights=w, minlength=count)[:, None])
    pooled = np.concatenate(means, axis=1)
    return PooledEmbedding(points=pooled, weights=weights, codes=codes, inside=inside)


def _factor_weights(voxel_weights, shape, factors: int, inside, codes, count: int) -> list[np.ndarray | None]:
    """The voxel weights inside the mask, one checked (N,) float64 array per factor (None: plain means)."""
    if voxel_weights is None:
        return [None] * factors
    w = np.asarray(voxel_weights, dtype=np.float64)
    if w.ndim == 3:
        w = w[..., None]
    if w.shape[:3] != tuple(shape) or w.ndim != 4 or factors % w.shape[3]:
        raise UserError(f"voxel weights of shape {np.shape(voxel_weights)} for supervoxels of {tuple(shape)} "
                         f"and {factors} factor(s); give (Z, Y, X) or (Z, Y, X, G) with G dividing {factors}")
    w = w[inside]  # (N, G)
    if not np.isfinite(w).all() or (w < 0).any():
        raise UserError("voxel weights must be finite and >= 0")
    columns = [np.ascontiguousarray(w[:, g]) for g in range(w.shape[1])]
    for column in columns:
        total = np.bincount(codes, weights=column, minlength=count)
        if (total <= 0).any():
            raise UserError(f"supervoxel {int(np.argmin(total > 0))} has no voxel of positive weight")
    return [columns[f % len(columns)] for f in range(factors)]
