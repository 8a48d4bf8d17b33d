"""k-means on a product of Poincare balls."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import random_points
from hypseg.clustering import HyperbolicKMeans, ProductBallKMeans, frechet_mean, product_sqdist
from hypseg.geometry import dist, mobius_add
from hypseg.metrics import matched_dice


def test_product_distance_is_the_root_sum_of_factor_distances():
    x = torch.cat([random_points(30, 2, c=2.0, dtype=torch.float64, seed=s) for s in (0, 1, 2)], dim=1)
    y = torch.cat([random_points(5, 2, c=2.0, dtype=torch.float64, seed=s) for s in (3, 4, 5)], dim=1)
    expected = sum(dist(x[:, None, 2 * f : 2 * f + 2], y[None, :, 2 * f : 2 * f + 2], c=2.0) ** 2 for f in range(3))
    torch.testing.assert_close(product_sqdist(x, y, factors=3, c=2.0), expected, rtol=1e-9, atol=1e-9)


def _blobs(seed=0):
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(4), 60)
    f1 = np.array([[0.5, 0.0], [0.5, 0.0], [-0.5, 0.0], [-0.5, 0.0]])[truth]
    f2 = np.array([[0.0, 0.5], [0.0, -0.5], [0.0, 0.5], [0.0, -0.5]])[truth]
    return np.concatenate([f1, f2], axis=1) + 0.02 * rng.standard_normal((240, 4)), truth


def test_recovers_clusters_that_only_the_product_separates():
    x, truth = _blobs()
    km = ProductBallKMeans(4, factors=2, n_init=3, random_state=0).fit(x)
    assert matched_dice(km.labels_, truth).mean == pytest.approx(1.0)
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    np.testing.assert_allclose(km.transform(x).min(axis=1) ** 2, product_sqdist(torch.as_tensor(x), torch.as_tensor(km.cluster_centers_), factors=2, c=1.0).min(dim=1).values.numpy())
    # centres are the per-factor Frechet means of their clusters
    for j in range(4):
        members = x[km.labels_ == j]
        for f in range(2):
            mean = frechet_mean(torch.as_tensor(members[:, 2 * f : 2 * f + 2]))
            np.testing.assert_allclose(km.cluster_centers_[j, 2 * f : 2 * f + 2], np.asarray(mean), atol=1e-6)


def test_one_factor_agrees_with_hyperbolic_kmeans():
    x, truth = _blobs(1)
    single = x[:, :2] + 0.0
    a = ProductBallKMeans(2, factors=1, random_state=0).fit(single)
    b = HyperbolicKMeans(2, random_state=0).fit(single)
    assert matched_dice(a.labels_, b.labels_).mean == pytest.approx(1.0)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-6)


def test_labels_are_invariant_under_a_mobius_translation_of_each_factor():
    x, _ = _blobs(2)
    t = torch.as_tensor(x)
    shift = torch.tensor([0.2, -0.3], dtype=torch.float64)
    moved = torch.cat([mobius_add(shift.expand(240, 2), t[:, :2]), mobius_add(-shift.expand(240, 2), t[:, 2:])], dim=1)
    a = ProductBallKMeans(4, factors=2, random_state=0).fit(x).labels_
    b = ProductBallKMeans(4, factors=2, random_state=0).fit(moved.numpy()).labels_
    assert matched_dice(a, b).mean == pytest.approx(1.0)


@pytest.mark.parametrize(
    "x,kwargs,message",
    [
        (np.zeros((5, 3)), dict(factors=2), r"3 features cannot be split into 2 factors"),
        (np.full((5, 2), 0.8), dict(factors=1), r"X has a point outside the ball"),
        (np.zeros((3, 2)), dict(factors=1, n_clusters=5), r"n_clusters=5 must be between 1 and n_samples=3"),
        (np.zeros((0, 2)), dict(factors=1), r"X must be a non-empty \(n_samples, n_features\) array, got shape \(0, 2\)"),
        (np.array([[np.nan, 0.0]]), dict(factors=1, n_clusters=1), r"X contains NaN or Inf"),
    ],
)
def test_bad_input(x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ProductBallKMeans(**{"n_clusters": 2, **kwargs}).fit(x)


def test_integer_weights_act_like_repeated_points():
    x, truth = _blobs(3)
    weights = np.random.default_rng(3).integers(1, 4, size=len(x))
    weighted = ProductBallKMeans(4, factors=2, n_init=3, random_state=0).fit(x, sample_weight=weights)
    repeated = ProductBallKMeans(4, factors=2, n_init=3, random_state=0).fit(np.repeat(x, weights, axis=0))
    order_w = np.lexsort(weighted.cluster_centers_.T)
    order_r = np.lexsort(repeated.cluster_centers_.T)
    np.testing.assert_allclose(weighted.cluster_centers_[order_w], repeated.cluster_centers_[order_r], atol=1e-5)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-5)
    assert matched_dice(weighted.labels_, truth).mean == pytest.approx(1.0)


def test_zero_weight_points_do_not_move_the_centres():
    x, truth = _blobs(4)
    outliers = np.full((20, 4), 0.85 / np.sqrt(2))
    weights = np.concatenate([np.ones(len(x)), np.zeros(20)])
    km = ProductBallKMeans(4, factors=2, n_init=3, random_state=0).fit(np.concatenate([x, outliers]), sample_weight=weights)
    for j in range(4):
        members = x[km.labels_[: len(x)] == j]
        for f in range(2):
            np.testing.assert_allclose(km.cluster_centers_[j, 2 * f : 2 * f + 2], np.asarray(frechet_mean(members[:, 2 * f : 2 * f + 2])), atol=1e-6)


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.ones(3), "sample_weight must have shape (240,), got (3,)"),
        (-np.ones(240), "sample_weight must be finite and non-negative"),
        (np.r_[np.ones(1), np.zeros(239)], "sample_weight has fewer than n_clusters=2 positive entries"),
    ],
)
def test_bad_weights(weights, message):
    with pytest.raises(ValueError) as info:
        ProductBallKMeans(2, factors=2).fit(_blobs(5)[0], sample_weight=weights)
    assert str(info.value) == message
