"""The quality benchmark: its goals table's arithmetic, a tiny end-to-end run of two sets, bad options."""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage
import pytest
from typer.testing import CliRunner

from benchmarks import quality
from benchmarks.quality import (EUCLIDEAN, FULL, INFERENCE, LEVEL1_GOAL, LevelInference, MethodScore, ensemble_name, goals_table, run,
                                segment_config,
                                         uniform_inference)
from hypseg.cli.app import app
from hypseg.config import smoke_recipe
from hypseg.inference.pooling import purity_weights
from hypseg.metrics import paired_interval


def _score(name, values, seeds=1):
    return MethodScore(name, {level: [v] * seeds for level, v in zip((1, 2, 3), values)}, 0.0, 0.0)


def _rows(text):
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines() if line.startswith("|")][2:]


def test_goals_table_holds_the_full_model_to_every_peer_the_euclidean_base_and_the_level1_bar():
    scores = [
        _score(FULL, (0.90, 0.60, 0.40), seeds=3),
        _score(EUCLIDEAN, (0.80, 0.62, 0.10), seeds=3),
        _score("hyperbolic base", (0.99, 0.99, 0.99), seeds=3),  # an ablation, neither peer nor rival
        _score("baseline: slic", (0.85, 0.50, 0.45)),
        _score("baseline: kmeans", (0.91, 0.40, 0.30)),
    ]
    rows = _rows(goals_table({"irregular": scores, "regular": scores}))
    irregular = [r[1:] for r in rows if r[0] == "irregular"]
    assert irregular == [
        ["L1", FULL, "0.900", "every peer; closest baseline: kmeans 0.910", "-0.010", "n/a", "not met (lead under 0.03)"],
        ["L1", FULL, "0.900", "euclidean base 0.800 (no goal here)", "+0.100", "n/a", "ahead"],
        ["L2", FULL, "0.600", "every peer; closest baseline: slic 0.500", "+0.100", "n/a", "met (no interval)"],
        ["L2", FULL, "0.600", "euclidean base 0.620 (no goal here)", "-0.020", "n/a", "behind"],
        ["L3", FULL, "0.400", "every peer; closest baseline: slic 0.450", "-0.050", "n/a", "not met (lead under 0.03)"],
        ["L3", FULL, "0.400", "euclidean base 0.100 (no goal here)", "+0.300", "n/a", "ahead"],
    ]
    regular = [r[1:] for r in rows if r[0] == "regular"]
    assert regular[:2] == irregular[:2] and regular[3:] == irregular[2:]
    assert regular[2] == ["L1", FULL, "0.900", f"goal {LEVEL1_GOAL:.2f}", f"{0.90 - LEVEL1_GOAL:+.3f}", "n/a", "met"]


def test_goals_table_asks_the_lead_over_every_peer_and_names_the_first_other_that_fails_it():
    def lead(peer_scores):
        scores = [_score(FULL, (0.9, 0.8, 0.7))] + [_score(f"baseline: {n}", v) for n, v in peer_scores]
        return [(r[1], r[5], r[7]) for r in _rows(goals_table({"shepp-logan": scores}))]

    assert lead([("gmm", (0.5, 0.5, 0.5))]) == [(f"L{l}", m, "met (no interval)") for l, m in ((1, "+0.400"), (2, "+0.300"), (3, "+0.200"))]
    assert lead([("gmm", (0.88, 0.5, 0.5))])[0] == ("L1", "+0.020", "not met (lead under 0.03)")  # a lead, not enough of one
    assert lead([("gmm", (0.87, 0.5, 0.5))])[0] == ("L1", "+0.030", "met (no interval)")  # exactly the lead asked, as shown
    full = np.linspace(0.5, 0.9, 20)

    def level1(name, per_volume, seeds=1):  # the same scores at the phantom's three levels
        return MethodScore(name, {l: [float(np.mean(per_volume))] * seeds for l in (1, 2, 3)}, 0.0, 0.0,
                           {l: tuple(per_volume) for l in (1, 2, 3)})

    slic = full - 0.04  # the closest peer: 0.04 behind on every volume
    gmm = full[::-1] - 0.06  # further behind on average, but volume by volume anything from -0.46 to +0.34
    low, high = paired_interval(full, gmm)
    assert low <= 0 <= high
    row = _rows(goals_table({"shepp-logan": [level1(FULL, full, 3), level1("baseline: slic", slic), level1("baseline: gmm", gmm)]}))[0]
    low, high = paired_interval(full, slic)
    assert row[4:] == ["every peer; closest baseline: slic 0.660", "+0.040", f"[{low:+.3f}, {high:+.3f}]",
                       "not met (against baseline: gmm +0.060: within noise)"]
    row = _rows(goals_table({"shepp-logan": [level1(FULL, full, 3), level1("baseline: slic", slic)]}))[0]
    assert row[7] == "met" and low > 0
    row = _rows(goals_table({"shepp-logan": [level1(FULL, full, 3), level1("baseline: gmm", gmm)]}))[0]  # the closest alone
    assert row[5] == "+0.060" and row[7] == "not met (within noise)"  # a lead of 0.06 that 20 volumes cannot resolve


