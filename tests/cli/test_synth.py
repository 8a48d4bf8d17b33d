"""hypseg synth: its messages name the command's options and count in the singular and the plural."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hypseg.cli.app import app

runner = CliRunner()


def test_one_volume_is_singular_and_two_plural(tmp_path):
    result = runner.invoke(app, ["synth", str(tmp_path / "one"), "--n", "1", "--size", "16"])
    assert result.exit_code == 0, result.output
    assert f"wrote 1 regular volume to {tmp_path / 'one'}\n" in result.output
    result = runner.invoke(app, ["synth", str(tmp_path / "two"), "--n", "2", "--size", "16", "--kind", "irregular"])
    assert f"wrote 2 irregular volumes to {tmp_path / 'two'}\n" in result.output


def test_a_full_folder_names_the_overwrite_option_before_any_progress(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    result = runner.invoke(app, ["synth", str(tmp_path / "out"), "--n", "1"])
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {tmp_path / 'out'}: folder exists and holds files that are not a synthetic "
                             "dataset (no manifest.json of one); choose another\n")
    assert runner.invoke(app, ["synth", str(tmp_path / "data"), "--n", "1", "--size", "16"]).exit_code == 0
    result = runner.invoke(app, ["synth", str(tmp_path / "data"), "--n", "1", "--size", "16"])
    assert result.output == f"hypseg: error: {tmp_path / 'data'}: folder holds a synthetic dataset already (choose another or pass --overwrite)\n"
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["synth", str(tmp_path / "file"), "--n", "1"])
    assert result.output == f"hypseg: error: {tmp_path / 'file'}: exists and is not a folder\n"


def test_overwrite_replaces_a_synthetic_dataset_and_nothing_else(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("x")
    (tmp_path / "out" / "manifest.json").write_text('{"format": "something else"}')
    result = runner.invoke(app, ["synth", str(tmp_path / "out"), "--n", "1", "--size", "16", "--overwrite"])
    assert result.exit_code == 2
    assert result.output == (f"hypseg: error: {tmp_path / 'out'}: folder exists and holds files that are not a synthetic "
                             "dataset (no manifest.json of one); choose another\n")
    assert (tmp_path / "out" / "keep.txt").read_text() == "x"
    assert runner.invoke(app, ["synth", str(tmp_path / "data"), "--n", "1", "--size", "16"]).exit_code == 0
    result = runner.invoke(app, ["synth", str(tmp_path / "data"), "--n", "2", "--size", "16", "--overwrite"])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "data" / "images").iterdir())) == 2


@pytest.mark.parametrize(
    "options, message",
    [
        (["--kind", "regular", "--irregular"], "--irregular contradicts --kind regular; give one of them"),
        (["--kind", "irregular", "--regular"], "--regular contradicts --kind irregular; give one of them"),
        (["--kind", "shepp-logan", "--regular"], "--regular contradicts --kind shepp-logan; give one of them"),
    ],
)
def test_a_kind_and_a_contradicting_flag_name_the_options(tmp_path, options, message):
    result = runner.invoke(app, ["synth", str(tmp_path / "out"), "--n", "1", *options])
    assert result.exit_code == 2
    assert result.output == f"hypseg: error: {message}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("options, kind", [(["--irregular"], "irregular"), (["--regular"], "regular"),
                                           (["--kind", "irregular", "--irregular"], "irregular")])
def test_the_older_flags_still_choose_the_kind(tmp_path, options, kind):
    result = runner.invoke(app, ["synth", str(tmp_path / "out"), "--n", "1", "--size", "16", *options])
    assert result.exit_code == 0 and f"wrote 1 {kind} volume" in result.output


def test_missing_parent_folders_are_made_as_the_help_examples_need(tmp_path):
    result = runner.invoke(app, ["synth", str(tmp_path / "data" / "synth"), "--n", "1", "--size", "16"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "data" / "synth" / "manifest.json").is_file()
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["synth", str(tmp_path / "file" / "synth"), "--n", "1", "--size", "16"])
    assert result.exit_code == 2
    assert result.output == f"hypseg: error: {tmp_path / 'file' / 'synth'}: {tmp_path / 'file'} is a file, not a folder\n"
