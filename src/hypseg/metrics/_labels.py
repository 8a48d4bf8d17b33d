"""Validation of integer label maps and their contingency (confusion) matrix.

Everything here is plain NumPy: the metrics layer imports nothing from hypseg (design.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hypseg.errors import UserError

__all__ = ["Contingency", "as_label_array", "contingency"]

#: Labels at most this large are counted directly with ``np.bincount`` (no sorting); larger or
#: negative labels are first compacted with ``np.unique``.
_DIRECT_MAX_LABEL = 1 << 16


def as_label_array(labels: object, *, name: str) -> np.ndarray:
    """Return ``labels`` as a flat int64 array of integer labels.

    Parameters
    ----------
    labels : array_like
        Integer (or boolean) labels of any shape. Floating-point arrays are accepted when every
        value is a finite whole number (label maps read from NIfTI files are often stored as floats).
    name : str
        Name used in error messages (``"pred"`` or ``"truth"``).

    Returns
    -------
    numpy.ndarray
        The labels flattened to one dimension, dtype int64.

    Raises
    ------
    UserError
        If the array is empty, or holds non-finite or non-integer values.
    """
    a = np.asarray(labels)
    if a.size == 0:
        raise UserError(f"{name} is empty: a label map needs at least one element")
    if a.dtype == np.bool_:
        return a.reshape(-1).astype(np.int64)
    if np.issubdtype(a.dtype, np.integer):
        return a.reshape(-1).astype(np.int64, copy=False)
    if np.issubdtype(a.dtype, np.floating):
        flat = a.reshape(-1)
        if not np.all(np.isfinite(flat)):
            raise UserError(f"{name} holds non-finite values; labels must be integers")
        as_int = flat.astype(np.int64)
        if not np.array_equal(as_int, flat):
            raise UserError(f"{name} holds non-integer values; labels must be integers")
        return as_int
    raise UserError(f"{name} must hold integer labels, got dtype {a.dtype}")


class Contingency(NamedTuple):
    """Counts of co-occurring labels of two label maps.

    Attributes
    ----------
    table : numpy.ndarray
        ``table[i, j]`` = number of elements with ``pred == pred_labels[i]`` and
        ``truth == truth_labels[j]``; shape (K, C), int64. Only labels that occur are kept.
    pred_labels : numpy.ndarray
        The K distinct predicted labels (clusters), ascending.
    truth_labels : numpy.ndarray
        The C distinct true labels (classes), ascending.
    """

    table: np.ndarray
    pred_labels: np.ndarray
    truth_labels: np.ndarray


def _compact(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map labels to 0..L-1; returns (present labels, codes)."""
    if a.min() >= 0 and a.max() <= _DIRECT_MAX_LABEL:
        present = np.flatnonzero(np.bincount(a))
        lut = np.zeros(int(a.max()) + 1, dtype=np.int64)
        lut[present] = np.arange(present.size)
        return present.astype(np.int64), lut[a] if present.size != lut.size else a
    present, codes = np.unique(a, return_inverse=True)
    return present.astype(np.int64), codes.reshape(-1).astype(np.int64)


def contingency(pred: object, truth: object) -> Contingency:
    """Contingency (confusion) matrix of two label maps of the same shape.

    Computed in one vectorised pass, ``np.bincount(pred_code * C + truth_code)``, after mapping the
    labels that occur to consecutive codes (``np.bincount`` again, or ``np.unique`` for negative or
    very large labels), so a 256^3 volume takes a fraction of a second.

    Parameters
    ----------
    pred, truth : array_like
        Integer label maps of identical shape.

    Returns
    -------
    Contingency
        The (K, C) count table and the labels of its rows and columns.

    Raises
    ------
    UserError
        If the shapes differ or either map is empty or not integer-valued.

    Examples
    --------
    >>> t = contingency([0, 0, 1, 1], [5, 5, 5, 7])
    >>> t.table
    array([[2, 0],
           [1, 1]])
    >>> t.truth_labels
    array([5, 7])
    """
    pred_shape, truth_shape = np.shape(pred), np.shape(truth)
    if pred_shape != truth_shape:
        raise UserError(
            f"pred and truth must have the same shape, got {pred_shape} and {truth_shape}"
        )
    p = as_label_array(pred, name="pred")
    t = as_label_array(truth, name="truth")
    pred_labels, p_code = _compact(p)
    truth_labels, t_code = _compact(t)
    k, n_classes = pred_labels.size, truth_labels.size
    table = np.bincount(p_code * n_classes + t_code, minlength=k * n_classes).reshape(k, n_classes)
    return Contingency(table=table.astype(np.int64), pred_labels=pred_labels, truth_labels=truth_labels)
