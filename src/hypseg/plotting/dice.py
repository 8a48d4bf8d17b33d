"""Per-level DICE of a segmentation next to the paper's numbers, as a grouped bar chart."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

from hypseg.errors import UserError
from hypseg.metrics.paper import PAPER_DICE as _PAPER_LEVELS
from hypseg.plotting._figure import check_png_path, new_figure, save_png

__all__ = ["PAPER_DICE", "plot_dice_table"]

#: :data:`hypseg.metrics.PAPER_DICE` keyed by level name: ``{"L1": ..., "L2": ..., "L3": ...}``.
PAPER_DICE: dict[str, float] = {f"L{level}": dice for level, dice in _PAPER_LEVELS.items()}


def plot_dice_table(
    ours: Mapping[int | str, float],
    *,
    path: str | os.PathLike,
    paper: Mapping[int | str, float] | None = None,
    title: str | None = None,
) -> Path:
    """Bars of our DICE per level beside the paper's; writes a PNG.

    Parameters
    ----------
    ours : mapping of level to float
        Level -> mean matched DICE in [0, 1]. An integer level ``n`` is shown as ``"Ln"`` (so
        ``{1: 0.9}`` lines up with the paper's ``"L1"``); a string level is shown as it is.
    path : path-like
        Output ``.png``; its folder must exist. Written atomically.
    paper : mapping of level to float, optional
        The reference numbers; :data:`PAPER_DICE` by default. Levels missing on either side get no bar.
    title : str, optional
        Axes title; ``"Matched DICE per level"`` by default.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UserError
        For no levels, a score that is not a number in [0, 1], or a path not ending in ``.png``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_dice_table({1: 0.93, 2: 0.60, 3: 0.25}, path=pathlib.Path(tmp) / "dice.png").name
    'dice.png'
    """
    check_png_path(path)
    figure = _figure_dice(ours=ours, paper=PAPER_DICE if paper is None else paper, title=title)
    return save_png(figure, path)


def _figure_dice(*, ours: Mapping, paper: Mapping, title: str | None) -> "Figure":
    """Validate and draw; returns the Figure (not saved)."""
    ours_n, paper_n = _levels(ours, name="ours"), _levels(paper, name="paper")
    if not ours_n:
        raise UserError("plot_dice_table: give the DICE of at least one level")
    levels = list(ours_n) + [level for level in paper_n if level not in ours_n]
    figure = new_figure(width=max(4.0, 1.3 * len(levels) + 2.0), height=3.6)
    ax = figure.subplots()
    width = 0.38
    for offset, (name, scores, color) in zip((-width / 2, width / 2), (("ours", ours_n, "tab:blue"), ("paper", paper_n, "0.6"))):
        xs = [i + offset for i, level in enumerate(levels) if level in scores]
        ys = [scores[level] for level in levels if level in scores]
        bars = ax.bar(xs, ys, width=width, label=name, color=color)
        ax.bar_label(bars, fmt="%.3f", fontsize=8, padding=2)
    ax.set_xticks(range(len(levels)), levels)
    ax.set_ylim(0.0, 1.1)
    ax.set_ylabel("mean matched DICE")
    ax.set_title(title if title is not None else "Matched DICE per level")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(True, axis="y", alpha=0.3)
    return figure


def _levels(scores: Mapping, *, name: str) -> dict[str, float]:
    out = {}
    for level, value in scores.items():
        key = f"L{level}" if isinstance(level, int) and not isinstance(level, bool) else str(level)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
            raise UserError(f"DICE of level {key} ({name}) must be a number in [0, 1], got {value!r}")
        out[key] = float(value)
    return out
