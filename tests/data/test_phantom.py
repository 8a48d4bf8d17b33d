"""The noisy 3-D Shepp-Logan phantom: determinism, nested labels, class sizes, an analytic reference, intensities,
its dataset kind and the synth command."""

from __future__ import annotations

import functools
import json
import math
import re

import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from hypseg.data.synthetic_config import SyntheticConfig
from hypseg.data import PHANTOM_CLASSES, PHANTOM_LEVELS, discover_cases, generate_phantom, load_case, read_manifest, write_synthetic_dataset
from hypseg.data.phantom import COUNT_RANGES, MIN_SEMI_AXIS, MIN_SKULL, PHANTOM_PARENTS
from hypseg.data.synthetic_dataset import resolve_kind

# Kak & Slaney (1988, p. 102, with errata): centre (x, y, z), semi-axes (A, B, C), beta in degrees
KAK_SLANEY = [
    ((0.0, 0.0, 0.0), (0.69, 0.92, 0.90), 0.0),
    ((0.0, 0.0, 0.0), (0.6624, 0.874, 0.88), 0.0),
    ((-0.22, 0.0, -0.25), (0.41, 0.16, 0.21), 108.0),
    ((0.22, 0.0, -0.25), (0.31, 0.11, 0.22), 72.0),
    ((0.0, 0.35, -0.25), (0.21, 0.25, 0.50), 0.0),
    ((0.0, 0.1, -0.25), (0.046, 0.046, 0.046), 0.0),
    ((-0.08, -0.65, -0.25), (0.046, 0.023, 0.02), 0.0),
    ((0.06, -0.65, -0.25), (0.046, 0.023, 0.02), 90.0),
    ((0.06, -0.105, 0.625), (0.056, 0.04, 0.10), 90.0),
    ((0.0, 0.1, 0.625), (0.056, 0.056, 0.10), 0.0),
]
# documented base values: skull, brain, then c-j
BASE_VALUES = [1.0, 0.4, 0.2, 0.2, 0.6, 0.6, 0.5, 0.5, 0.6, 0.2]
# level-3 class of ellipsoids a-j, by name
ROLE = ["skull", "brain", "ventricle", "ventricle", "mass", "lesion", "lesion", "lesion", "lesion", "lesion"]
EXACT = dict(jitter=0.0, intensity_jitter=0.0, noise_std=0.0, blur=0.0)


@functools.lru_cache(maxsize=None)
def _default(seed: int):
    return generate_phantom(np.random.default_rng(seed))


def test_same_seed_same_volume_other_seed_other_volume():
    a = generate_phantom(np.random.default_rng(3), shape=24)
    b = generate_phantom(np.random.default_rng(3), shape=24)
    c = generate_phantom(np.random.default_rng(4), shape=24)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.instances, b.instances)
    for level in PHANTOM_CLASSES:
        np.testing.assert_array_equal(a.labels[level], b.labels[level])
    assert a.scene == b.scene
    assert not np.array_equal(a.image, c.image) and not np.array_equal(a.instances, c.instances)


def test_draws_do_not_depend_on_the_parameters():
    """One seed at two jitter levels: same noise field; without any jitter every seed gives one geometry."""
    loose = generate_phantom(np.random.default_rng(5), shape=24, jitter=0.05, intensity_jitter=0.4, blur=0.0)
    exact = generate_phantom(np.random.default_rng(5), shape=24, jitter=0.0, intensity_jitter=0.0, blur=0.0)
    noise = [v.image - np.concatenate([[0.0], v.scene.values])[v.instances] for v in (loose, exact)]
    np.testing.assert_allclose(noise[0], noise[1], atol=1e-6)
    other = generate_phantom(np.random.default_rng(6), shape=24, **EXACT)
    np.testing.assert_array_equal(exact.instances, other.instances)


def test_classes_and_levels_tables():
    assert PHANTOM_LEVELS == {1: 2, 2: 4, 3: 6}
    assert {level: len(names) for level, names in PHANTOM_CLASSES.items()} == PHANTOM_LEVELS
    assert PHANTOM_CLASSES[3][3:] == ("ventricle", "mass", "lesion")


