"""The recipe run on smoothed intensity instead of a learned embedding: is the embedding more than that?

hypseg's measurements read its embedding as a smoothed intensity. This module makes that reading a
segmentation one can score: every voxel's "embedding" at a patch side p is the mean intensity of the p^3 box
centred on it (:func:`scipy.ndimage.uniform_filter`, faces reflected), one column per side of a product, in a
Euclidean space. The recipe's own inference then runs on it unchanged (the same supervoxels, purity weights,
containment, clusterer and seeds), so a segmentation that differs from the model's does so through the
embedding alone. A model that ties its twin has learnt nothing that its patches' mean intensity does not say.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Sequence

import numpy as np
from scipy import ndimage

from hypseg.config import ModelConfig


def box_means(volume: np.ndarray, sides: Sequence[int]) -> np.ndarray:
    """(Z, Y, X, len(sides)) float32: per side, the mean of ``volume`` over the side^3 box around each voxel.

    >>> box_means(np.arange(27.0).reshape(3, 3, 3), (1, 3))[1, 1, 1].tolist()
    [13.0, 13.0]
    """
    image = np.asarray(volume, dtype=np.float64)
    return np.stack([ndimage.uniform_filter(image, size=int(side)) for side in sides], axis=-1).astype(np.float32)


def twin_embeddings(volumes: Sequence[np.ndarray], sides_list: Iterable[tuple[int, ...]]) -> dict[tuple[int, ...], list[np.ndarray]]:
    """Patch sides -> one box-mean "embedding" per volume (:func:`box_means`), in the layout
    :func:`hypseg.inference.recipe.cluster_embeddings` takes."""
    return {tuple(sides): [box_means(v, sides) for v in volumes] for sides in dict.fromkeys(map(tuple, sides_list))}


def twin_geometry(model: ModelConfig) -> ModelConfig:
    """``model`` as a one-dimensional Euclidean latent space: box means are plain numbers, one per side."""
    return dataclasses.replace(model, variant="euclidean", latent_dim=1)


__all__ = ["box_means", "twin_embeddings", "twin_geometry"]
