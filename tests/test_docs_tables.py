"""The README's and docs/benchmarks.md's tables are what benchmarks/make_tables.py generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _make_tables():
    spec = importlib.util.spec_from_file_location("make_tables", ROOT / "benchmarks" / "make_tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("document", ["README.md", "docs/benchmarks.md"])
def test_committed_tables_equal_the_generated_ones(document):
    make_tables = _make_tables()
    text = (ROOT / document).read_text()
    assert "<!-- table:" in text
    assert make_tables.render(text) == text, f"run: python benchmarks/make_tables.py ({document} is stale)"


def test_a_block_is_replaced_and_an_unknown_one_refused():
    make_tables = _make_tables()
    text = "a\n<!-- table:inference-speed -->\nstale\n<!-- /table -->\nb\n"
    out = make_tables.render(text)
    assert "stale" not in out and "| volume | voxels/s (embedding) | µs per voxel |" in out
    assert out.startswith("a\n<!-- table:inference-speed -->\n") and out.endswith("<!-- /table -->\nb\n")
    with pytest.raises(KeyError, match="unknown table 'nope'"):
        make_tables.render("<!-- table:nope -->\n<!-- /table -->\n")


def test_the_readme_is_short_and_says_early_how_to_segment_your_own_file():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    assert any("hypseg segment my.mrc" in line for line in lines[:60])


def test_the_readme_shows_the_python_example_that_the_suite_runs():
    readme = (ROOT / "README.md").read_text()
    blocks = readme.split("```python\n")[1:]
    assert len(blocks) == 1, "the README has one Python example"
    shown = blocks[0].split("```")[0]
    assert shown == (ROOT / "docs" / "python_example.py").read_text()  # tests/test_api.py executes that file
