"""The diagnostics of benchmarks/validation_split.py that explain the README's limits, on small hand-made maps."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def script():
    from benchmarks import validation_split

    return validation_split


def _cell_with_organelles() -> np.ndarray:
    """Level-2 truth: background 0, a cell 1 filling the middle, a spherical vesicle 2 and a cubic mitochondrion 3."""
    truth = np.zeros((24, 24, 24), dtype=np.int32)
    truth[2:22, 2:22, 2:22] = 1
    z, y, x = np.indices(truth.shape)
    truth[(z - 8) ** 2 + (y - 8) ** 2 + (x - 12) ** 2 <= 16] = 2
    truth[13:19, 13:19, 9:15] = 3
    return truth


def test_organelles_found_exactly_match_with_iou_one(script):
    truth = _cell_with_organelles()
    found = truth + 5 * (truth > 0)  # other ids, the same regions; the cell is the largest cluster inside
    assert script.organelle_matches([found], [truth]) == {"vesicle": [1.0], "mitochondrion": [1.0]}


def test_an_organelle_in_the_cells_cluster_is_not_found_and_holes_are_filled(script):
    truth = _cell_with_organelles()
    found = truth.copy()
    found[found == 2] = 1  # the vesicle took the cell's cluster
    found[15, 15, 11] = 1  # a hole in the mitochondrion's component, filled before matching
    ious = script.organelle_matches([found], [truth])
    assert ious == {"vesicle": [0.0], "mitochondrion": [1.0]}
    merged = truth.copy()
    merged[merged == 2] = 3  # both organelles in one cluster, apart: still two components
    assert script.organelle_matches([merged], [truth]) == {"vesicle": [1.0], "mitochondrion": [1.0]}
    half = truth.copy()
    half[(truth == 3) & (np.indices(truth.shape)[2] < 12)] = 1  # half the mitochondrion missed
    assert script.organelle_matches([half], [truth])["mitochondrion"] == [pytest.approx(0.5)]


def test_level1_errors_count_misplaced_voxels_by_distance_to_the_true_boundary(script):
    cell = np.zeros((20, 20, 20), dtype=bool)
    cell[5:15, 5:15, 5:15] = True
    volume = np.where(cell, 2.0, 0.0) + np.random.default_rng(0).normal(scale=0.5, size=cell.shape)
    found = cell.copy()
    found[0, 0, 0] = True  # far outside
    found[5, 10, 10] = False  # on the boundary
    row = script.level1_errors(found, cell, volume)
    assert row["misplaced_within_2"] == 1 and row["misplaced_2_to_5"] == 0 and row["misplaced_beyond_5"] == 1
    assert row["cell_voxels"] == 1000 and 3.5 < row["contrast"] < 4.5


def test_with_noise_is_the_identity_at_zero_and_otherwise_z_scored_and_reproducible():
    from benchmarks.validation_split import with_noise

    rng = np.random.default_rng(0)
    volumes = [rng.normal(size=(6, 7, 8)).astype(np.float32) for _ in range(2)]
    assert with_noise(volumes, 0.0, seed=0) is volumes
    noisy = with_noise(volumes, 3.0, seed=4)
    again = with_noise(volumes, 3.0, seed=4)
    for clean, v, w in zip(volumes, noisy, again):
        assert v.dtype == np.float32 and v.shape == clean.shape
        assert abs(float(v.mean())) < 1e-5 and float(v.std()) == pytest.approx(1.0, rel=1e-5)
        np.testing.assert_array_equal(v, w)
        # signal to noise 1 : 3 leaves a correlation of about 1 / sqrt(10) with the clean volume
        assert 0.2 < np.corrcoef(clean.ravel(), v.ravel())[0, 1] < 0.45



def test_brightened_raises_the_object_then_normalises_again_and_is_the_identity_at_zero(script):
    from hypseg.config import DataConfig
    from hypseg.data import normalise

    rng = np.random.default_rng(4)
    volume = rng.uniform(0, 1, (10, 10, 10)).astype(np.float32)  # raised by 5, the object clears every other voxel
    obj = np.zeros(volume.shape, dtype=np.uint8)
    obj[3:6, 3:6, 3:6] = 1
    config = DataConfig()
    assert script.brightened([volume], [obj], 0.0, config=config)[0] is volume
    (bright,) = script.brightened([volume], [obj], 5.0, config=config)
    np.testing.assert_allclose(bright, normalise(volume + 5.0 * obj, config=config), rtol=1e-5, atol=1e-6)
    assert bright[obj > 0].min() > bright[obj == 0].max()  # brighter than everything around it


def test_blurred_softens_an_edge_keeps_the_normalisation_and_is_the_identity_at_zero(script):
    from hypseg.config import DataConfig

    step = np.zeros((12, 12, 12), dtype=np.float32)
    step[:, :, 6:] = 1.0  # a hard edge between columns 5 and 6
    config = DataConfig()
    assert script.blurred([step], 0.0, config=config)[0] is step
    (soft,) = script.blurred([step], 1.5, config=config)
    (sharp,) = script.blurred([step], 1e-3, config=config)  # the same normalisation, no smoothing to speak of
    profile, edge = soft[6, 6], sharp[6, 6]
    assert np.all(np.diff(profile) >= -1e-6)  # still monotone across the edge
    assert abs(profile[6] - profile[5]) < abs(edge[6] - edge[5]) / 2  # the jump is spread over several voxels
    assert profile[3] < profile[5] < profile[6] < profile[8]
    np.testing.assert_allclose(soft.mean(), sharp.mean(), atol=1e-5)  # normalised again as the config says


def test_blurred_with_one_sigma_per_axis_smooths_only_those_axes(script):
    from hypseg.config import DataConfig

    rng = np.random.default_rng(0)
    volume = rng.normal(size=(8, 8, 8)).astype(np.float32)
    config = DataConfig()
    assert script.blurred([volume], (0.0, 0.0, 0.0), config=config)[0] is volume
    (along_z,) = script.blurred([volume], (2.0, 0.0, 0.0), config=config)
    # smoothing only along z leaves every z-column's mean ordering across (y, x) as it was, up to the normalisation
    mean_before, mean_after = volume.mean(axis=0), along_z.mean(axis=0)
    assert np.corrcoef(mean_before.ravel(), mean_after.ravel())[0, 1] > 0.99
    assert np.abs(np.diff(along_z, axis=0)).mean() < np.abs(np.diff(along_z, axis=2)).mean() / 2


def test_a_level1_choice_is_a_side_and_a_power_or_a_one_line_refusal():
    import argparse

    import pytest

    from benchmarks.validation_split import level1_choice

    assert level1_choice("5:8") == ((5,), 8.0) and level1_choice("10:0") == ((10,), 0.0)
    for text in ("5", "5:x", "5.5:8", "0:8", "5:-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            level1_choice(text)


def test_leading_subspace_keeps_the_code_at_full_rank_and_flattens_it_to_n_axes_otherwise():
    from benchmarks.validation_split import leading_subspace
    from hypseg.config import cpu_recipe
    from hypseg.inference.tangent import to_ball, to_tangent

    geometry = cpu_recipe().model
    u = (np.random.default_rng(0).normal(size=(6, 5, 4, 4)) * [0.3, 0.15, 0.05, 0.02]).astype(np.float32)
    e = to_ball(u, c=geometry.curvature)
    np.testing.assert_allclose(leading_subspace(e, 4, geometry), e, atol=1e-5)
    flat = to_tangent(leading_subspace(e, 1, geometry), c=geometry.curvature).reshape(-1, 4)
    assert np.linalg.matrix_rank(flat - flat.mean(axis=0), tol=1e-4) == 1
    with pytest.raises(ValueError, match=r"^the number of leading axes must lie in \[1, 4\], got 5$"):
        leading_subspace(e, 5, geometry)
    # two balls side by side (a product of sides, or two models), each point far out in its own ball: mapped ball by
    # ball, full rank gives them back, where one 8-dimensional ball would not hold them
    far = to_ball(u * 4, c=geometry.curvature)
    pair = np.concatenate([far, far[::-1]], axis=-1)
    assert np.linalg.norm(far, axis=-1).max() > 0.7
    np.testing.assert_allclose(leading_subspace(pair, 8, geometry, factors=2), pair, atol=1e-4)


def test_overridden_replaces_only_the_named_fields_of_the_named_parts():
    from benchmarks.validation_split import overridden
    from hypseg.config import cpu_recipe

    base = cpu_recipe()
    changed = overridden(base, {"model": {"latent_dim": 4}, "train": {"kl_weight": 0.3}})
    assert (changed.model.latent_dim, changed.train.kl_weight) == (4, 0.3)
    assert changed.model.channels == base.model.channels and changed.data == base.data and changed.train.steps == base.train.steps
    with pytest.raises(ValueError, match=r"^an override names parts model, data and train, got \['segment'\]$"):
        overridden(base, {"segment": {}})
    with pytest.raises(ValueError, match=r"^an override of model: .*latent_dimm"):
        overridden(base, {"model": {"latent_dimm": 4}})


def _refused(script, monkeypatch, capsys, args, message):
    """``args`` end the script before any work: exit status 2 and ``message`` as the last line of stderr."""
    monkeypatch.setattr("sys.argv", ["validation_split.py", *args])
    with pytest.raises(SystemExit) as stop:
        script.main()
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"validation_split.py: error: {message}"


@pytest.mark.parametrize("args, message", [
    (["--level1-components", "3"], "--level1-components must lie in [1, 2] (the code's dimensions at every side it projects), got 3"),
    (["--level1-override", '{"model": {"latent_dim": 4}}', "--level1-components", "5"],
     "--level1-components must lie in [1, 4] (the code's dimensions at every side it projects), got 5"),
    (["--finer-components", "0", "--sides", "5,10"],
     "--finer-components must lie in [1, 4] (the code's dimensions at every side it projects), got 0"),
    (["--finer-components", "3", "--sides", "5,10", "--recipe"],  # the recipe's finer side, p = 5, holds 2
     "--finer-components must lie in [1, 2] (the code's dimensions at every side it projects), got 3"),
    (["--level1-components", "1", "--recipe", "--level1", "5:8"],
     "--finer-components and --level1-components project the patch sides that --level1 would score level 1 at; use one of them"),
])
def test_a_projection_beyond_the_codes_dimensions_is_refused_before_any_training(script, monkeypatch, capsys, args, message):
    _refused(script, monkeypatch, capsys, args, message)


@pytest.mark.parametrize("args, message", [
    (["--kmeans-seed", "1"], "--kmeans-seed needs --recipe and seeds >= 0"),
    (["--recipe", "--kmeans-seed", "-1"], "--kmeans-seed needs --recipe and seeds >= 0"),
    (["--contrast-divides", "specimen"], "--contrast-divides needs --recipe and one of object, specimen, optionally with :K components >= 2, got 'specimen'"),
    (["--recipe", "--contrast-divides", "bulk"], "--contrast-divides needs --recipe and one of object, specimen, optionally with :K components >= 2, got 'bulk'"),
    (["--recipe", "--contrast-divides", "specimen:1"], "--contrast-divides needs --recipe and one of object, specimen, optionally with :K components >= 2, got 'specimen:1'"),
    (["--contrast-assign", "likelihood"], "--contrast-assign needs --recipe"),
    (["--contrast-feature", "intensity"], "--contrast-feature needs --recipe"),
    (["--recipe", "--contrast-feature", "intensity:3"], "--contrast-feature takes one of embedding, intensity, both, optionally with :P,Q two different sides >= 1, got 'intensity:3'"),
    (["--recipe", "--contrast-feature", "mean"], "--contrast-feature takes one of embedding, intensity, both, optionally with :P,Q two different sides >= 1, got 'mean'"),
    (["--recipe", "--contrast-grow", "-1"], "--contrast-grow needs --recipe and voxels >= 0"),
    (["--data-seed", "-1"], "--data-seed must be >= 0, got -1"),
])
def test_a_kmeans_seed_without_the_recipe_or_a_negative_kmeans_or_data_seed_is_refused(script, monkeypatch, capsys, args, message):
    _refused(script, monkeypatch, capsys, args, message)


def test_the_data_seed_is_the_generators_and_is_printed_first(script, monkeypatch, capsys):
    import json

    seen = []

    def generated(out, **kwargs):
        seen.append(kwargs["seed"])
        raise KeyboardInterrupt  # nothing after the set's generation is needed here
    monkeypatch.setattr(script, "write_synthetic_dataset", generated)
    for seed in (0, 3):
        monkeypatch.setattr("sys.argv", ["validation_split.py", "--data-seed", str(seed)])
        with pytest.raises(KeyboardInterrupt):
            script.main()
    assert seen == [0, 3]
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == [{"data_seed": 3}]


@pytest.mark.parametrize("args", [["--band-sides", "5"], ["--recipe", "--band-sides", "0"]])
def test_band_sides_without_the_recipe_or_below_one_are_refused(script, monkeypatch, capsys, args):
    _refused(script, monkeypatch, capsys, args, "--band-sides needs --recipe and patch sides >= 1")


def test_band_sides_in_the_ball_are_refused_before_any_training(script, monkeypatch, capsys):
    _refused(script, monkeypatch, capsys, ["--recipe", "--band-sides", "5", "--space", "ball"],
             "--band-sides needs the tangent space for a hyperbolic model (--space tangent)")


@pytest.mark.parametrize("args", [["--voxel-band", "2"], ["--recipe", "--voxel-band", "-1"]])
def test_a_voxel_band_without_the_recipe_or_below_zero_is_refused(script, monkeypatch, capsys, args):
    _refused(script, monkeypatch, capsys, args, "--voxel-band needs --recipe and widths >= 0")


def _tiny_split(script, monkeypatch) -> list[np.ndarray]:
    """Two small cell volumes in place of the generator's validation split (returned)."""
    rng = np.random.default_rng(0)
    truth = _cell_with_organelles()
    volumes = [(truth * 0.3 + rng.normal(scale=0.05, size=truth.shape)).astype(np.float32) for _ in range(2)]
    truths = [{1: (truth > 0).astype(np.int32), 2: truth, 3: truth} for _ in range(2)]
    monkeypatch.setattr(script, "write_synthetic_dataset", lambda *args, **kwargs: None)
    monkeypatch.setattr(script, "discover_cases", lambda roots: [])
    monkeypatch.setattr(script, "split_volumes", lambda cases, split, levels, **kwargs: (volumes, truths))
    return volumes


