"""``hypseg bench`` finds the benchmarks package of the source checkout by path, or says it needs one."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hypseg.cli import bench as bench_command
from hypseg.cli.app import app
from hypseg.errors import UserError

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmarks_folder_is_the_checkouts():
    assert bench_command.benchmarks_folder() == ROOT / "benchmarks"


def test_the_package_loads_by_path_without_the_checkout_on_sys_path(monkeypatch):
    for name in [n for n in sys.modules if n == "benchmarks" or n.startswith("benchmarks.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != ROOT])
    monkeypatch.chdir(ROOT.parent)
    with pytest.raises(ImportError):
        importlib.import_module("benchmarks")  # what a console script started elsewhere sees
    package = bench_command.load_benchmarks(ROOT / "benchmarks")
    assert Path(package.__file__) == ROOT / "benchmarks" / "__init__.py"
    assert bench_command.load_benchmarks(ROOT / "benchmarks") is package  # imported once
    timing = importlib.import_module("benchmarks.timing")  # its modules import each other by name
    assert Path(timing.__file__).parent == ROOT / "benchmarks"
    with pytest.raises(UserError, match="unknown benchmark suite 'nope'"):
        package.run_suite("nope", repeats=1)


def test_without_a_checkout_the_command_says_what_to_do_in_one_line(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="source checkout"):
        bench_command.load_benchmarks(tmp_path / "benchmarks")
    monkeypatch.setattr(bench_command, "benchmarks_folder", lambda: tmp_path / "benchmarks")
    result = CliRunner().invoke(app, ["bench", "layers"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "source checkout" in lines[0] and "pip install -e ." in lines[0]


def test_an_unknown_suite_is_one_line_and_exit_2():
    result = CliRunner().invoke(app, ["bench", "nope"])
    assert result.exit_code == 2
    assert "unknown benchmark suite 'nope'" in result.output
