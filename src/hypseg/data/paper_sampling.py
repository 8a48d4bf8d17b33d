"""The triplet sampler of the authors' released experiment (../shared/spec/paper-recipe.md, "Data").

Every voxel centre at least ``anchor_margin`` voxels from every face is an anchor. Its sizes are drawn
once, when the sampler is built, and kept for every epoch (:func:`draw_anchor_table`):

- parent side r ~ randint(patch_min, patch_max + 1), shrunk to twice the distance from the centre to
  the nearest face where the cube would cross it; the parent is the cube of odd side 2(r // 2) + 1
  centred on the voxel;
- child side rc ~ randint(child_min, min(child_max, r - 1)) (rc = child_min when that range is empty),
  odd side 2(rc // 2) + 1; the positive is the child cube **concentric** with the parent;
- parents whose voxels are all equal are dropped.

The negative, a cube of the child's side, is drawn at every visit: its centre on each axis is uniform
over {mc, ..., S - 1 - mc} (mc = rc // 2, so the cube lies in the volume) minus the parent's span on
that axis, so that it is outside the parent on all three axes. Where an axis leaves no such position
(a parent spanning it whole), that axis's centre is uniform over {mc, ..., S - 1 - mc}.

Batches walk through a seeded permutation of the anchors, one epoch after the other: the batch of
step s (counted from 1) holds the anchors at positions ``[(s - 1) mod E] * G + [0, G)`` of epoch
``(s - 1) // E``'s permutation (E batches of G per epoch, the last one wrapping to the start). Every
patch is resized to m^3 by trilinear interpolation without anti-aliasing
(:func:`hypseg.data.sampling.extract_patches`).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
import scipy.ndimage as ndi
import torch

from hypseg.config import DataConfig
from hypseg.data.sampling import PatchSource, TripletBatch, extract_patches
from hypseg.errors import UserError

#: SeedSequence tag of the epoch permutations (kept apart from the per-step streams).
_PERMUTATION = 7


class AnchorTable(NamedTuple):
    """One row per anchor: volume index, centre voxel (z, y, x), parent and child half-sides."""

    volume: np.ndarray  # (N,) int64
    centre: np.ndarray  # (N, 3) int64
    half: np.ndarray  # (N,) int64: the parent's side is 2 * half + 1
    child_half: np.ndarray  # (N,) int64: the positive's and negative's side is 2 * child_half + 1


def draw_anchor_table(shapes: np.ndarray, rng: np.random.Generator, *, config: DataConfig) -> AnchorTable:
    """The anchors of volumes of the given shapes (V, 3) with their fixed sizes (see the module docstring)."""
    shapes = np.asarray(shapes, dtype=np.int64).reshape(-1, 3)
    margin = int(config.anchor_margin)
    parts_v, parts_c = [], []
    for v, shape in enumerate(shapes):
        axes = [np.arange(margin, n - margin) for n in shape]
        if any(a.size == 0 for a in axes):
            raise UserError(f"volume {v} of shape {tuple(int(n) for n in shape)} has no voxel {margin} voxels away from every face")
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
        parts_c.append(grid)
        parts_v.append(np.full(grid.shape[0], v, dtype=np.int64))
    volume, centre = np.concatenate(parts_v), np.concatenate(parts_c).astype(np.int64)
    n = volume.size
    r = rng.integers(int(config.patch_min), int(config.patch_max) + 1, size=n)
    to_face = np.minimum(centre, shapes[volume] - 1 - centre).min(axis=1)  # (N,)
    r = np.minimum(r, 2 * to_face)
    hi = np.minimum(int(config.child_max), r - 1)
    lo = int(config.child_min)
    rc = np.where(hi > lo, lo + np.floor(rng.random(n) * np.maximum(hi - lo, 1)).astype(np.int64), lo)
    return AnchorTable(volume=volume, centre=centre, half=r // 2, child_half=rc // 2)


def drop_constant_parents(table: AnchorTable, source: PatchSource) -> AnchorTable:
    """The anchors whose parent cube holds at least two distinct values."""
    keep = np.zeros(table.volume.size, dtype=bool)
    for v, shape in enumerate(source.shapes):
        start = source.offsets[v]
        array = source.buffer[start : start + int(np.prod(shape))].reshape(shape)
        rows = np.flatnonzero(table.volume == v)
        for h in np.unique(table.half[rows]):
            sel = rows[table.half[rows] == h]
            size = 2 * int(h) + 1
            spread = ndi.maximum_filter(array, size=size, mode="nearest") - ndi.minimum_filter(array, size=size, mode="nearest")
            z, y, x = table.centre[sel].T
            keep[sel] = spread[z, y, x] > 0
    return AnchorTable(*(field[keep] for field in table))


def draw_negative_centres(rng: np.random.Generator, *, shape: np.ndarray, centre: np.ndarray, half: np.ndarray, child_half: np.ndarray) -> np.ndarray:
    """Negative centres (B, 3): per axis uniform over {mc..S-1-mc} outside the parent's span [c-h, c+h]."""
    S, c, h, mc = shape, centre, half[:, None], child_half[:, None]
    low = np.maximum(0, c - h - mc)  # positions mc .. c - h - 1
    high = np.maximum(0, S - 1 - mc - c - h)  # positions c + h + 1 .. S - 1 - mc
    total = low + high
    free = total > 0
    span = np.where(free, total, S - 2 * mc)  # no free position: the whole in-volume range
    u = np.floor(rng.random(c.shape) * span).astype(np.int64)
    outside = np.where(u < low, mc + u, c + h + 1 + (u - low))
    return np.where(free, outside, mc + u)