def test_the_twin_split_reproduces_the_recipe_as_flat_points_and_mixes_the_levels(script, monkeypatch, capsys):
    """--twin-split: the model as flat points gives the recipe's labels exactly; level 1 from the twin gives the
    twin's level 1 with the model's finer levels inside it, and the reverse gives the recipe's level 1. Each mixture
    hands the clustering the model's tangent vectors at one set of sides and the padded box means at the other."""
    import json

    from hypseg.inference.tangent import to_tangent

    _tiny_split(script, monkeypatch)
    tiny = '{"train": {"steps": 2}, "data": {"patch_max": 12.0, "triplets_per_batch": 16}}'
    monkeypatch.setattr("sys.argv", ["validation_split.py", "--override", tiny, "--sides", "10", "--supervoxels", "100",
                                     "--purity-power", "0", "--recipe", "--intensity-twin", "--twin-split"])
    given = []  # (the model's variant and latent dimension, the embeddings) of every recipe, twin and mixture clustering
    cluster = script.cluster_volumes

    def recorded(embeddings, config, *args, **kwargs):
        given.append(((config.model.variant, config.model.latent_dim), embeddings))
        return cluster(embeddings, config, *args, **kwargs)
    monkeypatch.setattr(script, "cluster_volumes", recorded)
    script.main()
    model = next(found for (variant, _), found in given if variant != "euclidean")  # the recipe's own
    twin = next(found for (_, dim), found in given if dim == 1)  # the box means
    mixed = [found for (variant, dim), found in given if variant == "euclidean" and dim == 2]
    assert len(mixed) == len(script.TWIN_SPLITS)
    tangent = {sides: [to_tangent(e) for e in found] for sides, found in model.items()}
    padded = {sides: [np.concatenate([b, np.zeros_like(b)], axis=-1) for b in found] for sides, found in twin.items()}
    for found, want in zip(mixed, ({(10,): tangent, (5,): tangent}, {(10,): padded, (5,): tangent},
                                   {(10,): tangent, (5,): padded})):
        for sides in ((10,), (5,)):
            assert all(np.array_equal(ours, theirs) for ours, theirs in zip(found[sides], want[sides][sides]))
    assert not np.array_equal(tangent[(5,)][0], model[(5,)][0])  # the tangent map moved the points
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    recipe = next(row for row in rows if row.get("inference") == "recipe (quality.INFERENCE)")
    twin = twin_row = next(row for row in rows if "intensity_twin" in row)
    split = {row["twin_split"]: row for row in rows if "twin_split" in row}
    assert list(split) == list(script.TWIN_SPLITS)
    flat, twin_first, model_first = (split[name] for name in script.TWIN_SPLITS)
    assert flat["dice_per_volume"] == recipe["dice_per_volume"]
    assert all(diff[0] == 0 for diff in flat["minus_recipe"].values())
    assert twin_first["dice_per_volume"]["1"] == twin["dice_per_volume"]["1"]
    assert model_first["dice_per_volume"]["1"] == recipe["dice_per_volume"]["1"]
    assert set(twin_first["minus_recipe"]) == {"1", "2", "3"}
    # each row says how level 1 found its object in each volume; the flat model's way is the recipe's
    for row in (twin_row, *split.values()):
        assert len(row["level1_paths"]) == 2 and set(row["level1_paths"]) <= {"first", "retried", "contrast"}
    assert split[script.TWIN_SPLITS[0]]["level1_paths"] == twin_row["recipe_level1_paths"]