def test_goals_table_holds_the_ensemble_to_the_peers_and_the_euclidean_ensemble_but_not_the_bar():
    scores = [
        _score(FULL, (0.80, 0.60, 0.40), seeds=3),
        _score(ensemble_name(FULL, 3), (0.85, 0.60, 0.40)),
        _score(EUCLIDEAN, (0.95, 0.50, 0.30), seeds=3),  # the single models' rival only
        _score(ensemble_name(EUCLIDEAN, 3), (0.82, 0.61, 0.30)),
        _score("baseline: slic", (0.81, 0.55, 0.45)),
    ]
    rows = _rows(goals_table({"regular": scores}))
    ensemble = [r[3:] for r in rows if r[2] == ensemble_name(FULL, 3)]
    assert ensemble == [
        ["0.850", "every peer; closest baseline: slic 0.810", "+0.040", "n/a", "met (no interval)"],
        ["0.850", f"{ensemble_name(EUCLIDEAN, 3)} 0.820 (no goal here)", "+0.030", "n/a", "ahead"],
        ["0.600", "every peer; closest baseline: slic 0.550", "+0.050", "n/a", "met (no interval)"],
        ["0.600", f"{ensemble_name(EUCLIDEAN, 3)} 0.610 (no goal here)", "-0.010", "n/a", "behind"],
        ["0.400", "every peer; closest baseline: slic 0.450", "-0.050", "n/a", "not met (lead under 0.03)"],
        ["0.400", f"{ensemble_name(EUCLIDEAN, 3)} 0.300 (no goal here)", "+0.100", "n/a", "ahead"],
    ]
    assert [r[4] for r in rows if r[4].startswith("goal")] == [f"goal {LEVEL1_GOAL:.2f}"]  # the single models' only


def test_goals_table_gives_each_margin_its_paired_interval_and_says_when_it_holds_zero():
    rng = np.random.default_rng(0)
    hardness = rng.uniform(-0.2, 0.2, 20)
    full = 0.70 + hardness + rng.normal(0, 0.005, 20)  # 0.05 ahead of SLIC on every volume at L1
    slic = {1: 0.65 + hardness, 2: full + rng.normal(0, 0.05, 20), 3: full + rng.normal(0, 0.05, 20)}

    def score(name, per_volume, seeds):
        return MethodScore(name, {l: [float(np.mean(v))] * seeds for l, v in per_volume.items()}, 0.0, 0.0,
                           {l: tuple(v) for l, v in per_volume.items()})

    scores = [score(FULL, {1: full, 2: full, 3: full}, 3), score("baseline: slic", slic, 1), score(EUCLIDEAN, slic, 3)]
    rows = _rows(goals_table({"regular": scores}))
    peers = {r[1]: r for r in rows if r[4].startswith("every peer")}
    euclidean = {r[1]: r for r in rows if r[4].startswith(EUCLIDEAN)}
    for level in (1, 2, 3):
        low, high = paired_interval(full, slic[level])
        assert peers[f"L{level}"][6] == euclidean[f"L{level}"][6] == f"[{low:+.3f}, {high:+.3f}]"
    assert peers["L1"][7] == "met" and euclidean["L1"][7] == "ahead"  # the lead is far outside the noise of 20 volumes
    for level in ("L2", "L3"):  # the same scores plus noise: no lead either way that the volumes resolve
        low, high = (float(x) for x in peers[level][6].strip("[]").split(","))
        assert low <= 0 <= high and euclidean[level][7].endswith(" (within noise)")
        assert peers[level][7] == "not met (lead under 0.03, within noise)"
    (bar,) = [r for r in rows if r[4].startswith("goal")]
    low, high = paired_interval(full, LEVEL1_GOAL)
    assert bar[6] == f"[{low:+.3f}, {high:+.3f}]" and bar[7] == "not met"  # 0.70 against 0.90, far below


