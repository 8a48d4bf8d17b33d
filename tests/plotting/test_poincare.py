"""Poincare-disk plots: PNG size, colours per label, centres, subsampling, projection, bad input."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from hypseg.plotting import label_colors, plot_poincare_disk, plot_poincare_panels
from hypseg.plotting._figure import DPI
from hypseg.plotting.poincare import _figure_poincare, poincare_disk_figure


def _points(n: int, d: int = 2, *, seed: int = 0, max_rel: float = 0.95, c: float = 1.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    direction = rng.normal(size=(n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return direction * rng.uniform(0.0, max_rel, size=(n, 1)) / np.sqrt(c)


def _collections(figure, gid: str) -> list:
    return [coll for ax in figure.axes for coll in ax.collections if coll.get_gid() == gid]


def _figure(points, **kwargs):
    base = dict(panels=None, centers=None, title=None, max_points=20000, c=1.0, random_state=0)
    return _figure_poincare(points=points, **(base | kwargs))


def test_disk_png_has_the_figure_size(tmp_path):
    x = _points(500)
    out = plot_poincare_disk(x, labels=(x[:, 0] > 0).astype(int), centers=np.array([[0.3, 0.0], [-0.3, 0.0]]), path=tmp_path / "disk.png")
    assert out == tmp_path / "disk.png" and out.stat().st_size > 0
    image = matplotlib.image.imread(out)
    figure = _figure(x, panels={"": (x[:, 0] > 0).astype(int)})
    width, height = figure.get_size_inches()
    assert image.shape[:2] == (round(height * DPI), round(width * DPI))
    assert [p.name for p in tmp_path.iterdir()] == ["disk.png"]  # no temporary left behind


def test_panels_png_is_wider_by_one_panel(tmp_path):
    x = _points(400)
    labels = (x[:, 1] > 0).astype(int)
    one = matplotlib.image.imread(plot_poincare_panels(x, panels={"a": labels}, path=tmp_path / "one.png"))
    two = matplotlib.image.imread(plot_poincare_panels(x, panels={"a": labels, "b": 1 - labels}, path=tmp_path / "two.png"))
    assert one.shape[0] == two.shape[0] and two.shape[1] > one.shape[1] + 300


@pytest.mark.parametrize("n_labels", [1, 3, 7, 15, 25])
def test_one_distinct_colour_per_label(n_labels):
    x = _points(600, seed=n_labels)
    labels = np.arange(600) % n_labels * 5 - 3  # any integer values, not 0..K-1
    (points,) = _collections(_figure(x, panels={"": labels}), "points")
    colours = points.get_facecolors()
    assert len(colours) == 600
    assert len(np.unique(np.round(colours, 6), axis=0)) == n_labels
    # same label <-> same colour
    for value in np.unique(labels):
        assert len(np.unique(colours[labels == value], axis=0)) == 1


def test_panels_share_the_subsample_and_colour_independently():
    x = _points(3000)
    truth = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0)
    clusters = (x[:, 0] > 0).astype(int)
    figure = _figure(x, panels={"true class": truth, "k=2": clusters}, max_points=1000)
    first, second = _collections(figure, "points")
    assert np.array_equal(first.get_offsets(), second.get_offsets()) and len(first.get_offsets()) == 1000
    assert len(np.unique(first.get_facecolors(), axis=0)) == 4
    assert len(np.unique(second.get_facecolors(), axis=0)) == 2
    assert [ax.get_title() for ax in figure.axes] == ["true class", "k=2"]
    assert "1000 of 3000 points" in figure.get_suptitle()


def test_subsample_is_deterministic_and_drawn_from_the_points():
    x = _points(5000)
    a = _collections(_figure(x, max_points=300, random_state=1), "points")[0].get_offsets()
    b = _collections(_figure(x, max_points=300, random_state=1), "points")[0].get_offsets()
    c = _collections(_figure(x, max_points=300, random_state=2), "points")[0].get_offsets()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len(np.unique(np.asarray(a), axis=0)) == 300  # without replacement
    rows = {tuple(row) for row in x}
    assert all(tuple(row) in rows for row in np.asarray(a))


def test_centres_take_their_cluster_colour():
    x = _points(200)
    labels = (x[:, 0] > 0).astype(int)
    centres = np.array([[-0.4, 0.1], [0.4, -0.1], [0.0, 0.5]])  # centre 2 has no voxel
    figure = _figure(x, panels={"k=2": labels}, centers={"k=2": centres})
    (points,) = _collections(figure, "points")
    (stars,) = _collections(figure, "centers")
    assert np.allclose(stars.get_offsets(), centres)
    face = points.get_facecolors()
    assert np.allclose(stars.get_facecolors()[0], face[labels == 0][0])
    assert np.allclose(stars.get_facecolors()[1], face[labels == 1][0])
    assert np.allclose(stars.get_facecolors()[2], label_colors(np.arange(3))[2])  # its own colour, not a neighbour's


def test_a_label_keeps_its_colour_when_a_lower_one_is_absent():
    """Colours follow values, as in napari: at a pooled level a volume may lack a cluster, and the others keep theirs."""
    x = _points(300)
    every = np.arange(300) % 8
    some = np.where(every == 5, 6, every)  # cluster 5 absent
    first, second = (_collections(_figure(x, panels={"k=8": labels}), "points")[0].get_facecolors() for labels in (every, some))
    for value in (0, 1, 2, 3, 4, 6, 7):
        assert np.allclose(first[every == value][0], second[some == value][0])
        assert np.allclose(second[some == value][0], label_colors(np.arange(8))[value])


def test_centres_stand_for_the_labels_given_for_them():
    x = _points(300)
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0)  # 0, 1 and 2
    centres = np.array([[0.3, 0.3], [-0.3, -0.3]])  # labels 2 and 1 (a contained level's rows, in any order)
    figure = _figure(x, panels={"k=3": labels}, centers={"k=3": centres}, center_labels={"k=3": [2, 1]})
    (points,) = _collections(figure, "points")
    (stars,) = _collections(figure, "centers")
    face = points.get_facecolors()
    assert np.allclose(stars.get_facecolors()[0], face[labels == 2][0])
    assert np.allclose(stars.get_facecolors()[1], face[labels == 1][0])
    assert [t.get_text() for t in figure.axes[0].texts] == ["2", "1"]
    single = poincare_disk_figure(x, labels=labels, centers=centres, center_labels=[2, 1])
    assert [t.get_text() for t in single.axes[0].texts] == ["2", "1"]
    with pytest.raises(ValueError, match="1 labels for the 2 centres of 'k=3'"):
        _figure(x, panels={"k=3": labels}, centers={"k=3": centres}, center_labels={"k=3": [2]})


def test_single_centre_array_goes_on_the_last_panel(tmp_path):
    x = _points(100)
    labels = (x[:, 0] > 0).astype(int)
    plot_poincare_panels(x, panels={"true": labels, "k=2": labels}, centers=np.zeros((2, 2)), path=tmp_path / "p.png")
    figure = _figure(x, panels={"true": labels, "k=2": labels}, centers={"k=2": np.zeros((2, 2))})
    assert [len([c for c in ax.collections if c.get_gid() == "centers"]) for ax in figure.axes] == [0, 1]


def test_higher_dimensions_show_the_first_two_coordinates():
    x = _points(300, d=5)
    figure = _figure(x)
    assert np.allclose(_collections(figure, "points")[0].get_offsets(), x[:, :2])
    assert "first 2 of 5 coordinates" in figure.get_suptitle()


def test_boundary_circle_has_radius_one_over_sqrt_c():
    from matplotlib.patches import Circle

    for c in (1.0, 4.0):
        figure = _figure(_points(50, c=c), c=c)
        radii = [patch.get_radius() for patch in figure.axes[0].patches if isinstance(patch, Circle)]
        assert radii and np.allclose(radii, 1 / np.sqrt(c))


@pytest.mark.parametrize(
    "points, kwargs, match",
    [
        (np.array([[0.1, 0.2], [1.5, 0.0]]), {}, "outside the Poincare ball"),
        (np.array([[0.1, 0.2], [0.6, 0.0]]), {"c": 4.0}, "outside the Poincare ball"),
        (np.array([[0.1, np.nan]]), {}, "NaN or Inf"),
        (np.zeros((4, 1)), {}, "shape \\(N, d\\)"),
        (np.zeros((0, 2)), {}, "empty"),
        (np.zeros((4, 2)), {"labels": np.zeros(3, dtype=int)}, "do not match"),
        (np.zeros((4, 2)), {"labels": np.zeros(4)}, "integer dtype"),
        (np.zeros((4, 2)), {"centers": np.array([[2.0, 0.0]])}, "centres lie outside"),
        (np.zeros((4, 2)), {"centers": np.zeros((2, 3))}, "shape \\(K, 2\\)"),
        (np.zeros((4, 2)), {"c": 0.0}, "positive"),
        (np.zeros((4, 2)), {"max_points": 0}, "max_points"),
    ],
)
def test_bad_input_raises_and_writes_nothing(tmp_path, points, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_poincare_disk(points, path=tmp_path / "disk.png", **kwargs)
    assert list(tmp_path.iterdir()) == []


def test_bad_path_and_panels(tmp_path):
    x = _points(10)
    with pytest.raises(ValueError, match="PNG"):
        plot_poincare_disk(x, path=tmp_path / "disk.jpg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot_poincare_disk(x, path=tmp_path / "missing" / "disk.png")
    with pytest.raises(ValueError, match="at least one panel"):
        plot_poincare_panels(x, panels={}, path=tmp_path / "p.png")
    with pytest.raises(ValueError, match="not among"):
        plot_poincare_panels(x, panels={"a": np.zeros(10, int)}, centers={"b": np.zeros((1, 2))}, path=tmp_path / "p.png")


def test_memory_mapped_points_are_read_at_the_sample(tmp_path):
    x = _points(4000).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    out = plot_poincare_disk(mapped, labels=np.zeros(4000, int), max_points=100, path=tmp_path / "disk.png")
    assert out.stat().st_size > 0
