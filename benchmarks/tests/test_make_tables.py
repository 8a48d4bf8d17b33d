"""benchmarks/make_tables.py: the committed tables of README.md and docs/benchmarks.md are the generated ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _make_tables():
    from benchmarks import make_tables

    return make_tables


@pytest.mark.parametrize("document", ["README.md", "docs/benchmarks.md"])
def test_committed_tables_equal_the_generated_ones(document):
    make_tables = _make_tables()
    text = (ROOT / document).read_text()
    assert "<!-- table:" in text
    assert make_tables.render(text) == text, f"run: python -m benchmarks.make_tables ({document} is stale)"


def test_a_block_is_replaced_and_an_unknown_one_refused():
    make_tables = _make_tables()
    text = "a\n<!-- table:inference-speed -->\nstale\n<!-- /table -->\nb\n"
    out = make_tables.render(text)
    assert "stale" not in out and "| volume | voxels/s (embedding) | µs per voxel |" in out
    assert out.startswith("a\n<!-- table:inference-speed -->\n") and out.endswith("<!-- /table -->\nb\n")
    with pytest.raises(KeyError, match="unknown table 'nope'"):
        make_tables.render("<!-- table:nope -->\n<!-- /table -->\n")


@pytest.mark.parametrize("command", [["benchmarks.make_tables", "--check"], ["benchmarks.bench_quality", "--help"],
                                     ["benchmarks.validation_split", "--help"], ["benchmarks.refine_choice", "--help"],
                                     ["benchmarks.level1_voxels", "--help"], ["benchmarks.supervoxel_ceiling", "--help"]])
def test_the_scripts_run_as_the_docs_say_from_the_checkouts_root(command):
    """``python -m benchmarks.<script>`` from the root (the scripts import ``benchmarks`` and never edit sys.path)."""
    done = subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