def test_tiny_run_of_two_sets_writes_every_table(tmp_path, capsys):
    out = tmp_path / "quality.md"
    inference = {1: LevelInference((8,), 125, pooled=False), 2: LevelInference((4,), None, pooled=True),
                 3: LevelInference((8,), 500, pooled=True, purity_power=8.0)}
    run(repeats=1, volumes=6, sets=("irregular", "shepp-logan"), recipe=smoke_recipe(), shape=24, out=out,
        inference=inference)
    text = out.read_text()
    assert ("inference L1 p = 8, 125-voxel supervoxels, per volume; L2 p = 4, every voxel, pooled; "
            "L3 p = 8, 500-voxel supervoxels (purity^8 means), pooled") in text
    assert "Set 'irregular'" in text and "Set 'shepp-logan'" in text and text.count("Goals (issue 17)") == 1
    for name in ("irregular", "shepp-logan"):
        section = text.split(f"Set {name!r}")[1].split("\n\n")[1]
        methods = [r[0] for r in _rows(section)]
        assert methods == [EUCLIDEAN, FULL] + [f"baseline: {b}" for b in quality.BASELINES]
        for row in _rows(section):
            dice = [float(re.match(r"[0-9.]+", cell).group()) for cell in row[1:4]]
            assert all(0.0 <= d <= 1.0 for d in dice)
    goals = _rows(text.split("Goals (issue 17)")[1])
    assert [(r[0], r[1]) for r in goals] == [(s, f"L{l}") for s in ("irregular", "shepp-logan") for l in (1, 2, 3) for _ in range(2)]
    assert quality.render_saved(quality.saved_path(out)) == text  # the saved scores rebuild the same tables
    phrase = "; the finer levels' codes averaged with their point-inverted patches'"
    saved = json.loads(quality.saved_path(out).read_text())
    assert saved["inversion"] == quality.INVERSION == "finer" and text.count(phrase) == 2  # L2's side 4 is averaged
    unaveraged = tmp_path / "unaveraged.json"
    unaveraged.write_text(json.dumps(saved | {"inversion": "none"}))
    assert quality.render_saved(unaveraged) == text.replace(phrase, "")  # the title follows the run's own inversion
    elsewhere = tmp_path / "rendered" / "again.md"
    elsewhere.parent.mkdir()
    subprocess.run([sys.executable, "-m", "benchmarks.bench_quality", "--render", str(quality.saved_path(out)),
                    "--out", str(elsewhere)], check=True, capture_output=True, cwd=Path(__file__).parents[2])
    assert elsewhere.read_text() == text  # the command line's re-render goes to --out when it is given
    printed = capsys.readouterr().out
    assert all(part in printed for part in text.split("\n\n"))


def test_small_cells_are_the_regular_scenes_at_half_size_and_not_in_a_plain_run():
    from hypseg.data.synthetic_config import SyntheticConfig

    assert quality.set_generator("regular") == SyntheticConfig()
    assert quality.set_generator("small-cells") == SyntheticConfig().with_object_scale(0.5)
    assert quality.set_generator("small-cells", 24) == SyntheticConfig.scaled(24).with_object_scale(0.5)
    assert quality.SETS["small-cells"].kind == "regular" and "small-cells" not in quality.DEFAULT_SETS
    assert inspect.signature(run).parameters["sets"].default == quality.DEFAULT_SETS


def test_unknown_set_is_refused():
    with pytest.raises(ValueError, match=re.escape("unknown quality set(s) ['nope']; choose from ['crowded', 'irregular', 'regular', 'shepp-logan', 'small-cells']")):
        run(sets=("regular", "nope"))


def test_cli_unknown_set_exits_2_with_one_line():
    result = CliRunner().invoke(app, ["bench", "quality", "--set", "nope"])
    assert result.exit_code == 2
    assert "unknown quality set(s) ['nope']" in result.output


def test_cli_an_out_file_that_the_scores_would_overwrite_exits_2_before_any_run(tmp_path):
    out = tmp_path / "quality.json"
    result = CliRunner().invoke(app, ["bench", "quality", "--set", "regular", "--out", str(out)])
    assert result.exit_code == 2
    assert result.output.strip().endswith(f"--out {out} would be overwritten by the scores kept beside the tables "
                                          f"(<out>.json); name the tables' file, e.g. {tmp_path / 'quality.md'}")
    assert list(tmp_path.iterdir()) == []


