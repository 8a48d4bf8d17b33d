"""Three orthogonal slices of a volume, with one row of label overlays per clustering level.

Axes follow :mod:`hypseg.io`: arrays are ``(Z, Y, X)``. The **axial** slice is ``volume[z]`` (rows y,
columns x), the **coronal** slice ``volume[:, y]`` (rows z, columns x) and the **sagittal** slice
``volume[:, :, x]`` (rows z, columns y); coronal and sagittal are drawn with z increasing upwards.
Thin lines mark where the other two slices cut each panel.

Overlay convention: every label ``>= 0`` is a cluster (k-means labels are ``0..K-1``, and label 0 is a
cluster like any other, not background), so every non-negative label is coloured; **negative labels**
(e.g. ``-1`` for voxels outside a foreground mask) are left transparent.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np

from hypseg.errors import UserError
from hypseg.plotting._colors import check_labels, value_colors
from hypseg.plotting._figure import check_png_path, new_figure, save_png

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

__all__ = ["plot_slices"]

#: opacity of the label overlay
OVERLAY_ALPHA = 0.45
_PANEL_INCHES = 3.0
_MAX_LEGEND = 12


def plot_slices(
    volume: np.ndarray,
    *,
    labels: Mapping[str, np.ndarray],
    path: str | os.PathLike,
    index: Sequence[int] | None = None,
    spacing: Sequence[float] | None = None,
    title: str | None = None,
) -> Path:
    """Axial, coronal and sagittal slices of ``volume`` in grey, then one overlay row per label map.

    Parameters
    ----------
    volume : ndarray, shape (Z, Y, X)
        The image (any real dtype; a memory map is read only at the three slices). Grey levels span
        its 1st-99th percentiles over the three slices.
    labels : mapping of str to ndarray of int, shape (Z, Y, X)
        Row title -> label map, in display order, e.g. ``{"k=2": l2, "k=4": l4}``; may be empty.
        Labels ``>= 0`` are coloured (opacity 0.45, one qualitative colour per label, the same colour
        in all three columns), negative labels are transparent.
    path : path-like
        Output ``.png``; its folder must exist. Written atomically.
    index : sequence of 3 ints, optional
        The voxel ``(z, y, x)`` the three slices pass through; the centre voxel by default.
    spacing : sequence of 3 floats, optional
        Voxel size ``(dz, dy, dx)``; sets the aspect ratio so anisotropic voxels look right.
    title : str, optional
        Figure title.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UserError
        For a volume that is not 3-D, a label map of another shape or a non-integer dtype, an index
        outside the volume, a non-positive spacing or a path not ending in ``.png``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> v = np.random.default_rng(0).normal(size=(8, 9, 10))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = plot_slices(v, labels={"k=2": (v > 0).astype(int)}, path=pathlib.Path(tmp) / "s.png")
    ...     out.name
    's.png'
    """
    check_png_path(path)
    figure = _figure_slices(volume=volume, labels=labels, index=index, spacing=spacing, title=title)
    return save_png(figure, path)


def _figure_slices(
    *,
    volume: np.ndarray,
    labels: Mapping[str, np.ndarray],
    index: Sequence[int] | None,
    spacing: Sequence[float] | None,
    title: str | None,
) -> "Figure":
    """Validate and draw; returns the Figure (not saved). Overlays are AxesImages with gid ``"overlay"``."""
    from matplotlib.patches import Patch

    if np.ndim(volume) != 3:
        raise UserError(f"volume must be 3-D (Z, Y, X), got shape {np.shape(volume)}")
    shape = tuple(int(s) for s in np.shape(volume))
    z, y, x = _check_index(index, shape=shape)
    dz, dy, dx = _check_spacing(spacing)
    maps = {name: check_labels(lab, name=f"label map {name!r}", shape=shape) for name, lab in labels.items()}

    cuts = [np.asarray(volume[z]), np.asarray(volume[:, y]), np.asarray(volume[:, :, x])]  # (Y,X) (Z,X) (Z,Y)
    for cut in cuts:
        if not np.issubdtype(cut.dtype, np.number) or np.iscomplexobj(cut):
            raise UserError(f"volume must hold real numbers, got {cut.dtype}")
    values = np.concatenate([cut.ravel() for cut in cuts]).astype(np.float64)
    finite = values[np.isfinite(values)]
    lo, hi = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    columns = [
        (f"axial z={z}", dy / dx, (x, y), False),  # rows y, columns x; cross at (x, y)
        (f"coronal y={y}", dz / dx, (x, z), True),  # rows z, columns x
        (f"sagittal x={x}", dz / dy, (y, z), True),  # rows z, columns y
    ]

    rows = [("volume", None)] + list(maps.items())
    figure = new_figure(width=3 * _PANEL_INCHES + 1.4, height=_PANEL_INCHES * len(rows) + (0.4 if title else 0.0))
    axes = figure.subplots(len(rows), 3, squeeze=False)
    for r, (row_name, lab) in enumerate(rows):
        colors = value_colors(lab) if lab is not None else {}
        lab_cuts = None if lab is None else [lab[z], lab[:, y], lab[:, :, x]]
        for col, (col_name, aspect, cross, up) in enumerate(columns):
            ax = axes[r, col]
            origin = "lower" if up else "upper"
            ax.imshow(cuts[col], cmap="gray", vmin=lo, vmax=hi, aspect=aspect, origin=origin, interpolation="nearest")
            if lab_cuts is not None:
                ax.imshow(_overlay(lab_cuts[col], colors=colors), aspect=aspect, origin=origin, interpolation="nearest", gid="overlay")
            ax.axvline(cross[0], color="yellow", linewidth=0.5, alpha=0.6)
            ax.axhline(cross[1], color="yellow", linewidth=0.5, alpha=0.6)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(col_name, fontsize=10)
            if col == 0:
                ax.set_ylabel(row_name, fontsize=11)
        if colors and len(colors) <= _MAX_LEGEND:
            handles = [Patch(facecolor=rgba, label=str(v)) for v, rgba in colors.items()]
            axes[r, 2].legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    if title:
        figure.suptitle(title)
    return figure


def _overlay(cut: np.ndarray, *, colors: dict) -> np.ndarray:
    """RGBA image of a 2-D label slice: label colour at OVERLAY_ALPHA, negative labels transparent."""
    rgba = np.zeros(cut.shape + (4,), dtype=np.float64)
    if colors:
        keys = np.array(sorted(colors))
        palette = np.array([colors[int(k)] for k in keys])
        inside = cut >= 0
        rgba[inside] = palette[np.searchsorted(keys, cut[inside])]
        rgba[inside, 3] = OVERLAY_ALPHA
    return rgba


def _check_index(index: Sequence[int] | None, *, shape: tuple[int, int, int]) -> tuple[int, int, int]:
    if index is None:
        return tuple(s // 2 for s in shape)  # type: ignore[return-value]
    if len(index) != 3:
        raise UserError(f"index must be a voxel (z, y, x), got {tuple(index)}")
    out = tuple(int(i) for i in index)
    if any(not 0 <= i < s for i, s in zip(out, shape)):
        raise UserError(f"index {out} lies outside the volume of shape {shape}")
    return out  # type: ignore[return-value]


def _check_spacing(spacing: Sequence[float] | None) -> tuple[float, float, float]:
    if spacing is None:
        return (1.0, 1.0, 1.0)
    out = tuple(float(s) for s in spacing)
    if len(out) != 3 or not all(np.isfinite(s) and s > 0 for s in out):
        raise UserError(f"spacing must be 3 positive numbers (dz, dy, dx), got {tuple(spacing)}")
    return out  # type: ignore[return-value]
