"""Multi-level clustering of per-voxel embeddings into label maps (method.md section 7).

Every level is a cluster count (2, 4, 8 for the synthetic set's levels 1-3). k-means is fitted on a
uniform random subsample of the voxels (``subsample``) and then assigns every voxel; with a mask, only
voxels inside it are clustered and the rest get label 0 (clusters are then 1..k; without a mask
they are 0..k-1). ``pooled`` fitting (:func:`segment_volumes`) draws the subsample from all volumes of
a dataset, so that cluster j means the same thing in every volume.

**Several patch sides** (``factors`` > 1): the embedding holds F points of the ball per voxel (one per
patch side, side by side), clustered on the product of balls: d^2 = sum of the factors' squared
Poincare distances, centres = per-factor Frechet means (:class:`~hypseg.clustering.ProductBallKMeans`).
Euclidean factors side by side are one Euclidean space, clustered as one vector; their factors only
say which purity weights each takes.

**Supervoxel pooling** (``segments``, beyond the paper; :mod:`hypseg.inference.pooling`): each
volume comes with a supervoxel map; every supervoxel's mean embedding is one point, weighted by its
voxel count, and every voxel takes its supervoxel's cluster. The subsample then draws supervoxels.
``voxel_weights`` weigh the voxels within their supervoxel's mean (purity weighting).

**Nested mode** (beyond the paper): each level refines the one above. Level i+1 with
k_{i+1} = r k_i splits every cluster of level i into r sub-clusters fitted on that cluster's points
alone, so the label maps form a tree: ``label_{i+1} // r == label_i``.
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from hypseg.clustering import EuclideanKMeans, HyperbolicKMeans, ProductBallKMeans, TiedGaussianMixture
from hypseg.config.segment import CLUSTERERS
from hypseg.errors import UserError
from hypseg.inference.pooling import pool_embedding


#: Why a tied mixture cannot cluster a ball's points (:func:`_estimator`, :func:`hypseg.inference.recipe.check_clusterers`).
TIED_NEEDS_FLAT = "a tied Gaussian mixture clusters flat vectors: cluster a ball's embeddings in the tangent space"


class Segmentation(NamedTuple):
    """Label maps and cluster centres of one volume, keyed by cluster count."""

    labels: dict[int, np.ndarray]  # k -> (Z, Y, X) int32
    centers: dict[int, np.ndarray]  # k -> (k, d)
    voxels: bool = False  # fitted on voxels: it (per volume) or all volumes (pooled) held fewer supervoxels than clusters


class _Level(NamedTuple):
    """A fitted level: one estimator, or in nested mode one per parent cluster (None: too few points)."""

    k: int
    centers: np.ndarray  # (k, d); in nested mode parent j owns rows [j r, (j + 1) r)
    parent_k: int | None  # the level it refines (nested mode)
    models: tuple  # fitted estimators; their ``predict`` assigns points


def _check_clusters(clusters: Sequence[int], nested: bool) -> list[int]:
    ks = [int(k) for k in clusters]
    if not ks:
        raise UserError("give at least one cluster count")
    if any(k < 2 for k in ks):
        raise UserError(f"cluster counts must be >= 2, got {ks}")
    if nested:
        ks = sorted(set(ks))
        for a, b in zip(ks, ks[1:]):
            if b % a:
                raise UserError(f"nested levels must divide each other, but {b} is not a multiple of {a}")
    return ks


def _estimator(k: int, *, c: float, hyperbolic: bool, n_init: int, random_state: int, factors: int = 1, device=None,
               clusterer: str = "kmeans", likeliest: bool = False):
    """The k-means of the latent space; a single ball or Euclidean space runs on ``device`` (a product of balls on the CPU).
    Euclidean factors side by side are one Euclidean space: their squared distances add up as the product's do.
    ``clusterer="tied-mixture"``: a Gaussian mixture with one shared covariance, for flat points only, each point in its
    most probable component or, with ``likeliest``, its most likely (:class:`TiedGaussianMixture`)."""
    if clusterer not in CLUSTERERS:
        raise UserError(f"unknown clusterer {clusterer!r}; choose one of {', '.join(CLUSTERERS)}")
    if clusterer == "tied-mixture":
        if hyperbolic:
            raise UserError(TIED_NEEDS_FLAT)
        return TiedGaussianMixture(k, n_init=n_init, random_state=random_state, device=device, likeliest=likeliest)
    if likeliest:
        raise ValueError("only a tied mixture assigns points to their likeliest component")
    if factors > 1 and hyperbolic:
        return ProductBallKMeans(n_clusters=k, factors=factors, c=c, n_init=n_init, random_state=random_state)
    if hyperbolic:
        return HyperbolicKMeans(n_clusters=k, c=c, n_init=n_init, random_state=random_state, device=device)
    return EuclideanKMeans(n_clusters=k, n_init=n_init, random_state=random_state, device=device)


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
    sample_weight: np.ndarray | None = None,
    device=None,
    clusterer: str = "kmeans",
    likeliest: bool = False,
) -> list[_Level]:
    """Fit one k-means (or ``clusterer``, :func:`_estimator`, with ``likeliest``) per cluster count on ``sample`` (N, d),
    each point weighted by ``sample_weight`` (N,)."""
    ks = _check_clusters(clusters, nested)
    weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if len(sample) < max(ks):
        raise UserError(f"{max(ks)} clusters need at least as many voxels, got {len(sample)}")
    levels: list[_Level] = []
    sample_labels: dict[int, np.ndarray] = {}  # nested mode: each level's clusters of the sample
    for i, k in enumerate(ks):
        if not nested or i == 0:
            est = _estimator(k, c=c, hyperbolic=hyperbolic, n_init=n_init, random_state=random_state, factors=factors, device=device,
                             clusterer=clusterer, likeliest=likeliest)
            est.fit(sample, sample_weight=weights)
            levels.append(_Level(k, np.asarray(est.cluster_centers_), None, (est,)))
            sample_labels[k] = est.labels_
            continue
        parent = levels[-1]
        r = k // parent.k
        parent_labels = sample_labels[parent.k]
        blocks, models = [], []
        for j in range(parent.k):  # a loop over clusters, each fit vectorised
            chosen = parent_labels == j
            members = sample[chosen]
            if len(members) < r or (weights is not None and int((weights[chosen] > 0).sum()) < r):  # too few points to split: repeat the parent's centre
                blocks.append(np.repeat(parent.centers[j : j + 1], r, axis=0))
                models.append(None)
                continue
            est = _estimator(r, c=c, hyperbolic=hyperbolic, n_init=n_init, random_state=random_state, factors=factors, device=device,
                             clusterer=clusterer, likeliest=likeliest)
            est.fit(members, sample_weight=None if weights is None else weights[chosen])
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


def _level_labels(levels: list[_Level], points: np.ndarray) -> dict[int, np.ndarray]:
    """Cluster of every point (N, d) at every fitted level: k -> (N,)."""
    by_k: dict[int, np.ndarray] = {}
    for level in levels:
        by_k[level.k] = _assign(level, points, None if level.parent_k is None else by_k[level.parent_k])
    return by_k


def _segmentation(levels: list[_Level], flat: dict[int, np.ndarray], shape, inside: np.ndarray | None) -> Segmentation:
    """Label maps from the labels of the voxels inside (all voxels when ``inside`` is None)."""
    labels = {}
    for k, values in flat.items():
        full = np.zeros(int(np.prod(shape)), dtype=np.int32)
        if inside is None:
            full[:] = values
        else:
            full[inside.reshape(-1)] = values + 1
        labels[k] = full.reshape(shape)
    return Segmentation(labels, {level.k: level.centers for level in levels})


def predict_levels(
    levels: list[_Level], embedding: np.ndarray, *, mask: np.ndarray | None = None
) -> Segmentation:
    """Assign every voxel of ``embedding`` (Z, Y, X, d) at every fitted level."""
    points = embedding.reshape(-1, embedding.shape[-1])
    inside = None if mask is None else np.asarray(mask, dtype=bool)
    if inside is not None:
        points = points[inside.reshape(-1)]
    return _segmentation(levels, _level_labels(levels, points), embedding.shape[:3], inside)


def _subsample(n_points: int, n: int | None, rng: np.random.Generator) -> np.ndarray | slice:
    """Indices of a uniform subsample of n of n_points (all of them when n is None or larger)."""
    if n is None or n_points <= n:
        return slice(None)
    return rng.choice(n_points, size=n, replace=False)


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
    segments: np.ndarray | None = None,
) -> Segmentation:
    """Cluster one volume's embedding (Z, Y, X, F*d) at every level; see the module docstring."""
    return segment_volumes(
        [embedding], clusters=clusters, c=c, hyperbolic=hyperbolic, masks=None if mask is None else [mask],
        subsample=subsample, nested=nested, n_init=n_init, random_state=random_state, pooled=False, factors=factors,
        segments=None if segments is None else [segments],
    )[0]


