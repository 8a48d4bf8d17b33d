"""benchmarks/scale.py: its tiled volumes, the agreement measure and the table."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from benchmarks import scale
from hypseg.io import load_volume, save_labels, load_labels


@pytest.mark.parametrize("suffix", [".mrc", ".zarr"])
def test_the_volume_tiles_six_cells_over_the_shape(tmp_path, suffix):
    path = scale.write_volume(tmp_path / f"v{suffix}", (20, 45, 30), cell=16)
    volume = np.asarray(load_volume(path).array)
    assert volume.shape == (20, 45, 30) and volume.std() > 0
    # tile (i, j, k) holds cell (3 i + 5 j + 7 k) mod 6, from the cell's corner (clipped at the faces)
    np.testing.assert_array_equal(volume[16:20, 16:32, 16:30], volume[16:20, 0:16, 0:14])  # both cell 3
    assert not np.array_equal(volume[:16, :16, :14], volume[:16, :16, 16:30])  # cells 0 and 1


def test_agreement_counts_equal_voxels_over_every_level(tmp_path):
    from hypseg.io import Volume

    like = Volume.from_array(np.zeros((4, 5, 6)))
    for name, flip in (("a", False), ("b", True)):
        (tmp_path / name).mkdir()
        labels = {"2": "v_k2.npy", "4": "v_k4.npy"}
        for k, file in labels.items():
            values = np.zeros((4, 5, 6), np.uint8)
            if flip and k == "4":
                values[0, 0, :3] = 1
            save_labels(values, like=like, path=tmp_path / name / file)
        (tmp_path / name / "segmentation.json").write_text(json.dumps({"cases": [{"labels": labels}]}))
    assert scale.agreement(tmp_path / "a", tmp_path / "b") == pytest.approx(1 - 3 / 240)


def test_the_table_compares_every_row_with_the_128_cube():
    row = {"total": 10.0, "voxels": 2 ** 21, "seconds": {"embedding": 8.0}, "rss": 1e9, "children_rss": 0, "format": ".mrc",
           "engine": scale.ENGINE}
    big = dict(row, total=90.0, voxels=2 ** 21 * 8, agreement={"with": "in memory", "share": 1.0}, cpu=75.2)
    table = scale.render({"128^3 | chunked": row, "256^3 | chunked": big})
    lines = table.splitlines()
    assert lines[2].split("|")[14].strip() == "1.00" and lines[3].split("|")[14].strip() == "1.12"
    assert "100.0000% with in memory" in lines[3]
    assert [line.split("|")[-3].strip() for line in lines[2:]] == ["", "75"]  # CPU seconds where a row has them


def test_a_row_timed_on_another_machine_is_not_compared_and_says_where_it_ran():
    row = {"total": 10.0, "voxels": 2 ** 21, "seconds": {}, "rss": 1e9, "children_rss": 0, "format": ".mrc",
           "engine": scale.ENGINE, "machine": "AMD EPYC, 2 cores"}
    here, there = dict(row, total=80.0, voxels=2 ** 24), dict(row, total=80.0, voxels=2 ** 24, machine="Intel Xeon, 2 cores")
    lines = scale.render({"128^3 | chunked": row, "256^3 | in memory": here, "256^3 | chunked": there}).splitlines()
    cells = [[c.strip() for c in line.split("|")] for line in lines[2:]]
    assert [c[14] for c in cells] == ["1.00", "1.00", ""]
    assert [c[-2] for c in cells] == ["AMD EPYC, 2 cores"] * 2 + ["Intel Xeon, 2 cores"]
    assert scale.machine().endswith(f", {os.cpu_count()} cores") and len(scale.machine()) > len(f", {os.cpu_count()} cores")


def test_rows_of_an_earlier_engine_are_marked_and_not_compared():
    row = {"total": 10.0, "voxels": 2 ** 21, "seconds": {}, "rss": 1e9, "children_rss": 0, "format": ".mrc", "engine": scale.ENGINE}
    old = dict(row, total=30.0, engine=scale.ENGINE - 1)
    lines = scale.render({"128^3 | chunked": row, "256^3 | chunked": old}).splitlines()
    cells = [c.strip() for c in lines[3].split("|")]
    assert cells[2] == f"chunked (engine {scale.ENGINE - 1})" and cells[14] == ""


def test_a_row_starts_clean_and_a_failed_child_raises_with_its_message(tmp_path):
    from hypseg.inference.pipeline import work_folder

    volume = tmp_path / "v.npy"
    np.save(volume, np.zeros((8, 8, 8), np.float32))
    out = tmp_path / "seg"
    out.mkdir()
    work_folder(out).mkdir()  # an interrupted run's work files: the child would refuse to start over them
    with pytest.raises(RuntimeError, match=r"failed \(exit 1\)") as failure:
        scale.measure(volume, tmp_path / "no-model", out, chunk=8)
    assert not out.exists() and not work_folder(out).exists()
    assert "no-model" in str(failure.value).splitlines()[-1]  # the child's own one-line error, not only its exit status
