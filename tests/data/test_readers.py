"""Dataset folder writing and reading: manifest, BraTS layout, files; normalisation; the synth command."""

from __future__ import annotations

import json
import re

import nibabel as nib
import numpy as np
import pytest
from typer.testing import CliRunner

from hypseg.config import DataConfig, to_dict
from hypseg.data.synthetic_config import SyntheticConfig
from hypseg.data import discover_cases, load_case, load_normalised, normalise, read_brats, read_files, read_manifest, write_synthetic_dataset
from hypseg.data.synthetic import generate_volume
from hypseg.io import load_volume, save_volume, Volume

SMALL = SyntheticConfig(shape=24, cell_radius_mean=12.0, vesicle_radius_mean=4.0, mito_half_side_mean=3.5,
                        aggregate_radius_mean=1.5, cuboid_half_side_mean=1.5)


def test_dataset_folder_round_trip(tmp_path):
    out = write_synthetic_dataset(tmp_path / "ds", n=6, seed=7, config=SMALL)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["generator"] == json.loads(json.dumps(to_dict(SMALL)))
    assert manifest["seed"] == 7 and manifest["n"] == 6 and manifest["irregular"] is False
    assert [len(manifest["split"][k]) for k in ("train", "val", "test")] == [4, 1, 1]
    cases = discover_cases([out])
    assert [c.split for c in cases] == ["train"] * 4 + ["val", "test"]
    # the files hold exactly what the generator makes for volume i's seed
    first = load_case(cases[0])
    expected = generate_volume(np.random.default_rng(np.random.SeedSequence(7).spawn(6)[0]), config=SMALL)
    np.testing.assert_array_equal(first.volume.array, expected.image)
    for level in (1, 2, 3):
        assert first.truth[str(level)].dtype == np.uint8
        np.testing.assert_array_equal(first.truth[str(level)], expected.labels[level])
    # volume i does not depend on n
    out2 = write_synthetic_dataset(tmp_path / "ds2", n=2, seed=7, config=SMALL)
    np.testing.assert_array_equal(load_case(read_manifest(out2)[0]).volume.array, expected.image)


def test_dataset_refuses_non_empty_folder_and_leaves_nothing(tmp_path):
    target = tmp_path / "ds"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    for overwrite in (False, True):  # a folder that is not a dataset is never replaced
        with pytest.raises(FileExistsError, match=re.escape(f"{target}: folder exists and holds files that are not a synthetic dataset")):
            write_synthetic_dataset(target, n=1, config=SMALL, overwrite=overwrite)
    assert (target / "keep.txt").read_text() == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def _fake_brats(root, name, rng, *, tumour_value=2):
    case = root / name
    case.mkdir(parents=True)
    flair = np.zeros((16, 18, 20), np.float32)  # nibabel (x, y, z)
    flair[2:14, 3:15, 4:16] = rng.uniform(1, 2, size=(12, 12, 12))
    seg = np.zeros(flair.shape, np.int16)
    seg[5:8, 6:9, 7:10] = tumour_value
    seg[8:9, 6:9, 7:10] = 4
    nib.save(nib.Nifti1Image(flair, np.eye(4)), str(case / f"{name}_flair.nii.gz"))
    nib.save(nib.Nifti1Image(rng.normal(size=flair.shape).astype(np.float32), np.eye(4)), str(case / f"{name}_t1.nii.gz"))
    nib.save(nib.Nifti1Image(seg, np.eye(4)), str(case / f"{name}_seg.nii.gz"))
    return flair, seg


def test_fake_brats_case_whole_tumour_and_brain_mask(tmp_path):
    rng = np.random.default_rng(0)
    flair, seg = _fake_brats(tmp_path / "HGG", "BraTS19_X_1", rng)
    _fake_brats(tmp_path / "LGG", "BraTS19_Y_2", rng, tumour_value=1)
    cases = discover_cases([tmp_path])
    assert [c.name for c in cases] == ["BraTS19_X_1", "BraTS19_Y_2"]
    loaded = load_case(cases[0])
    np.testing.assert_array_equal(loaded.volume.array, flair.T)  # (z, y, x)
    np.testing.assert_array_equal(loaded.truth["whole_tumour"], (seg > 0).T.astype(np.uint8))
    assert int(loaded.truth["whole_tumour"].sum()) == 36
    np.testing.assert_array_equal(loaded.mask, (flair > 0).T)


def test_brats_truth_shape_mismatch_names_file(tmp_path):
    rng = np.random.default_rng(1)
    _fake_brats(tmp_path, "C1", rng)
    seg_path = tmp_path / "C1" / "C1_seg.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((16, 18, 21), np.int16), np.eye(4)), str(seg_path))
    with pytest.raises(ValueError, match="^" + re.escape(f"{seg_path}: label map shape (21, 18, 16) differs from its volume's shape (20, 18, 16) (z, y, x: NIfTI's x, y, z reversed)") + "$"):
        load_case(read_brats(tmp_path)[0])