def test_unknown_ablation_is_refused():
    with pytest.raises(ValueError, match=re.escape("unknown ablation(s) ['nope']; choose from")):
        run(sets=("regular",), ablations=("nope",))


def test_uniform_inference_keeps_each_levels_pooling():
    uniform = uniform_inference([10], None)
    assert uniform == {level: LevelInference((10,), None, INFERENCE[level].pooled, INFERENCE[level].purity_power, INFERENCE[level].in_object,
                                             INFERENCE[level].space, refine=INFERENCE[level].refine,
                                             voxel_band=INFERENCE[level].voxel_band, field_retry=INFERENCE[level].field_retry,
                                             contrast_sides=INFERENCE[level].contrast_sides,
                                             contrast_components=INFERENCE[level].contrast_components,
                                             contrast_divides=INFERENCE[level].contrast_divides,
                                             contrast_assign=INFERENCE[level].contrast_assign,
                                             contrast_grow=INFERENCE[level].contrast_grow,
                                             contrast_feature=INFERENCE[level].contrast_feature,
                                             band_sides=INFERENCE[level].band_sides, band_feature=INFERENCE[level].band_feature)
                       for level in INFERENCE}
    assert {how.space for how in INFERENCE.values()} == {"tangent"}  # the default preset's


def test_segment_config_takes_the_settings_one_clustering_space():
    levels = {1: 2, 2: 4}
    config = segment_config(INFERENCE, levels, seed=3)
    assert config.space == "tangent" and config.seed == 3 and config.clusters == [2, 4]
    mixed = {1: INFERENCE[1], 2: dataclasses.replace(INFERENCE[2], space="ball")}
    with pytest.raises(ValueError, match=re.escape("one clustering space for every level, got ['ball', 'tangent']")):
        segment_config(mixed, levels, seed=0)
    assert INFERENCE[1].describe().endswith(", in the tangent space, voxels within 2 of its boundary deciding alone by box means at side 5, "
                                            "again with 3 clusters where its object lies in no field of view, "
                                            "where that finds none either voxel by voxel on box means at side 3 minus side 10 by a tied "
                                            "Gaussian mixture of 3 components, the finer levels there dividing the specimen, "
                                            "its boundary refined by intensity (2 passes), local contrast's object then "
                                            "grown by 1 voxel")
    assert config.refine == INFERENCE[1].refine == 2 and config.voxel_band == INFERENCE[1].voxel_band == 2  # the first level's
    assert config.field_retry == INFERENCE[1].field_retry == 3
    assert config.contrast_sides == INFERENCE[1].contrast_sides == (3, 10)
    assert config.contrast_feature == INFERENCE[1].contrast_feature == "intensity"
    assert config.contrast_components == INFERENCE[1].contrast_components == 3
    assert config.contrast_divides == INFERENCE[1].contrast_divides == "specimen"
    assert config.contrast_grow == INFERENCE[1].contrast_grow == 1 and config.contrast_assign == "posterior"
    flat = {level: dataclasses.replace(how, in_object=False) for level, how in INFERENCE.items()}
    assert not flat[1].describe().endswith(")")  # no containment, no object: nothing is said to be refined


def test_missing_level_settings_are_refused():
    with pytest.raises(ValueError, match=re.escape("inference settings missing for level(s) [3]")):
        run(sets=("regular",), inference={level: INFERENCE[level] for level in (1, 2)})


def test_level_inference_describes_itself():
    assert LevelInference((5, 10), 500, pooled=True).describe() == "p = 5 x 10, 500-voxel supervoxels, pooled"
    assert LevelInference((10,), None, pooled=False).describe() == "p = 10, every voxel, per volume"
    assert (LevelInference((5,), 500, pooled=True, purity_power=8.0).describe()
            == "p = 5, 500-voxel supervoxels (purity^8 means), pooled")


def test_level_inference_weights_are_purity_powers_only_when_asked():
    segments = [np.repeat(np.arange(4), 16).reshape(4, 4, 4)]
    assert LevelInference((5,), 500, pooled=True).weights(segments) is None
    assert LevelInference((5,), 500, pooled=True, purity_power=2.0).weights(None) is None
    (weights,) = LevelInference((3,), 500, pooled=True, purity_power=2.0).weights(segments)
    np.testing.assert_allclose(weights, purity_weights(segments[0], (3,), 2.0))


