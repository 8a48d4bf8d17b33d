"""benchmarks/level1_voxels.py: level 1's scores refined and filled as the default's level1_object gives them."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import level1_voxels as lv
from hypseg.inference.hierarchy import level1_object
from hypseg.metrics import matched_dice


def test_scores_at_refine_then_fill_as_the_default_level_1():
    volume = np.zeros((14, 14, 14))
    truth = np.zeros(volume.shape, dtype=np.int64)
    truth[4:10, 4:10, 4:10] = 1
    volume[truth > 0] = 1.0
    found = np.zeros(volume.shape, dtype=np.int64)
    found[3:11, 3:11, 3:11] = 2  # one voxel too large on every side, with a hole the fill must close
    found[6, 6, 6] = 0
    scores = [s[0] for s in lv.scores_at([volume], [{1: truth}], [found], passes=(0, 1))]
    assert scores[1] == pytest.approx(1.0) and scores[0] < 1.0
    for n, score in enumerate(scores):
        expected = matched_dice(level1_object((found > 0).astype(np.int64), volume=volume, refine=n).astype(np.int64), truth).mean
        assert score == pytest.approx(expected)
