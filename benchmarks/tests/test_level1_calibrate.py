"""benchmarks/level1_calibrate.py: joined patches hold half of each class."""

from __future__ import annotations

import numpy as np

from benchmarks.level1_calibrate import PAIRS, joined_patches


def test_joined_patches_take_their_first_half_from_one_mask_and_the_rest_from_the_other():
    volume = np.zeros((30, 30, 30), np.float32)
    volume[:, :, 15:] = 1.0
    first = np.zeros(volume.shape, bool)
    first[10:20, 10:20, 22:24] = True  # patches of side 10 centred here lie in the ones
    second = np.zeros(volume.shape, bool)
    second[10:20, 10:20, 6:8] = True  # and here in the zeros
    patches = joined_patches(volume, first, second, 10, np.random.default_rng(0))
    assert patches.shape == (2 * PAIRS, 1, 10, 10, 10)
    assert (patches.mean(axis=(1, 2, 3, 4)) == 0.5).all()  # half of each, whatever the axis
    # along the axis the patch was joined on, its first half is pure: ones (the first mask's) for the first
    # PAIRS patches, zeros for the rest; along the other two axes every half is half ones
    first_halves = np.stack([patches[:, 0, :5].mean(axis=(1, 2, 3)), patches[:, 0, :, :5].mean(axis=(1, 2, 3)),
                             patches[:, 0, :, :, :5].mean(axis=(1, 2, 3))], axis=1)
    pure = (first_halves == 0.0) | (first_halves == 1.0)
    assert (pure.sum(axis=1) == 1).all()
    heads = first_halves[pure]
    assert (heads[:PAIRS] == 1.0).all() and (heads[PAIRS:] == 0.0).all()
