"""Multi-level clustering of embeddings: planted structure, masks, nesting, pooling."""

from __future__ import annotations

import numpy as np
import pytest

from hypseg.inference import segment_volume, segment_volumes
from hypseg.metrics import matched_dice


def _planted(shape=(12, 12, 12), seed=0):
    """Embeddings with four blobs arranged as two pairs (a two-level tree) and their truth."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, size=shape)
    centres = np.array([[0.5, 0.1], [0.5, -0.1], [-0.5, 0.1], [-0.5, -0.1]])
    points = centres[truth] + 0.01 * rng.standard_normal(shape + (2,))
    return points.astype(np.float32), truth


def test_planted_levels_are_recovered_exactly():
    emb, truth = _planted()
    seg = segment_volume(emb, clusters=(2, 4), random_state=0)
    assert matched_dice(seg.labels[4], truth).mean == pytest.approx(1.0)
    assert matched_dice(seg.labels[2], truth // 2).mean == pytest.approx(1.0)
    assert seg.labels[4].dtype == np.int32 and seg.labels[4].shape == truth.shape
    assert seg.centers[4].shape == (4, 2)


def test_nested_levels_form_a_tree():
    emb, truth = _planted(seed=1)
    seg = segment_volume(emb, clusters=(2, 4, 8), nested=True, random_state=0)
    np.testing.assert_array_equal(seg.labels[4] // 2, seg.labels[2])
    np.testing.assert_array_equal(seg.labels[8] // 2, seg.labels[4])
    assert matched_dice(seg.labels[4], truth).mean == pytest.approx(1.0)


def test_mask_leaves_outside_voxels_at_zero():
    emb, truth = _planted(seed=2)
    mask = np.zeros(truth.shape, bool)
    mask[2:10, 2:10, 2:10] = True
    seg = segment_volume(emb, clusters=(4,), mask=mask, random_state=0)
    assert (seg.labels[4][~mask] == 0).all()
    assert set(np.unique(seg.labels[4][mask])) == {1, 2, 3, 4}


def test_pooled_fit_gives_consistent_labels_across_volumes():
    (a, ta), (b, tb) = _planted(seed=3), _planted(seed=4)
    sa, sb = segment_volumes([a, b], clusters=(4,), pooled=True, random_state=0)
    # the same true class gets the same cluster id in both volumes
    mapping_a = {t: np.bincount(sa.labels[4][ta == t]).argmax() for t in range(4)}
    mapping_b = {t: np.bincount(sb.labels[4][tb == t]).argmax() for t in range(4)}
    assert mapping_a == mapping_b


def test_euclidean_embeddings_cluster_too():
    emb, truth = _planted(seed=5)
    seg = segment_volume(emb * 3, clusters=(4,), hyperbolic=False, random_state=0)
    assert matched_dice(seg.labels[4], truth).mean == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(clusters=(1, 4)), r"cluster counts must be >= 2, got \[1, 4\]"),
        (dict(clusters=(2, 5), nested=True), r"nested levels must divide each other, but 5 is not a multiple of 2"),
        (dict(clusters=()), r"give at least one cluster count"),
        (dict(clusters=(3000,)), r"3000 clusters need at least as many voxels, got 1728"),
        (dict(clusters=(2,), mask=np.ones((3, 3, 3), bool)), r"mask 0 has shape \(3, 3, 3\), its embedding \(12, 12, 12\)"),
    ],
)
def test_bad_levels_are_rejected(kwargs, message):
    emb, _ = _planted()
    with pytest.raises(ValueError, match=message):
        segment_volume(emb, **kwargs)


def test_several_patch_sides_cluster_on_the_product_of_balls():
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 4, size=(10, 10, 10))
    first = np.array([[0.5, 0.0], [0.5, 0.0], [-0.5, 0.0], [-0.5, 0.0]])[truth]  # separates truth // 2
    second = np.array([[0.0, 0.5], [0.0, -0.5], [0.0, 0.5], [0.0, -0.5]])[truth]  # separates truth % 2
    emb = np.concatenate([first, second], axis=-1) + 0.01 * rng.standard_normal((10, 10, 10, 4))
    seg = segment_volume(emb, clusters=(4,), factors=2, random_state=0)
    assert matched_dice(seg.labels[4], truth).mean == pytest.approx(1.0)
    # Euclidean factors side by side are one Euclidean space: the same labels as one vector of 4 coordinates
    flat = segment_volume(emb, clusters=(4,), factors=2, hyperbolic=False, random_state=0)
    alone = segment_volume(emb, clusters=(4,), factors=1, hyperbolic=False, random_state=0)
    np.testing.assert_array_equal(flat.labels[4], alone.labels[4])
    assert matched_dice(flat.labels[4], truth).mean == pytest.approx(1.0)


def test_an_unknown_clusterer_is_a_one_line_user_error_not_k_means():
    from hypseg.errors import UserError

    with pytest.raises(UserError) as err:
        segment_volumes([np.zeros((4, 4, 4, 2))], clusters=(2,), hyperbolic=False, clusterer="tied_mixture")
    assert str(err.value) == "unknown clusterer 'tied_mixture'; choose one of kmeans, tied-mixture"
