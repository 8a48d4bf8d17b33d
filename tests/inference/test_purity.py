"""Purity weighting of supervoxel means: the purity map against a voxel loop, weighted means, errors."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from hypseg.clustering import frechet_mean
from hypseg.inference import segment_volumes
from hypseg.inference.pooling import patch_purity, pool_embedding, purity_weights

from .test_pooling import _ball_embedding, _random_segments


def _slow_purity(segments, p):
    """Per voxel: the share of its patch (placed like the dense embedding, edge-clamped) in its own label."""
    before = p // 2
    out = np.empty(segments.shape)
    for z, y, x in itertools.product(*map(range, segments.shape)):
        same = 0
        for dz, dy, dx in itertools.product(range(p), repeat=3):
            q = [min(max(i + o - before, 0), n - 1) for i, o, n in zip((z, y, x), (dz, dy, dx), segments.shape)]
            same += segments[tuple(q)] == segments[z, y, x]
        out[z, y, x] = same / p**3
    return out


@pytest.mark.parametrize("p", [1, 2, 3, 4, 5])
def test_purity_agrees_with_a_voxel_loop(p):
    segments = _random_segments((5, 4, 6), n=5, seed=p)
    segments[:2, :2, :] = -1  # outside a mask: one more label
    np.testing.assert_allclose(patch_purity(segments, p), _slow_purity(segments, p), atol=1e-6)


def test_purity_is_one_inside_a_single_region_and_bounded_below():
    np.testing.assert_array_equal(patch_purity(np.zeros((4, 5, 6), int), 5), 1.0)
    np.testing.assert_array_equal(patch_purity(_random_segments(), 1), 1.0)
    checker = np.indices((6, 6, 6)).sum(axis=0) % 2  # every face neighbour differs
    purity = patch_purity(checker, 3)
    # inside, a 3^3 patch holds its centre and the 12 offsets with two nonzero coordinates: 13 of 27
    np.testing.assert_allclose(purity[1:-1, 1:-1, 1:-1], 13 / 27)
    assert purity.min() >= 1 / 27


def test_purity_falls_towards_a_boundary():
    segments = np.zeros((9, 9, 9), int)
    segments[:, :, 5:] = 1  # a plane between x = 4 and x = 5
    along_x = patch_purity(segments, 5)[4, 4, :]
    np.testing.assert_allclose(along_x, [1, 1, 1, 4 / 5, 3 / 5, 3 / 5, 4 / 5, 1, 1])


def test_purity_weights_stack_one_power_per_side():
    segments = _random_segments(seed=3)
    weights = purity_weights(segments, (3, 5), 2.0)
    assert weights.shape == segments.shape + (2,)
    np.testing.assert_allclose(weights[..., 1], patch_purity(segments, 5) ** 2)
    np.testing.assert_array_equal(purity_weights(segments, (3,), 0.0), 1.0)  # power 0: plain means


def test_weighted_pooling_agrees_with_a_loop_of_weighted_frechet_means():
    emb, segments = _ball_embedding(factors=2, seed=4), _random_segments(seed=4)
    weights = np.random.default_rng(4).uniform(0.1, 2.0, size=segments.shape + (2,))
    pooled = pool_embedding(emb, segments, factors=2, voxel_weights=weights)
    flat, codes, w = emb.reshape(-1, 4), segments.reshape(-1), weights.reshape(-1, 2)
    for s in range(9):
        members = codes == s
        expected = np.concatenate([frechet_mean(flat[members, :2], w[members, 0]),
                                   frechet_mean(flat[members, 2:], w[members, 1])])
        np.testing.assert_allclose(pooled.points[s], expected, atol=1e-9)
        assert pooled.weights[s] == members.sum()  # the clustering still counts voxels


def test_weighted_euclidean_pooling_is_the_weighted_average():
    rng = np.random.default_rng(5)
    emb, segments = rng.standard_normal((5, 5, 5, 3)), _random_segments((5, 5, 5), n=7, seed=5)
    weights = rng.uniform(0.0, 1.0, size=segments.shape) + (segments == 6)  # no supervoxel of zero weight
    pooled = pool_embedding(emb, segments, hyperbolic=False, voxel_weights=weights)
    flat, codes, w = emb.reshape(-1, 3), segments.reshape(-1), weights.reshape(-1)
    for s in range(7):
        np.testing.assert_allclose(pooled.points[s], np.average(flat[codes == s], axis=0, weights=w[codes == s]))


def test_uniform_weights_give_the_plain_mean_and_one_heavy_voxel_its_own_point():
    emb, segments = _ball_embedding(seed=6), _random_segments(seed=6)
    plain = pool_embedding(emb, segments).points
    np.testing.assert_allclose(pool_embedding(emb, segments, voxel_weights=np.full(segments.shape, 3.0)).points, plain, atol=1e-9)
    first = np.zeros(segments.shape)
    flat_codes = segments.reshape(-1)
    chosen = np.array([np.flatnonzero(flat_codes == s)[0] for s in range(9)])
    first.reshape(-1)[chosen] = 1.0
    pooled = pool_embedding(emb, segments, voxel_weights=first)
    np.testing.assert_allclose(pooled.points, emb.reshape(-1, 2)[chosen], atol=1e-9)


def test_purity_weighting_removes_the_pull_of_a_neighbour():
    """A patch embedding that mixes both sides of an edge: purity^8 means move towards each side's own value."""
    segments = np.zeros((6, 6, 12), int)
    segments[:, :, 6:] = 1
    value = np.where(segments == 0, -0.5, 0.5)
    blurred = np.stack([np.convolve(np.pad(row, 2, mode="edge"), np.ones(5) / 5, mode="valid")
                        for row in value.reshape(-1, 12)]).reshape(value.shape)  # a 5-wide patch's mean along x
    emb = np.stack([blurred, np.zeros_like(blurred)], axis=-1)
    plain = pool_embedding(emb, segments, hyperbolic=False).points[:, 0]
    pure = pool_embedding(emb, segments, hyperbolic=False, voxel_weights=purity_weights(segments, (5,), 8.0)).points[:, 0]
    assert np.all(np.abs(pure - [-0.5, 0.5]) < np.abs(plain - [-0.5, 0.5]))


