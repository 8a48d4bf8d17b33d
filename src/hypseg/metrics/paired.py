"""How far apart two methods' scores on the same volumes are: a paired bootstrap interval.

A benchmark's margin between two methods is the mean over volumes of their per-volume differences.
On 20 test volumes that mean moves with the choice of volumes, so a margin of a few thousandths says
nothing by itself. :func:`paired_interval` resamples the volumes with replacement (the same volumes for
both methods, which keeps the pairing) and takes the percentiles of the resampled means: Efron's
percentile bootstrap (Efron and Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13). An
interval that holds zero means the volumes cannot tell which method is ahead.
"""

from __future__ import annotations

import numpy as np

from hypseg.errors import UserError

__all__ = ["paired_interval"]


def paired_interval(
    a, b, *, confidence: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``mean(a - b)`` over paired per-volume scores.

    Parameters
    ----------
    a, b : array_like
        (V,) scores of two methods on the same V volumes, in the same order; ``b`` may be a scalar
        (a fixed bar).
    confidence : float, default 0.95
        Share of the resampled means between the interval's ends, in (0, 1).
    resamples : int, default 10000
        Bootstrap resamples of the V volumes; at least 1.
    seed : int, default 0
        Seed of the resampling, so that a table is reproducible.

    Returns
    -------
    (low, high) : tuple of float

    Examples
    --------
    Differences that do not vary give a point:

    >>> [round(end, 6) for end in paired_interval([0.9, 0.8, 0.7], [0.8, 0.7, 0.6])]
    [0.1, 0.1]
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape) if np.ndim(b) == 0 else np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise UserError(f"scores must be a non-empty (V,) array, got shape {a.shape}")
    if b.shape != a.shape:
        raise UserError(f"paired scores need the same volumes: {a.shape[0]} against {b.shape[0] if b.ndim else b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise UserError("scores must be finite")
    if not 0.0 < confidence < 1.0:
        raise UserError(f"confidence must lie in (0, 1), got {confidence}")
    if int(resamples) < 1:
        raise UserError(f"resamples must be at least 1, got {resamples}")
    diff = a - b
    picks = np.random.default_rng(seed).integers(0, diff.size, size=(int(resamples), diff.size))
    means = diff[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
