"""The BraTS benchmark on fake cases in the BraTS layout: reading, split, scoring, the table, the CLI."""

from __future__ import annotations

import dataclasses
import itertools

import nibabel as nib
import numpy as np
import pytest
from typer.testing import CliRunner

from benchmarks import SPEED, SUITES, run_suite
from benchmarks.brats import NO_ROOT, PAPER_SPLIT, _load, brats_recipe, run, split_cases, whole_tumour_dice
from hypseg.cli.app import app
from hypseg.config import smoke_recipe
from hypseg.data import discover_cases, load_case, read_brats

SIDE = 32
TUMOUR_RADIUS = 7
BRAIN = (15.0, 17.0, 16.0)  # semi-axes (z, y, x)


def _write_case(root, name, rng):
    """A brain ellipsoid (FLAIR about 1) with a bright tumour (about 4) of labels 1, 2, 4; 0 outside."""
    case = root / name
    case.mkdir(parents=True)
    z, y, x = np.indices((SIDE,) * 3) - (SIDE - 1) / 2
    brain = (x / BRAIN[2]) ** 2 + (y / BRAIN[1]) ** 2 + (z / BRAIN[0]) ** 2 <= 1
    flair = 1.0 + rng.normal(0, 0.05, size=brain.shape)
    centre = rng.integers(-3, 4, size=3)
    r = np.sqrt((z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2)
    tumour = r <= TUMOUR_RADIUS
    flair[tumour] = 4.0 + rng.normal(0, 0.1, size=int(tumour.sum()))
    flair = np.where(brain, flair, 0).astype(np.float32)
    seg = np.select([r <= 2, r <= 3.5, tumour], [4, 1, 2], 0).astype(np.int16)  # enhancing, necrotic, oedema
    nib.save(nib.Nifti1Image(flair, np.eye(4)), str(case / f"{name}_flair.nii.gz"))
    nib.save(nib.Nifti1Image(seg, np.eye(4)), str(case / f"{name}_seg.nii.gz"))
    return flair, seg


@pytest.fixture(scope="module")
def brats_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("brats") / "HGG"
    rng = np.random.default_rng(0)
    for i in range(6):
        _write_case(root, f"BraTS19_FAKE_{i}_1", rng)
    return root


def _slow_whole_tumour_dice(labels, truth, mask):
    """Reference: explicit loops over clusters and every assignment of the two classes to two clusters."""
    labels, truth, mask = labels.ravel(), truth.ravel() > 0, mask.ravel().astype(bool)
    tumour_size = sum(1 for i in range(len(labels)) if mask[i] and truth[i])  # only the brain is scored
    brain = [i for i in range(len(labels)) if mask[i]]
    clusters = sorted({int(labels[i]) for i in brain})
    dice = {}
    for k in clusters:
        members = [i for i in brain if labels[i] == k]
        in_tumour = sum(1 for i in members if truth[i])
        background = sum(1 for i in brain if not truth[i])
        dice[k, 0] = 2 * (len(members) - in_tumour) / (len(members) + background)
        dice[k, 1] = 2 * in_tumour / (len(members) + tumour_size)
    if len(clusters) == 1:
        return dice[clusters[0], 1] if dice[clusters[0], 1] > dice[clusters[0], 0] else 0.0
    best = max(itertools.permutations(clusters, 2), key=lambda pair: dice[pair[0], 0] + dice[pair[1], 1])
    return dice[best[1], 1]


def test_reader_finds_the_cases_and_binarises_the_whole_tumour(brats_root):
    cases = discover_cases([brats_root.parent])
    assert [c.name for c in cases] == [f"BraTS19_FAKE_{i}_1" for i in range(6)]
    assert cases == read_brats(brats_root)
    flair, seg = _write_case(brats_root.parent / "other", "X", np.random.default_rng(1))
    assert set(np.unique(seg)) == {0, 1, 2, 4}
    loaded = load_case(read_brats(brats_root.parent / "other")[0])
    np.testing.assert_array_equal(loaded.truth["whole_tumour"], (seg > 0).T.astype(np.uint8))
    np.testing.assert_array_equal(loaded.mask, (flair > 0).T)


def test_whole_tumour_dice_agrees_with_the_slow_reference():
    rng = np.random.default_rng(2)
    for trial in range(20):
        shape = (4, 5, 6)
        truth = rng.choice([0, 1, 2, 4], size=shape, p=[0.6, 0.2, 0.1, 0.1])
        mask = rng.random(shape) < 0.85  # some tumour voxels fall outside the brain
        truth[0, 0, 0] = 1
        labels = rng.integers(0, 1 + trial % 4, size=shape) * 7 - 3  # 1 to 4 clusters, arbitrary ids
        assert whole_tumour_dice(labels, truth, mask) == pytest.approx(_slow_whole_tumour_dice(labels, truth, mask), abs=1e-12)


def test_a_perfect_clustering_scores_one_under_any_relabelling():
    rng = np.random.default_rng(3)
    truth = np.zeros((6, 6, 6), np.uint8)
    truth[1:4, 2:5, 2:4] = 1
    mask = np.ones(truth.shape, bool)
    mask[0] = False
    tissue = rng.integers(0, 2, size=truth.shape)  # background split in two clusters
    for ids in itertools.permutations([3, -1, 10]):
        labels = np.where(truth > 0, ids[2], np.where(tissue == 1, ids[0], ids[1]))
        assert whole_tumour_dice(labels, truth, mask) == 1.0


def test_whole_tumour_dice_by_hand():
    labels = np.array([1, 1, 2, 2, 2, 3, 3])
    truth = np.array([0, 0, 0, 1, 1, 1, 1])
    mask = np.array([True] * 6 + [False])
    # Voxel 6 lies outside the brain and is not scored: tumour T = {3, 4, 5}, brain without tumour B = {0, 1, 2}.
    # Cluster 1 -> B: 2*2/(2+3) = 0.8; cluster 2 -> T: 2*2/(3+3) = 2/3; cluster 3 -> T: 2*1/(1+3) = 0.5.
    assert whole_tumour_dice(labels, truth, mask) == pytest.approx(2 / 3)
    mostly_brain = np.array([0, 0, 0, 0, 1, 1, 1])  # in the brain |B| = 4 > |T| = 2
    assert whole_tumour_dice(np.zeros(7, int), mostly_brain, mask) == 0.0  # one cluster: it takes the brain
    with pytest.raises(ValueError, match="no tumour"):
        whole_tumour_dice(labels, np.zeros(7, int), mask)
    with pytest.raises(ValueError, match="one shape"):
        whole_tumour_dice(labels, truth[:6], mask)


def test_split_is_deterministic_disjoint_and_in_the_paper_proportions(brats_root):
    cases = read_brats(brats_root)
    split = split_cases(cases)
    assert split == split_cases(list(reversed(cases)))
    names = [[c.name for c in part] for part in split]
    assert sorted(sum(names, [])) == sorted(c.name for c in cases)
    assert [len(part) for part in split] == [4, 1, 1]
    assert len(split_cases(cases, limit=2).test) == 1 and len(split_cases(cases, limit=2).train) == 1
    many = [dataclasses.replace(cases[0], name=f"c{i:03d}") for i in range(259)]
    assert tuple(len(part) for part in split_cases(many)) == PAPER_SPLIT
    with pytest.raises(ValueError, match="at least 2 cases"):
        split_cases(cases[:1])


def test_recipe_and_downsampling_keep_volume_truth_and_mask_aligned(brats_root):
    recipe = brats_recipe()
    assert (recipe.data.patch_distribution, recipe.data.patch_min, recipe.data.patch_max) == ("log-uniform", 5.0, 60.0)
    assert brats_recipe(2).data.patch_max == 30.0 and brats_recipe(20).data.patch_max == 5.0
    case = read_brats(brats_root)[0]
    full = _load(case, config=recipe.data, downsample=1)
    half = _load(case, config=recipe.data, downsample=2)
    assert half.volume.shape == half.truth.shape == half.mask.shape == (SIDE // 2,) * 3
    np.testing.assert_array_equal(half.truth, full.truth[::2, ::2, ::2])
    np.testing.assert_array_equal(half.mask, full.mask[::2, ::2, ::2])
    assert full.volume.dtype == np.float32 and np.percentile(full.volume[full.mask], 99) == pytest.approx(1.0)


def test_run_on_fake_cases_prints_a_row_per_method(brats_root, capsys, tmp_path):
    base = smoke_recipe()
    recipe = dataclasses.replace(
        base,
        data=dataclasses.replace(base.data, patch_distribution="log-uniform"),
        train=dataclasses.replace(base.train, steps=20),
    )
    run(repeats=1, root=brats_root, recipe=recipe, out=tmp_path / "brats.md")
    table = capsys.readouterr().out
    assert (tmp_path / "brats.md").read_text().splitlines()[-1] == table.splitlines()[-1]
    rows = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in table.splitlines() if line.startswith("| ")}
    assert set(rows) >= {"hypseg (hyperbolic-gyro)", "baseline: kmeans", "baseline: filter_bank", "reference: Nalepa et al. 2020, unsupervised"}
    assert len([name for name in rows if name.startswith("baseline: ")]) == 6
    mean, std = (float(v) for v in rows["hypseg (hyperbolic-gyro)"][0].split("±"))
    assert mean > 0.5 and std == 0.0
    assert float(rows["baseline: kmeans"][0].split("±")[0]) > 0.5
    assert rows["hypseg (hyperbolic-gyro)"][-1].strip() == "0.684"


def test_suite_registry_and_options():
    assert "brats" in SUITES and "brats" not in SPEED
    with pytest.raises(ValueError, match="^" + NO_ROOT + "$"):
        run_suite("brats", repeats=1)
    with pytest.raises(ValueError, match="benchmark suite 'layers' takes no option root"):
        run_suite("layers", repeats=1, root="x")


def test_cli_without_root_or_cases_exits_2_with_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["bench", "brats"])
    assert result.exit_code == 2
    assert result.output.strip() == f"hypseg: error: {NO_ROOT}"
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["bench", "brats", "--root", str(tmp_path / "empty")])
    assert result.exit_code == 2
    assert result.output.strip() == f"hypseg: error: {tmp_path / 'empty'}: no BraTS cases (no */*_flair.nii.gz files)"
    result = runner.invoke(app, ["bench", "brats", "--root", str(tmp_path / "missing")])
    assert result.exit_code == 2 and result.output.strip() == f"hypseg: error: {tmp_path / 'missing'}: no such folder"
    _write_case(tmp_path / "unlabelled", "U", np.random.default_rng(4))
    (tmp_path / "unlabelled" / "U" / "U_seg.nii.gz").unlink()
    result = runner.invoke(app, ["bench", "brats", "--root", str(tmp_path / "unlabelled")])
    assert result.exit_code == 2 and result.output.startswith("hypseg: error: ") and len(result.output.strip().splitlines()) == 1
    assert "1 BraTS cases have no *_seg.nii.gz (e.g. U)" in result.output


def test_a_seed_whose_training_collapsed_is_named_under_the_table(brats_root, tmp_path, monkeypatch):
    from helpers import kill_encoders_of

    kill_encoders_of({0}, monkeypatch)
    run(repeats=1, root=brats_root, recipe=smoke_recipe(), out=tmp_path / "brats.md")
    text = (tmp_path / "brats.md").read_text()
    assert text.endswith("|\n\n- hypseg: seed 0 collapsed in training; its model trained again with seed 1000\n")
