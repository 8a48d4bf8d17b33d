"""Warnings raised by :mod:`hypseg.clustering` (filter them by class)."""

from __future__ import annotations

__all__ = ["ClusteringWarning", "ConvergenceWarning", "EmptyClusterWarning"]


class ClusteringWarning(UserWarning):
    """Base class of the warnings of :mod:`hypseg.clustering`."""


class EmptyClusterWarning(ClusteringWarning):
    """A k-means cluster lost all its points and was re-seeded at the farthest point."""


class ConvergenceWarning(ClusteringWarning):
    """An iteration stopped at its ``max_iter`` before reaching its tolerance."""