def test_weight_columns_repeat_over_the_factors_they_divide():
    """G columns for F = 2G factors (two models' embeddings side by side) weigh like the columns tiled."""
    emb, segments = _ball_embedding(factors=4, seed=7), _random_segments(seed=7)
    weights = np.random.default_rng(7).uniform(0.1, 2.0, size=segments.shape + (2,))
    short = pool_embedding(emb, segments, factors=4, voxel_weights=weights).points
    tiled = pool_embedding(emb, segments, factors=4, voxel_weights=np.tile(weights, 2)).points
    np.testing.assert_allclose(short, tiled)
    uneven = pool_embedding(emb, segments, factors=4, voxel_weights=np.concatenate([weights, weights[..., ::-1]], -1)).points
    assert not np.allclose(uneven, tiled)  # the columns do reach their own factors
    with pytest.raises(ValueError, match=re.escape("give (Z, Y, X) or (Z, Y, X, G) with G dividing 4")):
        pool_embedding(emb, segments, factors=4, voxel_weights=np.ones(segments.shape + (3,)))


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        (np.ones((6, 6)), "voxel weights of shape (6, 6) for supervoxels of (6, 6, 6) and 1 factor(s); "
                          "give (Z, Y, X) or (Z, Y, X, G) with G dividing 1"),
        (np.ones((6, 6, 6, 2)), "voxel weights of shape (6, 6, 6, 2) for supervoxels of (6, 6, 6) and 1 factor(s)"),
        (-np.ones((6, 6, 6)), "voxel weights must be finite and >= 0"),
        (np.full((6, 6, 6), np.nan), "voxel weights must be finite and >= 0"),
        (np.zeros((6, 6, 6)), "supervoxel 0 has no voxel of positive weight"),
    ],
)
def test_bad_voxel_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        pool_embedding(_ball_embedding(), _random_segments(), voxel_weights=weights)


def test_bad_purity_arguments_are_refused():
    with pytest.raises(ValueError, match=re.escape("patch_size must be >= 1, got 0")):
        patch_purity(np.zeros((3, 3, 3), int), 0)
    with pytest.raises(ValueError, match=re.escape("supervoxels must be (Z, Y, X), got shape (3, 3)")):
        patch_purity(np.zeros((3, 3), int), 3)
    with pytest.raises(ValueError, match=re.escape("the purity power must be >= 0, got -1.0")):
        purity_weights(np.zeros((3, 3, 3), int), (3,), -1.0)


def test_segment_volumes_refuses_weights_without_supervoxels_or_of_the_wrong_count():
    emb = _ball_embedding()
    with pytest.raises(ValueError, match=re.escape("voxel weights 0 need a supervoxel map")):
        segment_volumes([emb], clusters=(2,), voxel_weights=[np.ones((6, 6, 6))])
    with pytest.raises(ValueError, match=re.escape("got 2 voxel weight maps for 1 volumes")):
        segment_volumes([emb], clusters=(2,), segments=[_random_segments()], voxel_weights=[None, None])


def test_one_fit_at_several_counts_equals_one_fit_per_count():
    """The quality benchmark segments levels 2-3 in one call; each count's labels are those of its own call."""
    embs = [_ball_embedding(seed=s) for s in (7, 8)]
    segments = [_random_segments(seed=s) for s in (7, 8)]
    weights = [purity_weights(s, (3,), 8.0) for s in segments]
    both = segment_volumes(embs, clusters=(2, 4), segments=segments, voxel_weights=weights, random_state=3)
    for k in (2, 4):
        alone = segment_volumes(embs, clusters=(k,), segments=segments, voxel_weights=weights, random_state=3)
        for a, b in zip(both, alone):
            np.testing.assert_array_equal(a.labels[k], b.labels[k])
