"""hypseg demo end to end in its reduced (--quick) configuration."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hypseg.cli.app import app


def test_quick_demo_writes_data_model_label_maps_plots_and_the_table(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--volumes", "6"])
    assert result.exit_code == 0, result.output
    assert "| level | clusters | hypseg DICE | paper DICE |" in result.output
    rows = [line for line in result.output.splitlines() if line.startswith("| 1 |") or line.startswith("| 2 |") or line.startswith("| 3 |")]
    assert len(rows) == 3
    for row in rows:
        dice = float(row.split("|")[3])
        assert 0.0 < dice <= 1.0
    assert (out / "model" / "model.pt").is_file() and (out / "model" / "config.toml").is_file()
    manifest = json.loads((out / "segmentation" / "segmentation.json").read_text())
    assert manifest["clusters"] == [2, 4, 8] and len(manifest["cases"]) == 1  # 6 volumes: one test volume
    for case in manifest["cases"]:
        for k in ("2", "4", "8"):
            assert (out / "segmentation" / case["labels"][k]).is_file()
        assert (out / "plots" / f"{case['name']}_slices.png").stat().st_size > 0
        assert (out / "plots" / f"{case['name']}_disk.png").stat().st_size > 0
    assert (out / "plots" / "training_curves.png").stat().st_size > 0
    (out / "plots" / "training_curves.png").unlink()
    (out / ".DS_Store").write_text("a file manager's")
    again = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--volumes", "6"])
    assert again.exit_code == 0, again.output  # a previous demo's folder is replaced
    assert (out / "plots" / "training_curves.png").stat().st_size > 0


def test_the_demo_refuses_a_folder_it_did_not_write_and_deletes_nothing(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.txt").write_text("my thesis")
    (tmp_path / "file").write_text("x")
    (tmp_path / "project" / "data").mkdir(parents=True)  # a name the demo writes, in a folder it did not
    (tmp_path / "project" / "data" / "scans.txt").write_text("my scans")
    for out, message in [(tmp_path / "project", f"--out {tmp_path / 'project'} is not a folder hypseg demo wrote (it has "
                                                "no .hypseg-demo), and the demo would delete it; choose another folder (or delete a "
                                                "demo folder written before demos were marked)"),
                         (tmp_path / "mine", f"--out {tmp_path / 'mine'} holds thesis.txt, which the demo did not write "
                                             "and would delete; choose another folder"),
                         (tmp_path / "file", f"--out {tmp_path / 'file'} is a file; choose a folder for the demo")]:
        result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out)])
        assert result.exit_code == 2 and result.output == f"hypseg: error: {message}\n"
    assert (tmp_path / "mine" / "thesis.txt").read_text() == "my thesis" and (tmp_path / "file").read_text() == "x"
    assert (tmp_path / "project" / "data" / "scans.txt").read_text() == "my scans"