def test_two_seeds_add_an_ensemble_row_per_learned_model_and_its_goals(tmp_path):
    inference = {1: LevelInference((8,), 125, pooled=False), 2: LevelInference((4,), 125, pooled=True, purity_power=8.0),
                 3: LevelInference((4,), 125, pooled=True, purity_power=8.0)}
    scores = quality.score_set("irregular", repeats=2, volumes=6, recipe=smoke_recipe(), workdir=tmp_path, shape=24,
                               inference=inference)
    by_name = {s.name: s for s in scores}
    assert [s.name for s in scores][:4] == [EUCLIDEAN, ensemble_name(EUCLIDEAN, 2), FULL, ensemble_name(FULL, 2)]
    for method in (EUCLIDEAN, FULL):
        single, joined = by_name[method], by_name[ensemble_name(method, 2)]
        assert all(len(single.dice[level]) == 2 and len(joined.dice[level]) == 1 for level in (1, 2, 3))
        assert all(0.0 <= joined.mean(level) <= 1.0 for level in (1, 2, 3))
        assert joined.train_minutes == pytest.approx(2 * single.train_minutes)  # both seeds' training
        for level in (1, 2, 3):  # one score per test volume; the seeds' per-volume mean averages to their mean
            assert len(single.per_volume[level]) == len(joined.per_volume[level]) == 1
            assert np.mean(single.per_volume[level]) == pytest.approx(single.mean(level))
            assert np.mean(joined.per_volume[level]) == pytest.approx(joined.mean(level))
    text = quality.set_table("irregular", scores, volumes=6, repeats=2, inference=inference)
    assert "an 'ensemble of 2 seeds' row clusters the 2 models' embeddings side by side" in text
    plain = quality.set_table("irregular", scores, volumes=6, repeats=2, inference=inference, ensemble=False)
    assert "ensemble" not in plain.splitlines()[0]  # the title
    goals = _rows(goals_table({"irregular": scores}))
    assert [r[2] for r in goals] == [FULL] * 6 + [ensemble_name(FULL, 2)] * 6  # the peers and the Euclidean rival, per level
    assert [r[4] for r in goals[7::2]] == [f"{ensemble_name(EUCLIDEAN, 2)} {by_name[ensemble_name(EUCLIDEAN, 2)].mean(level):.3f} (no goal here)"
                                          for level in (1, 2, 3)]
    # what a resumed run reads back (benchmarks.partial) is exactly what score_set returned
    assert [MethodScore.from_json(json.loads(json.dumps(s.to_json()))) for s in scores] == scores


def test_an_ensemble_of_one_model_twice_scores_like_the_model():
    """Two copies of one embedding on a product of balls (or one doubled Euclidean vector) only scale
    every distance by sqrt(2): the clusters, and so the DICE, stay those of the single embedding."""
    rng = np.random.default_rng(0)
    truth = np.zeros((12, 12, 12), dtype=np.uint8)
    truth[2:10, 2:10, 2:10] = 1
    truth[4:8, 4:8, 4:8] = 2
    volumes = 3
    z, y, x = np.indices(truth.shape) // 2
    segments = {8: [z * 36 + y * 6 + x] * volumes}  # 2^3 cubes, which the classes' edges follow
    embeddings = []
    for _ in range(volumes):
        points = np.stack([truth * 0.3, (truth == 2) * 0.3], axis=-1) - 0.2 + rng.normal(0, 0.05, (12, 12, 12, 2))
        embeddings.append(points.astype(np.float32))
    truths = [{1: (truth > 0).astype(np.uint8), 2: truth}] * volumes
    how = LevelInference((5,), 8, pooled=True, purity_power=8.0)
    weights = {how: how.weights(segments[8])}
    for variant in ("hyperbolic-gyro", "euclidean"):
        recipe = smoke_recipe()
        config = dataclasses.replace(recipe, model=dataclasses.replace(recipe.model, variant=variant))
        options = dict(seed=0, inference={1: how, 2: how}, segments=segments, weights=weights)
        single = quality.score_embeddings({(5,): embeddings}, config, truths, {1: 2, 2: 3}, **options)
        twice = quality.score_embeddings({(5,): [np.concatenate([e, e], axis=-1) for e in embeddings]}, config, truths,
                                         {1: 2, 2: 3}, members=2, **options)
        assert all(len(v) == volumes for v in single.values())  # one score per volume
        assert min(min(v) for v in single.values()) > 0.9
        assert twice.keys() == single.keys()
        assert all(twice[level] == pytest.approx(single[level]) for level in single)


