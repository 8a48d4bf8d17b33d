"""Multi-scale triplet sampling for the hierarchical triplet loss (method.md section 6).

A triplet is an **anchor** (parent) cube of side r, a **positive** cube of side s inside it, and a
**negative** cube of the same side s that does not overlap the anchor. Each is resized to m^3 voxels by
trilinear interpolation. Random choice and deterministic application are separate (style rule 8):
:func:`draw_boxes` draws where the cubes are, :func:`extract_patches` cuts and resizes them, and
:class:`TripletSampler` combines both into a seeded stream of batches for a torch ``DataLoader``.

Geometry
--------
Coordinates are continuous voxel coordinates ``(z, y, x)``: voxel i covers [i, i + 1). A cube with
lower corner c and side r covers [c, c + r)^3 and lies inside the volume: 0 <= c_k <= S_k - r. Sides
are real numbers; the patch samples the cube at the m^3 points c + (j + 1/2) r / m (j = 0..m-1 per
axis) by trilinear interpolation of the voxel centres, clamped to the cube, which for integer c and r is
exactly ``torch.nn.functional.interpolate(crop, size=m, mode="trilinear", align_corners=False)``.

Distributions (per volume of shape S = (S_z, S_y, S_x))
--------------------------------------------------------
- volume: uniform over the volumes;
- parent side: r ~ U(r_min, r_hi) (``"uniform"``) or log r ~ U(log r_min, log r_hi) (``"log-uniform"``),
  with r_hi = min(r_max, min_k S_k, max_k S_k - l_min) (the cube must fit, and leave room for a negative);
- child side: s ~ U(l_min, s_hi(r)), s_hi(r) = min(r - r_gap, max_k S_k - r): the paper's
  U(l_min, r - r_gap), truncated where a negative of side s could not sit beside the parent;
- anchor corner: uniform over the positions where the cube fits *and* some axis leaves a gap of at least
  s before or after it (rejection sampling; after 32 rounds the rare remainder is pushed to an end of
  the longest axis);
- positive corner: uniform over the positions inside the anchor, c + U(0, r - s)^3;
- negative corner: uniform over the in-volume positions that do not overlap the anchor (rejection
  sampling; after 32 rounds, uniform along a free side of a random axis that has room);
- anchors whose resized patch is constant (max - min <= ``constant_tol``) are skipped and redrawn;
- with ``anchor_candidates`` A > 1, A B triplets are drawn for a batch (or shard) of B and B of them kept
  without replacement, each with probability proportional to 1 / (how many candidates' anchor patch means
  share its bin of 16 equal-width bins over theirs) (:func:`balanced_choice`): the kept means spread over
  the range, which on a few bright objects favours patches across their edges most; with ``anchor_balance``
  ``"otsu"`` the classes are the two sides of Otsu's threshold on the candidates' means instead, so that
  patches of a rare bright object are kept about as often as the rest;
- with ``negative_candidates`` C > 1, C negatives are drawn as above and the one whose resized patch mean
  lies nearest the positive's is kept (:meth:`TripletSampler.sample_batch`).

Sizes are redrawn for every triplet, so every epoch sees new scales. The stream of a
:class:`TripletSampler` is determined by (seed, epoch, rank, worker id, number of workers).
"""

from __future__ import annotations

import itertools
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import torch
from skimage.filters import threshold_otsu

from hypseg.config import DataConfig
from hypseg.errors import UserError

_REJECTION_ROUNDS = 32


class TripletBoxes(NamedTuple):
    """Where the cubes of a batch of B triplets are (the random choice).

    Attributes
    ----------
    volume : ndarray (B,) int64
        Index of the volume each triplet comes from.
    anchor_corner, positive_corner, negative_corner : ndarray (B, 3) float64
        Lower corners ``(z, y, x)``.
    anchor_side, child_side : ndarray (B,) float64
        Side r of the anchor; side s of the positive and the negative.
    """

    volume: np.ndarray
    anchor_corner: np.ndarray
    anchor_side: np.ndarray
    positive_corner: np.ndarray
    negative_corner: np.ndarray
    child_side: np.ndarray


