"""Training curves and the DICE bar chart."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from hypseg.plotting import PAPER_DICE, plot_dice_table, plot_training_curves
from hypseg.plotting._figure import DPI
from hypseg.plotting.curves import _figure_training_curves
from hypseg.plotting.dice import _figure_dice


def _log(steps=30, val_every=10, kl_zero=False):
    records = []
    for s in range(1, steps + 1):
        kl = 0.0 if kl_zero else 0.1 / s
        records.append({"step": s, "split": "train", "loss": 3 / s, "reconstruction": 2 / s, "kl": kl, "triplet": 0.5, "triplets_per_s": 100.0})
        if s % val_every == 0:
            records.append({"step": s, "split": "val", "loss": 3.2 / s, "reconstruction": 2.1 / s, "kl": kl, "triplet": 0.6})
    return records


def test_curves_png_and_panels(tmp_path):
    out = plot_training_curves(_log(), path=tmp_path / "curves.png")
    figure = _figure_training_curves(records=_log(), terms=None, title=None)
    width, height = figure.get_size_inches()
    assert matplotlib.image.imread(out).shape[:2] == (round(height * DPI), round(width * DPI))
    visible = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["loss", "reconstruction", "kl", "triplet", "triplets_per_s"]
    loss = visible[0]
    assert {line.get_label(): len(line.get_xdata()) for line in loss.get_lines()} == {"train": 30, "val": 3}
    assert [ax.get_yscale() for ax in visible] == ["log", "log", "linear", "linear", "linear"]
    assert {line.get_label() for line in visible[-1].get_lines()} == {"train"}


def test_log_scale_only_when_positive_and_terms_can_be_chosen():
    records = _log()
    records[0]["loss"] = -1.0
    figure = _figure_training_curves(records=records, terms=["loss", "kl"], title="run")
    assert [ax.get_title() for ax in figure.axes if ax.get_visible()] == ["loss", "kl"]
    assert figure.axes[0].get_yscale() == "linear"


def test_curves_skip_non_finite_values_and_sort_steps():
    records = [{"step": 3, "loss": 1.0}, {"step": 1, "loss": float("nan")}, {"step": 2, "loss": 2.0}]
    figure = _figure_training_curves(records=records, terms=None, title=None)
    (line,) = figure.axes[0].get_lines()
    assert list(line.get_xdata()) == [2, 3]


@pytest.mark.parametrize(
    "records, terms, match",
    [
        ([], None, "empty"),
        ([{"split": "train", "loss": 1.0}], None, "integer 'step'"),
        ([{"step": 1, "split": "test", "loss": 1.0}], None, "split 'test'"),
        ([{"step": 1, "split": "train"}], None, "no numeric loss terms"),
        ([{"step": 1, "loss": 1.0}], ["kl"], "no term"),
    ],
)
def test_curves_bad_input(tmp_path, records, terms, match):
    with pytest.raises(ValueError, match=match):
        plot_training_curves(records, terms=terms, path=tmp_path / "c.png")
    assert list(tmp_path.iterdir()) == []


def test_dice_bars_hold_ours_and_the_papers_numbers(tmp_path):
    ours = {1: 0.9, 2: 0.6, 3: 0.3}
    out = plot_dice_table(ours, path=tmp_path / "dice.png")
    assert matplotlib.image.imread(out).shape[2] in (3, 4) and out.stat().st_size > 0
    figure = _figure_dice(ours=ours, paper=PAPER_DICE, title=None)
    (ax,) = figure.axes
    heights = [patch.get_height() for patch in ax.patches]
    assert np.allclose(heights, [0.9, 0.6, 0.3, 0.952, 0.541, 0.216])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["L1", "L2", "L3"]


def test_dice_bad_scores(tmp_path):
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        plot_dice_table({1: 1.2}, path=tmp_path / "d.png")
    with pytest.raises(ValueError, match="at least one level"):
        plot_dice_table({}, path=tmp_path / "d.png")