@pytest.mark.parametrize("seed", range(10))
def test_label_maps_nest_as_a_tree(seed):
    vol = _default(seed)
    assert vol.image.shape == (50, 50, 50) and vol.image.dtype == np.float32 and np.isfinite(vol.image).all()
    assert vol.instances.dtype == np.int16 and set(np.unique(vol.instances).tolist()) == set(range(11))
    for level, labels in vol.labels.items():
        assert labels.dtype == np.uint8 and labels.shape == (50, 50, 50)
        assert set(np.unique(labels).tolist()) == set(range(PHANTOM_LEVELS[level]))
    # voxelwise: every level-(i+1) class meets exactly one level-i class, the one PHANTOM_PARENTS names
    for level in (2, 3):
        fine, coarse = vol.labels[level].ravel(), vol.labels[level - 1].ravel()
        pairs = set(zip(fine.tolist(), coarse.tolist()))
        mapping = {f: {c for g, c in pairs if g == f} for f in range(PHANTOM_LEVELS[level])}
        assert all(len(parents) == 1 for parents in mapping.values()), mapping
        assert {f: parents.pop() for f, parents in mapping.items()} == dict(enumerate(PHANTOM_PARENTS[level]))
    # the labels follow from the instance owning each voxel
    names = {level: np.array(PHANTOM_CLASSES[level]) for level in (1, 2, 3)}
    owner_name = np.array(["background"] + ROLE)[vol.instances]
    np.testing.assert_array_equal(names[3][vol.labels[3]], owner_name)
    np.testing.assert_array_equal(vol.labels[1], (vol.instances > 0).astype(np.uint8))
    # the head stays off the box faces
    head = vol.labels[1].astype(bool)
    assert not (head[0].any() or head[-1].any() or head[:, 0].any() or head[:, -1].any() or head[..., 0].any() or head[..., -1].any())


def test_class_voxel_counts_within_documented_ranges():
    for seed in range(10):
        vol = _default(seed)
        for (level, cls), (lo, hi) in COUNT_RANGES.items():
            count = int(np.sum(vol.labels[level] == cls))
            assert lo <= count <= hi, (seed, level, PHANTOM_CLASSES[level][cls], count)
        per_instance = np.bincount(vol.instances.ravel(), minlength=11)
        assert per_instance[1:].min() >= 10, (seed, per_instance)  # no ellipsoid vanishes


def _reference_owner(S: int, point: tuple[int, int, int]) -> int:
    """Slow per-point reference: the innermost Kak-Slaney ellipsoid holding voxel ``point`` (z, y, x)."""
    unit = 0.45 * S / 0.92
    origin = (S - 1) / 2.0
    x, y, z = ((point[2] - origin) / unit, (point[1] - origin) / unit, (point[0] - origin) / unit)
    owner = 0
    in_brain = False
    for k, (centre, axes, beta) in enumerate(KAK_SLANEY):
        if k == 1:  # the brain: the skull's axes less a shell of at least MIN_SKULL voxels
            axes = tuple(a - max(a - b, MIN_SKULL / unit) for a, b in zip(KAK_SLANEY[0][1], axes))
        elif k > 1:
            axes = tuple(max(a, MIN_SEMI_AXIS / unit) for a in axes)
        dx, dy, dz = x - centre[0], y - centre[1], z - centre[2]
        c, s = math.cos(math.radians(beta)), math.sin(math.radians(beta))
        u, v, w = c * dx + s * dy, -s * dx + c * dy, dz
        inside = (u / axes[0]) ** 2 + (v / axes[1]) ** 2 + (w / axes[2]) ** 2 <= 1.0
        if k == 1:
            in_brain = inside
        if inside and (k < 2 or in_brain):
            owner = k + 1
    return owner


@pytest.mark.parametrize("S", [24, 50])
def test_unjittered_phantom_matches_the_analytic_table(S):
    vol = generate_phantom(np.random.default_rng(0), shape=S, **EXACT)
    rng = np.random.default_rng(1)
    inner = np.argwhere(vol.instances >= 3)  # every voxel of the inner structures ...
    anywhere = rng.integers(0, S, size=(3000, 3))  # ... and random ones
    points = np.concatenate([inner, anywhere])
    expected = np.array([_reference_owner(S, tuple(p)) for p in points.tolist()])
    got = vol.instances[tuple(points.T)]
    np.testing.assert_array_equal(got, expected)
    assert set(expected.tolist()) == set(range(11))
    np.testing.assert_array_equal(vol.image[tuple(points.T)], np.float32(np.array([0.0] + BASE_VALUES)[expected]))


def test_intensities_per_instance_match_the_drawn_values_up_to_noise():
    std = 0.1
    for seed in range(5):
        vol = generate_phantom(np.random.default_rng(seed), noise_std=std, noise_exponent=0.0, blur=0.0)  # white noise
        values = np.concatenate([[0.0], vol.scene.values])
        residual = vol.image - values[vol.instances]
        assert abs(float(residual.std()) - std) < 0.02 * std
        for k in range(11):
            own = residual[vol.instances == k]
            assert abs(float(own.mean())) < 5 * std / math.sqrt(own.size), (seed, k)
        # contrasts keep their documented order in every volume
        v = vol.scene.values
        assert 0.0 < min(v[2], v[3], v[9]) and max(v[2], v[3], v[9]) < v[1] < min(v[4:9]) and max(v[4:9]) < v[0]
    # with pink noise and blur (the defaults) the interiors of large classes still sit at their values
    vol = _default(0)
    for level, cls in ((2, 2), (3, 4)):
        interior = ndimage.binary_erosion(vol.labels[level] == cls, iterations=2)
        k = np.bincount(vol.instances[interior]).argmax()
        assert abs(float(np.median(vol.image[interior])) - vol.scene.values[k - 1]) < 0.5 * 0.1


