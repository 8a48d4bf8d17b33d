"""The intensity twin: box means against a slow reference, and the recipe run on them."""

from __future__ import annotations

import dataclasses

import itertools
import json

import numpy as np
import pytest

from benchmarks.intensity_twin import box_means, twin_embeddings, twin_geometry
from hypseg.config import cpu_recipe, segment_preset
from hypseg.data import supervoxels
from hypseg.inference.recipe import cluster_embeddings, resolve_patch_sides
from hypseg.metrics import matched_dice


def test_box_means_equal_the_mean_of_each_edge_padded_box():
    volume = np.random.default_rng(0).normal(size=(7, 6, 5))
    got = box_means(volume, (3, 4))
    padded = np.pad(volume, 3, mode="edge")  # beyond a face the edge voxel repeats, as the model's patches are padded
    for side, column in ((3, 0), (4, 1)):
        lo = side // 2  # an even box reaches one voxel further below its centre than above
        for z, y, x in itertools.product(*map(range, volume.shape)):
            box = padded[z + 3 - lo : z + 3 - lo + side, y + 3 - lo : y + 3 - lo + side, x + 3 - lo : x + 3 - lo + side]
            assert got[z, y, x, column] == np.float32(box.mean())


def test_the_recipe_on_box_means_finds_a_bright_cube_and_its_bright_core():
    rng = np.random.default_rng(1)
    volume = rng.normal(scale=0.3, size=(36, 36, 36)).astype(np.float32)
    truth = np.zeros(volume.shape, dtype=np.int64)
    truth[8:28, 8:28, 8:28] = 1
    truth[14:22, 14:22, 14:22] = 2
    volume += np.array([0.0, 2.0, 4.0], dtype=np.float32)[truth]
    geometry = twin_geometry(cpu_recipe().model)
    config = resolve_patch_sides(segment_preset("default").with_clusters([2, 3]), patch_size=geometry.patch_size)
    embeddings = twin_embeddings([volume], [level.patch_sides for level in config.levels])
    assert set(embeddings) == {(10,), (5,)} and embeddings[(5,)][0].shape == (36, 36, 36, 1)
    segments = {500: [supervoxels(volume, size=500, tile=config.supervoxel_tile)]}
    labels = cluster_embeddings(embeddings, config, geometry=geometry, segments=segments, volumes=[volume])[0].labels
    assert matched_dice(labels[2], (truth > 0).astype(np.int64)).mean > 0.9
    assert matched_dice(labels[3], truth).mean > 0.8


def test_the_twin_geometry_is_a_one_dimensional_euclidean_space():
    geometry = twin_geometry(cpu_recipe().model)
    assert not geometry.hyperbolic and geometry.latent_dim == 1 and geometry.patch_size == cpu_recipe().model.patch_size


def test_the_twin_takes_the_saved_runs_own_inference_field_by_field():
    from benchmarks.quality import INFERENCE, saved_inference

    saved = json.loads(json.dumps({"inference": {str(level): dataclasses.asdict(how) for level, how in INFERENCE.items()}}))
    assert saved_inference(saved) == dict(INFERENCE)  # lists back to tuples
    del saved["inference"]["1"]["refine"]  # a run from before the refinement: it did not refine
    assert saved_inference(saved)[1] == dataclasses.replace(INFERENCE[1], refine=0)


def test_a_saved_run_on_other_volumes_or_tiles_is_refused(tmp_path):
    from benchmarks.intensity_twin import score_test_split

    saved = tmp_path / "quality.json"
    saved.write_text(json.dumps({"volumes": 120, "shape": 32, "supervoxel_tile": None, "inference": {}, "sets": {}}))
    with pytest.raises(ValueError, match=r"quality.json: the run set shape = 32; the twin scores the default volumes and tiles only$"):
        score_test_split(saved, tmp_path)


def test_the_command_refuses_a_missing_file(capsys):
    from benchmarks.intensity_twin import main

    with pytest.raises(SystemExit) as exit_info:
        main(["no/such.json"])
    assert exit_info.value.code == 2 and "error: no saved scores at no/such.json" in capsys.readouterr().err


def test_box_percentiles_equal_the_percentile_of_each_edge_padded_box():
    volume = np.random.default_rng(2).normal(size=(6, 5, 4))
    got = box_means(volume, (3,), percentile=90.0)
    top = box_means(volume, (2,), percentile=100.0)
    padded = np.pad(volume, 2, mode="edge")
    for z, y, x in itertools.product(*map(range, volume.shape)):
        box = padded[z + 1 : z + 4, y + 1 : y + 4, x + 1 : x + 4]
        assert got[z, y, x, 0] == np.float32(np.sort(box.ravel())[int(27 * 0.9)])  # scipy's rank: int(size * q / 100)
        assert top[z, y, x, 0] == np.float32(padded[z + 1 : z + 3, y + 1 : y + 3, x + 1 : x + 3].max())