class _Points(NamedTuple):
    """What one volume contributes to a fit: points, their weights, and how they map back to voxels."""

    points: np.ndarray  # (N, F*d): voxels inside the mask, or supervoxels
    weights: np.ndarray | None  # (N,) voxels per supervoxel; None for voxels
    codes: np.ndarray | None  # (voxels inside,) supervoxel of each voxel; None for voxels
    inside: np.ndarray | None  # (Z, Y, X) bool; None: every voxel


def _volume_points(i: int, emb, mask, segs, weights, *, c: float, hyperbolic: bool, factors: int, device=None) -> _Points:
    """Volume i's voxels inside its mask, or its pooled supervoxels (``weights``: per voxel in the means)."""
    if segs is None:
        if weights is not None:
            raise UserError(f"voxel weights {i} need a supervoxel map: they weigh voxels in supervoxel means")
        flat = emb.reshape(-1, emb.shape[-1])
        if mask is None:
            return _Points(flat, None, None, None)
        inside = np.asarray(mask, dtype=bool)
        return _Points(flat[inside.reshape(-1)], None, None, inside)
    pooled = pool_embedding(emb, segs, c=c, hyperbolic=hyperbolic, factors=factors, voxel_weights=weights, device=device)
    if mask is not None and not np.array_equal(pooled.inside, np.asarray(mask, dtype=bool)):
        raise ValueError(f"supervoxel map {i} must be -1 exactly outside mask {i}")
    inside = None if mask is None and pooled.inside.all() else pooled.inside
    return _Points(pooled.points, pooled.weights, pooled.codes, inside)


