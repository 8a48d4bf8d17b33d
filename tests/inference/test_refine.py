"""The level-1 object's boundary refinement: a slow reference, its laws, and how the recipe carries it."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from scipy import ndimage

from hypseg.config import segment_preset
from hypseg.errors import UserError
from hypseg.inference.hierarchy import level1_object
from hypseg.inference.refine import BAND, MIN_SHARE, SIGMA, TRUNCATE, reach, refine_boundary


def _slow_pass(values: np.ndarray, inside: np.ndarray, *, band: int, sigma: float) -> np.ndarray:
    """One pass, voxel by voxel: the zone by distance, each local mean as an explicit weighted sum over a padded cube."""
    shape = inside.shape
    # 6-connected steps: the city-block distance to the nearest voxel of the other side
    to_outside = ndimage.distance_transform_cdt(np.pad(inside, 1), metric="taxicab")[1:-1, 1:-1, 1:-1]
    to_inside = ndimage.distance_transform_cdt(~inside, metric="taxicab") if inside.any() else np.full(shape, 10**6)
    core, rim = inside & (to_outside > band), ~inside & (to_inside > band)
    r = int(TRUNCATE * sigma + 0.5)  # scipy's own radius for this truncate
    w = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    w /= w.sum()
    cube = w[:, None, None] * w[None, :, None] * w[None, None, :]
    padded = {name: np.pad(a.astype(np.float64), r, mode="edge") for name, a in
              (("v", values), ("core", core), ("rim", rim))}
    out = inside.copy()
    for z, y, x in zip(*np.nonzero(~core & ~rim)):
        box = (slice(z, z + 2 * r + 1), slice(y, y + 2 * r + 1), slice(x, x + 2 * r + 1))
        means, shares = [], []
        for name in ("core", "rim"):
            m = padded[name][box]
            shares.append((cube * m).sum())
            means.append((cube * m * padded["v"][box]).sum() / max(shares[-1], np.finfo(float).tiny))
        if min(shares) >= MIN_SHARE:
            out[z, y, x] = abs(values[z, y, x] - means[0]) < abs(values[z, y, x] - means[1])
    return out


def _scene(seed: int, shape=(14, 16, 15)):
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    blob = ((z - 7) ** 2 + (y - 8) ** 2 + (x - 7) ** 2) <= 25
    volume = ndimage.gaussian_filter(blob.astype(float), 1.2) + rng.normal(0, 0.08, shape)
    guess = ndimage.binary_dilation(blob, iterations=2) & (rng.random(shape) > 0.1)  # too large, ragged
    return volume, guess


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("band", [1, 2])
def test_one_pass_agrees_with_a_voxel_by_voxel_reference(seed, band):
    volume, guess = _scene(seed)
    fast = refine_boundary(volume, guess, passes=1, band=band, sigma=SIGMA)
    slow = _slow_pass(volume, guess, band=band, sigma=SIGMA)
    assert not np.array_equal(fast, guess)
    np.testing.assert_array_equal(fast, slow)


def test_two_passes_are_one_pass_twice_and_zero_passes_change_nothing():
    volume, guess = _scene(2)
    once = refine_boundary(volume, guess, passes=1)
    np.testing.assert_array_equal(refine_boundary(volume, guess, passes=2), refine_boundary(volume, once, passes=1))
    np.testing.assert_array_equal(refine_boundary(volume, guess, passes=0), guess)


def test_a_voxel_moves_at_most_band_times_passes_from_the_boundary():
    volume, guess = _scene(3)
    for passes in (1, 2, 3):
        refined = refine_boundary(volume, guess, passes=passes)
        changed = refined != guess
        near = ndimage.binary_dilation(guess, iterations=passes * BAND) & ~ndimage.binary_erosion(guess, iterations=passes * BAND)
        assert changed.any() and not (changed & ~near).any()


@pytest.mark.parametrize("scale", [4.0, -0.5])
def test_the_refinement_does_not_depend_on_the_intensity_scale_or_its_sign(scale):
    volume, guess = _scene(4)
    np.testing.assert_array_equal(refine_boundary(volume * scale, guess, passes=2), refine_boundary(volume, guess, passes=2))


def test_an_over_grown_soft_edged_ball_shrinks_towards_its_edge():
    shape = (30, 30, 30)
    z, y, x = np.indices(shape)
    ball = ((z - 15) ** 2 + (y - 15) ** 2 + (x - 15) ** 2) <= 64
    volume = ndimage.gaussian_filter(ball.astype(float), 1.5)
    grown = ndimage.binary_dilation(ball, iterations=2)
    dice = lambda a: 2 * (a & ball).sum() / (a.sum() + ball.sum())  # noqa: E731
    assert dice(level1_object(grown.astype(int), volume=volume, refine=2)) > dice(grown) + 0.05


def test_the_reach_bounds_what_a_voxel_depends_on():
    volume, guess = _scene(5, shape=(50, 20, 20))
    whole = refine_boundary(volume, guess, passes=2)
    h = reach(2)
    part = refine_boundary(volume[: 25 + h], guess[: 25 + h], passes=2)  # cut 25 + reach voxels from the start
    np.testing.assert_array_equal(part[:25], whole[:25])
    assert reach(1, band=2, sigma=1.0) == 2 + int(TRUNCATE + 0.5)


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(UserError, match=re.escape("a volume of shape (3, 3, 3) for an object of (3, 3, 4)")):
        refine_boundary(np.zeros((3, 3, 3)), np.zeros((3, 3, 4), bool), passes=1)
    with pytest.raises(UserError, match="refinement needs passes >= 0, band >= 1 and sigma > 0, got -1, 1, 2.0"):
        refine_boundary(np.zeros((3, 3, 3)), np.zeros((3, 3, 3), bool), passes=-1)
    with pytest.raises(UserError, match="refining the level-1 object's boundary needs the volume's intensity"):
        level1_object(np.eye(3, dtype=int)[None].repeat(3, 0), refine=1)


def test_the_recipe_refines_only_with_containment():
    preset = segment_preset("default")
    assert preset.refine == 2 and "refined by intensity, 2 passes" in preset.describe()
    with pytest.raises(UserError, match="SegmentConfig: refine must be >= 0 passes, got -1"):
        dataclasses.replace(preset, refine=-1)
    flat = preset.with_levels(in_object=False)  # no object to refine: the setting is ignored, as the description says
    assert flat.refine == 2 and "refined" not in flat.describe()
    assert type(preset).from_dict(preset.to_dict()) == preset


def test_a_boundary_zone_is_at_least_one_voxel_wide():
    from hypseg.inference.refine import boundary_zone

    inside = np.zeros((5, 5, 5), dtype=bool)
    inside[2, 2, 2] = True
    assert boundary_zone(inside, 1).sum() == 7  # the voxel and its six neighbours
    with pytest.raises(ValueError, match=r"^a boundary zone is at least 1 voxel wide, got 0$"):
        boundary_zone(inside, 0)