@pytest.mark.parametrize("args", [["--recipe", "--twin-split"], ["--recipe", "--intensity-twin", "--twin-split", "--ensemble", "2"],
                                  ["--recipe", "--intensity-twin", "--twin-split", "--space", "ball"]])
def test_a_twin_split_without_the_twin_or_with_two_models_or_in_the_ball_is_refused(script, monkeypatch, capsys, args):
    _refused(script, monkeypatch, capsys, args, "--twin-split needs --intensity-twin, one model (no --ensemble, no "
             "--level1-override) and, for a hyperbolic model, the tangent space")


def test_main_scores_the_recipe_with_two_models_end_to_end_on_tiny_volumes(script, monkeypatch, capsys):
    """The whole script once, on two small volumes and two training steps: every option of the two-model run
    (--level1-override, --level1-components, --mixing, --intensity-twin, --voxel-band) prints its rows."""
    import json

    volumes = _tiny_split(script, monkeypatch)
    calls = []  # (patch sides, the model's latent dimension, the volume embedded) of every embedding
    embed = script.embed_volume_multiscale

    def recorded(model, volume, *, patch_sizes, inversion):
        assert inversion == script.inverted(tuple(patch_sizes))  # no --inversion: the recipe's own setting alone
        calls.append((tuple(patch_sizes), model.config.latent_dim, volume))
        return embed(model, volume, patch_sizes=patch_sizes, inversion=inversion)
    monkeypatch.setattr(script, "embed_volume_multiscale", recorded)
    tiny = '{"train": {"steps": 2}, "data": {"patch_max": 12.0, "triplets_per_batch": 16}}'
    monkeypatch.setattr("sys.argv", ["validation_split.py", "--override", tiny, "--sides", "10", "--supervoxels", "100",
                                     "--purity-power", "0", "--recipe", "--mixing", "--intensity-twin",
                                     "--level1-override", '{"model": {"latent_dim": 4}}', "--level1-components", "1",
                                     "--inside-normalised", "--voxel-band", "3", "--voxel-band", "0", "--band-sides", "5",
                                     "--band-feature", "intensity",
                                     "--kmeans-seed", "0", "--kmeans-seed", "3"])
    seeds = []  # the clustering seed of every recipe-row clustering
    cluster = script.cluster_volumes

    def seeded(*args, seed, **kwargs):  # records the seed; marks volume 1 as lying in no field of view
        seeds.append(seed)
        return [volume._replace(no_field=i == 1) for i, volume in enumerate(cluster(*args, seed=seed, **kwargs))]
    monkeypatch.setattr(script, "cluster_volumes", seeded)
    script.main()
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[1]["level1_override"] == {"model": {"latent_dim": 4}}
    recipe = [row for row in rows if row.get("inference") == "recipe (quality.INFERENCE)"]
    assert recipe and recipe[0]["override"] == json.loads(tiny)
    assert all(len(row["dice"]) == 3 for row in recipe)
    banded = [row for row in recipe if "voxel_band" in row]
    assert [row["voxel_band"] for row in banded] == [3, 0] and set(banded[0]["minus_recipe_level1"]) == {"1", "2", "3"}
    assert [row["level1_voxel_band"] for row in recipe] == [2, 3, 0, 2, 2, 2, 2]  # the recipe's own band first
    at5 = [row for row in recipe if "band_sides" in row]  # the recipe's band, deciding by the side-5 embedding
    assert len(at5) == 1 and at5[0]["band_sides"] == [5] and set(at5[0]["minus_recipe_level1"]) == {"1", "2", "3"}
    box = [row for row in recipe if "band_feature" in row]  # by the box mean at level 1's side, 10
    assert [row["band_feature"] for row in box] == ["intensity"] and set(box[0]["minus_recipe_level1"]) == {"1", "2", "3"}
    assert all(row["no_field_volumes"] == [1] for row in recipe)  # each recipe row lists the volumes marked
    reseeded = [row for row in recipe if "kmeans_seed" in row]
    assert [row["kmeans_seed"] for row in reseeded] == [0, 3] and 3 in seeds and seeds.count(3) == 1
    # seeded as the recipe is: the recipe's scores exactly
    assert reseeded[0]["dice_per_volume"] == recipe[0]["dice_per_volume"]
    assert all(diff[0] == 0 for diff in reseeded[0]["minus_recipe_level1"].values())
    assert any(row.get("mixing") for row in rows) and any(row.get("code_response") for row in rows)
    # level 1's side is embedded by the second (4-dimensional) model only, the finer side by the first only
    assert {dim for sides, dim, _ in calls if sides == (10,)} == {4} and {dim for sides, dim, _ in calls if sides == (5,)} == {2}
    # normalised again inside level 1's object: the finer side is embedded again from other intensities, and
    # level 1's scores are the recipe's own
    again = [row for row in rows if "inside_normalised" in row]
    assert len(again) == 1 and again[0]["dice_per_volume"]["1"] == recipe[0]["dice_per_volume"]["1"]
    finer = [volume for sides, _, volume in calls if sides == (5,)]
    assert len(finer) == 2 * len(volumes)
    assert all(volume is given for volume, given in zip(finer, volumes))
    assert not any(np.allclose(volume, given) for volume, given in zip(finer[len(volumes):], volumes))