def _predict(levels: list[_Level], part: _Points, shape, *, voxels: bool = False) -> Segmentation:
    flat = _level_labels(levels, part.points)
    if part.codes is not None:
        flat = {k: values[part.codes] for k, values in flat.items()}
    return _segmentation(levels, flat, shape, part.inside)._replace(voxels=voxels)


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
    segments: Sequence[np.ndarray] | None = None,
    voxel_weights: Sequence[np.ndarray | None] | None = None,
    device=None,
    clusterer: str = "kmeans",
    likeliest: bool = False,
) -> list[Segmentation]:
    """Segment several volumes: one fit on a pooled subsample (``pooled``) or one fit per volume.

    ``segments`` (one supervoxel map per volume, -1 outside the mask) clusters supervoxels instead of
    voxels (supervoxel pooling, see the module docstring); with ``masks`` too, each map must be -1
    exactly outside its mask. ``voxel_weights`` (one per volume, e.g.
    :func:`hypseg.inference.pooling.purity_weights`) weigh the voxels in their supervoxel's mean.
    Fewer supervoxels than the largest k: fitted per volume, such a volume's voxels (inside its mask)
    are clustered instead, and its segmentation says so (``Segmentation.voxels``), while the other
    volumes keep their supervoxels; in a pooled fit, fewer supervoxels over all volumes together
    cluster every volume's voxels instead, and every segmentation says so. ``likeliest``: a tied mixture's points go
    to their most likely component instead of their most probable (:class:`TiedGaussianMixture`).
    """
    if not embeddings:
        raise UserError("no embeddings to segment")
    masks = list(masks) if masks is not None else [None] * len(embeddings)
    if len(masks) != len(embeddings):
        raise UserError(f"got {len(masks)} masks for {len(embeddings)} volumes")
    segments = list(segments) if segments is not None else [None] * len(embeddings)
    if len(segments) != len(embeddings):
        raise UserError(f"got {len(segments)} supervoxel maps for {len(embeddings)} volumes")
    voxel_weights = list(voxel_weights) if voxel_weights is not None else [None] * len(embeddings)
    if len(voxel_weights) != len(embeddings):
        raise UserError(f"got {len(voxel_weights)} voxel weight maps for {len(embeddings)} volumes")
    for i, (emb, mask) in enumerate(zip(embeddings, masks)):
        if emb.ndim != 4:
            raise UserError(f"embedding {i} must be (Z, Y, X, d), got shape {emb.shape}")
        if mask is not None and tuple(mask.shape) != emb.shape[:3]:
            raise UserError(f"mask {i} has shape {tuple(mask.shape)}, its embedding {emb.shape[:3]}")
    top = max((int(k) for k in clusters), default=0)
    parts = [_volume_points(i, e, m, s, w, c=c, hyperbolic=hyperbolic, factors=factors, device=device)
             for i, (e, m, s, w) in enumerate(zip(embeddings, masks, segments, voxel_weights))]
    # too few supervoxels: per volume, that volume's voxels inside the same region; pooled, every volume's
    few = [part.weights is not None and len(part.points) < top for part in parts]
    if pooled:
        few = [all(part.weights is not None for part in parts) and sum(len(part.points) for part in parts) < top] * len(parts)
    parts = [_volume_points(i, e, part.inside, None, None, c=c, hyperbolic=hyperbolic, factors=factors) if voxels else part
             for i, (part, e, voxels) in enumerate(zip(parts, embeddings, few))]
    fitted = fit_parts([(part.points, part.weights) for part in parts], clusters, pooled=pooled, subsample=subsample,
                       c=c, hyperbolic=hyperbolic, nested=nested, n_init=n_init, random_state=random_state, factors=factors,
                       device=device, clusterer=clusterer, likeliest=likeliest)
    return [_predict(levels, part, e.shape[:3], voxels=voxels) for levels, part, e, voxels in zip(fitted, parts, embeddings, few)]


