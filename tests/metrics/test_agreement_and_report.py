"""Adjusted Rand index, NMI (checked against scikit-learn) and the per-level report."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from hypseg.metrics import adjusted_rand_index, level_report, matched_dice, normalized_mutual_info


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ari_and_nmi_agree_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, size=500)
    pred = np.where(rng.random(500) < 0.7, truth, rng.integers(0, 6, size=500))
    assert adjusted_rand_index(pred, truth) == pytest.approx(adjusted_rand_score(truth, pred), abs=1e-12)
    for method in ("arithmetic", "geometric", "min", "max"):
        assert normalized_mutual_info(pred, truth, average_method=method) == pytest.approx(
            normalized_mutual_info_score(truth, pred, average_method=method), abs=1e-12
        )


def test_degenerate_partitions():
    assert adjusted_rand_index([1, 1, 1], [0, 0, 0]) == 1.0
    assert normalized_mutual_info([1, 1, 1], [0, 0, 0]) == 1.0
    assert normalized_mutual_info([1, 1, 1], [0, 1, 2]) == 0.0
    assert adjusted_rand_index([0, 1, 2], [5, 6, 7]) == 1.0


def test_permutation_invariance():
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, size=(8, 8, 8))
    assert adjusted_rand_index(np.array([2, 0, 1])[truth], truth) == 1.0
    assert normalized_mutual_info(np.array([2, 0, 1])[truth], truth) == pytest.approx(1.0, abs=1e-12)


def test_level_report_averages_over_volumes():
    t1 = np.array([0, 0, 1, 1])
    t2 = np.array([0, 0, 0, 1])
    p_good, p_bad = np.array([1, 1, 0, 0]), np.array([0, 0, 0, 1])
    truths = {"L1": [t1, t1], "L2": (t2,)}
    preds = {"L1": [p_good, p_bad], "L2": (np.array([0, 0, 0, 1]),)}
    r = level_report(preds, truths)
    bad = matched_dice(p_bad, t1)
    assert r.levels["L1"].mean == pytest.approx((1.0 + bad.mean) / 2)
    assert r.levels["L1"].per_class[0] == pytest.approx((1.0 + bad.per_class[0]) / 2)
    assert r.levels["L2"].mean == 1.0
    assert len(r.levels["L1"].volumes) == 2
    text = r.table()
    assert "L1" in text and "DICE" in text


def test_level_report_bad_input():
    with pytest.raises(ValueError, match=r"^preds and truths must have the same levels"):
        level_report({1: [0, 1]}, {2: [0, 1]})
    with pytest.raises(ValueError, match=r"^level 1: 2 predicted maps but 1 truth maps$"):
        level_report({1: [np.array([0, 1]), np.array([0, 1])]}, {1: [np.array([0, 1])]})
    with pytest.raises(ValueError, match=r"^pred and truth must have the same shape"):
        level_report({1: np.array([0, 1])}, {1: np.array([0, 1, 1])})
