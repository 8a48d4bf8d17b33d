"""Figures without global state: a :class:`matplotlib.figure.Figure` on an Agg canvas, saved atomically.

Building figures through ``Figure`` + ``FigureCanvasAgg`` instead of ``pyplot`` leaves matplotlib's
global backend and figure registry untouched, so plotting works headless, from threads, and next to a
user's own interactive session. matplotlib is imported inside the functions (design.md: plotting is
imported lazily), so ``import hypseg.plotting`` costs nothing.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from hypseg.errors import UserError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

#: resolution of every PNG written by this package (pixels per inch)
DPI = 100


def new_figure(*, width: float, height: float) -> "Figure":
    """A constrained-layout figure of ``width`` x ``height`` inches attached to an Agg canvas.

    The saved PNG is exactly ``round(width * DPI)`` x ``round(height * DPI)`` pixels.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def check_png_path(path: str | os.PathLike) -> Path:
    """``path`` as a :class:`Path`, after checking it ends in ``.png`` and its folder exists.

    Raises
    ------
    UserError
        If the suffix is not ``.png``.
    FileNotFoundError
        If the folder does not exist.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"{path}: plots are written as PNG; use a .png file name")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
    return path


def save_png(figure: "Figure", path: str | os.PathLike) -> Path:
    """Write ``figure`` to ``path`` as a PNG, atomically; returns the path.

    The image is written under a hidden temporary name in the same folder and moved onto ``path`` with
    :func:`os.replace`, so an interrupted write never leaves a half-written file behind.
    """
    path = check_png_path(path)
    tmp = path.parent / f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}.png"
    try:
        figure.savefig(tmp, format="png", dpi=DPI)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
