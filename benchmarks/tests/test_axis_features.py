"""benchmarks/axis_features.py: what the embedding's principal axes follow."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import axis_features
from benchmarks.axis_features import BOUNDARY_CAP, axis_correlations, voxel_features


def test_an_embedding_that_is_mean_then_boundary_has_those_axes_in_that_order():
    rng = np.random.default_rng(0)
    volume = rng.normal(size=(16, 16, 16))
    volume[:, :, 8:] += 3.0
    classes = np.zeros(volume.shape, dtype=np.int64)
    classes[:, :, 8:] = 1
    features = {name: values.reshape(volume.size, -1) for name, values in voxel_features(volume, classes).items()}
    points = np.column_stack([3.0 * features["mean"], 0.5 * features["boundary"]])
    out = axis_correlations(points, features)
    assert out["share"][0] > out["share"][1] and sum(out["share"]) == pytest.approx(1.0)
    assert out["mean"][0] > 0.99 and out["boundary"][1] > 0.9
    sideways = np.column_stack([features["mean"], features["direction"][:, 2]])  # the x gradient: the edge's side
    assert axis_correlations(sideways, features)["direction"][1] > 0.9


def test_boundary_distance_is_the_distance_to_the_other_class_capped():
    classes = np.zeros((4, 4, 20), dtype=np.int64)
    classes[..., 10:] = 1
    features = voxel_features(np.zeros(classes.shape), classes)
    assert features["boundary"][0, 0, :11].tolist() == [BOUNDARY_CAP] * 5 + [5.0, 4.0, 3.0, 2.0, 1.0, 1.0]
    assert np.all(features["std"] == 0.0) and np.all(features["gradient"] == 0.0) and features["direction"].shape == (4, 4, 20, 3)
    assert np.all(voxel_features(np.zeros((3, 3, 3)), np.zeros((3, 3, 3), int))["boundary"] == BOUNDARY_CAP)


def test_the_table_gives_each_run_a_row_per_axis():
    per_volume = {"share": [[0.9, 0.1], [0.8, 0.2]], **{f: [[0.5, 0.1], [0.7, 0.3]] for f in axis_features.FEATURES},
                  "r2 mean": [[0.9], [1.0]], "r2 mean, std": [[1.0], [1.0]], "r2 linear": [[0.5], [0.7]]}
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in axis_features.table({"run": per_volume}).splitlines()[2:]]
    assert rows == [["run", "1", "0.850", *["0.600"] * 5, "0.950", "1.000", "0.600"],
                    ["run", "2", "0.150", *["0.200"] * 5, "", "", ""]]


def test_explained_is_one_for_a_curve_of_the_value_and_near_zero_for_noise():
    rng = np.random.default_rng(2)
    value = rng.uniform(-1, 1, size=5000)
    arc = np.stack([np.cos(value), np.sin(value)], axis=1)  # a bent one-dimensional code: axis 2 is a curve of axis 1
    assert axis_features.explained(arc, value, bins=64) > 0.999
    assert axis_features.explained(rng.normal(size=(5000, 2)), value, bins=16) < 0.01
    other = rng.uniform(size=5000)  # two values: a function of both is explained only by both
    points = np.stack([value, other], axis=1)
    assert axis_features.explained(points, value, bins=16) == pytest.approx((1 / 3) / (1 / 3 + 1 / 12), abs=0.01)
    assert axis_features.explained(points, value, other, bins=16) > 0.99


def test_a_linear_function_of_the_patch_voxels_is_explained_and_patches_replicate_the_faces():
    rng = np.random.default_rng(3)
    volume = rng.normal(size=(9, 10, 11))
    flat = rng.choice(volume.size, size=400, replace=False)
    patches = axis_features.patches_at(volume, flat)
    z, y, x = np.unravel_index(flat[0], volume.shape)
    padded = np.pad(volume, 2, mode="edge")
    assert np.array_equal(patches[0], padded[z:z + 5, y:y + 5, x:x + 5].ravel())
    points = patches @ rng.normal(size=(125, 2)) + 1.0
    assert axis_features.explained_linearly(points, patches) == pytest.approx(1.0)
    assert axis_features.explained_linearly(rng.normal(size=(400, 2)), patches) < 0.5
