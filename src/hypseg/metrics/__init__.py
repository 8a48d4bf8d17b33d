"""Segmentation metrics: pure functions on integer label maps (NumPy and SciPy only).

* :func:`matched_dice` — DICE (or IoU) per class after Hungarian matching of clusters to classes,
  and their mean (the paper's protocol, method.md §7).
* :func:`adjusted_rand_index`, :func:`normalized_mutual_info` — matching-free agreement scores.
* :func:`level_report` — the above per level of the hierarchy, averaged over volumes.
* :func:`contingency` — the vectorised confusion matrix they share.
* :func:`paired_interval` — a paired bootstrap interval of the mean difference of two methods' per-volume scores.
* :data:`PAPER_DICE`, :data:`PAPER_ABLATIONS` — the paper's reported DICE (Tables 1 and 2).

This package imports nothing from the rest of hypseg.
"""

from __future__ import annotations

from ._labels import Contingency, contingency
from .agreement import adjusted_rand_index, normalized_mutual_info
from .matching import MatchedScore, matched_dice, overlap_scores
from .paired import paired_interval
from .paper import PAPER_ABLATIONS, PAPER_DICE
from .report import LevelReport, LevelScore, level_report

__all__ = [
    "PAPER_ABLATIONS",
    "PAPER_DICE",
    "Contingency",
    "LevelReport",
    "LevelScore",
    "MatchedScore",
    "adjusted_rand_index",
    "contingency",
    "level_report",
    "matched_dice",
    "normalized_mutual_info",
    "overlap_scores",
    "paired_interval",
]