class TripletBatch(NamedTuple):
    """A batch of B triplets as tensors, with the boxes they were cut from.

    ``anchor``, ``positive``, ``negative`` are float32 ``(B, 1, m, m, m)``; the other fields are the
    :class:`TripletBoxes` as tensors (int64 ``volume``, float64 corners and sides).
    """

    anchor: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor
    volume: torch.Tensor
    anchor_corner: torch.Tensor
    anchor_side: torch.Tensor
    positive_corner: torch.Tensor
    negative_corner: torch.Tensor
    child_side: torch.Tensor


# ----------------------------------------------------------------------------------------- bounds
def side_bounds(shape: Sequence[int], *, config: DataConfig) -> tuple[float, float]:
    """Parent side bounds (r_min, r_hi) for a volume of ``shape`` (see the module docstring).

    Raises
    ------
    ValueError
        If the volume is too small for the smallest parent plus a negative beside it.

    >>> side_bounds((50, 50, 50), config=DataConfig())
    (5.0, 34.0)
    >>> side_bounds((20, 30, 40), config=DataConfig())
    (5.0, 20.0)
    """
    r_hi = min(config.patch_max, float(min(shape)), float(max(shape)) - config.child_min)
    if r_hi < config.patch_min:
        raise UserError(
            f"a volume of shape {tuple(int(v) for v in shape)} is too small for patches of side {config.patch_min:g} "
            f"with a negative of side {config.child_min:g} beside them"
        )
    return config.patch_min, r_hi


def child_upper(anchor_side: np.ndarray, *, longest: np.ndarray, config: DataConfig) -> np.ndarray:
    """s_hi(r) = min(r - r_gap, max_k S_k - r), the upper bound of the child side."""
    return np.minimum(anchor_side - config.child_gap, longest - anchor_side)


# ----------------------------------------------------------------------------------------- random choice
def draw_boxes(rng: np.random.Generator, shapes: np.ndarray, n: int, *, config: DataConfig) -> TripletBoxes:
    """Draw the cubes of ``n`` triplets over volumes of the given shapes (vectorised, no voxel access).

    Parameters
    ----------
    rng : numpy.random.Generator
    shapes : ndarray (V, 3) of int
        Shapes ``(S_z, S_y, S_x)`` of the V volumes.
    n : int
    config : DataConfig

    Returns
    -------
    TripletBoxes
    """
    shapes = np.asarray(shapes, dtype=np.float64).reshape(-1, 3)
    bounds = np.array([side_bounds(s, config=config) for s in shapes])  # (V, 2)
    volume = rng.integers(shapes.shape[0], size=n)
    S = shapes[volume]  # (n, 3)
    lo, hi = bounds[volume, 0], bounds[volume, 1]
    u = rng.random(n)
    if config.patch_distribution == "uniform":
        r = lo + u * (hi - lo)
    elif config.patch_distribution == "log-uniform":
        r = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo)))
    else:
        raise UserError(f"unknown patch distribution {config.patch_distribution!r}")
    r = np.minimum(r, hi)  # guard exp/log rounding
    s_hi = child_upper(r, longest=S.max(axis=1), config=config)
    s = config.child_min + rng.random(n) * (s_hi - config.child_min)

    anchor = _draw_anchor_corners(rng, S=S, r=r, s=s)
    positive = anchor + rng.random((n, 3)) * (r - s)[:, None]
    negative = _draw_negative_corners(rng, S=S, anchor=anchor, r=r, s=s)
    return TripletBoxes(volume=volume.astype(np.int64), anchor_corner=anchor, anchor_side=r,
                        positive_corner=positive, negative_corner=negative, child_side=s)


