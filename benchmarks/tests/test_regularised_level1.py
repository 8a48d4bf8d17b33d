"""The regularised level-1 probe's maps and scores."""

import numpy as np
from scipy import ndimage

from benchmarks import regularised_level1 as probe


def _ball(side: int, radius: float) -> np.ndarray:
    z, y, x = np.indices((side,) * 3) - (side - 1) / 2
    return z**2 + y**2 + x**2 <= radius**2


def test_the_oracle_is_one_on_a_separable_image_whichever_side_is_bright():
    cell = np.zeros((10, 10, 10), dtype=bool)
    cell[2:8, 2:8, 3:8] = True  # 180 voxels, 18% of the volume: a percentile cut falls between the classes
    noise = np.random.default_rng(0).random(cell.shape) * 0.1
    assert probe.oracle_dice(noise + cell, cell) == 1.0
    assert probe.oracle_dice(noise - cell, cell) == 1.0


def test_the_texture_map_follows_texture_not_intensity():
    """Fine noise twice as strong in one half reads about log 4 higher there, whatever each half's mean intensity."""
    rng = np.random.default_rng(1)
    image = rng.normal(size=(24, 24, 48)) * np.where(np.arange(48) < 24, 1.0, 2.0)
    shifted = image + np.where(np.arange(48) < 24, 5.0, -5.0)  # a step in intensity between the halves
    for volume in (image, shifted):
        energy = probe.texture_map(volume)
        far = energy[:, :, 34:40].mean() - energy[:, :, 8:14].mean()  # away from the step's own high-pass response
        assert abs(far - np.log(4.0)) < 0.2


def test_chan_vese_moves_a_displaced_start_onto_the_cell():
    cell = _ball(24, 7)
    image = cell + np.random.default_rng(3).normal(size=cell.shape) * 0.2
    start = np.roll(cell, 3, axis=2)  # the cell shifted by 3 voxels: DICE about 0.7
    assert probe.dice(start, cell) < 0.8
    assert probe.chan_vese_dice(ndimage.gaussian_filter(image, 1.0), start, 1, cell) > 0.95


def test_the_folded_auc_ignores_which_side_is_higher():
    cell = _ball(10, 3)
    values = cell + np.random.default_rng(4).normal(size=cell.shape)
    assert np.isclose(probe.folded_auc(values, cell), probe.folded_auc(-values, cell))
    assert probe.folded_auc(values, cell) > 0.7


def test_pairs_give_each_split_minus_kmeans_per_group():
    rows = [{"volume": f"v{i}", "contrast": c, "kmeans": 0.5, "chan-vese m1": 0.5 + d, "threshold oracle": 1.0,
             "auc intensity": 0.9} for i, (c, d) in enumerate([(1.0, 0.1), (1.5, 0.1), (3.0, -0.2), (4.0, -0.2)])]
    lines = probe.pairs(rows)
    assert [line.split(":")[0] for line in lines] == ["chan-vese m1 minus kmeans, all (4)",
                                                      "chan-vese m1 minus kmeans, contrast < 2 (2)",
                                                      "chan-vese m1 minus kmeans, contrast >= 2 (2)"]
    assert lines[1].endswith(": +0.100 [+0.100, +0.100]") and lines[2].endswith(": -0.200 [-0.200, -0.200]")
