"""Does a learned embedding carry class information that a supervoxel's intensity does not?

The intensity-axis measurement (``validation_split --intensity-axis``) says how much of the supervoxels'
mean embeddings lies on one axis that follows mean intensity; it cannot say whether what lies off that axis
is worth anything. This probe asks that with labels, on validation volumes only. Per volume and level, a
classifier learns the true class of each supervoxel (its voxel majority) from one half of the volume
(supervoxels whose centre lies below the middle of the last axis) and labels the other half, then the
reverse; the labelled supervoxels, painted back onto their voxels, are scored by matched DICE as the
segmentations are. These descriptions of a supervoxel are compared, each the classifier's only input:

- ``intensity``: its mean and standard deviation of intensity (what the SLIC peer clusters), with any
  further intensity statistics the caller gives (``validation_split`` adds the intensity smoothed over the
  embedding's patch, averaged with the embedding's own voxel weights, so that an embedding that is only a
  better-pooled intensity gains nothing);
- ``embedding``: its mean embedding (tangent space at the origin for a hyperbolic model);
- ``both``: the two side by side;
- ``intensity_noise``: the intensity description with as many columns of Gaussian noise as the embedding
  has, the control for a classifier that merely gains from more columns;
- ``filters``: the intensity description with hand-made statistics the caller gives (``validation_split``:
  the gradient magnitude and the local standard deviation), and ``filters_both``: those with the embedding.

``both`` above ``intensity`` by more than the paired interval over volumes means that the embedding holds
something about the classes that intensity does not. Whether clustering can find it without labels is a
separate question, which ``clusters`` asks: per description, weighted k-means per volume (no containment)
on the supervoxels, both on the description as it is (``raw``: the embedding's own geometry, the intensity
statistics z-scored) and whitened (every principal axis scaled to unit variance, so that an axis holding a
tiny share of the variance counts as much as the first); and a Gaussian mixture with one shared covariance on
the raw description (``tied``: :class:`hypseg.clustering.TiedGaussianMixture`, which scales each direction by
the spread within the clusters and lets the clusters differ in size).

The classifier is a random forest (nonlinear, because an instance's intensity is drawn per instance and one
class need not be one interval of intensity); it is fitted with the supervoxels' voxel counts as weights, and
a half whose training side holds one class is labelled with that class. It is a comparison of descriptions
under one classifier, not a ceiling: one half's instances teach the other half's only in part, and a class
seen in one half only is never predicted in the other, so it can score below clustering without labels.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.ensemble import RandomForestClassifier

from hypseg.baselines.slic import supervoxel_intensity
from hypseg.clustering import TiedGaussianMixture
from hypseg.metrics import contingency, matched_dice

#: The descriptions compared, in the order they are reported.
DESCRIPTIONS = ("intensity", "embedding", "both", "intensity_noise", "filters", "filters_both")


def majority_labels(segments: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """(S,) the most frequent true label of each supervoxel of ``segments`` (ids 0..S-1, every id present; ties:
    the smaller label)."""
    table = contingency(segments, truth)
    return table.truth_labels[np.argmax(table.table, axis=1)]


def halves(segments: np.ndarray) -> np.ndarray:
    """(S,) True for the supervoxels whose centre lies in the lower half of the last axis."""
    flat = segments.ravel()
    n = int(flat.max()) + 1
    position = np.broadcast_to(np.arange(segments.shape[-1]), segments.shape).ravel()
    centre = np.bincount(flat, position, n) / np.bincount(flat, minlength=n)
    return centre < segments.shape[-1] / 2


def cross_half_labels(features: np.ndarray, labels: np.ndarray, counts: np.ndarray, lower: np.ndarray, *,
                      seed: int = 0) -> np.ndarray:
    """(S,) each supervoxel's class as predicted by a classifier trained on the other half's supervoxels."""
    predicted = np.empty_like(labels)
    for test in (lower, ~lower):
        train = ~test
        if not test.any():
            continue
        if not train.any():
            raise ValueError("every supervoxel lies in one half of the volume; the probe needs both")
        if np.unique(labels[train]).size == 1:
            predicted[test] = labels[train][0]
            continue
        forest = RandomForestClassifier(n_estimators=200, min_samples_leaf=3, random_state=seed, n_jobs=1)
        forest.fit(features[train], labels[train], sample_weight=counts[train])
        predicted[test] = forest.predict(features[test])
    return predicted


def whitened(features: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``features`` (S, F) centred and rotated onto their weighted principal axes, each scaled to unit variance
    (axes with no variance are dropped)."""
    mean = np.average(features, axis=0, weights=counts)
    centred = features - mean
    covariance = (centred * counts[:, None]).T @ centred / counts.sum()
    eigenvalues, vectors = np.linalg.eigh(covariance)
    keep = eigenvalues > eigenvalues.max() * 1e-12
    return centred @ vectors[:, keep] / np.sqrt(eigenvalues[keep])


