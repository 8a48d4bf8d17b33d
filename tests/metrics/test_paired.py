"""The paired bootstrap interval: a slow reference, its laws, and its errors."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hypseg.metrics import paired_interval


def _reference(a, b, confidence, resamples, seed):
    """One resample at a time, drawing the same indices as the vectorised form."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(a), size=(resamples, len(a)))
    means = sorted(float(np.mean([a[i] - b[i] for i in row])) for row in picks)
    tail = (1 - confidence) / 2 * 100
    return tuple(float(np.percentile(means, q)) for q in (tail, 100 - tail))


def test_agrees_with_a_loop_over_resamples():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.5, 0.9, 20), rng.uniform(0.5, 0.9, 20)
    assert paired_interval(a, b, confidence=0.9, resamples=500, seed=7) == pytest.approx(_reference(a, b, 0.9, 500, 7))


def test_holds_the_mean_difference_and_swapping_mirrors_it():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.4, 0.9, 20)
    b = a - 0.01 + rng.normal(0, 0.05, 20)
    low, high = paired_interval(a, b)
    assert low < np.mean(a - b) < high
    assert paired_interval(b, a) == pytest.approx((-high, -low))


def test_a_shift_common_to_both_methods_changes_nothing_but_a_shift_of_one_does():
    """Pairing: what both methods share per volume cancels, unlike the unpaired spread."""
    rng = np.random.default_rng(1)
    hardness = rng.uniform(-0.3, 0.3, 20)  # some volumes are hard for everyone
    a, b = 0.7 + hardness + rng.normal(0, 0.01, 20), 0.68 + hardness + rng.normal(0, 0.01, 20)
    low, high = paired_interval(a, b)
    assert 0 < low < high < 0.04  # the 0.02 lead is resolved despite the 0.3 spread of the volumes
    shifted = paired_interval(a + 0.1, b)
    assert shifted == pytest.approx((low + 0.1, high + 0.1))


def test_a_scalar_is_a_fixed_bar_and_wider_confidence_widens_the_interval():
    a = np.linspace(0.5, 0.9, 20)
    assert paired_interval(a, 0.6) == pytest.approx(paired_interval(a, np.full(20, 0.6)))
    narrow, wide = paired_interval(a, 0.6, confidence=0.5), paired_interval(a, 0.6, confidence=0.99)
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


@pytest.mark.parametrize(
    "a, b, options, message",
    [
        ([0.5, 0.6], [0.5], {}, "paired scores need the same volumes: 2 against 1"),
        ([], [], {}, "scores must be a non-empty (V,) array, got shape (0,)"),
        ([0.5, np.nan], [0.5, 0.5], {}, "scores must be finite"),
        ([0.5], [0.5], {"confidence": 1.0}, "confidence must lie in (0, 1), got 1.0"),
        ([0.5], [0.5], {"resamples": 0}, "resamples must be at least 1, got 0"),
    ],
)
def test_bad_input_is_refused_with_its_reason(a, b, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        paired_interval(a, b, **options)
