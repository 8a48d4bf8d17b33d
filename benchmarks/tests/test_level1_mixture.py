"""benchmarks/level1_mixture.py: supervoxel means."""

from __future__ import annotations

import numpy as np

from benchmarks.level1_mixture import supervoxel_means


def test_supervoxel_means_agree_with_a_loop_and_leave_absent_ids_at_zero():
    rng = np.random.default_rng(0)
    segments = rng.integers(0, 5, size=(6, 7, 8))
    segments[segments == 3] = 4  # id 3 absent
    points = rng.normal(size=(6, 7, 8, 2))
    means = supervoxel_means(points, segments)
    assert means.shape == (5, 2)
    for i in (0, 1, 2, 4):
        np.testing.assert_allclose(means[i], points[segments == i].mean(0))
    assert (means[3] == 0).all()
