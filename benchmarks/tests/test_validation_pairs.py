"""validation_pairs: reading the sections back and pairing their per-volume scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import validation_pairs as vp
from hypseg.metrics import paired_interval


def _section(name, recipe, twin=None):
    lines = [f"## {name}", "", "`command`", "", "```", json.dumps({"training_seed": 0}),
             json.dumps({"inference": "recipe (quality.INFERENCE)", "dice": [0.0], "dice_per_volume": recipe})]
    if twin is not None:
        lines.append(json.dumps({"intensity_twin": "recipe on box means", "dice_per_volume": twin}))
    return "\n".join(lines + ["```", ""])


RNG = np.random.default_rng(0)
A, B, T = (RNG.random((2, 12)).round(4) for _ in range(3))
as_json = lambda x: {"1": x[0].tolist(), "2": x[1].tolist()}  # noqa: E731


def test_every_section_is_paired_against_the_base_volume_by_volume():
    found = vp.sections(_section("default-0", as_json(A)) + _section("change-0", as_json(B)))
    rows = vp.against_base(found, "default-0")
    assert [row[:2] for row in rows] == [["change-0", "L1"], ["change-0", "L2"]]
    low, high = paired_interval(B[1], A[1])
    assert rows[1][2:] == [f"{A[1].mean():.3f}", f"{B[1].mean():.3f}", f"{np.mean(B[1] - A[1]):+.3f} [{low:+.3f}, {high:+.3f}]"]
    with pytest.raises(ValueError, match=r"^no section 'nope'; the sections are \['change-0', 'default-0'\]$"):
        vp.against_base(found, "nope")


def test_the_twin_summary_averages_a_sets_seeds_per_volume_before_pairing():
    found = vp.sections(_section("regular-0", as_json(A), as_json(T)) + _section("regular-1", as_json(B), as_json(T)))
    rows = vp.twin_summary(found)
    model = (A[0] + B[0]) / 2
    low, high = paired_interval(model, T[0])
    assert rows[0] == ["regular", "0, 1", "L1", f"{model.mean():.3f}", f"{T[0].mean():.3f}",
                       f"{np.mean(model - T[0]):+.3f} [{low:+.3f}, {high:+.3f}]"]
    other = vp.sections(_section("regular-0", as_json(A), as_json(T)) + _section("regular-1", as_json(B), as_json(A)))
    with pytest.raises(ValueError, match=r"^set 'regular': the intensity twin differs between sections at level 1$"):
        vp.twin_summary(other)


def test_a_section_without_a_twin_row_is_an_error():
    with pytest.raises(ValueError, match=r"^no twin row with per-volume scores$"):
        vp.twin_summary(vp.sections(_section("regular-0", as_json(A))))


def test_the_k_means_recipe_row_is_read_whatever_rows_come_before_it():
    mixture = json.dumps({"inference": "recipe (quality.INFERENCE)", "clusterer_levels_2_3": "tied-mixture",
                          "dice_per_volume": as_json(B)})
    older = json.dumps({"inference": "recipe (quality.INFERENCE)", "dice": [0.5, 0.5]})  # no per-volume scores
    text = _section("default-0", as_json(A)).replace("```\n{", f"```\n{older}\n{mixture}\n{{", 1)
    np.testing.assert_array_equal(vp.per_volume(vp.sections(text)["default-0"], vp.RECIPE)[2], A[1])
    with pytest.raises(ValueError, match=r"^no recipe row with per-volume scores$"):
        vp.per_volume([json.loads(older)], vp.RECIPE)


def test_sections_that_cannot_hold_the_same_volumes_are_not_paired():
    shorter = {"1": A[0][:10].tolist(), "2": A[1][:10].tolist()}
    found = vp.sections(_section("default-0", as_json(A)) + _section("change-0", shorter))
    with pytest.raises(ValueError, match=r"^sections 'change-0' and 'default-0' do not hold the same number of volumes$"):
        vp.against_base(found, "default-0")
    found = vp.sections(_section("default-0", as_json(A), as_json(T)) + _section("other-set-0", as_json(B), as_json(A)))
    with pytest.raises(ValueError, match=r"^sections 'other-set-0' and 'default-0' hold different volumes \(their intensity twins differ\)$"):
        vp.against_base(found, "default-0")


def test_badly_named_or_repeated_sections_are_errors():
    with pytest.raises(ValueError, match=r"^two sections are named 'regular-0'$"):
        vp.sections(_section("regular-0", as_json(A)) + _section("regular-0", as_json(B)))
    with pytest.raises(ValueError, match=r"^section 'regular' is not named <set>-<training seed>$"):
        vp.twin_summary(vp.sections(_section("regular", as_json(A), as_json(T))))


def test_settings_are_paired_over_the_seeds_both_ran_each_volume_averaged_first():
    C = RNG.random((2, 12)).round(4)
    found = vp.sections(_section("default-0", as_json(A)) + _section("default-1", as_json(B)) + _section("change-0", as_json(C))
                        + _section("change-1", as_json(A)) + _section("change-2", as_json(B)) + _section("other-5", as_json(C)))
    rows = vp.seeded_against_base(found, "default")
    assert [row[:3] for row in rows] == [["change", "0, 1", "L1"], ["change", "0, 1", "L2"]]  # seed 2 and 'other' unmatched
    run, base = (C[0] + A[0]) / 2, (A[0] + B[0]) / 2
    low, high = paired_interval(run, base)
    assert rows[0][3:] == [f"{base.mean():.3f}", f"{run.mean():.3f}", f"{np.mean(run - base):+.3f} [{low:+.3f}, {high:+.3f}]",
                           f"{np.mean(C[0] - A[0]):+.3f}, {np.mean(A[0] - B[0]):+.3f}"]
    assert vp.seeded_against_base(found, "default", only="change") == rows
    assert vp.seeded_against_base(found, "default", only="other") == []  # no seed in common with the base
    with pytest.raises(ValueError, match=r"^no setting 'nope'; the settings are \['change', 'default', 'other'\]$"):
        vp.seeded_against_base(found, "nope")


def test_the_inside_normalised_row_is_its_own_k_means_row_and_pairs_seed_by_seed():
    rows = [json.loads(line) for line in _section("inside-normalised-0", as_json(A)).splitlines() if line.startswith("{")]
    rows += [{"inside_normalised": "...", "clusterer_levels_2_3": "tied-mixture", "dice_per_volume": as_json(T)},
             {"inside_normalised": "...", "dice_per_volume": as_json(B)}]
    np.testing.assert_array_equal(vp.per_volume(rows, vp.INSIDE)[2], B[1])
    np.testing.assert_array_equal(vp.per_volume(rows, vp.RECIPE)[2], A[1])
    inside, recipe = vp.per_volume(rows, vp.INSIDE), vp.per_volume(rows, vp.RECIPE)
    level2 = vp.seeds_averaged([inside, recipe], [recipe, recipe])[1]  # two seeds: B - A, then no change
    assert level2[:3] == ["L2", f"{A[1].mean():.3f}", f"{(A[1] + B[1]).mean() / 2:.3f}"]
    assert level2[4] == f"{np.mean(B[1] - A[1]):+.3f}, +0.000"


def test_a_choice_row_is_paired_against_its_own_runs_recipe_row_seeds_averaged_per_volume():
    def run(name, recipe, banded):
        lines = _section(name, as_json(recipe)).splitlines()
        rows = [json.dumps({"inference": "recipe (quality.INFERENCE)", "voxel_band": band, "dice": [0.0],
                            "dice_per_volume": as_json(scores)}) for band, scores in banded.items()]
        return "\n".join(lines[:-1] + rows + lines[-1:]) + "\n\n"  # the choices after the recipe row, inside the block

    found = vp.sections(run("band-0", A, {1: B, 2: T}) + run("band-1", B, {1: T}))
    rows = vp.choice_against_recipe(found, "voxel_band")
    assert [row[:4] for row in rows] == [["band", "voxel_band 1", "0, 1", "L1"], ["band", "voxel_band 1", "0, 1", "L2"],
                                         ["band", "voxel_band 2", "0", "L1"], ["band", "voxel_band 2", "0", "L2"]]
    recipe, chosen = (A[1] + B[1]) / 2, (B[1] + T[1]) / 2
    low, high = paired_interval(chosen, recipe)
    assert rows[1][4:] == [f"{recipe.mean():.3f}", f"{chosen.mean():.3f}",
                           f"{np.mean(chosen - recipe):+.3f} [{low:+.3f}, {high:+.3f}]",
                           f"{np.mean(B[1] - A[1]):+.3f}, {np.mean(T[1] - B[1]):+.3f}"]
    with pytest.raises(ValueError, match=r"^no recipe row with 'voxel_band' in setting 'other'$"):
        vp.choice_against_recipe(found, "voxel_band", only="other")


def test_a_list_valued_choice_is_one_choice_named_by_its_items():
    lines = _section("band-sides-0", as_json(A)).splitlines()
    rows = [json.dumps({"inference": "recipe (quality.INFERENCE)", "band_sides": sides, "dice": [0.0],
                        "dice_per_volume": as_json(scores)}) for sides, scores in (([10], A), ([5], B), ([5, 10], T))]
    found = vp.sections("\n".join(lines[:-1] + rows + lines[-1:]) + "\n\n")
    rows = vp.choice_against_recipe(found, "band_sides")
    assert [row[1] for row in rows[::2]] == ["band_sides 5", "band_sides 5,10", "band_sides 10"]  # as numbers, not text
    assert [row[3] for row in rows] == ["L1", "L2"] * 3
    assert rows[0][5] == f"{B[0].mean():.3f}" and rows[2][5] == f"{T[0].mean():.3f}" and rows[4][5] == f"{A[0].mean():.3f}"


def test_sections_of_different_sets_are_neither_paired_nor_averaged_together():
    def of_set(name, recipe, seed):  # validation_split --data-seed prints the set's seed before any row
        head, rest = _section(name, as_json(recipe)).split("```\n", 1)
        return head + "```\n" + json.dumps({"data_seed": seed}) + "\n" + rest

    assert vp.data_seed(vp.sections(of_set("x-0", A, 3))["x-0"]) == 3
    assert vp.data_seed(vp.sections(_section("x-0", as_json(A)))["x-0"]) == 0  # written before the option: set 0
    found = vp.sections(_section("default-0", as_json(A)) + of_set("change-0", B, 1))
    with pytest.raises(ValueError, match=r"^sections 'change-0' and 'default-0' score different sets \(data seeds 1 and 0\)$"):
        vp.against_base(found, "default-0")
    found = vp.sections(_section("band-0", as_json(A)) + of_set("band-1", B, 1))
    with pytest.raises(ValueError, match=r"^setting 'band' mixes sections of different sets \(data seeds \[0, 1\]\)$"):
        vp.choice_against_recipe(found, "voxel_band")
    found = vp.sections(of_set("band-0", A, 1) + of_set("band-1", B, 1) + _section("default-0", as_json(T)))
    assert set(vp.by_prefix(found)) == {"band", "default"}  # one set per setting: each may differ from the others'


def test_a_choice_pairs_the_particles_f1_where_asked_and_where_the_rows_hold_it():
    lines = _section("divides-0", as_json(A)).splitlines()
    recipe = json.loads(lines[-2])
    lines[-2] = json.dumps(recipe | {"object_f1_per_volume": as_json(T)})
    row = {"inference": "recipe (quality.INFERENCE)", "contrast_divides": "specimen", "dice": [0.0],
           "dice_per_volume": as_json(A), "object_f1_per_volume": as_json(B)}
    found = vp.sections("\n".join(lines[:-1] + [json.dumps(row)] + lines[-1:]) + "\n\n")
    rows = vp.choice_against_recipe(found, "contrast_divides", score="object_f1")
    assert rows[0][4:6] == [f"{T[0].mean():.3f}", f"{B[0].mean():.3f}"]
    assert vp.choice_against_recipe(found, "contrast_divides")[0][6].startswith("+0.000")  # their DICE is the same
    lines[-2] = json.dumps(recipe | {"centre_f1_per_volume": as_json(B)})
    found = vp.sections("\n".join(lines[:-1] + [json.dumps(row | {"centre_f1_per_volume": as_json(T)})] + lines[-1:]) + "\n\n")
    rows = vp.choice_against_recipe(found, "contrast_divides", score="centre_f1")  # the particles' centres, the same way
    assert rows[0][4:6] == [f"{B[0].mean():.3f}", f"{T[0].mean():.3f}"]
    plain = vp.sections(_section("other-0", as_json(A)))
    with pytest.raises(ValueError, match=r"^the recipe row holds no per-volume object_f1$"):
        vp.per_volume(plain["other-0"], vp.RECIPE, "object_f1")


def test_a_choice_on_one_setting_leaves_out_the_sections_that_lack_its_score(tmp_path, capsys):
    row = {"inference": "recipe (quality.INFERENCE)", "contrast_grow": 0, "dice": [0.0], "dice_per_volume": as_json(A)}
    old = _section("grow-0", as_json(A)).splitlines()
    new = _section("centres-0", as_json(A)).splitlines()
    new[-2] = json.dumps(json.loads(new[-2]) | {"centre_f1_per_volume": as_json(T)})
    path = tmp_path / "results.md"
    path.write_text("\n".join(old[:-1] + [json.dumps(row)] + old[-1:]) + "\n\n"
                    + "\n".join(new[:-1] + [json.dumps(row | {"centre_f1_per_volume": as_json(B)})] + new[-1:]) + "\n\n")
    vp.main([str(path), "--choice", "contrast_grow", "--score", "centre_f1", "--only", "centres"])
    table = capsys.readouterr().out
    assert "| centres" in table and "| grow" not in table and f"{B[0].mean():.3f}" in table
    with pytest.raises(SystemExit):  # every setting: the old section's recipe row holds no centre F1
        vp.main([str(path), "--choice", "contrast_grow", "--score", "centre_f1"])
    assert capsys.readouterr().err.endswith("error: the recipe row holds no per-volume centre_f1\n")


def test_twin_split_rows_pair_each_mixture_against_its_runs_recipe_and_twin_seeds_averaged_per_volume():
    def run(name, recipe, twin, mixed):
        lines = _section(name, as_json(recipe), as_json(twin)).splitlines()
        recipe_row = json.loads(lines[6]) | {"object_f1_per_volume": as_json(1 - recipe)}  # the recipe's F1, not the twin's
        rows = [json.dumps({"twin_split": "level 1 on box means", "dice_per_volume": as_json(mixed),
                            "object_f1_per_volume": as_json(1 - mixed)}),
                json.dumps({"twin_split": "level 1 on box means", "clusterer_levels_2_3": "tied-mixture",  # not read
                            "dice_per_volume": as_json(recipe)})]
        return "\n".join(lines[:6] + [json.dumps(recipe_row)] + lines[7:-2] + rows + lines[-2:]) + "\n\n"

    found = vp.sections(run("twin-split-0", A, T, B) + run("twin-split-1", B, T, T) + _section("other-0", as_json(A)))
    rows = vp.twin_split_rows(found)
    assert [row[1:5] for row in rows] == [["level 1 on box means", against, "0, 1", level]
                                          for against in ("recipe", "twin") for level in ("L1", "L2")]
    for row, base in zip((rows[1], rows[3]), ((A[1] + B[1]) / 2, T[1])):  # level 2 against the recipe, the twin
        mixed = (B[1] + T[1]) / 2
        low, high = paired_interval(mixed, base)
        assert row[5:8] == [f"{base.mean():.3f}", f"{mixed.mean():.3f}",
                            f"{np.mean(mixed - base):+.3f} [{low:+.3f}, {high:+.3f}]"]
    assert rows[1][8] == f"{np.mean(B[1] - A[1]):+.3f}, {np.mean(T[1] - B[1]):+.3f}"
    # a score the twin's row lacks is paired against the recipe only, from the rows' own F1; one no row holds is an
    # error, and a section without split rows (other-0, which has no twin row either) is passed over
    f1 = vp.twin_split_rows(found, score="object_f1")
    assert [row[2] for row in f1] == ["recipe", "recipe"]
    recipe, mixed = 1 - (A[1] + B[1]) / 2, 1 - (B[1] + T[1]) / 2
    low, high = paired_interval(mixed, recipe)
    assert f1[1][5:8] == [f"{recipe.mean():.3f}", f"{mixed.mean():.3f}", f"{np.mean(mixed - recipe):+.3f} [{low:+.3f}, {high:+.3f}]"]
    with pytest.raises(ValueError, match=r"^no twin-split row with per-volume centre_f1$"):
        vp.twin_split_rows(found, score="centre_f1")
    with pytest.raises(ValueError, match=r"^no twin-split row with per-volume dice in setting 'other'$"):
        vp.twin_split_rows(found, only="other")
