"""The shared figure helpers: atomic PNG writes and the qualitative colours."""

from __future__ import annotations

import numpy as np
import pytest

from hypseg.plotting._colors import label_colors
from hypseg.plotting._figure import new_figure, save_png


def test_interrupted_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    figure = new_figure(width=2, height=2)

    def broken(path, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_png(figure, target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_save_replaces_and_leaves_pyplot_alone(tmp_path):
    import sys

    target = tmp_path / "plot.png"
    target.write_bytes(b"old")
    figure = new_figure(width=2, height=1.5)
    figure.add_subplot().plot([0, 1], [1, 0])
    assert save_png(figure, target) == target
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if "matplotlib.pyplot" in sys.modules:  # another test may have imported it; then no figure is registered
        assert sys.modules["matplotlib.pyplot"].get_fignums() == []


@pytest.mark.parametrize("n", [1, 2, 10, 11, 20, 21, 60])
def test_label_colours_are_distinct(n):
    colours = label_colors(np.arange(n) * 3)
    assert sorted(colours) == list(range(0, 3 * n, 3))
    assert len(set(colours.values())) == n


def test_a_value_keeps_its_colour_whatever_the_cluster_count_and_the_values_beside_it():
    """Plots and napari colour cluster v alike: the colour of v depends on v alone (up to the instance maps' limit)."""
    from hypseg.napari._layers import labels_colormap
    from hypseg.plotting import value_colors
    from hypseg.plotting._colors import BY_VALUE_MAX

    assert value_colors(np.arange(10)) == label_colors(np.arange(10))  # the first ten as tab10, as before
    for k in (4, 12, 30):
        every = value_colors(np.arange(k))
        some = value_colors(np.arange(k)[::3])  # most clusters absent, the largest among them
        assert all(some[v] == every[v] for v in some)
        assert {v: c for v, c in labels_colormap(k, outside=False).items() if v is not None} == every
    sparse = value_colors(np.array([0, 30, 31]))
    assert len(set(sparse.values())) == 3
    every = value_colors(np.arange(BY_VALUE_MAX + 1))  # every value coloured by value has a colour of its own
    assert len(set(every.values())) == BY_VALUE_MAX + 1
    instances = value_colors(np.array([0, 1000, 2000]))  # beyond BY_VALUE_MAX: by rank
    assert instances == label_colors(np.array([0, 1000, 2000]))