def test_inversion_scores_the_recipe_on_codes_averaged_with_their_inverted_patches(script, monkeypatch, capsys):
    """--inversion none / every: one more recipe row each, clustered on the codes averaged with their inverted
    patches' at no side or at every side, paired against the recipe's own row; a side the candidate treats as the
    recipe does keeps the recipe's codes."""
    import json

    _tiny_split(script, monkeypatch)
    given = []  # (inversion, patch sides) of every embedding
    embed = script.embed_volume_multiscale

    def recorded(model, volume, *, patch_sizes, inversion):
        given.append((inversion, tuple(patch_sizes)))
        return embed(model, volume, patch_sizes=patch_sizes, inversion=inversion)
    monkeypatch.setattr(script, "embed_volume_multiscale", recorded)
    clustered = []  # the embeddings every recipe row is clustered on
    cluster = script.cluster_volumes

    def kept(embeddings, *args, **kwargs):
        clustered.append(embeddings)
        return cluster(embeddings, *args, **kwargs)
    monkeypatch.setattr(script, "cluster_volumes", kept)
    tiny = '{"train": {"steps": 2}, "data": {"patch_max": 12.0, "triplets_per_batch": 16}}'
    monkeypatch.setattr("sys.argv", ["validation_split.py", "--override", tiny, "--sides", "10", "--supervoxels", "100",
                                     "--purity-power", "0", "--recipe", "--inversion", "none", "--inversion", "every"])
    script.main()
    assert script.inverted((5,)) and not script.inverted((10,))  # the default's: the finer levels' side alone
    assert [inversion for inversion, _ in given[:4]] == [script.inverted(sides) for _, sides in given[:4]]  # the recipe's own first
    assert sorted(given[4:]) == [(False, (5,))] * 2 + [(True, (10,))] * 2  # each candidate embeds only the side it changes
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    recipe = [row for row in rows if row.get("inference") == "recipe (quality.INFERENCE)"]
    assert [row.get("inversion") for row in recipe] == [None, "none", "every"]
    assert all(set(row["minus_recipe_level1"]) == {"1", "2", "3"} for row in recipe[1:])
    own, none, every = clustered
    assert none[(10,)] is own[(10,)] and every[(5,)] is own[(5,)]
    assert not np.array_equal(none[(5,)][0], own[(5,)][0]) and not np.array_equal(every[(10,)][0], own[(10,)][0])


