"""benchmarks/supervoxel_ceiling.py: the best labelling against brute force, and the refined scores' passes and holes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from benchmarks import supervoxel_ceiling as sc
from benchmarks.real_data import foreground_dice, supervoxel_shares
from hypseg.inference.hierarchy import level1_object
from hypseg.inference.refine import refine_boundary


def test_best_labelling_is_the_best_union_of_supervoxels_by_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        ids = rng.integers(0, 7, size=(2, 3, 5))
        foreground = rng.random(ids.shape) < 0.4
        best = max(foreground_dice(np.isin(ids, chosen).astype(np.int64), foreground)
                   for n in range(1, 8) for chosen in itertools.combinations(range(7), n))
        dice, threshold = sc.best_labelling(supervoxel_shares(ids, foreground), foreground)
        assert dice == pytest.approx(best)
        assert foreground_dice((supervoxel_shares(ids, foreground) >= threshold).astype(np.int64), foreground) == pytest.approx(dice)


def _bright_cube(shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    volume = np.zeros((16, 16, 16))
    truth = np.zeros(volume.shape, dtype=bool)
    truth[5 + shift:11 + shift, 5:11, 5:11] = True
    volume[truth] = 1.0
    return volume, truth


def test_each_pass_refines_once_and_scores_as_the_default_level_1_would():
    volume, truth = _bright_cube()
    found = np.zeros(volume.shape, dtype=bool)
    found[3:13, 3:13, 3:13] = True  # two voxels too large on every side: two passes move it back
    scores = sc.refined_scores(volume, truth, found, max_passes=3)
    one = refine_boundary(volume, found, passes=1)
    assert scores[1] == pytest.approx(foreground_dice(one.astype(np.int64), truth)) and scores[1] < 1.0
    assert scores[2] == pytest.approx(1.0) and scores[3] == pytest.approx(1.0)
    labels = found.astype(np.int64)
    for n, score in enumerate(scores):
        assert score == pytest.approx(foreground_dice(level1_object(labels, volume=volume, refine=n).astype(np.int64), truth))


def test_a_hollow_object_is_scored_with_its_holes_filled():
    volume, truth = _bright_cube()
    hollow = truth & ~np.pad(np.ones((2, 2, 2), dtype=bool), 7)  # the cube with a 2^3 cavity at its centre
    assert foreground_dice(hollow.astype(np.int64), truth) < 1.0
    assert sc.refined_scores(np.where(hollow, 1.0, 0.0), truth, hollow, max_passes=0) == pytest.approx([1.0])
