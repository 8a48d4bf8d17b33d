"""SLIC supervoxels: numbering, edges, connectivity, invariance to intensity units, masks, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from hypseg.data import supervoxels


def _blocks(seed=0, shape=(16, 16, 16)):
    """A piecewise-constant volume of 8 octants with distinct intensities, plus a little noise."""
    rng = np.random.default_rng(seed)
    octant = np.zeros(shape, dtype=int)
    half = [s // 2 for s in shape]
    octant += (np.arange(shape[0]) >= half[0])[:, None, None] * 4
    octant += (np.arange(shape[1]) >= half[1])[None, :, None] * 2
    octant += (np.arange(shape[2]) >= half[2])[None, None, :]
    levels = rng.permutation(8).astype(float)
    return levels[octant] + 0.05 * rng.standard_normal(shape), octant


def test_labels_are_zero_to_s_minus_one_all_present():
    volume, _ = _blocks()
    s = supervoxels(volume, n_segments=40)
    assert s.dtype == np.int32 and s.shape == volume.shape
    np.testing.assert_array_equal(np.unique(s), np.arange(s.max() + 1))  # 0..S-1, none missing


def test_no_supervoxel_straddles_an_intensity_edge():
    volume, octant = _blocks(seed=1)
    s = supervoxels(volume, n_segments=64)
    for label in np.unique(s):
        assert np.unique(octant[s == label]).size == 1


def test_every_supervoxel_is_connected():
    volume, _ = _blocks(seed=2)
    s = supervoxels(volume, n_segments=50)
    for label in np.unique(s):
        _, components = ndimage.label(s == label)
        assert components == 1


def test_invariant_to_the_units_of_intensity():
    volume, _ = _blocks(seed=3)
    np.testing.assert_array_equal(supervoxels(volume, n_segments=30), supervoxels(7.5 * volume - 300.0, n_segments=30))


def test_the_count_follows_n_segments():
    rng = np.random.default_rng(4)
    volume = ndimage.gaussian_filter(rng.standard_normal((24, 24, 24)), 2.0)
    few, many = supervoxels(volume, n_segments=8).max() + 1, supervoxels(volume, n_segments=216).max() + 1
    assert few < many and 100 <= many <= 400


def test_a_size_asks_for_voxels_inside_over_size_supervoxels():
    rng = np.random.default_rng(6)
    volume = ndimage.gaussian_filter(rng.standard_normal((20, 20, 20)), 1.5)
    np.testing.assert_array_equal(supervoxels(volume, size=100), supervoxels(volume, n_segments=80))
    mask = np.zeros(volume.shape, dtype=bool)
    mask[:10] = True  # 4000 voxels inside
    np.testing.assert_array_equal(supervoxels(volume, size=100, mask=mask), supervoxels(volume, n_segments=40, mask=mask))


def test_voxels_outside_the_mask_are_minus_one():
    volume, _ = _blocks(seed=5)
    mask = np.zeros(volume.shape, dtype=bool)
    mask[2:14, 3:12, 1:15] = True
    s = supervoxels(volume, n_segments=30, mask=mask)
    assert (s[~mask] == -1).all() and (s[mask] >= 0).all()
    np.testing.assert_array_equal(np.unique(s[mask]), np.arange(s.max() + 1))


@pytest.mark.parametrize(
    "volume, options, message",
    [
        (np.zeros((4, 4)), {}, "supervoxels need a (Z, Y, X) volume, got shape (4, 4)"),
        (np.arange(64.0).reshape(4, 4, 4), {"n_segments": 0}, "n_segments must be a positive integer, got 0"),
        (np.arange(64.0).reshape(4, 4, 4), {"compactness": 0.0}, "compactness must be positive, got 0.0"),
        (np.arange(64.0).reshape(4, 4, 4), {"size": 10.0}, "give either n_segments or size"),
        (np.arange(64.0).reshape(4, 4, 4), {"n_segments": None}, "give either n_segments or size"),
        (np.arange(64.0).reshape(4, 4, 4), {"n_segments": None, "size": 0}, "size must be positive, got 0"),
        (np.arange(64.0).reshape(4, 4, 4), {"sigma": -1.0}, "sigma must be >= 0, got -1.0"),
        (np.full((4, 4, 4), np.nan), {}, "the volume has NaN or infinite voxels"),
        (np.arange(64.0).reshape(4, 4, 4), {"mask": np.zeros((4, 4, 4), bool)}, "the mask selects no voxels"),
        (np.arange(64.0).reshape(4, 4, 4), {"mask": np.ones((4, 4, 3), bool)}, "mask has shape (4, 4, 3), the volume (4, 4, 4)"),
        (np.ones((4, 4, 4)), {}, "z-score normalisation: the voxels under the mask are constant"),
    ],
)
def test_bad_input_is_named(volume, options, message):
    with pytest.raises(ValueError) as info:
        supervoxels(volume, **{"n_segments": 4, **options})
    assert str(info.value) == message
