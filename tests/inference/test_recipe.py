"""The recipe runner: the same label maps as the clustering functions it composes; containment.

(That the CLI without options gives exactly what the quality benchmark scores is checked in
``benchmarks/tests/test_segment_agreement.py``.)"""

from __future__ import annotations

import numpy as np
import pytest

from hypseg.config import LevelConfig, SegmentConfig, segment_preset, smoke_recipe
from hypseg.inference.hierarchy import level1_object, segment_inside
from hypseg.inference.pooling import purity_weights
from hypseg.inference.recipe import cluster_embeddings
from hypseg.inference.segment import segment_volumes


def _embeddings(volumes=3, shape=(12, 12, 12), seed=0):
    rng = np.random.default_rng(seed)
    truth = np.zeros(shape, dtype=np.uint8)
    truth[2:10, 2:10, 2:10] = 1
    truth[4:8, 4:8, 4:8] = 2
    return truth, [(np.stack([truth * 0.3, (truth == 2) * 0.3], axis=-1) - 0.2
                    + rng.normal(0, 0.05, shape + (2,))).astype(np.float32) for _ in range(volumes)]


def test_levels_of_equal_settings_are_one_segment_volumes_call():
    _, embeddings = _embeddings()
    config = segment_preset("paper").with_levels(patch_sides=(4,))
    found = cluster_embeddings({(4,): embeddings}, config, geometry=smoke_recipe().model)
    expected = segment_volumes(embeddings, clusters=(2, 4, 8), pooled=False, random_state=0)
    for got, want in zip(found, expected):
        assert got.labels.keys() == want.labels.keys() == {2, 4, 8} and got.object is None
        for k in (2, 4, 8):
            np.testing.assert_array_equal(got.labels[k], want.labels[k])
            np.testing.assert_array_equal(got.centers[k], want.centers[k])


def test_containment_reports_the_object_and_clusters_inside_it_as_the_hierarchy_functions_do():
    _, embeddings = _embeddings()
    z, y, x = np.indices((12, 12, 12)) // 2
    segments = [z * 36 + y * 6 + x] * 3
    config = SegmentConfig(levels=(LevelConfig(2, (4,), 8, pooled=False, in_object=True),
                                   LevelConfig(3, (4,), 8, purity_power=8.0, pooled=True, in_object=True)), seed=1)
    found = cluster_embeddings({(4,): embeddings}, config, geometry=smoke_recipe().model, segments={8: segments})
    level1 = segment_volumes(embeddings, clusters=(2,), pooled=False, segments=segments, random_state=1)
    objects = [level1_object(s.labels[2]) for s in level1]
    inside = segment_inside(embeddings, objects, clusters=(3,), pooled=True, segments=segments, random_state=1,
                            voxel_weights=[purity_weights(s, (4,), 8.0) for s in segments])
    for got, obj, want in zip(found, objects, inside):
        np.testing.assert_array_equal(got.object, obj)
        np.testing.assert_array_equal(got.labels[2], obj.astype(np.int32))
        np.testing.assert_array_equal(got.labels[3], want.labels[3])


def test_missing_embeddings_are_named():
    _, embeddings = _embeddings(volumes=1)
    with pytest.raises(ValueError, match=r"no embeddings at patch sides \(5,\) for level k = 2"):
        cluster_embeddings({(4,): embeddings}, segment_preset("paper"), geometry=smoke_recipe().model)


@pytest.mark.parametrize("seed", range(4))
def test_level_ones_centres_follow_its_object_maps_labels(seed):
    """Row 0 of level 1's centres is the outside's, row 1 the object's, whichever cluster k-means numbered first."""
    truth, embeddings = _embeddings(volumes=2, seed=seed)
    flipped = [e if i % 2 else -e for i, e in enumerate(embeddings)]  # the object above, then below, the outside
    config = SegmentConfig(levels=(LevelConfig(2, (4,), None, pooled=False, in_object=True),), seed=seed)
    for found, embedding in zip(cluster_embeddings({(4,): flipped}, config, geometry=smoke_recipe().model), flipped):
        means = np.stack([embedding[found.labels[2] == label].mean(axis=0) for label in (0, 1)])
        distances = np.linalg.norm(means[:, None, :] - found.centers[2][None, :, :], axis=-1)
        assert distances.argmin(axis=1).tolist() == [0, 1]
