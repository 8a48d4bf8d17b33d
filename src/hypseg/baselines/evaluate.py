"""Score a baseline on volumes with ground truth per level (the paper's protocol, method.md §7)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from hypseg.errors import UserError
from hypseg.metrics import matched_dice

from ._base import Baseline
from .registry import make_baseline

__all__ = ["BaselineEvaluation", "DEFAULT_CLUSTERS", "evaluate_baseline"]

#: level -> number of clusters for the synthetic set (method.md §7)
DEFAULT_CLUSTERS: Mapping[int, int] = {1: 2, 2: 4, 3: 8}


@dataclass(frozen=True)
class BaselineEvaluation:
    """Result of :func:`evaluate_baseline`.

    Attributes
    ----------
    name : str
        The baseline's registry name.
    dice : dict[int, float]
        Level -> mean over volumes of the Hungarian-matched mean DICE (background included).
    seconds_per_volume : float
        Mean wall-clock seconds to segment one volume at every level (shared work done once).
    clusters : dict[int, int]
        Level -> number of clusters used.
    per_volume : dict[int, tuple[float, ...]]
        Level -> the matched mean DICE of each volume, in input order.
    """

    name: str
    dice: dict[int, float]
    seconds_per_volume: float
    clusters: dict[int, int]
    per_volume: dict[int, tuple[float, ...]] = field(repr=False)


def evaluate_baseline(
    name: str | Baseline,
    volumes: Sequence[np.ndarray],
    truths_by_level: Sequence[Mapping[int, np.ndarray]],
    clusters: Mapping[int, int] = DEFAULT_CLUSTERS,
    *,
    masks: Sequence[np.ndarray | None] | None = None,
    random_state: int = 0,
) -> BaselineEvaluation:
    """Segment every volume at every level and score it against the truth.

    For each volume the baseline runs once for all levels (:meth:`Baseline.segment_levels`); level
    ``l`` uses ``clusters[l]`` clusters and is scored with :func:`hypseg.metrics.matched_dice`
    against ``truths_by_level[i][l]``; the per-level score is the mean over volumes.

    Parameters
    ----------
    name : str or Baseline
        A key of :data:`hypseg.baselines.BASELINES` (built with its defaults) or a built baseline.
    volumes : sequence of numpy.ndarray
        (Z, Y, X) volumes.
    truths_by_level : sequence of mapping
        One mapping level -> (Z, Y, X) integer truth per volume; every level of ``clusters`` must be
        present.
    clusters : mapping, default {1: 2, 2: 4, 3: 8}
        Level -> number of clusters.
    masks : sequence, optional
        One mask (or None) per volume, passed to the baseline; voxels outside are scored as label 0.
    random_state : int, default 0
        Passed to the baseline.

    Returns
    -------
    BaselineEvaluation

    Raises
    ------
    UserError
        On an unknown name, no volumes, mismatched counts or a missing level.
    """
    baseline = make_baseline(name) if isinstance(name, str) else name
    if len(volumes) == 0:
        raise UserError("no volumes to evaluate")
    if len(truths_by_level) != len(volumes):
        raise UserError(f"{len(volumes)} volumes but {len(truths_by_level)} truth mappings")
    if masks is not None and len(masks) != len(volumes):
        raise UserError(f"{len(volumes)} volumes but {len(masks)} masks")
    if not clusters:
        raise UserError("clusters is empty: give level -> number of clusters")
    for i, truths in enumerate(truths_by_level):
        missing = sorted(set(clusters) - set(truths))
        if missing:
            raise UserError(f"volume {i}: no truth for level(s) {missing}")

    scores: dict[int, list[float]] = {level: [] for level in clusters}
    seconds = 0.0
    for i, (volume, truths) in enumerate(zip(volumes, truths_by_level)):
        mask = None if masks is None else masks[i]
        start = time.perf_counter()
        labels = baseline.segment_levels(volume, tuple(clusters.values()), mask=mask, random_state=random_state)
        seconds += time.perf_counter() - start
        for level, k in clusters.items():
            scores[level].append(matched_dice(labels[k], truths[level]).mean)
    return BaselineEvaluation(
        name=baseline.name,
        dice={level: float(np.mean(v)) for level, v in scores.items()},
        seconds_per_volume=seconds / len(volumes),
        clusters=dict(clusters),
        per_volume={level: tuple(v) for level, v in scores.items()},
    )
