"""The crowded generator: a specimen filling its box with particles (hypseg.data.crowded)."""

import json
import re

import numpy as np
import pytest
from scipy import ndimage

from hypseg.data import CROWDED_CLASSES, CROWDED_LEVELS, SyntheticConfig, discover_cases, generate_crowded, load_case, write_synthetic_dataset
from hypseg.data.crowded import draw_crowded_scene, render_crowded


def faces(shape):
    mask = np.zeros(shape, dtype=bool)
    mask[[0, -1]] = mask[:, [0, -1]] = mask[:, :, [0, -1]] = True
    return mask


def test_same_seed_same_volume_and_levels_nest():
    a, b = (generate_crowded(np.random.default_rng(3), shape=32) for _ in range(2))
    np.testing.assert_array_equal(a.image, b.image)
    assert a.image.dtype == np.float32 and a.image.shape == (32, 32, 32)
    # level 3 -> level 2 -> level 1: shell and core are a large particle's, a small one stays small
    np.testing.assert_array_equal(np.array([0, 1, 1, 2], dtype=np.uint8)[a.labels[3]], a.labels[2])
    np.testing.assert_array_equal((a.labels[2] > 0).astype(np.uint8), a.labels[1])
    np.testing.assert_array_equal(a.labels[1], (a.instances > 0).astype(np.uint8))
    assert CROWDED_LEVELS == {1: 2, 2: 3, 3: 4}


def test_particles_are_apart_and_cores_inside_large_particles():
    scene = draw_crowded_scene(np.random.default_rng(5), shape=50, noise_std=0.3, blur=0.7, margin=1.0, tries=200)
    centres, radii = np.array(scene.centres), np.array(scene.radii)
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1) - radii[:, None] - radii[None]
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() >= 1.0
    vol = render_crowded(scene)
    inside = np.all((centres >= 3) & (centres <= 46), axis=1)  # the core of a particle off the box is not shown
    for i in np.flatnonzero(np.array(scene.large) & inside):  # each large particle's core: one piece, labelled 2
        own = vol.instances == i + 1
        core = own & (vol.labels[3] == 2)
        assert core.any() and ndimage.label(core)[1] == 1 and core.sum() < own.sum()
    assert set(np.unique(vol.labels[3][np.isin(vol.instances, np.flatnonzero(~np.array(scene.large)) + 1)])) == {3}


def test_no_object_in_a_field_of_view():
    """Particles cover the faces as they cover the volume, and they differ from the specimen by the scene's polarity."""
    ratios = []
    for seed in range(8):
        vol = generate_crowded(np.random.default_rng(seed))
        particles = vol.labels[1] == 1
        assert 0.02 < particles.mean() < 0.04  # the module docstring's 0.023-0.038
        ratios.append(particles[faces(particles.shape)].mean() / particles.mean())
        contrast = vol.image[particles].mean() - vol.image[~particles].mean()
        assert np.sign(contrast) == vol.scene.polarity and abs(contrast) > 0.5
    assert 0.7 < min(ratios) and max(ratios) < 1.25 and 1.0 < np.median(ratios) < 1.15  # its 0.74-1.20, median 1.07


@pytest.mark.parametrize("kwargs, message", [
    (dict(shape=8), "crowded shape must be an integer >= 16, got 8"),
    (dict(blur=-1.0), "crowded noise_std, blur and margin must be >= 0 and tries >= 1, got 0.3, -1.0, 1.0, 200"),
])
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        generate_crowded(np.random.default_rng(0), **kwargs)


def test_crowded_dataset_round_trip(tmp_path):
    out = write_synthetic_dataset(tmp_path / "ds", n=6, seed=2, kind="crowded", config=SyntheticConfig(shape=20))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "crowded"
    assert manifest["classes"] == {str(level): list(names) for level, names in CROWDED_CLASSES.items()}
    assert manifest["generator"] == {"shape": 20, "noise_std": 0.3, "blur": 0.7, "margin": 1.0, "tries": 200}
    (case,) = [c for c in discover_cases([out]) if c.split == "val"]
    loaded = load_case(case)
    expected = generate_crowded(np.random.default_rng(np.random.SeedSequence(2).spawn(6)[4]), shape=20)
    np.testing.assert_array_equal(loaded.volume.array, expected.image)
    for level in (1, 2, 3):
        np.testing.assert_array_equal(loaded.truth[str(level)], expected.labels[level])