def test_containment_fills_level_1s_object_and_clusters_the_finer_levels_inside_it():
    """An organelle that looks like the background: alone it is lost to the background's cluster at
    every level; inside the level-1 object it is part of the cell at level 1 and a cluster of its own below."""
    rng = np.random.default_rng(1)
    truth = np.zeros((12, 12, 12), dtype=np.uint8)
    truth[2:10, 2:10, 2:10] = 1  # the cell (the 2^3 supervoxels follow its edges)
    truth[4:8, 4:8, 4:8] = 2  # an organelle, embedded like the background
    z, y, x = np.indices(truth.shape) // 2
    segments = {8: [z * 36 + y * 6 + x] * 2}
    looks_outside = (truth != 1)[..., None]
    embeddings = [(np.where(looks_outside, [-0.3, 0.0], [0.3, 0.0]) + rng.normal(0, 0.02, truth.shape + (2,))).astype(np.float32)
                  for _ in range(2)]
    truths = [{1: (truth > 0).astype(np.uint8), 2: truth}] * 2
    plain = LevelInference((5,), 8, pooled=True)
    contained = dataclasses.replace(plain, in_object=True)
    config, levels = smoke_recipe(), {1: 2, 2: 3}
    options = dict(seed=0, segments=segments, weights={})
    alone = quality.score_embeddings({(5,): embeddings}, config, truths, levels, inference={1: plain, 2: plain}, **options)
    inside = quality.score_embeddings({(5,): embeddings}, config, truths, levels, inference={1: contained, 2: contained}, **options)
    assert max(alone[1]) < 0.99 and inside[1] == pytest.approx([1.0, 1.0])  # the hole is filled
    # level 2: the outside stays one cluster, and the object's two clusters are the cell and the organelle
    assert max(alone[2]) < 0.7 and inside[2] == pytest.approx([1.0, 1.0])
    with pytest.raises(ValueError, match=re.escape("levels inside the level-1 object need level 1 among the levels")):
        quality.score_embeddings({(5,): embeddings}, config, truths, {2: 3}, inference={2: contained}, **options)


def test_a_baseline_in_the_level1_object_scores_its_object_and_its_clusters_inside():
    from hypseg.baselines import make_baseline
    from hypseg.inference.hierarchy import level1_object
    from hypseg.metrics import matched_dice

    rng = np.random.default_rng(2)
    truth = np.zeros((16, 16, 16), dtype=np.uint8)
    truth[3:13, 3:13, 3:13] = 1
    truth[6:10, 6:10, 6:10] = 2  # as dark as the outside
    volume = np.where(truth == 1, 1.0, 0.0) + np.where(truth == 2, 0.1, 0.0) + rng.normal(0, 0.05, truth.shape)
    truths = [{1: (truth > 0).astype(np.uint8), 2: truth}]
    peer = make_baseline("kmeans")
    scores = quality.baseline_in_object(peer, [volume], truths, {1: 2, 2: 3})
    obj = level1_object(peer.segment(volume, 2))
    assert scores[1] == [pytest.approx(matched_dice(obj.astype(int), truths[0][1]).mean)] and scores[1][0] == pytest.approx(1.0)
    inner = peer.segment(volume, 2, mask=obj)
    assert scores[2] == [pytest.approx(matched_dice(inner, truth).mean)] and scores[2][0] > 0.95
    alone = matched_dice(peer.segment(volume, 3), truth).mean  # without containment the dark organelle joins the outside
    assert alone < scores[2][0]


def test_a_baselines_level1_object_is_refined_as_the_learned_models_are():
    from hypseg.baselines import make_baseline
    from hypseg.inference.hierarchy import level1_object
    from hypseg.metrics import matched_dice

    z, y, x = np.indices((24, 24, 24))
    truth = ((z - 12) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 <= 49).astype(np.uint8)
    volume = ndimage.gaussian_filter(truth.astype(float), 2.0) + np.random.default_rng(4).normal(0, 0.02, truth.shape)
    peer = make_baseline("slic")  # whole supervoxels: an edge to refine
    found = peer.segment(volume, 2)
    scores = {passes: quality.baseline_in_object(peer, [volume], [{1: truth}], {1: 2}, refine=passes)[1][0] for passes in (0, 2)}
    for passes, score in scores.items():
        assert score == pytest.approx(matched_dice(level1_object(found, volume=volume, refine=passes).astype(int), truth).mean)
    assert scores[2] != scores[0]


