"""A usage error (a bad, missing or unknown option) is one line, ``hypseg: error: ...``, and exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hypseg.cli.app import app

runner = CliRunner()


@pytest.mark.parametrize(
    "args, line",
    [
        (["segment", "v.npy", "--model", "run", "--out", "seg", "--workers", "0"],
         "Invalid value for '--workers': Input should be greater than or equal to 1"),
        (["segment", "v.npy", "--model", "run", "--out", "seg", "--tile", "3"],
         "Invalid value for '--tile': Input should be greater than or equal to 4"),
        (["segment", "v.npy", "--model", "run", "--out", "seg", "--supervoxels", "-1"],
         "Invalid value for '--supervoxels': Input should be greater than or equal to 0"),
        (["segment", "v.npy", "--out", "seg"], "Missing option '--model' / '-m'."),
        (["segment", "v.npy", "--model", "run", "--out", "seg", "--bogus"], "No such option: --bogus (Possible options: --out)"),
        (["train", "v.npy", "--out", "run", "--steps", "0"], "Invalid value for '--steps': Input should be greater than or equal to 1"),
        (["synth", "out", "--n", "0"], "Invalid value for '--n': Input should be greater than or equal to 1"),
        (["demo", "--volumes", "3"], "Invalid value for '--volumes': Input should be greater than or equal to 6"),
        (["evaluate"], "Missing argument 'seg'."),
        (["bogus"], "No such command 'bogus'."),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(tmp_path, args, line):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.output == f"hypseg: error: {line}\n"


def test_help_and_no_arguments_still_print_the_help():
    result = runner.invoke(app, ["segment", "--help"])
    assert result.exit_code == 0 and "--workers" in result.output and "hypseg: error" not in result.output
    result = runner.invoke(app, [])
    assert result.exit_code == 2 and "Commands" in result.output and "hypseg: error" not in result.output


def test_the_installed_entry_point_prints_one_line_on_stderr(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "hypseg.cli", "train", "v.npy", "--out", "run", "--steps", "0"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert done.stderr == "hypseg: error: Invalid value for '--steps': Input should be greater than or equal to 1\n"
    assert done.stdout == "" and not (tmp_path / "run").exists()
