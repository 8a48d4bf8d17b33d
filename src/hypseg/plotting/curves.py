"""Training curves from the records of a run's ``log.jsonl``: one panel per loss term, train and val."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.figure import Figure

from hypseg.errors import UserError
from hypseg.plotting._figure import check_png_path, new_figure, save_png

__all__ = ["plot_training_curves"]

#: terms shown first, in this order; any other numeric field follows alphabetically
TERM_ORDER = ("loss", "reconstruction", "kl", "triplet")
#: terms drawn on a log scale when every value is positive
LOG_TERMS = frozenset({"loss", "reconstruction"})
_SPLIT_STYLE = {"train": {"color": "tab:blue", "linewidth": 1.0}, "val": {"color": "tab:orange", "linewidth": 1.6, "marker": "o", "markersize": 3}}
_NOT_TERMS = frozenset({"step", "split", "epoch"})


def plot_training_curves(
    records: Iterable[Mapping[str, object]],
    *,
    path: str | os.PathLike,
    terms: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:
    """One panel per loss term with the train and val curves against the step; writes a PNG.

    Parameters
    ----------
    records : iterable of mappings
        The lines of a training log, e.g. ``{"step": 10, "split": "train", "loss": 1.2,
        "reconstruction": 0.9, "kl": 0.2, "triplet": 0.1}``. ``split`` is ``"train"`` (the default when
        absent) or ``"val"``; a record may lack some terms. Non-finite values are skipped.
    path : path-like
        Output ``.png``; its folder must exist. Written atomically.
    terms : sequence of str, optional
        The terms to draw. By default every numeric field except ``step``/``split``/``epoch``:
        ``loss, reconstruction, kl, triplet`` first, then the others (e.g. ``triplets_per_s``)
        alphabetically.
    title : str, optional
        Figure title.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    UserError
        For no records, a record without an integer ``step`` or with an unknown ``split``, a requested
        term that no record holds, or a path not ending in ``.png``.

    Notes
    -----
    ``loss`` and ``reconstruction`` use a logarithmic y axis when all their values are positive; the
    other terms (KL, triplet) may sit near zero and stay linear.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> log = [{"step": s, "split": "train", "loss": 1 / s, "kl": 0.1} for s in range(1, 20)]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_training_curves(log, path=pathlib.Path(tmp) / "curves.png").name
    'curves.png'
    """
    check_png_path(path)
    figure = _figure_training_curves(records=list(records), terms=terms, title=title)
    return save_png(figure, path)


def _figure_training_curves(*, records: list, terms: Sequence[str] | None, title: str | None) -> "Figure":
    """Validate and draw; returns the Figure (not saved). Each curve's Line2D has label ``train``/``val``."""
    from matplotlib.ticker import LogFormatter

    series = _series(records)
    available = sorted({term for split in series.values() for term in split})
    if terms is None:
        terms = [t for t in TERM_ORDER if t in available] + [t for t in available if t not in TERM_ORDER]
        if not terms:
            raise UserError("the training log holds no numeric loss terms")
    else:
        missing = [t for t in terms if t not in available]
        if missing:
            raise UserError(f"the training log has no term(s) {missing}; it holds {available}")
    ncols = min(3, len(terms))
    nrows = math.ceil(len(terms) / ncols)
    figure = new_figure(width=4.0 * ncols, height=3.0 * nrows + (0.4 if title else 0.0))
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, term in zip(axes, terms):
        values = []
        for split, style in _SPLIT_STYLE.items():
            points = series.get(split, {}).get(term)
            if points:
                steps, ys = zip(*sorted(points))
                ax.plot(steps, ys, label=split, **style)
                values.extend(ys)
        if term in LOG_TERMS and values and min(values) > 0:
            ax.set_yscale("log")
            # plain numbers ("960", "0.02") rather than "9.6 x 10^2"; minor ticks labelled over short spans
            ax.yaxis.set_major_formatter(LogFormatter(labelOnlyBase=False))
            ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False, minor_thresholds=(1, 0.4)))
        ax.set_title(term)
        ax.set_xlabel("step")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[len(terms):]:
        ax.set_visible(False)
    if title:
        figure.suptitle(title)
    return figure


def _series(records: list) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """split -> term -> [(step, value)], finite values only."""
    if not records:
        raise UserError("the training log is empty: there is nothing to plot")
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    for i, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise UserError(f"training log record {i} is not a JSON object")
        step = record.get("step")
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not float(step).is_integer():
            raise UserError(f"training log record {i} has no integer 'step' (got {step!r})")
        split = record.get("split", "train")
        if split not in _SPLIT_STYLE:
            raise UserError(f"training log record {i} has split {split!r}; expected 'train' or 'val'")
        for key, value in record.items():
            if key in _NOT_TERMS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value):
                out.setdefault(split, {}).setdefault(key, []).append((int(step), float(value)))
    return out
