"""Laws every baseline obeys (hypseg.baselines): shape, label range, determinism, masks, phantoms."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hypseg.baselines import BASELINES, LABEL_DTYPE, Baseline, evaluate_baseline, make_baseline
from hypseg.baselines.filter_bank import filter_bank_features
from hypseg.baselines.otsu import otsu_bins
from hypseg.baselines.patch_pca import patch_pca_scores, patches_at, principal_axes
from hypseg.baselines.slic import supervoxel_intensity
from hypseg.data import generate_volume
from hypseg.metrics import matched_dice

NAMES = sorted(BASELINES)


@pytest.fixture(autouse=True)
def _one_thread():
    """Run every test with one BLAS/OpenMP thread.

    The baselines are tiny here; on a shared, oversubscribed machine scikit-learn's and OpenBLAS's
    spinning threads made the module several times slower. Results do not depend on the thread count.
    """
    with threadpool_limits(limits=1):
        yield


def _ball(shape: int, centre: float, radius: float) -> np.ndarray:
    z, y, x = np.indices((shape,) * 3)
    return (z - centre) ** 2 + (y - centre) ** 2 + (x - centre) ** 2 <= radius**2


def _phantom(n_classes: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` slabs along z, each 10 x 12 x 12 voxels, intensities 0, 4, 8 plus noise of std 0.05.

    Planar boundaries: the neighbourhood baselines (filters, patches) blur every boundary, and only a
    flat one between slabs of equal thickness blurs symmetrically, so exact recovery is a fair demand.
    """
    truth = np.repeat(np.arange(n_classes), 10)[:, None, None] * np.ones((1, 12, 12), dtype=np.int64)
    noise = np.random.default_rng(seed).normal(0.0, 0.05, size=truth.shape)
    return (4.0 * truth + noise).astype(np.float32), truth


@pytest.fixture(scope="module")
def textured() -> np.ndarray:
    """A small textured volume (a 24^3 crop of a synthetic one)."""
    return generate_volume(np.random.default_rng(110)).image[13:37, 13:37, 13:37].copy()


@pytest.mark.parametrize("name", NAMES)
def test_labels_shape_dtype_and_count(name, textured):
    baseline = make_baseline(name)
    assert isinstance(baseline, Baseline) and baseline.name == name
    for k in (2, 5):
        labels = baseline.segment(textured, k, random_state=0)
        assert labels.shape == textured.shape
        assert labels.dtype == LABEL_DTYPE
        present = np.unique(labels)
        assert present.size <= k
        # consecutive from 0, ordered by mean intensity
        assert present.tolist() == list(range(present.size))
        means = [textured[labels == c].mean() for c in present]
        assert means == sorted(means)


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_for_a_fixed_seed(name, textured):
    baseline = make_baseline(name)
    a = baseline.segment(textured, 4, random_state=3)
    b = make_baseline(name).segment(textured.copy(), 4, random_state=3)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_segment_levels_equals_segment(name, textured):
    baseline = make_baseline(name)
    levels = baseline.segment_levels(textured, (2, 3), random_state=1)
    assert sorted(levels) == [2, 3]
    np.testing.assert_array_equal(levels[3], baseline.segment(textured, 3, random_state=1))


@pytest.mark.parametrize("name", NAMES)
def test_mask_outside_is_zero_inside_is_one_to_k(name, textured):
    mask = _ball(24, 11.5, 10.0)
    labels = make_baseline(name).segment(textured, 3, mask=mask, random_state=0)
    assert np.all(labels[~mask] == 0)
    inside = np.unique(labels[mask])
    assert inside.min() >= 1 and inside.max() <= 3
    assert inside.tolist() == list(range(1, inside.size + 1))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_recovers_separable_phantom(name, n_classes):
    volume, truth = _phantom(n_classes)
    labels = make_baseline(name).segment(volume, n_classes, random_state=0)
    assert matched_dice(labels, truth).mean == 1.0
    # clusters ordered by intensity: the phantom's labels are reproduced exactly
    np.testing.assert_array_equal(labels, truth)


@pytest.mark.parametrize("name", NAMES)
def test_recovers_phantom_inside_a_mask(name):
    volume, truth = _phantom(3)
    mask = truth > 0
    labels = make_baseline(name).segment(volume, 2, mask=mask, random_state=0)
    np.testing.assert_array_equal(labels, truth)  # outside 0, the two classes inside 1 and 2


def test_multi_otsu_threshold_sits_between_bins():
    # 3000 voxels at 4 and 300 at 8 (noise 0.05): every one in its own class, none moved by the threshold
    values = np.concatenate([np.full(3000, 4.0), np.full(300, 8.0)]) + np.random.default_rng(1).normal(0, 0.05, 3300)
    labels = make_baseline("multi_otsu").segment(values.reshape(33, 10, 10), 2)
    np.testing.assert_array_equal(labels.ravel(), np.repeat([0, 1], [3000, 300]))


def test_filter_bank_beats_intensity_kmeans_on_level_2():
    vol = generate_volume(np.random.default_rng(111))
    truth = vol.labels[2]
    fb = matched_dice(make_baseline("filter_bank").segment(vol.image, 4), truth).mean
    km = matched_dice(make_baseline("kmeans").segment(vol.image, 4), truth).mean
    assert fb > km + 0.05, (fb, km)


