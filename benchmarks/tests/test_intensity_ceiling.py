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


def test_percentile_cuts_leave_each_whole_percent_of_the_voxels_below():
    image = np.random.default_rng(5).normal(size=(10, 10, 10))  # distinct values
    cuts = _script().percentile_cuts(image)
    assert [int((image <= t).sum()) for t in cuts] == list(range(10, 1000, 10))


def test_contained_oracle_fills_the_organelle_a_threshold_cuts_out_of_the_cell():
    """A cell holding an organelle as dark as the background: one threshold leaves the organelle out, the
    recipe's containment puts it back, so only the contained oracle reaches 1 (the bright voxels are 9% of the
    volume, a whole percent, so that a cut falls between them and the rest)."""
    script = _script()
    cell = np.zeros((20, 20, 25), dtype=bool)
    cell[5:15, 5:15, 7:17] = True  # 1000 voxels
    organelle = np.zeros_like(cell)
    organelle[8:12, 8:13, 9:14] = True  # 100 voxels inside
    image = np.where(cell & ~organelle, 1.0, 0.0) + np.random.default_rng(2).normal(size=cell.shape) * 0.05
    assert script.best_voxel_threshold_dice(image, cell) < 0.99
    assert script.best_contained_threshold_dice(image, cell) == 1.0
