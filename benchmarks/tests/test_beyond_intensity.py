"""benchmarks/beyond_intensity.py: supervoxel statistics against slow loops, and the probe on maps whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import beyond_intensity as probe
from benchmarks.validation_split import beyond_intensity as summarise


def _grid_supervoxels(shape=(12, 12, 24), side=3) -> np.ndarray:
    """Cubes of ``side`` voxels numbered 0..S-1."""
    z, y, x = np.indices(shape)
    blocks = (shape[1] // side, shape[2] // side)
    return (z // side) * blocks[0] * blocks[1] + (y // side) * blocks[1] + x // side


def _hidden_classes(seed: int):
    """A grid of supervoxels whose two classes (half of each half, almost surely) intensity says nothing about: the segments,
    each supervoxel's class, the truth map, a volume of pure noise and two columns of noise per supervoxel."""
    rng = np.random.default_rng(seed)
    segments = _grid_supervoxels()
    n = int(segments.max()) + 1
    kind = rng.permutation(np.arange(n) % 2)
    return segments, kind, kind[segments], rng.normal(size=segments.shape), rng.normal(size=(n, 2))


def test_majority_labels_match_a_loop_and_break_ties_to_the_smaller_label():
    rng = np.random.default_rng(1)
    segments = rng.integers(0, 9, size=(6, 6, 6))
    truth = rng.choice([0, 2, 5], size=segments.shape)
    expected = []
    for s in range(9):
        values, counts = np.unique(truth[segments == s], return_counts=True)
        expected.append(values[np.argmax(counts)])
    np.testing.assert_array_equal(probe.majority_labels(segments, truth), expected)
    tie = np.array([3, 1, 3, 1]).reshape(1, 1, 4)
    assert probe.majority_labels(np.zeros_like(tie), tie).tolist() == [1]


def test_halves_split_supervoxels_by_their_centre_on_the_last_axis():
    segments = _grid_supervoxels()
    lower = probe.halves(segments)
    x_block = np.arange(lower.size) % 8  # eight blocks along the last axis of 24 voxels
    np.testing.assert_array_equal(lower, x_block < 4)


def test_a_class_only_the_embedding_knows_is_found_by_the_embedding_alone():
    segments, kind, truth, volume, noise = _hidden_classes(2)
    points = np.stack([kind + 0.01 * noise[:, 0], noise[:, 1]], axis=1)
    scores = probe.probe_volume(points, volume, segments, truth)
    assert scores["embedding"] == pytest.approx(1.0)
    assert scores["both"] == pytest.approx(1.0)
    assert scores["intensity"] < 0.8


def test_an_embedding_of_noise_adds_nothing_to_an_intensity_that_separates_the_classes():
    rng = np.random.default_rng(3)
    segments = _grid_supervoxels()
    n = int(segments.max()) + 1
    kind = np.arange(n) % 2
    truth = kind[segments]
    volume = 3.0 * truth + 0.1 * rng.normal(size=segments.shape)
    scores = probe.probe_volume(rng.normal(size=(n, 2)), volume, segments, truth)
    assert scores["intensity"] == pytest.approx(1.0)
    assert scores["both"] == pytest.approx(1.0)


def test_a_half_with_one_class_labels_the_other_half_with_it():
    labels = np.array([1, 1, 0, 1])
    lower = np.array([True, True, False, False])
    predicted = probe.cross_half_labels(np.zeros((4, 1)), labels, np.ones(4), lower)
    assert predicted[2:].tolist() == [1, 1]


def test_a_half_never_learns_from_its_own_labels():
    # the feature maps to the class one way in the lower half and the other way in the upper half: a classifier
    # that saw a half's own labels would label it perfectly, one that learns from the other half inverts it
    features = np.array([[0.0], [1.0]] * 20)
    lower = np.repeat([True, False], 20)
    labels = np.where(lower, features[:, 0], 1 - features[:, 0]).astype(int)
    predicted = probe.cross_half_labels(features, labels, np.ones(40), lower)
    assert np.all(predicted != labels)


def test_every_supervoxel_in_one_half_is_an_error():
    with pytest.raises(ValueError, match="every supervoxel lies in one half of the volume"):
        probe.cross_half_labels(np.zeros((3, 1)), np.array([0, 1, 0]), np.ones(3), np.ones(3, dtype=bool))


def test_embedded_supervoxels_must_match_the_supervoxels():
    segments = _grid_supervoxels()
    with pytest.raises(ValueError, match="127 embedded supervoxels for 128 supervoxels"):
        probe.probe_volume(np.zeros((127, 2)), np.zeros(segments.shape), segments, np.zeros(segments.shape, dtype=int))


