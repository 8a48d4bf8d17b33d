"""Matching-free agreement scores between two label maps: adjusted Rand index and NMI.

Both are computed from the contingency table (one ``np.bincount`` pass), so they are as fast as
:func:`hypseg.metrics.matched_dice` on whole volumes; they agree with ``sklearn.metrics`` (tested).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from hypseg.errors import UserError

from ._labels import contingency

__all__ = ["adjusted_rand_index", "normalized_mutual_info"]

_AVERAGES = ("arithmetic", "geometric", "min", "max")


def _pairs(n: np.ndarray) -> int:
    """Sum of binomial(n, 2) over an int64 array, exactly."""
    return int(np.sum(n * (n - 1) // 2))


def adjusted_rand_index(pred: object, truth: object) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985) of two label maps.

    With ``n_ij`` the contingency table, ``a_i``/``b_j`` its row/column sums and ``n`` the number of
    elements::

        index    = sum_ij C(n_ij, 2)
        expected = sum_i C(a_i, 2) * sum_j C(b_j, 2) / C(n, 2)
        maximum  = (sum_i C(a_i, 2) + sum_j C(b_j, 2)) / 2
        ARI      = (index - expected) / (maximum - expected)

    When ``maximum == expected`` (both maps a single label, or both all-distinct) the maps are
    identical partitions and 1.0 is returned, as scikit-learn does.

    Parameters
    ----------
    pred, truth : array_like
        Integer label maps of identical shape.

    Returns
    -------
    float
        1.0 for identical partitions (whatever the label names), about 0 for independent ones.

    Raises
    ------
    UserError
        If the shapes differ or an array is empty or not integer-valued.

    Examples
    --------
    >>> adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    table = contingency(pred, truth).table
    n = int(table.sum())
    index = _pairs(table)
    sum_a = _pairs(table.sum(axis=1))
    sum_b = _pairs(table.sum(axis=0))
    total = n * (n - 1) // 2
    expected = sum_a * sum_b / total if total else 0.0
    maximum = (sum_a + sum_b) / 2.0
    if maximum == expected:
        return 1.0
    return float((index - expected) / (maximum - expected))


def _entropy(counts: np.ndarray, n: int) -> float:
    p = counts[counts > 0] / n
    return float(-np.sum(p * np.log(p)))


def normalized_mutual_info(
    pred: object,
    truth: object,
    *,
    average_method: Literal["arithmetic", "geometric", "min", "max"] = "arithmetic",
) -> float:
    """Normalised mutual information of two label maps (Strehl & Ghosh 2002; Vinh et al. 2010).

    ``MI = sum_ij (n_ij / n) log(n n_ij / (a_i b_j))``, ``H(U) = -sum_i (a_i/n) log(a_i/n)``, and
    ``NMI = MI / mean(H(U), H(V))`` with the chosen mean (arithmetic by default, as in
    scikit-learn). Two single-label maps give 1.0; if only one is single-label, 0.0.

    Parameters
    ----------
    pred, truth : array_like
        Integer label maps of identical shape.
    average_method : {"arithmetic", "geometric", "min", "max"}
        How the two entropies are combined in the normaliser.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    UserError
        If the shapes differ, an array is empty or not integer-valued, or the method is unknown.

    Examples
    --------
    >>> round(normalized_mutual_info([0, 0, 1, 1], [3, 3, 2, 2]), 12)
    1.0
    """
    if average_method not in _AVERAGES:
        raise UserError(f"average_method must be one of {_AVERAGES}, got {average_method!r}")
    table = contingency(pred, truth).table
    if table.shape[0] == 1 and table.shape[1] == 1:
        return 1.0
    n = int(table.sum())
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    i, j = np.nonzero(table)
    nij = table[i, j].astype(np.float64)
    mi = float(np.sum(nij / n * (np.log(nij) + np.log(n) - np.log(rows[i] * 1.0) - np.log(cols[j] * 1.0))))
    mi = max(mi, 0.0)
    h_u, h_v = _entropy(rows, n), _entropy(cols, n)
    if average_method == "arithmetic":
        norm = (h_u + h_v) / 2.0
    elif average_method == "geometric":
        norm = float(np.sqrt(h_u * h_v))
    elif average_method == "min":
        norm = min(h_u, h_v)
    else:
        norm = max(h_u, h_v)
    if norm <= 0.0:
        return 0.0
    return float(min(mi / norm, 1.0))
