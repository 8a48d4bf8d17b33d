"""Clustering in the tangent space at the origin: the maps against their formulas, and the
segmentation's ``space`` against clustering the mapped embeddings by hand."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hypseg.config import LevelConfig, ModelConfig, SegmentConfig
from hypseg.errors import UserError
from hypseg.inference import segment_volumes
from hypseg.inference.recipe import cluster_embeddings
from hypseg.inference.tangent import in_tangent, to_ball, to_tangent


def _ball_points(rng, n: int, factors: int, d: int, c: float) -> np.ndarray:
    """n points of a product of ``factors`` balls of curvature c, radii up to 0.98 of the rim."""
    direction = rng.standard_normal((n, factors, d))
    direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
    radius = rng.uniform(0.0, 0.98, (n, factors, 1)) / np.sqrt(c)
    return (direction * radius).reshape(n, factors * d)


@pytest.mark.parametrize("c", [1.0, 0.5])
def test_to_tangent_maps_every_factor_by_the_log_maps_formula_and_to_ball_inverts_it(c):
    rng = np.random.default_rng(0)
    points = _ball_points(rng, 200, 3, 2, c)
    flat = to_tangent(points, factors=3, c=c)
    for f in range(3):  # log_0(y) = artanh(sqrt(c)|y|) y / (sqrt(c)|y|), factor by factor
        y = points[:, 2 * f:2 * f + 2]
        r = np.linalg.norm(y, axis=1, keepdims=True)
        np.testing.assert_allclose(flat[:, 2 * f:2 * f + 2], np.arctanh(np.sqrt(c) * r) * y / (np.sqrt(c) * r), rtol=1e-10)
    np.testing.assert_allclose(to_ball(flat, factors=3, c=c), points, rtol=1e-9, atol=1e-12)


def test_to_tangent_keeps_directions_the_origin_and_the_dtype_and_refuses_points_off_the_ball():
    points = np.array([[0.0, 0.0], [0.3, 0.4]], dtype=np.float32)
    flat = to_tangent(points)
    assert flat.dtype == np.float32
    np.testing.assert_array_equal(flat[0], [0.0, 0.0])  # the origin stays
    assert np.linalg.norm(flat[1]) == pytest.approx(np.arctanh(0.5), rel=1e-6)  # |log_0 y| = artanh |y|
    np.testing.assert_allclose(flat[1] / np.linalg.norm(flat[1]), [0.6, 0.8], rtol=1e-6)  # same direction
    with pytest.raises(ValueError, match="has a point outside the ball"):
        to_tangent(np.array([[1.0, 0.0]]))
    with pytest.raises(ValueError, match="3 coordinates cannot be split into 2 factors"):
        to_tangent(np.zeros((1, 3)), factors=2)


def test_in_tangent_only_for_a_hyperbolic_model_clustered_there():
    ball, flat = ModelConfig(variant="hyperbolic-gyro"), ModelConfig(variant="euclidean")
    assert in_tangent("tangent", ball) and not in_tangent("ball", ball)
    assert not in_tangent("ball", flat) and not in_tangent("tangent", flat)
    with pytest.raises(UserError, match="unknown clustering space 'flat'; choose one of ball, tangent"):
        SegmentConfig(levels=(LevelConfig(2),), space="flat")


def test_space_tangent_clusters_the_log_mapped_embeddings_and_returns_centres_in_the_ball():
    rng = np.random.default_rng(1)
    geometry = ModelConfig(variant="hyperbolic-gyro")
    shape = (6, 6, 6)
    # two patch sides side by side (a product of two balls of d = 2), two volumes
    embeddings = {(3, 5): [_ball_points(rng, int(np.prod(shape)), 2, 2, 1.0).reshape(*shape, 4).astype(np.float32)
                           for _ in range(2)]}
    segments = {8: [np.arange(np.prod(shape)).reshape(shape) // 8 for _ in range(2)]}
    level = LevelConfig(3, patch_sides=(3, 5), supervoxel_size=8)
    config = SegmentConfig(levels=(level,), space="tangent")
    found = cluster_embeddings(embeddings, config, geometry=geometry, segments=segments)
    flat = [to_tangent(e, factors=2) for e in embeddings[(3, 5)]]
    by_hand = segment_volumes(flat, clusters=(3,), segments=segments[8], hyperbolic=False, factors=2, random_state=0, pooled=False,
                              subsample=config.subsample, n_init=config.n_init)
    for volume, expected in zip(found, by_hand):
        np.testing.assert_array_equal(volume.labels[3], expected.labels[3])
        np.testing.assert_allclose(volume.centers[3], to_ball(expected.centers[3], factors=2), rtol=1e-6)
        assert (np.linalg.norm(volume.centers[3].reshape(3, 2, 2), axis=-1) < 1).all()  # points of each ball
    # space = "ball" is the product of balls' own k-means on the embeddings as they are
    ball = cluster_embeddings(embeddings, dataclasses.replace(config, space="ball"), geometry=geometry, segments=segments)
    in_the_ball = segment_volumes(embeddings[(3, 5)], clusters=(3,), segments=segments[8], factors=2, random_state=0,
                                  pooled=False, subsample=config.subsample, n_init=config.n_init)
    for volume, expected in zip(ball, in_the_ball):
        np.testing.assert_array_equal(volume.labels[3], expected.labels[3])
        np.testing.assert_allclose(volume.centers[3], expected.centers[3])
    # a Euclidean model's embeddings are vectors already: the space changes nothing
    euclid = ModelConfig(variant="euclidean")
    same = [cluster_embeddings(embeddings, dataclasses.replace(config, space=space), geometry=euclid, segments=segments)
            for space in ("ball", "tangent")]
    for a, b in zip(*same):
        np.testing.assert_array_equal(a.labels[3], b.labels[3])


@pytest.mark.parametrize("variant", ["hyperbolic-gyro", "euclidean"])
def test_an_ensemble_of_two_copies_of_one_model_with_purity_weights_labels_as_the_model_alone(variant):
    """Two sides with their own purity weights, and the same model twice side by side (member-major): each
    member's factor of side s must take side s's weights, so that the copies change no label."""
    from hypseg.inference.pooling import purity_weights

    rng = np.random.default_rng(2)
    geometry = ModelConfig(variant=variant)
    shape = (8, 8, 8)
    one = _ball_points(rng, int(np.prod(shape)), 2, 2, 1.0).reshape(*shape, 4).astype(np.float32)  # sides 3 and 5
    segments = {16: [np.arange(np.prod(shape)).reshape(shape) // 16]}
    level = LevelConfig(3, patch_sides=(3, 5), supervoxel_size=16, purity_power=4.0)
    weights = {level.weighting: [purity_weights(segments[16][0], (3, 5), 4.0)]}
    config = SegmentConfig(levels=(level,), space="tangent")
    alone = cluster_embeddings({(3, 5): [one]}, config, geometry=geometry, segments=segments, weights=weights)
    twice = cluster_embeddings({(3, 5): [np.concatenate([one, one], axis=-1)]}, config, geometry=geometry,
                               segments=segments, weights=weights, members=2)
    np.testing.assert_array_equal(alone[0].labels[3], twice[0].labels[3])
    np.testing.assert_allclose(np.concatenate([alone[0].centers[3]] * 2, axis=-1), twice[0].centers[3], rtol=1e-6, atol=1e-7)


def test_a_tied_mixture_level_fits_the_mixture_on_the_weighted_supervoxel_means_and_refuses_the_ball():
    from hypseg.clustering import TiedGaussianMixture
    from hypseg.inference.pooling import pool_embedding

    rng = np.random.default_rng(3)
    geometry = ModelConfig(variant="hyperbolic-gyro")
    shape = (8, 8, 8)
    embedding = _ball_points(rng, int(np.prod(shape)), 1, 2, 1.0).reshape(*shape, 2).astype(np.float32)
    segments = np.arange(np.prod(shape)).reshape(shape) // 8
    segments[:, :, :2] = 0  # one large supervoxel: the means carry unequal weights
    _, segments = np.unique(segments, return_inverse=True)
    segments = segments.reshape(shape)
    config = SegmentConfig(levels=(LevelConfig(3, patch_sides=(5,), supervoxel_size=8, clusterer="tied-mixture"),), space="tangent")
    found = cluster_embeddings({(5,): [embedding]}, config, geometry=geometry, segments={8: [segments]})[0]
    pooled = pool_embedding(to_tangent(embedding), segments, hyperbolic=False)
    by_hand = TiedGaussianMixture(3, n_init=config.n_init, random_state=config.seed).fit(pooled.points, sample_weight=pooled.weights)
    np.testing.assert_array_equal(found.labels[3], by_hand.labels_[segments])
    np.testing.assert_allclose(found.centers[3], to_ball(by_hand.cluster_centers_), rtol=1e-6)
    with pytest.raises(UserError) as err:
        cluster_embeddings({(5,): [embedding]}, dataclasses.replace(config, space="ball"), geometry=geometry, segments={8: [segments]})
    assert str(err.value) == "a tied Gaussian mixture clusters flat vectors: cluster a ball's embeddings in the tangent space"