def _has_room(S: np.ndarray, c: np.ndarray, r: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Whether some axis leaves a gap >= s before (c_k >= s) or after (S_k - c_k - r >= s) the anchor."""
    before = c >= s[:, None]
    after = S - c - r[:, None] >= s[:, None]
    return np.any(before | after, axis=1)


def _draw_anchor_corners(rng, *, S, r, s) -> np.ndarray:
    n = r.shape[0]
    corner = rng.random((n, 3)) * (S - r[:, None])
    todo = ~_has_room(S, corner, r, s)
    for _ in range(_REJECTION_ROUNDS):
        if not todo.any():
            return corner
        idx = np.flatnonzero(todo)
        corner[idx] = rng.random((idx.size, 3)) * (S[idx] - r[idx, None])
        todo[idx] = ~_has_room(S[idx], corner[idx], r[idx], s[idx])
    idx = np.flatnonzero(todo)
    if idx.size:  # push to one end of the longest axis, where S_k - r >= s leaves room
        axis = np.argmax(S[idx], axis=1)
        end = rng.random(idx.size) < 0.5
        corner[idx, axis] = np.where(end, S[idx, axis] - r[idx], 0.0)
    return corner


def _overlaps(a: np.ndarray, r: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Whether cubes [a, a + r) and [b, b + s) intersect (in every axis)."""
    return np.all((b < a + r[:, None]) & (a < b + s[:, None]), axis=1)


def _draw_negative_corners(rng, *, S, anchor, r, s) -> np.ndarray:
    n = r.shape[0]
    span = S - s[:, None]
    corner = rng.random((n, 3)) * span
    todo = _overlaps(anchor, r, corner, s)
    for _ in range(_REJECTION_ROUNDS):
        if not todo.any():
            return corner
        idx = np.flatnonzero(todo)
        corner[idx] = rng.random((idx.size, 3)) * span[idx]
        todo[idx] = _overlaps(anchor[idx], r[idx], corner[idx], s[idx])
    idx = np.flatnonzero(todo)
    if idx.size:  # constructive: a free side of a random axis with room, uniform along it
        a, rr, ss, SS = anchor[idx], r[idx], s[idx], S[idx]
        room = np.concatenate([a >= ss[:, None], SS - a - rr[:, None] >= ss[:, None]], axis=1)  # (k, 6)
        pick = np.argmax(room * rng.random(room.shape), axis=1)  # a random True entry
        axis, after = pick % 3, pick >= 3
        rows = np.arange(idx.size)
        start = np.where(after, a[rows, axis] + rr, 0.0)
        stop = np.where(after, SS[rows, axis] - ss, a[rows, axis] - ss)
        corner[idx, axis] = start + rng.random(idx.size) * (stop - start)
    return corner


# ----------------------------------------------------------------------------------------- deterministic application
class PackedVolumes(Sequence):
    """Normalised volumes stored one after another in one flat float32 buffer (a memory map of a file
    for volumes larger than memory, :func:`hypseg.data.readers.pack_normalised`); a sequence of
    (Z, Y, X) views of it. A :class:`PatchSource` built from it reads patches from the buffer itself,
    so training touches only the voxels its patches cover.
    """

    def __init__(self, buffer: np.ndarray, shapes: Sequence[Sequence[int]]) -> None:
        self.buffer = buffer
        self.shapes = [tuple(int(n) for n in shape) for shape in shapes]
        sizes = [int(np.prod(shape)) for shape in self.shapes]
        if sum(sizes) != buffer.size:
            raise ValueError(f"a buffer of {buffer.size} values cannot hold volumes of {sum(sizes)} voxels")
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def __len__(self) -> int:
        return len(self.shapes)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(len(self))[i]]
        return self.buffer[self._starts[i] : self._starts[i + 1]].reshape(self.shapes[i])


class PatchSource:
    """Volumes packed in one flat float32 buffer, for vectorised patch extraction across volumes.

    Parameters
    ----------
    volumes : sequence of ndarray (Z, Y, X)
        Normalised volumes (see :func:`hypseg.data.normalise.normalise`); they are copied.
    """

    def __init__(self, volumes: Sequence[np.ndarray]) -> None:
        if isinstance(volumes, PackedVolumes):  # already one buffer (a memory map): patches read what they touch
            self.shapes = np.array(volumes.shapes, dtype=np.int64).reshape(-1, 3)
            self.offsets = np.concatenate([[0], np.cumsum(self.shapes.prod(axis=1))[:-1]]).astype(np.int64)
            self.buffer = volumes.buffer
            return
        arrays = [np.asarray(v, dtype=np.float32) for v in volumes]
        if not arrays:
            raise UserError("no volumes to sample from")
        for i, a in enumerate(arrays):
            if a.ndim != 3:
                raise UserError(f"volume {i}: expected a 3-D array (Z, Y, X), got shape {a.shape}")
            if not np.all(np.isfinite(a)):
                raise UserError(f"volume {i}: contains NaN or Inf voxels")
        self.shapes = np.array([a.shape for a in arrays], dtype=np.int64)  # (V, 3)
        sizes = self.shapes.prod(axis=1)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)  # (V,)
        self.buffer = np.concatenate([a.ravel() for a in arrays])  # (sum of sizes,)

    def __len__(self) -> int:
        return int(self.shapes.shape[0])


