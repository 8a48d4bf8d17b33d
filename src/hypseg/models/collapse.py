"""Whether a model collapsed: it embeds every patch or voxel alike, so its label maps say nothing.

A training run can end with most of the encoder's ReLU units dead and the encoder returning one point
whatever the patch: the posterior sits at the prior and the triplet loss at its margin.
:func:`embedding_spread` measures it on any array of embeddings; training (:class:`hypseg.training.Trainer`)
and segmentation (:mod:`hypseg.inference.embed`) both read it.
"""

from __future__ import annotations

import numpy as np

#: Below this :func:`embedding_spread` a model embeds every voxel alike: its training collapsed.
COLLAPSED_SPREAD = 1e-4


class CollapsedModelWarning(UserWarning):
    """The model embeds every voxel of a volume alike (:func:`embedding_spread` below
    :data:`COLLAPSED_SPREAD`): its training collapsed, and label maps from it say nothing."""


def embedding_spread(embedding: np.ndarray, *, max_points: int = 1_000_000, blocks: int = 10) -> float:
    """The mean over the latent coordinates of their standard deviation over the voxels of ``embedding``
    (Z, Y, X, d), from at most ``max_points`` voxels read as ``blocks`` evenly spaced runs of consecutive
    voxels (a memory-mapped file is read only there, not page by page across the whole file). 0 when every
    voxel has the same point; a run whose training collapsed (the posterior at the prior, the triplet loss at
    its margin) stays below :data:`COLLAPSED_SPREAD` (one seen: 3e-6), where a trained one spreads its
    voxels over hundredths of the ball (0.04-0.07 on a tomogram).

    >>> embedding_spread(np.zeros((4, 4, 4, 2)))
    0.0
    """
    flat = embedding.reshape(-1, embedding.shape[-1])
    if flat.shape[0] > max_points:
        run = max_points // blocks
        starts = np.linspace(0, flat.shape[0] - run, blocks).astype(np.int64)
        flat = np.concatenate([flat[start:start + run] for start in starts])
    return float(np.asarray(flat, dtype=np.float64).std(axis=0).mean())


__all__ = ["COLLAPSED_SPREAD", "CollapsedModelWarning", "embedding_spread"]
