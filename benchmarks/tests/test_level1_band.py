"""benchmarks/level1_band.py: the band re-labelling on hand-made objects."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.level1_band import banded


@pytest.mark.parametrize("local", [False, True])
def test_the_band_moves_the_boundary_to_where_the_fine_embedding_puts_it(local):
    found = np.zeros((20, 20, 20), bool)
    found[4:16, 4:16, 4:16] = True  # one voxel too large on every side
    fine = np.zeros((20, 20, 20, 2))
    fine[5:15, 5:15, 5:15, 0] = 1.0  # the fine embedding marks the true cube
    out = banded(found, fine, 2, local=local)
    assert out.sum() == 10**3 and out[5:15, 5:15, 5:15].all()
    assert banded(found, fine, 0, local=local).sum() == found.sum()  # no band: nothing moves


def test_without_voxels_beyond_the_band_on_one_side_nothing_changes():
    found = np.ones((6, 6, 6), bool)
    found[0] = False
    assert (banded(found, np.random.default_rng(0).normal(size=(6, 6, 6, 2)), 3) == found).all()