def test_absolute_intensity_is_no_class_signature():
    values = np.array([_default(seed).scene.values for seed in range(10)])  # (seeds, 10 ellipsoids)
    assert (values.std(axis=0) > 0.01).all()
    assert values[:, 1].max() - values[:, 1].min() > 0.05  # the brain's value moves between volumes


def test_bad_arguments_raise_with_exact_messages():
    rng = np.random.default_rng(0)
    cases = [
        (dict(shape=15), "phantom shape must be an integer >= 16, got 15"),
        (dict(shape=24.0), "phantom shape must be an integer >= 16, got 24.0"),
        (dict(noise_std=-0.1), "phantom noise_std must be >= 0, got -0.1"),
        (dict(jitter=-0.01), "phantom jitter must be in [0, 0.2], got -0.01"),
        (dict(intensity_jitter=0.5), "phantom intensity_jitter must be in [0, 0.4], got 0.5"),
        (dict(blur=-1.0), "phantom blur must be >= 0, got -1.0"),
        (dict(noise_exponent=-1.0), "phantom noise_exponent must be >= 0, got -1.0"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            generate_phantom(rng, **kwargs)


def test_dataset_kind_resolution_and_errors(tmp_path):
    assert resolve_kind(None) == "regular" and resolve_kind(None, irregular=True) == "irregular"
    assert resolve_kind("shepp-logan") == "shepp-logan" and resolve_kind("irregular", irregular=True) == "irregular"
    with pytest.raises(ValueError, match="^" + re.escape("unknown dataset kind 'bogus'; choose one of regular, irregular, shepp-logan, crowded") + "$"):
        write_synthetic_dataset(tmp_path / "ds", n=1, kind="bogus")
    with pytest.raises(ValueError, match="^" + re.escape("irregular=True contradicts kind='shepp-logan'") + "$"):
        write_synthetic_dataset(tmp_path / "ds", n=1, irregular=True, kind="shepp-logan")
    assert not any(tmp_path.iterdir())


def test_shepp_logan_dataset_round_trip(tmp_path):
    out = write_synthetic_dataset(tmp_path / "ds", n=6, seed=7, kind="shepp-logan", config=SyntheticConfig(shape=24))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["kind"] == "shepp-logan" and manifest["irregular"] is False
    assert manifest["classes"] == {str(level): list(names) for level, names in PHANTOM_CLASSES.items()}
    assert manifest["levels"] == {str(level): k for level, k in PHANTOM_LEVELS.items()}
    assert manifest["generator"]["shape"] == 24 and manifest["generator"]["jitter"] == 0.05
    assert manifest["cases"][0]["counts"] == {"skull": 1, "brain": 1, "ventricle": 2, "mass": 1, "lesion": 5}
    cases = discover_cases([out])
    assert [c.split for c in cases] == ["train"] * 4 + ["val", "test"]
    for i in (0, 5):
        loaded = load_case(cases[i])
        expected = generate_phantom(np.random.default_rng(np.random.SeedSequence(7).spawn(6)[i]), shape=24)
        np.testing.assert_array_equal(loaded.volume.array, expected.image)
        assert sorted(loaded.truth) == ["1", "2", "3"]
        for level in (1, 2, 3):
            assert loaded.truth[str(level)].dtype == np.uint8
            np.testing.assert_array_equal(loaded.truth[str(level)], expected.labels[level])


@pytest.mark.parametrize("levels", [2, 3, 5])
def test_read_manifest_takes_any_number_of_levels(tmp_path, levels):
    labels = {str(level): f"labels/level{level}/v.nii.gz" for level in range(1, levels + 1)}
    manifest = {"format": "hypseg-synthetic", "cases": [{"name": "v", "split": "test", "image": "images/v.nii.gz", "labels": labels}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (case,) = read_manifest(tmp_path)
    assert case.truth == {key: tmp_path / rel for key, rel in labels.items()} and case.split == "test"


def test_synth_command_shepp_logan_and_unknown_kind(tmp_path):
    from hypseg.cli.app import app

    runner = CliRunner()
    result = runner.invoke(app, ["synth", str(tmp_path / "out"), "--kind", "shepp-logan", "--n", "3", "--size", "24"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["kind"] == "shepp-logan" and manifest["n"] == 3 and manifest["generator"]["shape"] == 24
    assert load_case(read_manifest(tmp_path / "out")[0]).volume.shape == (24, 24, 24)
    bad = runner.invoke(app, ["synth", str(tmp_path / "bad"), "--kind", "bogus", "--n", "1"])
    assert bad.exit_code == 2
    assert "hypseg: error: unknown dataset kind 'bogus'; choose one of regular, irregular, shepp-logan" in bad.output
    assert not (tmp_path / "bad").exists()
    clash = runner.invoke(app, ["synth", str(tmp_path / "clash"), "--kind", "shepp-logan", "--irregular"])
    assert clash.exit_code == 2 and "contradicts" in clash.output
    assert "--kind shepp-logan" in runner.invoke(app, ["synth", "--help"]).output