def test_containment_gives_every_baseline_a_row_in_the_object_that_the_goals_face(tmp_path, monkeypatch):
    # as the recipe: level 2 per volume and level 3 pooled, with the same purity weights
    inference = {1: LevelInference((8,), 125, pooled=False, in_object=True),
                 2: LevelInference((4,), 125, pooled=False, purity_power=8.0, in_object=True),
                 3: LevelInference((4,), 125, pooled=True, purity_power=8.0, in_object=True)}
    weighed = []
    purity_weights = quality.purity_weights
    monkeypatch.setattr(quality, "purity_weights", lambda *a: weighed.append(a) or purity_weights(*a))
    scores = quality.score_set("irregular", repeats=1, volumes=6, recipe=smoke_recipe(), workdir=tmp_path, shape=24,
                               inference=inference, ablations=(FULL,))
    assert len(weighed) == 1  # one test volume, one weighting shared by levels 2 and 3
    names = [s.name for s in scores]
    assert names == [FULL] + [f"baseline: {b}" for b in quality.BASELINES] + [f"baseline: {b}{quality.IN_OBJECT}" for b in quality.BASELINES]
    assert all(0.0 <= s.mean(level) <= 1.0 and len(s.per_volume[level]) == 1 for s in scores for level in (1, 2, 3))
    contained = [s for s in scores if s.name.endswith(quality.IN_OBJECT)]
    rows = _rows(goals_table({"irregular": scores}))
    for row, level in zip(rows, (1, 2, 3)):
        best = max(scores[1:], key=lambda s: s.mean(level))
        assert row[4] == f"every peer; closest {best.name} {best.mean(level):.3f}"  # the peers include the contained ones
    assert len(contained) == len(quality.BASELINES)


def test_a_baseline_object_smaller_than_its_clusters_leaves_everything_outside():
    from hypseg.baselines import make_baseline

    volume = np.random.default_rng(3).normal(0, 0.01, (10, 10, 10))
    volume[5, 5, 5] = 10.0  # level 1's object: one voxel, too few for 7 clusters inside
    truth = np.zeros((10, 10, 10), dtype=np.uint8)
    truth[5, 5, 5] = 1
    scores = quality.baseline_in_object(make_baseline("kmeans"), [volume], [{1: truth, 3: truth}], {1: 2, 3: 8})
    assert scores[1] == [pytest.approx(1.0)]
    assert scores[3] == [pytest.approx((2 * 999 / 1999 + 0.0) / 2)]  # all outside: the object scores 0