def test_the_summary_reports_every_description_and_the_differences_with_intervals():
    import dataclasses

    from hypseg.config import cpu_recipe

    config = cpu_recipe()
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, variant="euclidean"))
    rng = np.random.default_rng(4)
    segments = _grid_supervoxels()
    n = int(segments.max()) + 1
    kind = np.arange(n) % 2
    truths = [{1: kind[segments]}, {1: kind[segments]}]
    volumes = [3.0 * t[1] + 0.1 * rng.normal(size=segments.shape) for t in truths]
    embeddings = [np.stack([t[1], np.zeros(segments.shape)], axis=-1).astype(np.float64) for t in truths]
    summary = summarise(embeddings, volumes, [segments, segments], None, truths, config, factors=1, sides=(3,), clusters={1: 2})
    assert list(summary) == ["L1"]
    row = summary["L1"]
    assert row["intensity"] == row["embedding"] == row["both"] == 1.0
    assert row["both_minus_intensity"] == [0.0, [0.0, 0.0]]
    assert row["embedding_kmeans_raw"] == row["both_kmeans_whitened"] == row["embedding_tied"] == row["intensity_tied"] == 1.0
    assert row["embedding_tied_minus_embedding_kmeans_raw"] == row["embedding_tied_minus_intensity_tied"] == [0.0, [0.0, 0.0]]


def test_extra_intensity_statistics_join_the_intensity_description():
    segments, kind, truth, volume, noise = _hidden_classes(5)
    without = probe.probe_volume(noise, volume, segments, truth)
    given = probe.probe_volume(noise, volume, segments, truth, extra=kind.astype(float))
    assert without["intensity"] < 0.8
    assert given["intensity"] == pytest.approx(1.0)


def test_whitening_gives_unit_variance_on_every_axis_and_lets_k_means_use_a_thin_axis():
    rng = np.random.default_rng(6)
    segments = _grid_supervoxels()
    n = int(segments.max()) + 1
    counts = np.bincount(segments.ravel()).astype(float)
    kind = np.arange(n) % 2
    # a wide axis of noise and a thin axis that holds the classes
    features = np.stack([10.0 * rng.normal(size=n), 0.01 * kind], axis=1)
    white = probe.whitened(features, counts)
    np.testing.assert_allclose(np.cov(white.T, aweights=counts, bias=True), np.eye(2), atol=1e-10)
    truth = kind[segments]
    assert probe.cluster_dice(features, counts, segments, truth, 2) < 0.8
    assert probe.cluster_dice(white, counts, segments, truth, 2) == pytest.approx(1.0)


def test_zscored_columns_have_zero_mean_and_unit_std_and_a_constant_column_stays_zero():
    counts = np.array([1.0, 2.0, 3.0, 4.0])
    features = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0], [8.0, 5.0]])
    z = probe.zscored(features, counts)
    assert np.average(z[:, 0], weights=counts) == pytest.approx(0.0)
    assert np.sqrt(np.average(z[:, 0] ** 2, weights=counts)) == pytest.approx(1.0)
    assert z[:, 1].tolist() == [0.0, 0.0, 0.0, 0.0]


def test_filters_join_the_intensity_description_and_noise_columns_find_nothing():
    segments, kind, truth, volume, noise = _hidden_classes(7)
    scores = probe.probe_volume(noise, volume, segments, truth, filters=kind.astype(float))
    assert scores["filters"] == pytest.approx(1.0)
    assert scores["filters_both"] == pytest.approx(1.0)
    assert scores["intensity_noise"] < 0.8
    assert "filters" not in probe.probe_volume(noise, volume, segments, truth)


def test_the_summary_pairs_the_right_way_round_and_weighs_each_sides_statistics_with_its_own_purity():
    import dataclasses

    from hypseg.config import cpu_recipe
    from hypseg.inference.pooling import purity_weights

    config = cpu_recipe()
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, variant="euclidean"))
    volumes, embeddings, truths = [], [], []
    for seed in (8, 9):
        segments, kind, truth, volume, noise = _hidden_classes(seed)
        volumes.append(volume)
        truths.append({1: truth})
        # two factors (patch sides), each a 2-d Euclidean embedding; the first factor knows the class
        embeddings.append(np.concatenate([np.stack([truth, np.zeros(truth.shape)], axis=-1),
                                          np.zeros(truth.shape + (2,))], axis=-1).astype(np.float64))
    weights = [purity_weights(segments, (3, 5), 8.0)] * 2
    summary = summarise(embeddings, volumes, [segments, segments], weights, truths, config, factors=2, sides=(3, 5),
                        clusters={1: 2})
    row = summary["L1"]
    assert row["both"] == pytest.approx(1.0) and row["intensity"] < 0.8
    assert row["both_minus_intensity"][0] == pytest.approx(row["both"] - row["intensity"], abs=2e-3)
    assert row["both_minus_intensity"][0] > 0.2


def test_segments_with_voxels_left_out_are_refused():
    segments = _grid_supervoxels()
    segments[0, 0, 0] = -1
    with pytest.raises(ValueError, match="every voxel must belong to a supervoxel"):
        probe.probe_volume(np.zeros((128, 2)), np.zeros(segments.shape), segments, np.zeros(segments.shape, dtype=int))
