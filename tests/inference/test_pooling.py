"""Supervoxel pooling: agreement with a per-supervoxel loop, isometry equivariance, the voxel limit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hypseg.clustering import frechet_mean
from hypseg.geometry import mobius_add
from hypseg.inference import segment_volumes
from hypseg.inference.pooling import pool_embedding
from hypseg.metrics import matched_dice


def _ball_embedding(shape=(6, 6, 6), d=2, factors=1, seed=0):
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal(shape + (factors, d))
    radii = 0.9 * rng.uniform(size=shape + (factors, 1))
    points = directions / np.linalg.norm(directions, axis=-1, keepdims=True) * radii
    return points.reshape(shape + (factors * d,))


def _random_segments(shape=(6, 6, 6), n=9, seed=0):
    rng = np.random.default_rng(seed)
    segments = rng.integers(0, n, size=shape)
    segments.reshape(-1)[:n] = np.arange(n)  # every label present
    return segments


def test_agrees_with_a_loop_over_supervoxels():
    emb, segments = _ball_embedding(factors=2), _random_segments()
    pooled = pool_embedding(emb, segments, factors=2)
    flat, codes = emb.reshape(-1, 4), segments.reshape(-1)
    for s in range(9):
        members = flat[codes == s]
        expected = np.concatenate([frechet_mean(members[:, :2]), frechet_mean(members[:, 2:])])
        np.testing.assert_allclose(pooled.points[s], expected, atol=1e-9)
        assert pooled.weights[s] == len(members)
    np.testing.assert_array_equal(pooled.codes, codes)


def test_euclidean_pooling_is_the_arithmetic_mean():
    rng = np.random.default_rng(1)
    emb, segments = 3 * rng.standard_normal((5, 5, 5, 3)), _random_segments((5, 5, 5), n=7, seed=1)
    pooled = pool_embedding(emb, segments, hyperbolic=False)
    flat = emb.reshape(-1, 3)
    expected = np.stack([flat[segments.reshape(-1) == s].mean(axis=0) for s in range(7)])
    np.testing.assert_allclose(pooled.points, expected, atol=1e-12)


def test_pooling_commutes_with_a_hyperbolic_isometry():
    """The Frechet mean is equivariant: pooling translated points = translating the pooled points."""
    emb, segments = _ball_embedding(seed=2), _random_segments(seed=2)
    a = torch.tensor([0.3, -0.4], dtype=torch.float64)

    def translate(x):
        return mobius_add(a.expand(x.shape[0], 2), torch.as_tensor(x), c=1.0).numpy()

    moved = translate(emb.reshape(-1, 2)).reshape(emb.shape)
    np.testing.assert_allclose(pool_embedding(moved, segments).points, translate(pool_embedding(emb, segments).points), atol=1e-8)


def test_one_voxel_per_supervoxel_is_voxel_clustering():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, size=(8, 8, 8))
    centres = np.array([[0.5, 0.1], [0.5, -0.1], [-0.5, 0.1], [-0.5, -0.1]])
    emb = centres[truth] + 0.02 * rng.standard_normal((8, 8, 8, 2))
    identity = np.arange(truth.size).reshape(truth.shape)
    np.testing.assert_allclose(pool_embedding(emb, identity).points, emb.reshape(-1, 2), atol=1e-12)
    plain = segment_volumes([emb], clusters=(2, 4), pooled=False, random_state=0)[0]
    pooled = segment_volumes([emb], clusters=(2, 4), pooled=False, random_state=0, segments=[identity])[0]
    for k in (2, 4):
        assert matched_dice(pooled.labels[k], plain.labels[k]).mean == pytest.approx(1.0)


def test_labels_are_constant_on_supervoxels_and_noise_is_averaged_out():
    """Blocks of 8 voxels whose single voxels are too noisy to cluster; their means are not."""
    rng = np.random.default_rng(4)
    block_truth = rng.integers(0, 2, size=(4, 4, 4))
    truth = block_truth.repeat(2, 0).repeat(2, 1).repeat(2, 2)
    segments = np.arange(64).reshape(4, 4, 4).repeat(2, 0).repeat(2, 1).repeat(2, 2)
    centres = np.array([[0.25, 0.0], [-0.25, 0.0]])
    emb = np.clip(centres[truth] + 0.2 * rng.standard_normal((8, 8, 8, 2)), -0.6, 0.6)
    seg = segment_volumes([emb], clusters=(2,), pooled=False, random_state=0, segments=[segments])[0]
    for s in range(64):
        assert np.unique(seg.labels[2][segments == s]).size == 1
    assert matched_dice(seg.labels[2], truth).mean == pytest.approx(1.0)


def test_a_mask_and_a_supervoxel_map_must_agree():
    emb, segments = _ball_embedding(), _random_segments()
    mask = segments >= 0
    seg = segment_volumes([emb], clusters=(2,), masks=[mask], segments=[segments], pooled=False)[0]
    assert (seg.labels[2] >= 1).all()
    mask[0, 0, 0] = False
    with pytest.raises(ValueError) as info:
        segment_volumes([emb], clusters=(2,), masks=[mask], segments=[segments])
    assert str(info.value) == "supervoxel map 0 must be -1 exactly outside mask 0"


def test_a_pooled_fit_with_too_few_supervoxels_in_all_falls_back_to_every_volumes_voxels():
    embeddings = [_ball_embedding(seed=1), _ball_embedding(seed=2)]
    segments = [_random_segments(n=3, seed=1), _random_segments(n=4, seed=2)]  # 7 in all, for 8 clusters
    weights = [np.random.default_rng(3).uniform(0.1, 1, size=(6, 6, 6)) for _ in range(2)]
    found = segment_volumes(embeddings, clusters=(2, 8), segments=segments, voxel_weights=weights, random_state=4)
    voxels = segment_volumes(embeddings, clusters=(2, 8), random_state=4)  # every voxel, no weights
    assert [s.voxels for s in found] == [True, True] and not any(s.voxels for s in voxels)
    for got, want in zip(found, voxels):
        for k in (2, 8):
            np.testing.assert_array_equal(got.labels[k], want.labels[k])
    enough = segment_volumes(embeddings, clusters=(2, 7), segments=segments, voxel_weights=weights, random_state=4)
    assert not any(s.voxels for s in enough)  # 7 supervoxels for 7 clusters: kept


def test_a_volume_with_too_few_supervoxels_falls_back_to_its_voxels_alone():
    few, many = _ball_embedding(seed=1), _ball_embedding(seed=2)
    segments = [_random_segments(n=5, seed=1), _random_segments(n=9, seed=2)]
    weights = [np.random.default_rng(3).uniform(0.1, 1, size=(6, 6, 6)) for _ in range(2)]
    found = segment_volumes([few, many], clusters=(4, 8), segments=segments, voxel_weights=weights, pooled=False,
                            random_state=4)
    assert [s.voxels for s in found] == [True, False]
    alone = segment_volumes([few], clusters=(4, 8), pooled=False, random_state=4)[0]  # its voxels, no weights
    kept = segment_volumes([many], clusters=(4, 8), segments=segments[1:], voxel_weights=weights[1:], pooled=False,
                           random_state=4)[0]
    for k in (4, 8):
        np.testing.assert_array_equal(found[0].labels[k], alone.labels[k])
        np.testing.assert_array_equal(found[1].labels[k], kept.labels[k])
    assert len(np.unique(found[0].labels[8])) == 8 and not alone.voxels
    # with a mask the fallback clusters the voxels inside it only
    mask = np.zeros((6, 6, 6), dtype=bool)
    mask[:, :3] = True
    cut = np.where(mask, segments[0], -1)
    cut[mask] = np.unique(cut[mask], return_inverse=True)[1]
    inside = segment_volumes([few], clusters=(8,), masks=[mask], segments=[cut], pooled=False)[0]
    assert inside.voxels and (inside.labels[8][~mask] == 0).all() and set(np.unique(inside.labels[8][mask])) == set(range(1, 9))


@pytest.mark.parametrize(
    "segments, options, message",
    [
        (np.zeros((6, 6, 5), int), {}, "supervoxels of shape (6, 6, 5) for an embedding of (6, 6, 6)"),
        (np.zeros((6, 6, 6)), {}, "supervoxel labels must be integers, got dtype float64"),
        (np.full((6, 6, 6), -1), {}, "no voxel belongs to a supervoxel"),
        (np.where(_random_segments() == 3, 4, _random_segments()), {}, "supervoxel labels must be 0..8 with every label present; 3 is missing"),
        (_random_segments(), {"factors": 3}, "2 embedding coordinates cannot be split into 3 factors"),
    ],
)
def test_bad_input_is_named(segments, options, message):
    with pytest.raises(ValueError) as info:
        pool_embedding(_ball_embedding(), segments, **options)
    assert str(info.value) == message


def test_volumes_with_and_without_supervoxels_share_one_pooled_fit():
    """A voxel weighs 1 and a supervoxel its voxel count, so both kinds of volume can be fitted together."""
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 2, size=(8, 8, 8))
    emb = np.array([[0.4, 0.0], [-0.4, 0.0]])[truth] + 0.01 * rng.standard_normal((8, 8, 8, 2))
    identity = np.arange(truth.size).reshape(truth.shape)
    with_map, without = segment_volumes([emb, emb], clusters=(2,), pooled=True, segments=[identity, None])
    np.testing.assert_array_equal(with_map.labels[2], without.labels[2])
    assert matched_dice(without.labels[2], truth).mean == pytest.approx(1.0)