def test_level_weights_are_computed_once_per_weighting(monkeypatch):
    segments = {8: [np.arange(64).reshape(4, 4, 4) // 8]}
    per_volume = LevelInference((3,), 8, pooled=False, purity_power=8.0)
    pooled = LevelInference((3,), 8, pooled=True, purity_power=8.0)
    other = LevelInference((3,), 8, pooled=True, purity_power=2.0)
    plain = LevelInference((3,), 8, pooled=False)
    calls = []
    purity_weights = quality.purity_weights
    monkeypatch.setattr(quality, "purity_weights", lambda *a: calls.append(a[2]) or purity_weights(*a))
    weights = quality.level_weights([per_volume, pooled, other, plain, pooled], segments)
    assert sorted(calls) == [2.0, 8.0] and weights[plain] is None
    assert weights[per_volume] is weights[pooled]
    np.testing.assert_allclose(weights[other][0], per_volume.weights(segments[8])[0] ** 0.25, rtol=1e-5)


def test_a_seed_whose_training_collapsed_is_named_under_its_sets_table_and_kept_in_the_saved_scores(tmp_path, monkeypatch):
    from helpers import kill_encoders_of

    kill_encoders_of({0}, monkeypatch)
    out = tmp_path / "quality.md"
    inference = {level: dataclasses.replace(how, contrast_sides=())  # the smoke model embeds at its own side only
                 for level, how in uniform_inference((8,), 125).items()}
    run(repeats=1, volumes=6, sets=("irregular",), recipe=smoke_recipe(), shape=16, out=out, inference=inference,
        ablations=(FULL,))
    text = out.read_text()
    assert f"\n\n- {FULL}: seed 0 collapsed in training; its model trained again with seed 1000\n" in text
    assert quality.render_saved(quality.saved_path(out)) == text
    full = json.loads(quality.saved_path(out).read_text())["sets"]["irregular"][0]
    assert full["retried"] == [[0, 1000]] and MethodScore.from_json(full).retried == ((0, 1000),)
    older = {key: value for key, value in full.items() if key != "retried"}  # saved before seeds were recorded
    assert MethodScore.from_json(older).retried == ()


def test_particle_f1_scores_the_cluster_holding_most_particle_voxels():
    truth = np.zeros((1, 1, 10), dtype=int)
    truth[0, 0, :3] = 1  # three particle voxels
    two = np.array([[[1, 1, 0, 0, 0, 0, 0, 0, 0, 0]]])  # holds two of three, all its voxels particles
    spread = np.array([[[1, 2, 2, 0, 0, 0, 0, 0, 0, 0]]])  # cluster 2 holds two of three in its two voxels
    found = quality.particle_f1({1: [two], 2: [spread]}, [{1: truth}])
    assert found[1] == [pytest.approx(2 * 1.0 * (2 / 3) / (1.0 + 2 / 3))]
    assert found[2] == found[1]
    assert quality.particle_f1({1: [np.zeros((1, 1, 10), dtype=int)]}, [{1: truth}])[1] == [pytest.approx(2 * 0.3 / 1.3)]


def test_particle_centres_are_each_particles_deepest_voxel_and_the_centre_f1_counts_them():
    truth = np.zeros((1, 7, 12), dtype=int)
    truth[0, 1:6, 1:6] = 1  # a 5 x 5 particle, centre (0, 3, 3)
    truth[0, 2:5, 8:11] = 1  # a 3 x 3 particle, centre (0, 3, 9)
    assert sorted(map(tuple, quality.particle_centres(truth > 0).tolist())) == [(0, 3, 3), (0, 3, 9)]
    small = np.where((truth > 0) & (np.arange(12) >= 7), 0, 1)  # cluster 0: one centre of two in 9 particle voxels
    found = quality.particle_centre_f1({1: [small]}, [{1: truth}])[1]
    assert found == [pytest.approx(2 * 1.0 * 0.5 / 1.5)]  # each cluster holds one centre: the lower label, 0
    halves = np.where(np.arange(12) < 7, 1, 0)[None, None].repeat(7, 1)  # one particle, and one centre, on each side
    precision = 9 / 35  # cluster 0, the lower label: the 3 x 3 particle's side, 35 voxels
    assert quality.particle_centre_f1({1: [halves]}, [{1: truth}])[1] == [pytest.approx(2 * precision * 0.5 / (precision + 0.5))]


def test_a_crowded_run_adds_the_particle_f1_table_and_keeps_it_in_the_saved_scores(tmp_path):
    out = tmp_path / "quality.md"
    inference = {level: dataclasses.replace(how, contrast_sides=())  # the smoke model embeds at its own side only
                 for level, how in uniform_inference((8,), 125).items()}
    run(repeats=1, volumes=6, sets=("crowded",), recipe=smoke_recipe(), shape=24, out=out, inference=inference,
        ablations=(FULL,), ensemble=False)
    text = out.read_text()
    assert "The F1 of the cluster holding most particle voxels (the tomogram's score" in text
    full = MethodScore.from_json(json.loads(quality.saved_path(out).read_text())["sets"]["crowded"][0])
    assert sorted(full.object_f1) == [1, 2, 3] and all(0 <= f <= 1 for f1 in full.object_f1.values() for f in f1)
    row = [r for r in _rows(text.split("The F1 of the cluster")[1]) if r[0] == FULL][0]
    assert row[1:] == [f"{np.mean(full.object_f1[level]):.3f}" for level in (1, 2, 3)]
    assert quality.render_saved(quality.saved_path(out)) == text


def test_the_benchmark_inverts_the_codes_at_the_sides_hypseg_segment_would():
    """quality.inverted follows the scored inference's own levels as SegmentConfig.inverts does for hypseg segment."""
    from benchmarks import quality
    from hypseg.config import segment_preset

    default = segment_preset("default")
    for sides in ((5,), (10,)):
        assert quality.inverted(sides) == default.inverts(sides)
    assert quality.inverted((5,)) and not quality.inverted((10,))
    same_side = quality.uniform_inference((5,), 500)  # level 1 reads the finer levels' side: none inverted
    assert not quality.inverted((5,), inference=same_side) and not default.at_patch_sides((5,)).inverts((5,))
    assert quality.inverted((5,), "every", inference=same_side)