def fit_parts(
    parts: Sequence[tuple[np.ndarray, np.ndarray | None]],
    clusters: Sequence[int],
    *,
    pooled: bool,
    subsample: int | None,
    random_state: int = 0,
    **options,
) -> list[list[_Level]]:
    """The fitted levels of every part (one volume's points and their weights, None for voxels).

    ``pooled``: one fit on a subsample drawn from every part (``subsample // parts`` points each), shared
    by all parts; otherwise one fit per part on its own subsample, drawn in order from one generator
    seeded with ``random_state``. ``points`` may be a memory map: only the subsample is read.
    ``options`` go to :func:`fit_levels`.
    """
    rng = np.random.default_rng(random_state)
    top = max((int(k) for k in clusters), default=0)

    def fit_on(chosen: list[tuple[np.ndarray, np.ndarray | None, np.ndarray | slice]]) -> list[_Level]:
        sample = np.concatenate([np.asarray(points[idx]) for points, _, idx in chosen])
        weighted = any(weights is not None for _, weights, _ in chosen)
        sample_weight = np.concatenate([(np.ones(len(points)) if weights is None else weights)[idx]
                                        for points, weights, idx in chosen]) if weighted else None  # a voxel weighs 1
        if weighted and len(sample) < top:
            raise UserError(f"{top} clusters need at least as many supervoxels, got {len(sample)}; use smaller supervoxels")
        return fit_levels(sample, clusters, random_state=random_state, sample_weight=sample_weight, **options)

    if pooled:
        share = None if subsample is None else max(1, subsample // len(parts))
        levels = fit_on([(points, weights, _subsample(len(points), share, rng)) for points, weights in parts])
        return [levels] * len(parts)
    return [fit_on([(points, weights, _subsample(len(points), subsample, rng))]) for points, weights in parts]
