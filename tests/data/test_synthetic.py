"""Synthetic generator: reproducibility, containment on the label maps, class sets, fractions, convexity."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.spatial import ConvexHull

from hypseg.data.synthetic_config import SyntheticConfig
from hypseg.data.synthetic import CLASSES, FRACTION_RANGES, generate_volume, pink_noise

SMALL = SyntheticConfig(shape=32, cell_radius_mean=16.0, vesicle_radius_mean=5.0, mito_half_side_mean=4.5)


def _region(vol, index: int) -> np.ndarray:
    """Voxels of object ``index`` and all its descendants."""
    members = {index}
    changed = True
    while changed:
        new = {j for j, o in enumerate(vol.scene.objects) if o.parent in members} - members
        changed = bool(new)
        members |= new
    return np.isin(vol.instances, [j + 1 for j in members])


@functools.lru_cache(maxsize=None)
def _full(seed: int, irregular: bool):
    return generate_volume(np.random.default_rng(seed), irregular=irregular)


@pytest.mark.parametrize("irregular", [False, True])
def test_same_seed_same_volume_other_seed_other_volume(irregular):
    a = generate_volume(np.random.default_rng(11), config=SMALL, irregular=irregular)
    b = generate_volume(np.random.default_rng(11), config=SMALL, irregular=irregular)
    c = generate_volume(np.random.default_rng(12), config=SMALL, irregular=irregular)
    np.testing.assert_array_equal(a.image, b.image)
    for level in CLASSES:
        np.testing.assert_array_equal(a.labels[level], b.labels[level])
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("irregular", [False, True])
def test_label_sets_and_containment_on_label_maps(seed, irregular):
    vol = _full(seed, irregular)
    L1, L2, L3 = vol.labels[1], vol.labels[2], vol.labels[3]
    assert vol.image.shape == (50, 50, 50) and vol.image.dtype == np.float32
    for level, labels in vol.labels.items():
        assert labels.dtype == np.uint8
        assert set(np.unique(labels).tolist()) == set(range(len(CLASSES[level])))  # every class present
    # class-level nesting: a level-(i+1) object class only where its level-i parent class is
    assert np.all(L1[L2 > 0] == 1) and np.all(L2[L1 == 0] == 0)
    assert np.all(L2[L3 == 4] == 2)  # aggregates inside vesicles
    assert np.all(L2[L3 == 5] == 3)  # small cuboids inside mitochondria
    keep = L3 <= 3
    np.testing.assert_array_equal(L3[keep], L2[keep])
    # instance-level: every object lies entirely inside one object of the level above
    objects = vol.scene.objects
    for index, obj in enumerate(objects):
        if obj.parent < 0:
            continue
        own = _region(vol, index)
        assert own.any()
        parent_region = _region(vol, obj.parent)
        assert np.all(parent_region[own]), f"object {index} ({obj.kind}) leaks out of object {obj.parent}"
        # strictly inside: not touching the parent's outside (margin of one voxel, 6-neighbourhood)
        for axis in range(3):
            for shift in (-1, 1):
                assert np.all(np.roll(parent_region, shift, axis=axis)[own])


def test_class_fractions_within_documented_ranges():
    for seed in range(4):
        for irregular in (False, True):
            vol = _full(seed, irregular)
            for (level, cls), (lo, hi) in FRACTION_RANGES.items():
                fraction = float(np.mean(vol.labels[level] == cls))
                assert lo <= fraction <= hi, (seed, irregular, level, cls, fraction)


def _concave_voxels(mask: np.ndarray) -> int:
    """Grid voxels inside the convex hull of the mask's voxel centres but not in the mask.

    For a Gauss-digitised convex set this is exactly 0 (conv(C ∩ Z^3) ∩ Z^3 = C ∩ Z^3).
    """
    pts = np.argwhere(mask).astype(float)
    hull = ConvexHull(pts)
    lo, hi = pts.min(axis=0).astype(int), pts.max(axis=0).astype(int) + 1
    grid = np.stack(np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi)], indexing="ij"), axis=-1).reshape(-1, 3)
    inside = np.all(grid @ hull.equations[:, :3].T + hull.equations[:, 3] <= 1e-9, axis=1)
    inside_mask = mask[tuple(grid.T)]
    return int(np.count_nonzero(inside & ~inside_mask))


@pytest.mark.parametrize("seed", [0, 1])
def test_irregular_is_not_convex_where_regular_is(seed):
    for irregular in (False, True):
        vol = _full(seed, irregular)
        objects = vol.scene.objects
        for index, obj in enumerate(objects):
            if obj.kind not in ("vesicle", "mitochondrion", "cell"):
                continue
            region = _region(vol, index)
            concave = _concave_voxels(region)
            if irregular:
                assert concave > 0, f"irregular {obj.kind} is convex"
            else:
                assert concave == 0, f"regular {obj.kind} has {concave} concave voxels"


def test_instance_intensity_and_noise_model():
    vol = _full(0, False)
    # each instance is its own mean plus texture plus noise: per-instance means differ and the volume is not flat
    means = [float(vol.image[vol.instances == i].mean()) for i in np.unique(vol.instances)]
    assert len(set(np.round(means, 3))) == len(means)
    noise = pink_noise(32, rng=np.random.default_rng(0), std=0.25)
    assert noise.std() == pytest.approx(0.25) and abs(noise.mean()) < 1e-9
    # pink: the power spectral density falls as 1/|f| (log-log slope -1 over the radial spectrum)
    power = np.abs(np.fft.fftn(noise)) ** 2
    freq = np.fft.fftfreq(32)
    f = np.sqrt(freq[:, None, None] ** 2 + freq[None, :, None] ** 2 + freq[None, None, :] ** 2)
    edges = np.geomspace(1 / 32, 0.5, 9)
    centres, means = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        ring = (f >= a) & (f < b)
        centres.append(np.sqrt(a * b))
        means.append(power[ring].mean())
    slope = np.polyfit(np.log(centres), np.log(means), 1)[0]
    assert slope == pytest.approx(-1.0, abs=0.15)


def test_impossible_sizes_fail_clearly():
    cfg = SyntheticConfig(shape=16, cell_radius_mean=6.0, vesicle_radius_mean=7.0, placement_tries=5)
    with pytest.raises(ValueError, match="could not place the required objects"):
        generate_volume(np.random.default_rng(0), config=cfg)


def test_scaled_moves_object_sizes_only():
    """A smaller box scales every radius and half side; intensities, noise and textures are not lengths."""
    import dataclasses

    base, half = SyntheticConfig(), SyntheticConfig.scaled(25)
    changed = {f.name for f in dataclasses.fields(base) if getattr(base, f.name) != getattr(half, f.name)}
    sizes = {f.name for f in dataclasses.fields(base) if "radius" in f.name or "half_side" in f.name}
    assert changed == sizes | {"shape"}
    assert all(getattr(half, name) == getattr(base, name) / 2 for name in sizes)
    assert SyntheticConfig.scaled(50) == base


def test_with_object_scale_shrinks_the_scene_in_the_same_box():
    base = SyntheticConfig()
    assert base.with_object_scale(1.0) == base
    half = base.with_object_scale(0.5)
    assert half.shape == base.shape and half.noise_std == base.noise_std
    assert (half.cell_radius_mean, half.vesicle_radius_mean, half.aggregate_radius_mean) == (12.5, 4.0, 1.0)
    # a half-size cell holds about an eighth of a full-size one's voxels
    full_cell = (generate_volume(np.random.default_rng(3), config=base).labels[1] > 0).sum()
    half_cell = (generate_volume(np.random.default_rng(3), config=half).labels[1] > 0).sum()
    assert 0.09 < half_cell / full_cell < 0.16
