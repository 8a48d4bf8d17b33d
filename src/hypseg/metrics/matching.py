"""Hungarian-matched DICE / IoU between a clustering and a ground-truth label map.

The protocol is the paper's (Hsu, Gu et al., "Learning Hyperbolic Representations for Unsupervised
3D Segmentation", NeurIPS 2021 version §4; method.md §7): compute the DICE coefficient between every
predicted cluster and every ground-truth class, find the one-to-one assignment of clusters to classes
that maximises the summed DICE (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``), and
average the DICE over the matched pairs, background included.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from hypseg.errors import UserError

from ._labels import contingency

__all__ = ["MatchedScore", "matched_dice", "overlap_scores"]

_SCORES = ("dice", "iou")


class MatchedScore(NamedTuple):
    """Result of :func:`matched_dice`.

    Attributes
    ----------
    mean : float
        Mean score over the reported classes (see :func:`matched_dice` for which classes are
        reported and how an unmatched class counts).
    per_class : dict[int, float]
        True class label -> score of the cluster matched to it (0.0 for an unmatched class).
    matching : dict[int, int | None]
        True class label -> predicted cluster label matched to it, or ``None``.
    unmatched_clusters : tuple[int, ...]
        Predicted labels left without a class (when clusters outnumber classes); they are ignored.
    score : str
        ``"dice"`` or ``"iou"``.
    """

    mean: float
    per_class: dict[int, float]
    matching: dict[int, int | None]
    unmatched_clusters: tuple[int, ...]
    score: str


def overlap_scores(table: np.ndarray, *, score: str = "dice") -> np.ndarray:
    """DICE or IoU of every cluster against every class from a contingency table.

    With ``n_ij`` the overlap count, ``|P_i|`` the cluster size and ``|T_j|`` the class size:
    ``DICE_ij = 2 n_ij / (|P_i| + |T_j|)`` (Dice 1945) and
    ``IoU_ij = n_ij / (|P_i| + |T_j| - n_ij)`` (Jaccard 1912).

    Parameters
    ----------
    table : numpy.ndarray
        (K, C) contingency counts, every row and column non-empty.
    score : {"dice", "iou"}
        Which overlap score.

    Returns
    -------
    numpy.ndarray
        (K, C) float64 scores in [0, 1].

    Examples
    --------
    >>> overlap_scores(np.array([[3, 1], [0, 4]]))
    array([[0.85714286, 0.22222222],
           [0.        , 0.88888889]])
    """
    if score not in _SCORES:
        raise UserError(f"score must be one of {_SCORES}, got {score!r}")
    n = table.astype(np.float64)
    sizes = n.sum(axis=1, keepdims=True) + n.sum(axis=0, keepdims=True)  # |P_i| + |T_j|
    if score == "dice":
        return 2.0 * n / sizes
    return n / (sizes - n)


def matched_dice(
    pred: object,
    truth: object,
    *,
    include_background: bool = True,
    score: Literal["dice", "iou"] = "dice",
    background: int = 0,
) -> MatchedScore:
    """DICE (or IoU) per class after Hungarian matching of clusters to classes.

    1. The contingency table of ``pred`` (clusters) and ``truth`` (classes) is computed in one
       vectorised ``np.bincount`` pass.
    2. ``DICE_ij = 2 |P_i ∩ T_j| / (|P_i| + |T_j|)`` for every cluster i and class j.
    3. A one-to-one matching maximising the total DICE is found with
       ``scipy.optimize.linear_sum_assignment`` (the matching always maximises DICE, also when
       ``score="iou"``; the IoU of the DICE-matched pairs is then reported).
    4. The mean of the per-class scores is returned together with them.

    Unequal counts (our choice, tested):

    * **More clusters than classes**: every class gets a distinct cluster; the clusters left over are
      ignored (listed in ``unmatched_clusters``). The mean is over the matched pairs, which is the
      paper's protocol.
    * **More classes than clusters**: the classes left without a cluster score **0** and count in the
      mean (so the mean is over all classes). This keeps a clustering with too few clusters from
      scoring well by matching only the large classes. When the counts are equal this coincides
      with the paper's "mean over matched pairs".

    Parameters
    ----------
    pred : array_like
        Predicted labels (cluster ids, any integers), any shape.
    truth : array_like
        Ground-truth labels of the same shape.
    include_background : bool, default True
        If True (the paper's protocol) the background class is one of the scored classes. If False
        the matching still includes it (so the cluster that covers the background cannot also be
        matched to a foreground class) but it is dropped from ``per_class``, ``matching`` and the
        mean.
    score : {"dice", "iou"}, default "dice"
        Score reported for the matched pairs.
    background : int, default 0
        The label of the background class in ``truth``.

    Returns
    -------
    MatchedScore
        ``mean``, ``per_class``, ``matching``, ``unmatched_clusters``, ``score``.

    Raises
    ------
    UserError
        If the shapes differ, an array is empty or not integer-valued, ``score`` is unknown, or no
        class is left to score (``include_background=False`` and only background in ``truth``).

    Examples
    --------
    Cluster ids are arbitrary, so a relabelled copy of the truth scores 1:

    >>> truth = np.array([0, 0, 1, 1, 2, 2])
    >>> matched_dice(truth * 10 + 3, truth).mean
    1.0

    A partial overlap: class 1 = {2, 3}, cluster 1 = {3, 4, 5} -> DICE = 2*1/(2+3) = 0.4:

    >>> r = matched_dice([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0])
    >>> r.per_class
    {0: 0.5714285714285714, 1: 0.4}
    """
    if score not in _SCORES:
        raise UserError(f"score must be one of {_SCORES}, got {score!r}")
    con = contingency(pred, truth)
    dice = overlap_scores(con.table, score="dice")
    rows, cols = linear_sum_assignment(dice, maximize=True)  # rows: clusters, cols: classes
    reported = dice if score == "dice" else overlap_scores(con.table, score=score)

    per_class: dict[int, float] = {}
    matching: dict[int, int | None] = {}
    for cls in con.truth_labels.tolist():
        per_class[cls] = 0.0
        matching[cls] = None
    for i, j in zip(rows.tolist(), cols.tolist()):
        cls = int(con.truth_labels[j])
        per_class[cls] = float(reported[i, j])
        matching[cls] = int(con.pred_labels[i])
    matched = set(rows.tolist())
    unmatched = tuple(int(con.pred_labels[i]) for i in range(con.pred_labels.size) if i not in matched)

    if not include_background:
        per_class.pop(background, None)
        matching.pop(background, None)
        if not per_class:
            raise UserError(
                "truth holds only the background label, so nothing is left to score "
                "with include_background=False"
            )
    mean = float(np.mean(list(per_class.values())))
    return MatchedScore(
        mean=mean, per_class=per_class, matching=matching, unmatched_clusters=unmatched, score=score
    )