def extract_patches(
    source: PatchSource, *, volume: np.ndarray, corner: np.ndarray, side: np.ndarray, size: int
) -> np.ndarray:
    """Cut cubes ``[corner, corner + side)`` and resize them to ``size^3`` by trilinear interpolation.

    Along each axis, sample j (0 <= j < m) sits at the voxel-centre coordinate
    p_j = c + (j + 1/2) side / m - 1/2, clamped to [c, c + side - 1]; with i = floor(p_j) and
    w = p_j - i the value is the trilinear blend of the voxels i and min(i + 1, S - 1) on each axis.

    Parameters
    ----------
    source : PatchSource
    volume : ndarray (B,) int
    corner : ndarray (B, 3)
    side : ndarray (B,)
    size : int
        m.

    Returns
    -------
    ndarray (B, m, m, m) float32
    """
    B, m = volume.shape[0], size
    shape = source.shapes[volume]  # (B, 3)
    t = (np.arange(m, dtype=np.float64) + 0.5) / m  # (m,)
    p = corner[:, :, None] + side[:, None, None] * t - 0.5  # (B, 3, m)
    p = np.clip(p, corner[:, :, None], (corner + side[:, None] - 1.0)[:, :, None])
    i0 = np.floor(p).astype(np.int64)  # (B, 3, m)
    w1 = (p - i0).astype(np.float32)
    i1 = np.minimum(i0 + 1, shape[:, :, None] - 1)
    stride = np.stack([shape[:, 1] * shape[:, 2], shape[:, 2], np.ones(B, dtype=np.int64)], axis=1)  # (B, 3)
    base = source.offsets[volume][:, None, None, None]  # (B, 1, 1, 1)
    z = [(i * stride[:, 0, None])[:, :, None, None] for i in (i0[:, 0], i1[:, 0])]  # (B, m, 1, 1)
    y = [(i * stride[:, 1, None])[:, None, :, None] for i in (i0[:, 1], i1[:, 1])]  # (B, 1, m, 1)
    x = [i[:, None, None, :] for i in (i0[:, 2], i1[:, 2])]  # (B, 1, 1, m)
    wz = w1[:, 0][:, :, None, None]
    wy = w1[:, 1][:, None, :, None]
    wx = w1[:, 2][:, None, None, :]
    buf = source.buffer
    planes = []
    for zi in z:
        rows = []
        for yi in y:
            row = base + zi + yi  # (B, m, m, 1)
            v0, v1 = np.take(buf, row + x[0]), np.take(buf, row + x[1])  # (B, m, m, m)
            rows.append(v0 + wx * (v1 - v0))
        planes.append(rows[0] + wy * (rows[1] - rows[0]))
    return (planes[0] + wz * (planes[1] - planes[0])).astype(np.float32, copy=False)


# ----------------------------------------------------------------------------------------- the sampler
#: the six orders of a patch's three spatial axes (axis 0 of a batch of patches is the patch)
AXIS_ORDERS = tuple(itertools.permutations((1, 2, 3)))


def random_orientations(rng: np.random.Generator, patches: np.ndarray) -> np.ndarray:
    """Each cube of ``patches`` (n, m, m, m) under its own symmetry of the cube, drawn uniformly from the 48:
    one of the six axis orders, then each axis flipped with probability 1/2."""
    order = rng.integers(len(AXIS_ORDERS), size=len(patches))
    flips = rng.random((len(patches), 3)) < 0.5
    out = np.empty_like(patches)
    for k, axes in enumerate(AXIS_ORDERS):
        out[order == k] = patches[order == k].transpose(0, *axes)
    for axis in range(3):
        out[flips[:, axis]] = np.flip(out[flips[:, axis]], axis=axis + 1)
    return out


