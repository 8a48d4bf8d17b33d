"""Laws of the Hungarian-matched DICE / IoU (hypseg.metrics.matching)."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np
import pytest

from hypseg.metrics import contingency, matched_dice, overlap_scores


def test_permuted_labels_give_dice_one():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 5, size=(12, 13, 14))
    perm = np.array([3, 0, 4, 1, 2]) * 7 + 2  # arbitrary cluster ids
    r = matched_dice(perm[truth], truth)
    assert r.mean == 1.0
    assert all(v == 1.0 for v in r.per_class.values())
    assert r.matching == {c: int(perm[c]) for c in range(5)}
    assert r.unmatched_clusters == ()


def test_hand_computed_partial_overlap():
    # truth: class 0 = 6 voxels, class 1 = 4 voxels; pred cluster 7 = first 5, cluster 9 = last 5.
    truth = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1])
    pred = np.array([7, 7, 7, 7, 7, 9, 9, 9, 9, 9])
    r = matched_dice(pred, truth)
    # cluster 7 <-> class 0: overlap 5, DICE = 2*5/(5+6) = 10/11; cluster 9 <-> class 1: 2*4/(5+4) = 8/9
    assert r.matching == {0: 7, 1: 9}
    assert r.per_class[0] == pytest.approx(float(Fraction(10, 11)), abs=1e-15)
    assert r.per_class[1] == pytest.approx(float(Fraction(8, 9)), abs=1e-15)
    assert r.mean == pytest.approx(float((Fraction(10, 11) + Fraction(8, 9)) / 2), abs=1e-15)
    iou = matched_dice(pred, truth, score="iou")
    # IoU: 5/(5+6-5) = 5/6 and 4/(5+4-4) = 4/5
    assert iou.per_class == pytest.approx({0: 5 / 6, 1: 4 / 5}, abs=1e-15)
    assert iou.score == "iou"


def test_hungarian_beats_greedy():
    # Greedy by best DICE would give cluster 0 to class 0 (DICE 0.75) and leave poor pairs;
    # the optimal assignment maximises the sum.
    table = np.array([[3, 2], [2, 0]])
    pred = np.repeat([0, 0, 1, 1], table.ravel())
    truth = np.repeat([0, 1, 0, 1], table.ravel())
    r = matched_dice(pred, truth)
    d = overlap_scores(table)
    best = max(d[0, 0] + d[1, 1], d[0, 1] + d[1, 0])
    assert sum(r.per_class.values()) == pytest.approx(best)


def test_more_clusters_than_classes_ignores_the_extra_clusters():
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    pred = np.array([0, 0, 0, 5, 1, 1, 1, 1])  # cluster 5 is a stray split of class 0
    r = matched_dice(pred, truth)
    assert r.matching == {0: 0, 1: 1}
    assert r.unmatched_clusters == (5,)
    assert r.per_class[0] == pytest.approx(2 * 3 / (3 + 4))
    assert r.per_class[1] == 1.0
    assert r.mean == pytest.approx((6 / 7 + 1.0) / 2)


def test_more_classes_than_clusters_scores_unmatched_classes_zero():
    truth = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    r = matched_dice(pred, truth)
    assert r.matching[0] == 0
    assert r.per_class[0] == 1.0
    unmatched = [c for c, m in r.matching.items() if m is None]
    assert len(unmatched) == 1
    assert r.per_class[unmatched[0]] == 0.0
    # the mean is over all classes, the unmatched one counting 0
    assert r.mean == pytest.approx((1.0 + 2 * 2 / 6 + 0.0) / 3)


def test_exclude_background_keeps_background_in_matching():
    truth = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    pred = np.array([4, 4, 4, 4, 5, 5, 6, 6])
    r = matched_dice(pred, truth, include_background=False)
    assert set(r.per_class) == {1, 2}
    assert r.mean == 1.0
    r = matched_dice(pred, truth, include_background=False, background=2)
    assert set(r.per_class) == {0, 1}


def test_float_labels_with_integer_values_are_accepted():
    truth = np.array([0.0, 1.0, 1.0])
    assert matched_dice(np.array([2, 3, 3]), truth).mean == 1.0


def test_confusion_matrix_matches_a_loop_and_is_fast():
    rng = np.random.default_rng(1)
    pred = rng.integers(0, 4, size=(20, 20, 20))
    truth = rng.integers(2, 5, size=(20, 20, 20))
    con = contingency(pred, truth)
    expected = np.array([[np.sum((pred == i) & (truth == j)) for j in range(2, 5)] for i in range(4)])
    np.testing.assert_array_equal(con.table, expected)
    np.testing.assert_array_equal(con.truth_labels, [2, 3, 4])
    # negative and huge labels go through the np.unique path
    con2 = contingency(pred - 10**9, truth * 10**12)
    np.testing.assert_array_equal(con2.table, expected)

    big_p = rng.integers(0, 8, size=(128, 128, 128)).astype(np.int32)
    big_t = rng.integers(0, 8, size=(128, 128, 128)).astype(np.uint8)
    t0 = time.perf_counter()
    matched_dice(big_p, big_t)
    assert time.perf_counter() - t0 < 2.0


def test_different_shapes_raise():
    with pytest.raises(ValueError, match=r"^pred and truth must have the same shape, got \(2, 3\) and \(3, 2\)$"):
        matched_dice(np.zeros((2, 3), int), np.zeros((3, 2), int))


def test_empty_input_raises():
    with pytest.raises(ValueError, match=r"^pred is empty: a label map needs at least one element$"):
        matched_dice(np.zeros((0,), int), np.zeros((0,), int))


@pytest.mark.parametrize(
    ("truth", "message"),
    [
        (np.array([0.0, np.nan]), r"^truth holds non-finite values; labels must be integers$"),
        (np.array([0.0, 0.5]), r"^truth holds non-integer values; labels must be integers$"),
        (np.array(["a", "b"]), r"^truth must hold integer labels, got dtype <U1$"),
    ],
)
def test_non_integer_labels_raise(truth, message):
    with pytest.raises(ValueError, match=message):
        matched_dice(np.array([0, 1]), truth)


def test_bad_options_raise():
    with pytest.raises(ValueError, match=r"^score must be one of \('dice', 'iou'\), got 'f1'$"):
        matched_dice([0, 1], [0, 1], score="f1")
    with pytest.raises(ValueError, match=r"^truth holds only the background label"):
        matched_dice([0, 1], [0, 0], include_background=False)
