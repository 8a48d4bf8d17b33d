"""Per-level report: matched DICE (and matching-free scores) for several levels and volumes.

In the synthetic benchmark every volume has one ground-truth label map per level of the hierarchy
(level 1: cell vs background, level 2: organelles, level 3: aggregates) and the segmentation gives
one label map per level (k = 2, 4, 8 clusters); the paper reports, for each level, the mean over test
volumes of the per-volume matched DICE (method.md §7, §9).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable, Literal, Mapping, Sequence

import numpy as np

from hypseg.errors import UserError

from .agreement import adjusted_rand_index, normalized_mutual_info
from .matching import MatchedScore, matched_dice

__all__ = ["LevelScore", "LevelReport", "level_report"]


@dataclass(frozen=True)
class LevelScore:
    """Scores of one level, averaged over volumes.

    Attributes
    ----------
    mean : float
        Mean over volumes of the per-volume matched mean score (the paper's number).
    per_class : dict[int, float]
        True class -> mean over the volumes in which the class occurs of its matched score.
    ari, nmi : float
        Mean over volumes of the adjusted Rand index and the normalised mutual information.
    volumes : tuple[MatchedScore, ...]
        The per-volume results, in input order.
    """

    mean: float
    per_class: dict[int, float]
    ari: float
    nmi: float
    volumes: tuple[MatchedScore, ...] = field(repr=False)


@dataclass(frozen=True)
class LevelReport:
    """Result of :func:`level_report`: level -> :class:`LevelScore`, in input order."""

    levels: dict[Hashable, LevelScore]
    score: str

    def table(self) -> str:
        """Plain-text table, one row per level: level, mean score, ARI, NMI, per-class scores."""
        name = self.score.upper()
        lines = [f"{'level':>8}  {name:>6}  {'ARI':>6}  {'NMI':>6}  per class"]
        for level, s in self.levels.items():
            per = ", ".join(f"{k}: {v:.3f}" for k, v in s.per_class.items())
            lines.append(f"{str(level):>8}  {s.mean:6.3f}  {s.ari:6.3f}  {s.nmi:6.3f}  {per}")
        return "\n".join(lines)


def _as_volume_list(value: object) -> list[object]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def level_report(
    preds: Mapping[Hashable, object],
    truths: Mapping[Hashable, object],
    *,
    include_background: bool = True,
    score: Literal["dice", "iou"] = "dice",
    background: int = 0,
) -> LevelReport:
    """Matched score per level, averaged over volumes, with ARI and NMI.

    Parameters
    ----------
    preds : mapping
        Level -> predicted label map, or a list/tuple of label maps (one per volume).
    truths : mapping
        Level -> ground-truth label map(s), with the same keys and the same number of volumes per
        level as ``preds``.
    include_background, score, background
        As in :func:`hypseg.metrics.matched_dice`.

    Returns
    -------
    LevelReport
        ``levels[level]`` is a :class:`LevelScore`; ``table()`` formats it.

    Raises
    ------
    UserError
        If the levels or the volume counts differ, or any pair of maps is invalid (see
        :func:`hypseg.metrics.matched_dice`).

    Examples
    --------
    >>> truth = {1: np.array([0, 0, 1, 1]), 2: np.array([0, 1, 2, 2])}
    >>> pred = {1: np.array([1, 1, 0, 0]), 2: np.array([0, 1, 2, 0])}
    >>> r = level_report(pred, truth)
    >>> r.levels[1].mean, r.levels[2].per_class
    (1.0, {0: 0.6666666666666666, 1: 1.0, 2: 0.6666666666666666})
    """
    if set(preds) != set(truths):
        raise UserError(
            f"preds and truths must have the same levels, got {sorted(map(str, preds))} "
            f"and {sorted(map(str, truths))}"
        )
    if not preds:
        raise UserError("no levels given: preds and truths are empty")
    levels: dict[Hashable, LevelScore] = {}
    for level in preds:
        p_list, t_list = _as_volume_list(preds[level]), _as_volume_list(truths[level])
        if len(p_list) != len(t_list):
            raise UserError(
                f"level {level!r}: {len(p_list)} predicted maps but {len(t_list)} truth maps"
            )
        if not p_list:
            raise UserError(f"level {level!r}: no volumes given")
        results = tuple(
            matched_dice(p, t, include_background=include_background, score=score, background=background)
            for p, t in zip(p_list, t_list)
        )
        collected: dict[int, list[float]] = {}
        for r in results:
            for cls, v in r.per_class.items():
                collected.setdefault(cls, []).append(v)
        per_class = {cls: float(np.mean(v)) for cls, v in sorted(collected.items())}
        levels[level] = LevelScore(
            mean=float(np.mean([r.mean for r in results])),
            per_class=per_class,
            ari=float(np.mean([adjusted_rand_index(p, t) for p, t in zip(p_list, t_list)])),
            nmi=float(np.mean([normalized_mutual_info(p, t) for p, t in zip(p_list, t_list)])),
            volumes=results,
        )
    return LevelReport(levels=levels, score=score)
