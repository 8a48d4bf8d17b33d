"""Voxel embeddings on the Poincare disk: a scatter inside the boundary circle, coloured by labels.

The curvature ``-c`` ball has radius ``1 / sqrt(c)``; its boundary circle is drawn so that distances to
the edge (hyperbolic depth, method.md §3) can be read off the picture. Points of a ball with more than
two dimensions are shown by their **first two coordinates**: the orthogonal projection of a point of
the ball onto a coordinate plane stays inside the disk (it never increases the Euclidean norm), and
the title says ``first 2 of d coordinates``. (Mapping by ``log0``/``exp0`` would be no more faithful
for d > 2 and would hide the radial structure less honestly, so we keep the plain projection.)
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from hypseg.errors import UserError
from hypseg.plotting._colors import check_labels, value_colors
from hypseg.plotting._figure import check_png_path, new_figure, save_png

_NO_LABEL = (0.6, 0.6, 0.6, 1.0)  # the colour of a negative label's points

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_poincare_disk", "plot_poincare_panels"]

#: side of one disk panel in inches
_PANEL_INCHES = 5.0
#: panels per row; more panels wrap onto further rows
_MAX_COLUMNS = 3
#: legends list at most this many labels (more would hide the disk)
_MAX_LEGEND = 20


def plot_poincare_disk(
    points: np.ndarray,
    *,
    path: str | os.PathLike,
    labels: np.ndarray | None = None,
    centers: np.ndarray | None = None,
    title: str | None = None,
    max_points: int = 20000,
    c: float = 1.0,
    random_state: int | np.random.Generator | None = 0,
    center_labels: Sequence[int] | None = None,
) -> Path:
    """Scatter points of the Poincare ball in the disk of radius ``1/sqrt(c)`` and write a PNG.

    Parameters
    ----------
    points : ndarray, shape (N, d), d >= 2
        Points of the ball (e.g. voxel embeddings flattened to ``(Z*Y*X, d)``); a memory map is read
        only at the sampled rows. For ``d > 2`` the first two coordinates are shown.
    path : path-like
        Output ``.png``; its folder must exist. Written atomically.
    labels : ndarray of int, shape (N,), optional
        Colour of each point (a qualitative colormap, one colour per distinct label, with a legend
        up to 20 labels). Without labels every point is grey-blue.
    centers : ndarray, shape (K, d), optional
        Cluster centres, drawn as large stars with a black edge; centre ``k`` takes the colour of
        label ``k`` when that label occurs, white otherwise.
    center_labels : sequence of int, optional
        The label each centre stands for, if not its row (a contained level's centres are labels 1..k-1).
    title : str, optional
        Figure title; ``"Poincare disk"`` by default.
    max_points : int
        At most this many points are drawn, a uniform random subsample without replacement (kept in
        the input order, so the drawing is deterministic for a given ``random_state``).
    c : float
        Positive curvature magnitude of the ball.
    random_state : int, Generator or None
        Randomness of the subsample.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UserError
        For a wrong shape or dtype, non-finite values, a (sampled) point or a centre outside the ball,
        ``c <= 0``, ``max_points < 1`` or a path not ending in ``.png``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-0.5, 0.5, size=(300, 2))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = plot_poincare_disk(x, labels=(x[:, 0] > 0).astype(int), path=pathlib.Path(tmp) / "disk.png")
    ...     out.name, out.stat().st_size > 0
    ('disk.png', True)
    """
    check_png_path(path)
    figure = poincare_disk_figure(points, labels=labels, centers=centers, title=title, max_points=max_points, c=c,
                                  random_state=random_state, center_labels=center_labels)
    return save_png(figure, path)


def poincare_disk_figure(
    points: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    centers: np.ndarray | None = None,
    title: str | None = None,
    max_points: int = 20000,
    c: float = 1.0,
    random_state: int | np.random.Generator | None = 0,
    inches: float = _PANEL_INCHES,
    center_labels: Sequence[int] | None = None,
) -> "Figure":
    """The figure :func:`plot_poincare_disk` saves, on an Agg canvas and not saved: for a program that
    draws it itself (napari's widget renders ``figure.canvas.buffer_rgba()``).

    Parameters are those of :func:`plot_poincare_disk`, less ``path``; ``inches`` is the side of the
    disk's panel.

    Examples
    --------
    >>> x = np.random.default_rng(0).uniform(-0.5, 0.5, size=(50, 2))
    >>> figure = poincare_disk_figure(x, labels=(x[:, 0] > 0).astype(int), inches=2.0)
    >>> figure.canvas.draw(); np.asarray(figure.canvas.buffer_rgba()).shape
    (240, 320, 4)
    """
    panels = None if labels is None else {"": labels}
    return _figure_poincare(
        points=points, panels=panels, centers=None if centers is None else {"": centers}, title=title,
        max_points=max_points, c=c, random_state=random_state, inches=inches,
        center_labels=None if center_labels is None else {"": center_labels},
    )


def plot_poincare_panels(
    points: np.ndarray,
    *,
    panels: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    centers: np.ndarray | Mapping[str, np.ndarray] | None = None,
    title: str | None = None,
    max_points: int = 20000,
    c: float = 1.0,
    random_state: int | np.random.Generator | None = 0,
    center_labels: Mapping[str, Sequence[int]] | None = None,
) -> Path:
    """The same points on several disks side by side, each coloured by another labelling; writes a PNG.

    Typical use: ``panels={"true class": truth, "k=2": labels_2, "k=4": labels_4}``; every panel shows
    the same subsample of points. Panels fill rows of at most three.

    Parameters
    ----------
    points : ndarray, shape (N, d), d >= 2
        As in :func:`plot_poincare_disk`.
    panels : mapping of str to ndarray of int, shape (N,)
        Panel title -> labels colouring that panel, in display order (at least one).
    path : path-like
        Output ``.png``; its folder must exist. Written atomically.
    centers : ndarray (K, d) or mapping of str to ndarray, optional
        A single array is drawn on the **last** panel (by convention the clusters); a mapping draws
        each array on the panel of that name.
    title, max_points, c, random_state
        As in :func:`plot_poincare_disk`; ``title`` goes above all panels.
    center_labels : mapping of str to sequence of int, optional
        The label each centre row of that panel stands for (coloured and numbered as that label); by
        default row j is label j. A contained level's centres, for example, are its labels 1..k-1.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UserError
        As :func:`plot_poincare_disk`, plus no panels, or centres named after no panel.
    """
    check_png_path(path)
    if not panels:
        raise UserError("plot_poincare_panels: give at least one panel of labels")
    if centers is not None and not isinstance(centers, Mapping):
        centers = {list(panels)[-1]: centers}
    figure = _figure_poincare(
        points=points, panels=dict(panels), centers=centers, title=title, max_points=max_points, c=c,
        random_state=random_state, center_labels=center_labels,
    )
    return save_png(figure, path)


def _figure_poincare(
    *,
    points: np.ndarray,
    panels: dict[str, np.ndarray] | None,
    centers: Mapping[str, np.ndarray] | None,
    title: str | None,
    max_points: int,
    c: float,
    random_state: int | np.random.Generator | None,
    inches: float = _PANEL_INCHES,
    center_labels: Mapping[str, Sequence[int]] | None = None,
) -> "Figure":
    """Validate, subsample and draw; returns the :class:`~matplotlib.figure.Figure` (not saved).

    Each panel's point scatter is the :class:`~matplotlib.collections.PathCollection` with gid
    ``"points"``, its centres the one with gid ``"centers"``.
    """
    if not (isinstance(c, (int, float)) and math.isfinite(c) and c > 0):
        raise UserError(f"the curvature magnitude c must be a positive number, got {c!r}")
    if int(max_points) < 1:
        raise UserError(f"max_points must be at least 1, got {max_points}")
    if np.ndim(points) != 2 or np.shape(points)[1] < 2:
        raise UserError(f"points must have shape (N, d) with d >= 2, got {np.shape(points)}")
    n, d = np.shape(points)
    if n == 0:
        raise UserError("points is empty: there is nothing to plot")
    panels = panels if panels is not None else {"": None}
    full = {name: None if lab is None else check_labels(lab, name=f"labels {name!r}".replace(" ''", ""), shape=(n,)) for name, lab in panels.items()}
    centers = dict(centers or {})
    unknown = set(centers) - set(full)
    if unknown:
        raise UserError(f"centres given for panels {sorted(unknown)}, which are not among {list(full)}")
    radius = 1.0 / math.sqrt(c)

    rng = np.random.default_rng(random_state)
    index = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    xy = _check_in_ball(np.asarray(points[index], dtype=np.float64), name="points", radius=radius)[:, :2]

    heading = title if title is not None else "Poincare disk"
    if d > 2:
        heading += f" (first 2 of {d} coordinates)"
    if n > max_points:
        heading += f"; {max_points} of {n} points"

    ncols = min(len(full), _MAX_COLUMNS)
    nrows = -(-len(full) // ncols)
    figure = new_figure(width=inches * ncols + 1.2, height=inches * nrows + 0.4)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(full):]:
        ax.set_visible(False)
    for ax, (name, lab) in zip(axes, full.items()):
        pts, rows = None, []
        if name in centers:
            pts = _check_in_ball(_as_points(centers[name], d=d, name=f"centres of {name!r}"), name="centres", radius=radius)
            rows = list((center_labels or {}).get(name, range(len(pts))))
            if len(rows) != len(pts):
                raise UserError(f"{len(rows)} labels for the {len(pts)} centres of {name!r}")
        colors = None
        if lab is not None:  # by value; a centre's cluster may hold no drawn point; negative labels (none) grey
            colors = value_colors(lab, also=rows) | {int(v): _NO_LABEL for v in np.unique(lab[lab < 0])}
        _draw_disk(ax, xy=xy, labels=None if lab is None else lab[index], colors=colors, radius=radius)
        if pts is not None:
            _draw_centers(ax, centers=pts[:, :2], colors=colors or {}, labels=rows)
        if name:
            ax.set_title(name)
    figure.suptitle(heading)
    return figure


def _as_points(x: np.ndarray, *, d: int, name: str) -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != d:
        raise UserError(f"{name} must have shape (K, {d}) like the points, got {array.shape}")
    return array


def _check_in_ball(x: np.ndarray, *, name: str, radius: float) -> np.ndarray:
    """``x`` itself after checking it is finite and strictly inside the ball (float rounding tolerated)."""
    if not np.all(np.isfinite(x)):
        raise UserError(f"{name} contain NaN or Inf values")
    norms = np.linalg.norm(x, axis=-1)
    if norms.size and norms.max() > radius * (1.0 + 1e-6):
        worst = int(np.argmax(norms))
        raise UserError(
            f"{name} lie outside the Poincare ball of radius {radius:g}: a point has norm {norms[worst]:.4g}; "
            "pass points on the ball (or the right curvature c)"
        )
    return x


def _draw_disk(ax: "Axes", *, xy: np.ndarray, labels: np.ndarray | None, colors: dict | None, radius: float) -> None:
    """Boundary circle, scatter (gid ``"points"``), equal aspect and a legend of the labels."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    ax.add_patch(Circle((0.0, 0.0), radius, fill=False, edgecolor="black", linewidth=1.2))
    ax.add_patch(Circle((0.0, 0.0), radius, facecolor="0.96", edgecolor="none", zorder=0))
    size = float(np.clip(3000.0 / max(len(xy), 1), 1.0, 20.0))  # smaller dots when there are many
    if labels is None:
        face = np.tile(np.array([[0.12, 0.47, 0.71, 1.0]]), (len(xy), 1))
    else:
        palette = np.array([colors[int(v)] for v in sorted(colors)])
        face = palette[np.searchsorted(np.array(sorted(colors)), labels)]
    ax.scatter(xy[:, 0], xy[:, 1], c=face, s=size, linewidths=0, gid="points", rasterized=len(xy) > 5000)
    lim = 1.04 * radius
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xticks([-radius, 0.0, radius])
    ax.set_yticks([-radius, 0.0, radius])
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if colors and len(colors) <= _MAX_LEGEND:
        handles = [Line2D([], [], linestyle="", marker="o", markersize=7, color=rgba, label=str(v)) for v, rgba in colors.items()]
        ax.legend(handles=handles, title="label", fontsize=8, title_fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)


def _draw_centers(ax: "Axes", *, centers: np.ndarray, colors: dict, labels: Sequence[int]) -> None:
    """Stars with a black edge (gid ``"centers"``), each coloured like its label and numbered with it."""
    white = (1.0, 1.0, 1.0, 1.0)
    face = [colors.get(k, white) for k in labels]
    ax.scatter(centers[:, 0], centers[:, 1], c=face, s=260, marker="*", edgecolors="black", linewidths=1.0, zorder=5, gid="centers")
    offset = 0.035 * float(np.max(np.abs(ax.get_xlim())))
    for k, (x, y) in zip(labels, centers):
        ax.annotate(str(k), (x, y), xytext=(x + offset, y + offset), fontsize=8, fontweight="bold", zorder=6)