def test_unknown_name_raises_value_error_listing_choices():
    expected = "unknown baseline 'watershed'; choose one of: filter_bank, gmm, kmeans, multi_otsu, patch_pca, slic"
    with pytest.raises(ValueError) as info:
        make_baseline("watershed")
    assert str(info.value) == expected
    with pytest.raises(ValueError) as info:
        BASELINES["watershed"]
    assert str(info.value) == expected
    with pytest.raises(ValueError, match="unknown baseline 'nope'"):
        evaluate_baseline("nope", [np.zeros((4, 4, 4))], [{1: np.zeros((4, 4, 4), int)}])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("k", [1, 0, -3, 2.5, True])
def test_bad_n_clusters_raises(name, k, textured):
    with pytest.raises(ValueError, match=r"^n_clusters must be an integer >= 2, got "):
        make_baseline(name).segment(textured, k)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(24,), (24, 24), (2, 8, 8, 8)])
def test_non_3d_input_raises(name, shape):
    volume = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    with pytest.raises(ValueError, match=r"^volume must be 3-D \(Z, Y, X\), got "):
        make_baseline(name).segment(volume, 2)


def test_other_bad_inputs_raise(textured):
    km = make_baseline("kmeans")
    with pytest.raises(ValueError, match="mask shape"):
        km.segment(textured, 2, mask=np.ones((3, 3, 3), bool))
    with pytest.raises(ValueError, match="non-finite"):
        km.segment(np.full((4, 4, 4), np.nan), 2)
    with pytest.raises(ValueError, match="fewer than n_clusters=3"):
        km.segment(textured, 3, mask=np.zeros(textured.shape, bool) | (np.arange(textured.size) < 2).reshape(textured.shape))
    with pytest.raises(ValueError, match="constant"):
        km.segment(np.ones((4, 4, 4)), 2)


def test_patch_scores_by_correlation_equal_projected_patches():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 8, 9))
    rows = patches_at(x, np.arange(x.size), patch=3)  # (N, 27), every voxel
    components, mean = principal_axes(rows, n_components=4)
    np.testing.assert_allclose(components @ components.T, np.eye(4), atol=1e-12)
    direct = (rows - mean) @ components.T  # (N, 4)
    dense = patch_pca_scores(x, components, mean, patch=3).reshape(-1, 4)
    np.testing.assert_allclose(dense, direct, rtol=1e-4, atol=1e-4)


def test_filter_bank_features_match_closed_forms():
    # x = z^2 / 2 (axis 0): Hessian diag(1, 0, 0), LoG 1, gradient |z| away from the borders
    z = np.arange(32, dtype=np.float64)[:, None, None] * np.ones((1, 8, 8))
    f, cols = filter_bank_features((z - 16.0) ** 2 / 2, sigmas=(1.0,), kinds=("gradient", "log", "hessian"))
    assert cols == [("gradient", 1.0), ("log", 1.0), ("hessian", 1.0), ("hessian", 1.0), ("hessian", 1.0)]
    centre = f[10:22, 4, 4]  # (12, 5)
    np.testing.assert_allclose(centre[:, 0], np.abs(np.arange(10, 22) - 16.0), atol=1e-3)
    np.testing.assert_allclose(centre[:, 1], 1.0, atol=1e-2)  # kernels truncated at 4 sigma
    np.testing.assert_allclose(centre[:, 2:], np.tile([0.0, 0.0, 1.0], (12, 1)), atol=1e-2)
    with pytest.raises(ValueError, match="unknown filter-bank feature"):
        filter_bank_features(z, kinds=("sobel",))


def test_otsu_bins_keep_the_search_small():
    assert otsu_bins(2) == 256 and otsu_bins(4) == 256
    assert otsu_bins(8) == 41
    assert 16 <= otsu_bins(8) < 64


def test_evaluate_baseline_scores_levels_and_time():
    _, truth3 = _phantom(3)
    volume = np.where(truth3 == 2, 20.0, 4.0 * truth3).astype(np.float32)  # 2 clusters: {0, 4} and {20}
    truth2 = (truth3 == 2).astype(np.int64)
    result = evaluate_baseline("kmeans", [volume, volume], [{1: truth2, 2: truth3}] * 2, clusters={1: 2, 2: 3})
    assert result.name == "kmeans"
    assert result.dice == {1: 1.0, 2: 1.0}
    assert result.per_volume == {1: (1.0, 1.0), 2: (1.0, 1.0)}
    assert result.clusters == {1: 2, 2: 3}
    assert result.seconds_per_volume > 0
    with pytest.raises(ValueError, match=r"no truth for level\(s\) \[3\]"):
        evaluate_baseline("kmeans", [volume], [{1: truth2}], clusters={1: 2, 3: 4})


def test_slic_supervoxel_intensity_matches_a_loop():
    rng = np.random.default_rng(0)
    segments = rng.integers(0, 7, size=(5, 6, 7))
    volume = rng.normal(size=segments.shape)
    features, counts = supervoxel_intensity(segments, volume)
    for s in range(7):
        inside = volume[segments == s]
        assert counts[s] == inside.size
        np.testing.assert_allclose(features[s], [inside.mean(), inside.std()], atol=1e-12)