def balanced_choice(rng: np.random.Generator, values: np.ndarray, n: int, *, bins: int = 16, split: str = "bins") -> np.ndarray:
    """Indices of ``n`` of ``values`` drawn without replacement, each with probability proportional to one over
    the number of values in its class: values as common as the rest are kept as often, rare ones far more often.

    The classes are ``bins`` equal-width bins over the values' range (``split="bins"``: the kept values spread
    over the range), or the two sides of Otsu's threshold on the values (``split="otsu"``: each side kept about
    as often as the other, whatever lies between).

    >>> values = np.r_[np.zeros(90), np.ones(10)]
    >>> kept = balanced_choice(np.random.default_rng(0), values, 20)
    >>> len(set(kept.tolist())), int(values[kept].sum())  # 6 of the 10 rare ones; uniform draws keep about 2
    (20, 6)
    """
    values = np.asarray(values, dtype=np.float64)
    if split == "otsu":
        which = (values > threshold_otsu(values)).astype(np.intp)  # constant values: the cut is the value, one class
    elif split == "bins":
        edges = np.linspace(values.min(), values.max(), bins + 1)
        which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, bins - 1)
    else:
        raise ValueError(f"split must be 'bins' or 'otsu', got {split!r}")
    weights = 1.0 / np.bincount(which)[which]
    return rng.choice(values.size, size=n, replace=False, p=weights / weights.sum())


