"""Slice overlays: layout, orientation, transparency of negative labels, PNG size, bad input."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from hypseg.plotting import plot_slices
from hypseg.plotting._figure import DPI
from hypseg.plotting.slices import OVERLAY_ALPHA, _figure_slices


def _volume(shape=(9, 11, 13), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def _overlays(figure) -> list[np.ndarray]:
    return [np.asarray(im.get_array()) for ax in figure.axes for im in ax.images if im.get_gid() == "overlay"]


def test_png_size_matches_rows(tmp_path):
    v = _volume()
    labels = {"k=2": (v > 0).astype(np.int16), "k=4": np.digitize(v, [-1, 0, 1]).astype(np.int32)}
    out = plot_slices(v, labels=labels, path=tmp_path / "slices.png", title="case")
    image = matplotlib.image.imread(out)
    figure = _figure_slices(volume=v, labels=labels, index=None, spacing=None, title="case")
    width, height = figure.get_size_inches()
    assert image.shape[:2] == (round(height * DPI), round(width * DPI))
    assert len(figure.axes) == 3 * 3
    assert [ax.get_ylabel() for ax in figure.axes[::3]] == ["volume", "k=2", "k=4"]
    assert [p.name for p in tmp_path.iterdir()] == ["slices.png"]


def test_slices_pass_through_the_index_in_zyx_order():
    v = _volume()
    z, y, x = 2, 7, 4
    figure = _figure_slices(volume=v, labels={}, index=(z, y, x), spacing=None, title=None)
    axial, coronal, sagittal = (np.asarray(ax.images[0].get_array()) for ax in figure.axes)
    assert np.array_equal(axial, v[z]) and np.array_equal(coronal, v[:, y]) and np.array_equal(sagittal, v[:, :, x])
    assert [ax.get_title() for ax in figure.axes] == [f"axial z={z}", f"coronal y={y}", f"sagittal x={x}"]
    centre = _figure_slices(volume=v, labels={}, index=None, spacing=None, title=None)
    assert centre.axes[0].get_title() == "axial z=4"


def test_overlay_colours_labels_and_leaves_negative_labels_transparent():
    v = _volume()
    labels = np.random.default_rng(1).integers(-1, 3, size=v.shape)
    figure = _figure_slices(volume=v, labels={"k=3": labels}, index=None, spacing=None, title=None)
    axial = _overlays(figure)[0]
    cut = labels[v.shape[0] // 2]
    assert np.all(axial[cut < 0, 3] == 0)
    assert np.allclose(axial[cut >= 0, 3], OVERLAY_ALPHA)
    rgb = {tuple(axial[i, j, :3]) for i, j in zip(*np.nonzero(cut >= 0))}
    assert len(rgb) == 3  # labels 0, 1, 2 (label 0 is a cluster, coloured)
    for value in range(3):
        assert len({tuple(axial[i, j, :3]) for i, j in zip(*np.nonzero(cut == value))}) == 1


def test_overlay_and_legend_colour_labels_by_value():
    """Cluster 2 is drawn in label 2's colour also in a map that lacks cluster 1 (not in the next rank's)."""
    from hypseg.plotting import label_colors

    v = _volume()
    labels = np.where(np.random.default_rng(2).random(v.shape) < 0.5, 0, 2)
    figure = _figure_slices(volume=v, labels={"k=3": labels}, index=None, spacing=None, title=None)
    axial = _overlays(figure)[0]
    cut = labels[v.shape[0] // 2]
    expected = label_colors(np.arange(3))
    assert np.allclose(axial[cut == 2][0, :3], expected[2][:3]) and np.allclose(axial[cut == 0][0, :3], expected[0][:3])
    legend = figure.axes[5].get_legend()  # the k = 3 row (the second), last column
    assert [t.get_text() for t in legend.get_texts()] == ["0", "2"]
    assert np.allclose(legend.legend_handles[1].get_facecolor(), expected[2])


def test_anisotropic_spacing_sets_the_aspect():
    v = _volume()
    figure = _figure_slices(volume=v, labels={}, index=None, spacing=(3.0, 1.0, 1.0), title=None)
    assert [ax.get_aspect() for ax in figure.axes] == [1.0, 3.0, 3.0]


@pytest.mark.parametrize(
    "volume, labels, kwargs, match",
    [
        (np.zeros((4, 4)), {}, {}, "3-D"),
        (_volume(), {"k=2": np.zeros((9, 11, 12), int)}, {}, "do not match"),
        (_volume(), {"k=2": np.zeros((9, 11, 13))}, {}, "integer dtype"),
        (_volume(), {}, {"index": (9, 0, 0)}, "outside the volume"),
        (_volume(), {}, {"index": (1, 2)}, "voxel"),
        (_volume(), {}, {"spacing": (1.0, 0.0, 1.0)}, "positive"),
    ],
)
def test_bad_input_raises_and_writes_nothing(tmp_path, volume, labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_slices(volume, labels=labels, path=tmp_path / "s.png", **kwargs)
    assert list(tmp_path.iterdir()) == []
