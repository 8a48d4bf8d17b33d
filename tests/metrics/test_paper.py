"""The paper's reported DICE: one copy, which every consumer reads."""

from __future__ import annotations

from pathlib import Path

import hypseg
from hypseg.metrics import PAPER_ABLATIONS, PAPER_DICE
from hypseg.plotting import PAPER_DICE as PLOTTED


def test_the_full_model_of_table_2_is_table_1_up_to_its_printed_rounding():
    full = PAPER_ABLATIONS["hyperbolic gyroplane + triplet"]
    assert (full[0], full[2]) == (PAPER_DICE[1], PAPER_DICE[3])
    assert round(PAPER_DICE[2] - full[1], 3) == 0.001


def test_the_plots_show_the_same_numbers():
    assert PLOTTED == {"L1": 0.952, "L2": 0.541, "L3": 0.216}


def test_the_numbers_are_written_in_one_source_file():
    package = Path(hypseg.__file__).parent
    holders = sorted(str(p.relative_to(package)) for p in package.rglob("*.py") if "0.952" in p.read_text())
    assert holders == ["metrics/paper.py"]