def zscored(features: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Every column of ``features`` (S, F) centred and scaled to unit (weighted) standard deviation."""
    mean = np.average(features, axis=0, weights=counts)
    std = np.sqrt(np.average((features - mean) ** 2, axis=0, weights=counts))
    return (features - mean) / np.where(std > 0, std, 1.0)


def cluster_dice(features: np.ndarray, counts: np.ndarray, segments: np.ndarray, truth: np.ndarray, clusters: int, *,
                 seed: int = 0, tied: bool = False) -> float:
    """Matched DICE of weighted k-means (``tied``: the shared-covariance mixture) with ``clusters`` clusters on the
    supervoxels' ``features``, painted back."""
    estimator = TiedGaussianMixture(clusters, n_init=10, random_state=seed) if tied else KMeans(clusters, n_init=10, random_state=seed)
    fit = estimator.fit(features, sample_weight=counts)
    return float(matched_dice(fit.labels_[segments], truth).mean)


def probe_volume(points: np.ndarray, volume: np.ndarray, segments: np.ndarray, truth: np.ndarray, *,
                 extra: np.ndarray | None = None, filters: np.ndarray | None = None, clusters: int | None = None,
                 seed: int = 0) -> dict[str, float]:
    """Matched DICE of the cross-half labels from each description (:data:`DESCRIPTIONS`) of one volume.

    ``points`` (S, D) are the supervoxels' mean embeddings, in the order of their ids in ``segments``;
    ``extra`` (S, K), if given, are further intensity statistics of the same supervoxels, ``filters`` (S, J) the
    hand-made statistics of ``filters`` and ``filters_both`` (without them, those two are left out). With ``clusters``,
    also ``<description>_kmeans_raw``, ``<description>_kmeans_whitened`` and ``<description>_tied``: the DICE of
    clustering without labels.
    """
    if segments.min() < 0:
        raise ValueError("every voxel must belong to a supervoxel (no -1 in the segments)")
    intensity, counts = supervoxel_intensity(segments, volume)
    if extra is not None:
        intensity = np.concatenate([intensity, np.asarray(extra, dtype=np.float64).reshape(len(intensity), -1)], axis=1)
    if len(points) != len(intensity):
        raise ValueError(f"{len(points)} embedded supervoxels for {len(intensity)} supervoxels")
    labels = majority_labels(segments, truth)
    lower = halves(segments)
    noise = np.random.default_rng(seed).normal(size=points.shape)
    described = {"intensity": intensity, "embedding": points, "both": np.concatenate([intensity, points], axis=1),
                 "intensity_noise": np.concatenate([intensity, noise], axis=1)}
    if filters is not None:
        described["filters"] = np.concatenate([intensity, np.asarray(filters, dtype=np.float64).reshape(len(intensity), -1)], axis=1)
        described["filters_both"] = np.concatenate([described["filters"], points], axis=1)
    scaled = zscored(intensity, counts)  # the descriptions k-means sees as they are: the embedding's own geometry
    raw = {"intensity": scaled, "embedding": points, "both": np.concatenate([scaled, points], axis=1)}
    scores = {}
    for name in (d for d in DESCRIPTIONS if d in described):
        predicted = cross_half_labels(described[name], labels, counts, lower, seed=seed)
        scores[name] = float(matched_dice(predicted[segments], truth).mean)
        if clusters is not None and name in raw:
            scores[f"{name}_kmeans_raw"] = cluster_dice(raw[name], counts, segments, truth, clusters, seed=seed)
            scores[f"{name}_kmeans_whitened"] = cluster_dice(whitened(described[name], counts), counts, segments, truth,
                                                             clusters, seed=seed)
            scores[f"{name}_tied"] = cluster_dice(raw[name], counts, segments, truth, clusters, seed=seed, tied=True)
    return scores
