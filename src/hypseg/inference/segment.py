"""Multi-level clustering of per-voxel embeddings into label maps (method.md section 7).

Every level is a cluster count (2, 4, 8 for the synthetic set's levels 1-3). k-means is fitted on a
uniform random subsample of the voxels (``subsample``) and then assigns every voxel; with a mask, only
voxels inside it are clustered and the rest get label 0 (clusters are then 1..k; without a mask
they are 0..k-1). ``pooled`` fitting (:func:`segment_volumes`) draws the subsample from all volumes of
a dataset, so that cluster j means the same thing in every volume.

**Several patch sides** (``factors`` > 1): the embedding holds F points of the ball per voxel (one per
patch side, side by side), clustered on the product of balls: d^2 = sum of the factors' squared
Poincare distances, centres = per-factor Frechet means (:class:`~hypseg.clustering.ProductBallKMeans`).

**Nested mode** (beyond the paper): each level refines the one above. Level i+1 with
k_{i+1} = r k_i splits every cluster of level i into r sub-clusters fitted on that cluster's points
alone, so the label maps form a tree: ``label_{i+1} // r == label_i``.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from hypseg.clustering import EuclideanKMeans, HyperbolicKMeans, ProductBallKMeans


class Segmentation(NamedTuple):
    """Label maps and cluster centres of one volume, keyed by cluster count."""

    labels: dict[int, np.ndarray]  # k -> (Z, Y, X) int32
    centers: dict[int, np.ndarray]  # k -> (k, d)


class _Level(NamedTuple):
    """A fitted level: one estimator, or in nested mode one per parent cluster (None: too few points)."""

    k: int
    centers: np.ndarray  # (k, d); in nested mode parent j owns rows [j r, (j + 1) r)
    parent_k: int | None  # the level it refines (nested mode)
    models: tuple  # fitted estimators; their ``predict`` assigns points


def _check_clusters(clusters: Sequence[int], nested: bool) -> list[int]:
    ks = [int(k) for k in clusters]
    if not ks:
        raise ValueError("give at least one cluster count")
    if any(k < 2 for k in ks):
        raise ValueError(f"cluster counts must be >= 2, got {ks}")
    if nested:
        ks = sorted(set(ks))
        for a, b in zip(ks, ks[1:]):
            if b % a:
                raise ValueError(f"nested levels must divide each other, but {b} is not a multiple of {a}")
    return ks


def _estimator(k: int, *, c: float, hyperbolic: bool, n_init: int, random_state: int, factors: int = 1):
    if factors > 1:
        if not hyperbolic:
            raise ValueError("several patch sides (a product of balls) need a hyperbolic model")
        return ProductBallKMeans(n_clusters=k, factors=factors, c=c, n_init=n_init, random_state=random_state)
    if hyperbolic:
        return HyperbolicKMeans(n_clusters=k, c=c, n_init=n_init, random_state=random_state)
    return EuclideanKMeans(n_clusters=k, n_init=n_init, random_state=random_state)


def fit_levels(
    sample: np.ndarray,
    clusters: Sequence[int],
    *,
    c: float = 1.0,
    hyperbolic: bool = True,
    nested: bool = False,
    n_init: int = 3,
    random_state: int = 0,
    factors: int = 1,
) -> list[_Level]:
    """Fit one k-means per cluster count on ``sample`` (N, d)."""
    ks = _check_clusters(clusters, nested)
    if len(sample) < max(ks):
        raise ValueError(f"{max(ks)} clusters need at least as many voxels, got {len(sample)}")
    levels: list[_Level] = []
    sample_labels: dict[int, np.ndarray] = {}  # nested mode: each level's clusters of the sample
    for i, k in enumerate(ks):
        if not nested or i == 0:
            est = _estimator(k, c=c, hyperbolic=hyperbolic, n_init=n_init, random_state=random_state, factors=factors).fit(sample)
            levels.append(_Level(k, np.asarray(est.cluster_centers_), None, (est,)))
            sample_labels[k] = est.labels_
            continue
        parent = levels[-1]
        r = k // parent.k
        parent_labels = sample_labels[parent.k]
        blocks, models = [], []
        for j in range(parent.k):  # a loop over clusters, each fit vectorised
            members = sample[parent_labels == j]
            if len(members) < r:  # too few points to split: repeat the parent's centre
                blocks.append(np.repeat(parent.centers[j : j + 1], r, axis=0))
                models.append(None)
                continue
            est = _estimator(r, c=c, hyperbolic=hyperbolic, n_init=n_init, random_state=random_state, factors=factors).fit(members)
            blocks.append(np.asarray(est.cluster_centers_))
            models.append(est)
        levels.append(_Level(k, np.concatenate(blocks), parent.k, tuple(models)))
        sample_labels[k] = _assign(levels[-1], sample, parent_labels)
    return levels


def _assign(level: _Level, points: np.ndarray, parent_labels: np.ndarray | None) -> np.ndarray:
    """Cluster of every point at one level (nested levels need the parent level's labels)."""
    if level.parent_k is None:
        return level.models[0].predict(points)
    r = level.k // level.parent_k
    labels = parent_labels * r  # child 0 of the parent, unless the parent was split
    for j, model in enumerate(level.models):
        members = parent_labels == j
        if model is not None and members.any():
            labels[members] += model.predict(points[members])
    return labels


def predict_levels(
    levels: list[_Level], embedding: np.ndarray, *, mask: np.ndarray | None = None
) -> Segmentation:
    """Assign every voxel of ``embedding`` (Z, Y, X, d) at every fitted level."""
    shape = embedding.shape[:3]
    points = embedding.reshape(-1, embedding.shape[-1])
    inside = None if mask is None else np.asarray(mask, dtype=bool).reshape(-1)
    if inside is not None:
        points = points[inside]
    labels, centers, by_k = {}, {}, {}
    for level in levels:
        flat = _assign(level, points, None if level.parent_k is None else by_k[level.parent_k])
        by_k[level.k] = flat
        full = np.zeros(int(np.prod(shape)), dtype=np.int32)
        if inside is None:
            full[:] = flat
        else:
            full[inside] = flat + 1
        labels[level.k] = full.reshape(shape)
        centers[level.k] = level.centers
    return Segmentation(labels, centers)


def _subsample(points: np.ndarray, n: int | None, rng: np.random.Generator) -> np.ndarray:
    if n is None or len(points) <= n:
        return points
    return points[rng.choice(len(points), size=n, replace=False)]


def segment_volume(
    embedding: np.ndarray,
    *,
    clusters: Sequence[int] = (2, 4, 8),
    c: float = 1.0,
    hyperbolic: bool = True,
    mask: np.ndarray | None = None,
    subsample: int | None = 50_000,
    nested: bool = False,
    n_init: int = 3,
    random_state: int = 0,
    factors: int = 1,
) -> Segmentation:
    """Cluster one volume's embedding (Z, Y, X, F*d) at every level; see the module docstring."""
    return segment_volumes(
        [embedding], clusters=clusters, c=c, hyperbolic=hyperbolic, masks=None if mask is None else [mask],
        subsample=subsample, nested=nested, n_init=n_init, random_state=random_state, pooled=False, factors=factors,
    )[0]


def segment_volumes(
    embeddings: Sequence[np.ndarray],
    *,
    clusters: Sequence[int] = (2, 4, 8),
    c: float = 1.0,
    hyperbolic: bool = True,
    masks: Sequence[np.ndarray | None] | None = None,
    subsample: int | None = 50_000,
    nested: bool = False,
    n_init: int = 3,
    random_state: int = 0,
    pooled: bool = True,
    factors: int = 1,
) -> list[Segmentation]:
    """Segment several volumes: one fit on a pooled subsample (``pooled``) or one fit per volume."""
    if not embeddings:
        raise ValueError("no embeddings to segment")
    masks = list(masks) if masks is not None else [None] * len(embeddings)
    if len(masks) != len(embeddings):
        raise ValueError(f"got {len(masks)} masks for {len(embeddings)} volumes")
    for i, (emb, mask) in enumerate(zip(embeddings, masks)):
        if emb.ndim != 4:
            raise ValueError(f"embedding {i} must be (Z, Y, X, d), got shape {emb.shape}")
        if mask is not None and tuple(mask.shape) != emb.shape[:3]:
            raise ValueError(f"mask {i} has shape {tuple(mask.shape)}, its embedding {emb.shape[:3]}")
    rng = np.random.default_rng(random_state)

    def points_of(emb, mask):
        flat = emb.reshape(-1, emb.shape[-1])
        return flat if mask is None else flat[np.asarray(mask, dtype=bool).reshape(-1)]

    fit = dict(c=c, hyperbolic=hyperbolic, nested=nested, n_init=n_init, random_state=random_state, factors=factors)
    if pooled:
        share = None if subsample is None else max(1, subsample // len(embeddings))
        sample = np.concatenate([_subsample(points_of(e, m), share, rng) for e, m in zip(embeddings, masks)])
        levels = fit_levels(sample, clusters, **fit)
        return [predict_levels(levels, e, mask=m) for e, m in zip(embeddings, masks)]
    results = []
    for e, m in zip(embeddings, masks):
        levels = fit_levels(_subsample(points_of(e, m), subsample, rng), clusters, **fit)
        results.append(predict_levels(levels, e, mask=m))
    return results
