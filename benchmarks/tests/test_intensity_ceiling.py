"""The level-1 voxel oracle of benchmarks/intensity_ceiling.py against a loop over thresholds."""

from __future__ import annotations

import numpy as np

from hypseg.metrics import matched_dice


def _script():
    from benchmarks import intensity_ceiling

    return intensity_ceiling


def _loop(image: np.ndarray, cell: np.ndarray) -> float:
    best = 0.0
    for t in np.unique(image)[:-1]:  # both sides non-empty
        best = max(best, matched_dice((image > t).astype(int), cell.astype(int)).mean)
    return best


def test_voxel_threshold_oracle_equals_a_loop_over_thresholds():
    rng = np.random.default_rng(3)
    oracle = _script().best_voxel_threshold_dice
    for _ in range(5):
        cell = rng.random((6, 5, 4)) < rng.uniform(0.2, 0.8)
        image = rng.normal(size=cell.shape) + rng.uniform(-1.5, 1.5) * cell
        assert np.isclose(oracle(image, cell), _loop(image, cell))
        tied = np.round(image)  # few distinct values: cuts only between them
        assert np.isclose(oracle(tied, cell), _loop(tied, cell))


def test_voxel_threshold_oracle_is_one_on_separable_images_whichever_side_is_bright():
    oracle = _script().best_voxel_threshold_dice
    cell = np.zeros((4, 4, 4), dtype=bool)
    cell[1:3, 1:3, :] = True
    image = np.random.default_rng(0).random(cell.shape)
    assert oracle(image + 2 * cell, cell) == 1.0
    assert oracle(image - 2 * cell, cell) == 1.0
    assert oracle(image, cell) < 1.0


def _sphere(side: int) -> np.ndarray:
    z, y, x = np.indices((side,) * 3) - (side - 1) / 2
    return z**2 + y**2 + x**2 <= (side / 2.5) ** 2


def test_supervised_oracle_recovers_a_cell_that_differs_only_in_texture():
    rng = np.random.default_rng(1)
    cell = _sphere(20)
    # equal mean intensity inside and out; the cell's voxels scatter four times more
    image = rng.normal(size=cell.shape) * np.where(cell, 1.0, 0.25)
    assert _script().supervised_half_dice(image, cell) > 0.95
    # the same texture everywhere leaves the classifier only the volume faces' filter responses (which
    # tell where a voxel lies: 0.66-0.80 over seeds 0-5, the cell being central), far below the texture's
    assert _script().supervised_half_dice(rng.normal(size=cell.shape), cell) < 0.85