class TripletSampler(torch.utils.data.IterableDataset):
    """Seeded stream of :class:`TripletBatch` for a torch ``DataLoader`` (``batch_size=None``).

    Each epoch yields ``config.batches_per_epoch`` batches of ``config.triplets_per_batch`` triplets,
    split across the DataLoader's workers; worker w of process ``rank`` draws from its own generator
    ``numpy.random.default_rng(SeedSequence([seed, epoch, rank, w, num_workers]))``. Call
    :meth:`set_epoch` before each epoch (as with ``DistributedSampler``) to get new sizes and positions;
    iterating twice at the same epoch repeats the stream.

    Parameters
    ----------
    volumes : sequence of ndarray (Z, Y, X)
        Normalised volumes.
    config : DataConfig
    seed : int
    rank : int
        Process rank under DDP (each rank draws its own stream).

    Examples
    --------
    >>> vols = [np.random.default_rng(0).normal(size=(24, 24, 24)).astype(np.float32)]
    >>> sampler = TripletSampler(vols, config=DataConfig(patch_max=12.0, triplets_per_batch=4, batches_per_epoch=2))
    >>> batch = next(iter(sampler))
    >>> tuple(batch.anchor.shape), tuple(batch.anchor_corner.shape)
    ((4, 1, 10, 10, 10), (4, 3))
    >>> loader = torch.utils.data.DataLoader(sampler, batch_size=None, num_workers=0)
    >>> len(list(loader))
    2
    """

    def __init__(self, volumes: Sequence[np.ndarray], *, config: DataConfig = DataConfig(), seed: int = 0, rank: int = 0) -> None:
        super().__init__()
        self.config = config
        self.seed = int(seed)
        self.rank = int(rank)
        self.epoch = 0
        self.source = PatchSource(volumes)
        for i, shape in enumerate(self.source.shapes):
            try:
                side_bounds(shape, config=config)
            except ValueError as err:
                raise UserError(f"volume {i}: {err}") from None

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose stream the next iteration yields."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.config.batches_per_epoch

    def __iter__(self) -> Iterator[TripletBatch]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        total = self.config.batches_per_epoch
        mine = total // workers + (1 if worker < total % workers else 0)
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch, self.rank, worker, workers]))
        for _ in range(mine):
            yield self.sample_batch(rng)

    def sample_boxes(self, rng: np.random.Generator, n: int | None = None) -> tuple[TripletBoxes, np.ndarray]:
        """Draw boxes of ``n`` triplets with non-constant anchors; returns (boxes, anchor patches)."""
        cfg = self.config
        n = cfg.triplets_per_batch if n is None else n
        kept: list[tuple[TripletBoxes, np.ndarray]] = []
        have = 0
        for _ in range(100):
            want = n - have
            boxes = draw_boxes(rng, self.source.shapes, max(want + want // 4, 4), config=cfg)
            anchors = extract_patches(self.source, volume=boxes.volume, corner=boxes.anchor_corner,
                                      side=boxes.anchor_side, size=cfg.patch_resize)  # (b, m, m, m)
            flat = anchors.reshape(anchors.shape[0], -1)
            ok = np.flatnonzero(flat.max(axis=1) - flat.min(axis=1) > cfg.constant_tol)[:want]
            if ok.size:
                kept.append((TripletBoxes(*(f[ok] for f in boxes)), anchors[ok]))
                have += ok.size
            if have == n:
                parts = list(zip(*kept))
                merged = TripletBoxes(*(np.concatenate(f) for f in zip(*parts[0])))
                return merged, np.concatenate(parts[1])
        raise UserError("could not find non-constant anchor patches: the volumes are (nearly) constant")

    def sample_shard(self, rng: np.random.Generator, n: int, *, step: int, shard: int) -> TripletBatch:
        """``sample_batch(rng, n)``: this sampler's triplets depend on the step and shard only through ``rng``."""
        return self.sample_batch(rng, n)

    def _intensity_matched_negatives(self, rng: np.random.Generator, boxes: TripletBoxes,
                                     positives: np.ndarray) -> tuple[TripletBoxes, np.ndarray]:
        """``boxes`` with each negative replaced by the candidate (the drawn one and ``negative_candidates - 1``
        more, each clear of the anchor) whose resized patch mean is nearest the positive's, ties keeping the
        earlier; and those negatives' patches (B, m, m, m)."""
        cfg = self.config
        S = self.source.shapes[boxes.volume].astype(np.float64)
        candidates = [boxes.negative_corner] + [
            _draw_negative_corners(rng, S=S, anchor=boxes.anchor_corner, r=boxes.anchor_side, s=boxes.child_side)
            for _ in range(cfg.negative_candidates - 1)
        ]
        corners = np.stack(candidates, axis=1)  # (B, C, 3)
        B, C = corners.shape[:2]
        m = cfg.patch_resize
        patches = extract_patches(self.source, volume=np.repeat(boxes.volume, C), corner=corners.reshape(-1, 3),
                                  side=np.repeat(boxes.child_side, C), size=m).reshape(B, C, m, m, m)
        target = positives.reshape(B, -1).mean(axis=1)
        best = np.argmin(np.abs(patches.reshape(B, C, -1).mean(axis=2) - target[:, None]), axis=1)
        rows = np.arange(B)
        return boxes._replace(negative_corner=corners[rows, best]), patches[rows, best]

    def sample_batch(self, rng: np.random.Generator, n: int | None = None) -> TripletBatch:
        """Draw and cut one batch of triplets (``n`` defaults to ``config.triplets_per_batch``)."""
        n = self.config.triplets_per_batch if n is None else n
        boxes, anchors = self.sample_boxes(rng, n * self.config.anchor_candidates)
        if self.config.anchor_candidates > 1:
            means = anchors.reshape(anchors.shape[0], -1).mean(axis=1)
            keep = np.sort(balanced_choice(rng, means, n, split=self.config.anchor_balance))
            boxes, anchors = TripletBoxes(*(f[keep] for f in boxes)), anchors[keep]
        m = self.config.patch_resize
        positives = extract_patches(self.source, volume=boxes.volume, corner=boxes.positive_corner, side=boxes.child_side, size=m)
        if self.config.negative_candidates > 1:
            boxes, negatives = self._intensity_matched_negatives(rng, boxes, positives)
        else:
            negatives = extract_patches(self.source, volume=boxes.volume, corner=boxes.negative_corner, side=boxes.child_side, size=m)
        if self.config.random_orientation:
            anchors, positives, negatives = (random_orientations(rng, p) for p in (anchors, positives, negatives))
        t = torch.from_numpy
        return TripletBatch(
            anchor=t(anchors[:, None]),  # (B, 1, m, m, m)
            positive=t(positives[:, None]),
            negative=t(negatives[:, None]),
            volume=t(boxes.volume),
            anchor_corner=t(boxes.anchor_corner),
            anchor_side=t(boxes.anchor_side),
            positive_corner=t(boxes.positive_corner),
            negative_corner=t(boxes.negative_corner),
            child_side=t(boxes.child_side),
        )


__all__ = [
    "PatchSource",
    "balanced_choice",
    "TripletBatch",
    "TripletBoxes",
    "TripletSampler",
    "child_upper",
    "draw_boxes",
    "extract_patches",
    "side_bounds",
]