def test_read_files_and_folders(tmp_path):
    rng = np.random.default_rng(2)
    for name in ("b.npy", "a.nii.gz"):
        save_volume(Volume.from_array(rng.normal(size=(5, 6, 7))), tmp_path / name)
    (tmp_path / "notes.txt").write_text("x")
    assert [c.name for c in read_files([tmp_path])] == ["a", "b"]
    assert [c.name for c in discover_cases([tmp_path / "b.npy"])] == ["b"]
    import tifffile

    tifffile.imwrite(tmp_path / "cell.ome.tif", rng.normal(size=(5, 6, 7)).astype(np.float32), ome=True, metadata={"axes": "ZYX"})
    assert [c.name for c in discover_cases([tmp_path / "cell.ome.tif"])] == ["cell"]  # its maps: cell_k2.tif, not cell.ome_k2.tif
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path / 'zz.nii'}: no such file or folder")):
        read_files([tmp_path / "zz.nii"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=re.escape(f"{empty}: folder holds no volume files")):
        read_files([empty])


def test_normalisation_laws():
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 3.0, size=(20, 20, 20)).astype(np.float32)
    x[0, 0, 0] = 1e6  # an outlier does not move robust scaling
    cfg = DataConfig()
    y = normalise(x, config=cfg)
    assert y.dtype == np.float32
    assert np.percentile(y, 1) == pytest.approx(0.0, abs=1e-5) and np.percentile(y, 99) == pytest.approx(1.0, abs=1e-5)
    # affine invariance: a x + b normalises to the same values (a > 0)
    np.testing.assert_allclose(normalise(2.5 * x - 7.0, config=cfg), y, rtol=1e-4, atol=1e-4)
    assert float(normalise(x, config=DataConfig(clip=True)).max()) == 1.0
    mask = np.zeros(x.shape, bool)
    mask[5:15, 5:15, 5:15] = True
    z = normalise(x, config=DataConfig(normalisation="zscore"), mask=mask)
    assert float(z[mask].mean()) == pytest.approx(0.0, abs=1e-5) and float(z[mask].std()) == pytest.approx(1.0, abs=1e-4)
    # the same call at training and inference gives identical arrays
    np.testing.assert_array_equal(normalise(x, config=cfg), normalise(x.copy(), config=cfg))
    np.testing.assert_array_equal(normalise(x, config=DataConfig(normalisation="none")), x)
    with pytest.raises(ValueError, match="the volume is \\(nearly\\) constant"):
        normalise(np.ones((4, 4, 4)), config=cfg)
    with pytest.raises(ValueError, match="mask shape"):
        normalise(x, config=cfg, mask=mask[:3])


def test_a_sparse_volume_is_refused_by_name_with_the_normalisation_that_takes_it(tmp_path):
    """Mostly one value with a few objects: the robust percentiles coincide. Among many volumes the message says
    which, and what model would take it; z-scoring does."""
    from hypseg.data import pack_normalised

    sparse = np.zeros((16, 16, 16), np.float32)
    sparse[5:7, 5:7, 5:7] = 1.0
    np.save(tmp_path / "dense.npy", np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32))
    np.save(tmp_path / "sparse.npy", sparse)
    cases = read_files([tmp_path / "dense.npy", tmp_path / "sparse.npy"])
    expected = (f"{tmp_path / 'sparse.npy'}: percentile normalisation: the percentiles 1 and 99 are equal (0), so the "
                "volume is (nearly) constant; a volume that is mostly one value with a few objects needs a model trained "
                'with normalisation = "zscore" ([data] of hypseg train --config)')
    with pytest.raises(ValueError, match="^" + re.escape(expected) + "$"):
        load_normalised(cases, config=DataConfig())
    with pytest.raises(ValueError, match="^" + re.escape(expected) + "$"):
        pack_normalised(cases, config=DataConfig(), path=tmp_path / "packed.npy")
    z = load_normalised(cases, config=DataConfig(normalisation="zscore"))[1]
    assert float(z.mean()) == pytest.approx(0.0, abs=1e-6) and float(z.std()) == pytest.approx(1.0, abs=1e-5)


def test_synth_command(tmp_path):
    from hypseg.cli.app import app

    runner = CliRunner()
    result = runner.invoke(app, ["synth", str(tmp_path / "out"), "--n", "3", "--seed", "1", "--size", "24"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["n"] == 3 and manifest["generator"]["shape"] == 24
    assert load_volume(tmp_path / "out" / manifest["cases"][0]["image"]).shape == (24, 24, 24)
    again = runner.invoke(app, ["synth", str(tmp_path / "out"), "--n", "3"])
    assert again.exit_code == 2
    assert "hypseg: error: " in again.output and "folder holds a synthetic dataset already" in again.output
    assert "Example" in runner.invoke(app, ["synth", "--help"]).output
