"""The README is for users: short, how to segment one's own file early, the Python example the suite runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
