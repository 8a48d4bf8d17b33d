"""Qualitative colours for label maps: one distinct colour per label, the same rule everywhere."""

from __future__ import annotations

import functools

import numpy as np

from hypseg.errors import UserError


def label_colors(labels: np.ndarray) -> dict[int, tuple[float, float, float, float]]:
    """Map each distinct value of ``labels`` to an RGBA colour, by rank.

    Up to 10 labels use ``tab10``, up to 20 ``tab20``; more labels sample ``turbo`` evenly, so the
    colours stay distinct whatever the number of labels. The i-th smallest label gets the i-th colour,
    which for the usual labels ``0..K-1`` means label k gets colour k.

    Parameters
    ----------
    labels : ndarray of int
        Any shape.

    Returns
    -------
    dict[int, tuple of 4 floats]

    Examples
    --------
    >>> colors = label_colors(np.array([3, 0, 3, 7]))
    >>> sorted(colors), len(set(colors.values()))
    ([0, 3, 7], 3)
    """
    from matplotlib import colormaps

    values = np.unique(np.asarray(labels)).tolist()
    n = len(values)
    if n <= 10:
        rgba = colormaps["tab10"](np.arange(n))
    elif n <= 20:
        rgba = colormaps["tab20"](np.arange(n))
    else:
        rgba = colormaps["turbo"](np.linspace(0.0, 1.0, n))
    return {int(v): tuple(float(x) for x in rgba[i]) for i, v in enumerate(values)}


#: above this label value a map is taken for an instance or sparse map and coloured by rank (:func:`label_colors`)
BY_VALUE_MAX = 255
_GOLDEN = 0.6180339887498949  # spreads values 20, 21, ... over turbo, neighbours far apart


def value_color(value: int) -> tuple[float, float, float, float]:
    """The colour of label ``value`` (>= 0) whatever else a map holds: ``tab10``'s for 0-9 (as :func:`label_colors`
    gives up to ten labels), ``tab20``'s light variant of the same hue for 10-19, and for 20 and above a point of
    ``turbo`` placed by the golden ratio, so that neighbouring values differ.

    >>> value_color(3) == label_colors(range(4))[3], value_color(12) != value_color(2)
    (True, True)
    """
    from matplotlib import colormaps

    if value < 10:
        rgba = colormaps["tab10"](value)
    elif value < 20:
        rgba = colormaps["tab20"](2 * (value - 10) + 1)
    else:
        rgba = _fine_turbo()(0.05 + 0.9 * ((value * _GOLDEN) % 1.0))
    return tuple(float(x) for x in rgba)


@functools.cache
def _fine_turbo():
    """``turbo`` resampled to 4096 colours, so that the values up to :data:`BY_VALUE_MAX` never share one (the
    256-entry original would map some of them to the same entry)."""
    from matplotlib import colormaps
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("turbo-fine", colormaps["turbo"].colors, N=4096)


def value_colors(labels: np.ndarray, *, also: object = ()) -> dict[int, tuple[float, float, float, float]]:
    """Colours of the non-negative values of ``labels`` (and of ``also``, e.g. the labels of cluster centres) by value
    (:func:`value_color`): a cluster keeps its colour in every figure and in napari, whatever the cluster count and
    also where other clusters are absent from a volume. Maps with values above :data:`BY_VALUE_MAX` (instances) are
    coloured by rank instead (:func:`label_colors`).

    >>> value_colors(np.array([0, 1, 3])) == {v: value_color(v) for v in (0, 1, 3)}
    True
    """
    values = np.union1d(np.unique(labels), np.asarray(also, dtype=np.int64))  # no copy of a whole label map
    values = values[values >= 0]
    if values.size and int(values.max()) > BY_VALUE_MAX:
        return label_colors(values)
    return {int(v): value_color(int(v)) for v in values}


def check_labels(labels: object, *, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """``labels`` as an integer array of ``shape``; a clear :class:`~hypseg.errors.UserError` otherwise."""
    array = np.asarray(labels)
    if array.dtype == np.bool_:
        array = array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        raise UserError(f"{name}: labels must have an integer dtype, got {array.dtype}")
    if array.shape != tuple(shape):
        raise UserError(f"{name}: labels of shape {array.shape} do not match the expected shape {tuple(shape)}")
    return array