class PaperTripletSampler:
    """Triplets of the released experiment, one shard of a step at a time (see the module docstring).

    Parameters
    ----------
    volumes : sequence of ndarray (Z, Y, X)
        Raw (or normalised) intensities.
    config : DataConfig
        ``sampler="paper"``; reads ``patch_min``, ``patch_max``, ``child_min``, ``child_max``,
        ``anchor_margin``, ``patch_resize`` and ``triplets_per_batch``.
    seed : int
        Seeds the anchors' sizes and the epochs' permutations.

    Examples
    --------
    >>> vol = np.random.default_rng(0).normal(size=(20, 20, 20)).astype(np.float32)
    >>> sampler = PaperTripletSampler([vol], config=DataConfig(sampler="paper", patch_max=12.0, triplets_per_batch=8))
    >>> len(sampler.table.volume), sampler.steps_per_epoch
    (4096, 512)
    >>> batch = sampler.sample_shard(np.random.default_rng(1), 4, step=1, shard=0)
    >>> tuple(batch.anchor.shape)
    (4, 1, 10, 10, 10)
    """

    def __init__(self, volumes: Sequence[np.ndarray], *, config: DataConfig, seed: int = 0) -> None:
        self.config, self.seed = config, int(seed)
        self.source = PatchSource(volumes)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _PERMUTATION, 0]))
        table = draw_anchor_table(self.source.shapes, rng, config=config)
        self.table = drop_constant_parents(table, self.source)
        self._cached: tuple[int, np.ndarray] | None = None
        if self.table.volume.size == 0:
            raise UserError("no anchor of the training volumes holds two distinct values: the volumes are constant")

    @property
    def steps_per_epoch(self) -> int:
        """Batches of ``triplets_per_batch`` in one pass over the anchors."""
        return math.ceil(self.table.volume.size / self.config.triplets_per_batch)

    def anchors_of(self, step: int, shard: int, n: int) -> np.ndarray:
        """Indices into :attr:`table` of shard ``shard`` (n triplets) of step ``step`` (from 1)."""
        epoch, position = divmod(int(step) - 1, self.steps_per_epoch)
        perm = self._permutation(epoch)
        start = position * self.config.triplets_per_batch + shard * n
        return perm[np.arange(start, start + n) % perm.size]

    def _permutation(self, epoch: int) -> np.ndarray:
        """The anchors' order in ``epoch`` (the last one drawn is kept: steps walk through an epoch in order)."""
        if self._cached is None or self._cached[0] != epoch:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, _PERMUTATION, 1, epoch % 2**32]))
            self._cached = (epoch, rng.permutation(self.table.volume.size))
        return self._cached[1]

    def sample_shard(self, rng: np.random.Generator, n: int, *, step: int, shard: int) -> TripletBatch:
        """The n triplets of shard ``shard`` of step ``step``; ``rng`` places the negatives."""
        t = self.table
        idx = self.anchors_of(step, shard, n)
        volume, centre, half, child_half = t.volume[idx], t.centre[idx], t.half[idx], t.child_half[idx]
        shape = self.source.shapes[volume]
        negative = draw_negative_centres(rng, shape=shape, centre=centre, half=half, child_half=child_half)
        parent_side = (2 * half + 1).astype(np.float64)
        child_side = (2 * child_half + 1).astype(np.float64)
        corners = {
            "anchor": (centre - half[:, None]).astype(np.float64),
            "positive": (centre - child_half[:, None]).astype(np.float64),
            "negative": (negative - child_half[:, None]).astype(np.float64),
        }
        m = self.config.patch_resize
        cut = {
            role: extract_patches(self.source, volume=volume, corner=corner, side=parent_side if role == "anchor" else child_side, size=m)
            for role, corner in corners.items()
        }
        as_tensor = torch.from_numpy
        return TripletBatch(
            anchor=as_tensor(cut["anchor"][:, None]),  # (n, 1, m, m, m)
            positive=as_tensor(cut["positive"][:, None]),
            negative=as_tensor(cut["negative"][:, None]),
            volume=as_tensor(volume),
            anchor_corner=as_tensor(corners["anchor"]),
            anchor_side=as_tensor(parent_side),
            positive_corner=as_tensor(corners["positive"]),
            negative_corner=as_tensor(corners["negative"]),
            child_side=as_tensor(child_side),
        )


__all__ = ["AnchorTable", "PaperTripletSampler", "draw_anchor_table", "draw_negative_centres", "drop_constant_parents"]
