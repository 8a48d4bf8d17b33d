"""benchmarks/supervoxel_ceiling.py: the majority labelling and its refined ceilings on hand-made volumes."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import supervoxel_ceiling as sc


def _bright_cube(shift: int = 0) -> tuple[np.ndarray, np.ndarray]:
    volume = np.zeros((16, 16, 16))
    truth = np.zeros(volume.shape, dtype=bool)
    truth[5 + shift:11 + shift, 5:11, 5:11] = True
    volume[truth] = 1.0
    return volume, truth


def _blocks(shape: tuple[int, int, int], side: int) -> np.ndarray:
    """Supervoxels that are side^3 blocks of a regular grid."""
    z, y, x = np.indices(shape) // side
    n = -(-np.array(shape) // side)
    return (z * n[1] + y) * n[2] + x


def test_majority_object_takes_each_supervoxels_majority_and_leaves_ties_outside():
    ids = np.array([[[0, 0, 0, 1, 1, 2, 2]]])
    foreground = np.array([[[True, True, False, True, False, False, False]]])
    assert sc.majority_object(ids, foreground).tolist() == [[[True, True, True, False, False, False, False]]]


def test_voxel_supervoxels_reach_the_truth_at_every_pass():
    volume, truth = _bright_cube()
    ids = np.arange(volume.size).reshape(volume.shape)
    assert sc.refined_ceilings(volume, truth, ids, max_passes=3) == pytest.approx([1.0] * 4)


def test_blocks_that_cut_the_object_lose_and_refinement_moves_the_boundary_back():
    volume, truth = _bright_cube(shift=1)  # z 6-11, y and x 5-10: the 4^3 blocks cut every face of the cube
    scores = sc.refined_ceilings(volume, truth, _blocks(volume.shape, 4), max_passes=2)
    assert scores[0] < 0.9
    assert scores[1] > scores[0]
    assert scores[2] == pytest.approx(1.0)
