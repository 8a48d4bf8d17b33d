"""level1_retry: which cluster of a three-cluster level 1 is an object in a field of view."""

from __future__ import annotations

import numpy as np

from benchmarks.level1_retry import least_on_faces
from hypseg.inference.hierarchy import FIELD_RATIO


def test_the_cluster_clear_of_the_faces_is_the_object_with_ratio_zero():
    labels = np.zeros((10, 10, 10), dtype=int)
    labels[:, :, 5:] = 1  # two slabs, each on its share of the faces
    labels[3:7, 3:7, 3:7] = 2  # a cube clear of every face
    assert least_on_faces(labels, 3) == (2, 0.0)


def test_clusters_spread_through_the_volume_show_no_object_in_a_field():
    labels = np.random.default_rng(0).integers(0, 3, size=(20, 20, 20))  # each cluster everywhere, as in a tomogram
    _, ratio = least_on_faces(labels, 3)
    assert FIELD_RATIO <= ratio < 1.1


def test_a_middle_slab_counts_as_an_object_in_a_field():
    """Three slabs across the volume: the middle one meets the faces less than its size predicts (the x faces are
    the others'), so it is taken as an object; the rule knows faces, not shapes."""
    labels = np.repeat(np.arange(3), [4, 3, 3])[None, None, :] * np.ones((10, 10, 1), dtype=int)
    cluster, ratio = least_on_faces(labels, 3)
    assert cluster == 1 and ratio < FIELD_RATIO