def test_inversion_without_the_recipe_is_refused(script, monkeypatch, capsys):
    _refused(script, monkeypatch, capsys, ["--inversion", "every"], "--inversion needs --recipe")


def test_a_level_clusterer_changes_only_its_levels_clustering(script, monkeypatch, capsys):
    """--level-clusterer 2:tied-mixture: one more recipe row whose level 2 is clustered by the tied mixture; level 3
    is clustered as the recipe's (k-means), so it and level 1 score as the recipe's own row, volume by volume."""
    import json

    _tiny_split(script, monkeypatch)
    clusterers = []  # every recipe row's (level 2's, level 3's) clusterer
    cluster = script.cluster_volumes

    def kept(embeddings, config, levels, *, inference, **kwargs):
        clusterers.append((inference[2].clusterer, inference[3].clusterer))
        return cluster(embeddings, config, levels, inference=inference, **kwargs)
    monkeypatch.setattr(script, "cluster_volumes", kept)
    tiny = '{"train": {"steps": 2}, "data": {"patch_max": 12.0, "triplets_per_batch": 16}}'
    monkeypatch.setattr("sys.argv", ["validation_split.py", "--override", tiny, "--sides", "10", "--supervoxels", "100",
                                     "--purity-power", "0", "--recipe", "--level-clusterer", "2:tied-mixture"])
    script.main()
    assert clusterers == [("kmeans", "kmeans"), ("tied-mixture", "kmeans")]
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    own, candidate = [row for row in rows if row.get("inference") == "recipe (quality.INFERENCE)"]
    assert "level_clusterer" not in own and candidate["level_clusterer"] == "2:tied-mixture"
    for level in ("1", "3"):
        assert candidate["dice_per_volume"][level] == own["dice_per_volume"][level]


@pytest.mark.parametrize("args", [["--level-clusterer", "2:tied-mixture"],
                                  ["--recipe", "--level-clusterer", "1:tied-mixture"],
                                  ["--recipe", "--level-clusterer", "2:gmm"]])
def test_a_level_clusterer_without_the_recipe_or_for_level_1_or_unknown_is_refused(script, monkeypatch, capsys, args):
    _refused(script, monkeypatch, capsys, args, f"--level-clusterer {args[-1]!r}: needs --recipe and the form L[,M]:NAME, "
             "levels 2 and above, NAME one of kmeans, tied-mixture")


def test_a_level_clusterer_beyond_the_sets_levels_is_refused_before_any_training(script, monkeypatch, capsys):
    _refused(script, monkeypatch, capsys, ["--recipe", "--level-clusterer", "2,4:tied-mixture"],
             "--level-clusterer '2,4:tied-mixture': the regular set has levels 1, 2, 3, not 4")
