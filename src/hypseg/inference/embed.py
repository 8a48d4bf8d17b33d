r"""Per-voxel embeddings: the encoder mean of the patch of side p around every voxel (method.md section 7).

**Dense path.** The encoder is fully convolutional with valid convolutions (:mod:`hypseg.models.encoder`),
so one pass over the padded volume encodes every m^3 window at once. A voxel's patch of side p covers
``[v - p//2, v - p//2 + p)`` on each axis (centred for odd p; for even p the centre is the corner
before voxel v). For p = m the window starting at ``v - p//2`` of the padded volume is that patch.
For p != m the patch is resized to m^3 (trilinear, ``align_corners=False``):

- p < m, p | m: the volume is upsampled by s = m / p and the window starting at ``(v - p//2) s`` is
  read; this costs s^3 more positions than voxels (train with m = p to avoid it), and tiles shrink so
  that an upsampled slab stays within :data:`MAX_UPSAMPLED_SIDE` per axis (p = 1 would otherwise
  upsample a 48^3 tile a thousandfold);
- p > m, m | p (q = p / m): a polyphase pass. For each phase φ in {0..q-1}^3 the volume shifted by φ
  is downsampled by q, and its window starting at a encodes the patch starting at ``a q + φ``: the
  q^3 phases of (n/q)^3 positions cost what one native pass costs, and since every sample point of a
  p-patch lies inside it, the result equals the naive crop-and-resize exactly.

**Tiles.** The output grid is cut into tiles; a tile reads its input slab with a halo of p - 1
voxels (plus one for resampling), replicate-padded at the volume's faces by index clamping. Windows
of a valid convolution do not see past their slab, so tiled and untiled results agree, and memory
depends on the tile, not the volume. Slabs are read with basic slicing, so memory-mapped (MRC, .npy)
and Zarr arrays are read lazily.

**Inversion** (``inversion=True``). Each patch is encoded as it is and point-inverted (every axis reversed,
through the patch's centre), and the two codes are averaged in the tangent space at the origin (a Euclidean
model's codes as they are) and mapped back: a part of the code that changes sign with the direction of an edge
cancels, so a thin bright shell is not split by which side of its patches is bright. A tile's slab reversed on
every axis holds the same windows reversed, in reverse order, so the inverted pass is the same computation on the
reversed slab with its output reversed back; every path (dense, upsampled, polyphase, naive) does it that way.

**Naive path.** :func:`embed_voxels_naive` crops and resizes each voxel's own patch and encodes it:
one encoder pass per voxel (batched), for tests and benchmarks. For p = m it equals the dense path;
for p != m they differ only by interpolation at the patch faces (the crop is resized alone, the
dense path resamples the whole volume). A model whose encoder pads inside (the paper's architecture,
``ModelConfig.dense`` False) has no dense form: :func:`embed_volume` then encodes every voxel's own
patch this way, and :func:`embed_volume_patches` does so with the volume zero-padded, as the paper's
protocol states.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from hypseg.errors import UserError
from hypseg.models import HVAE
from hypseg.models.collapse import COLLAPSED_SPREAD, CollapsedModelWarning, embedding_spread

#: Largest side of an upsampled slab (p < m) with tiling on: 16 MB per channel of a float32 activation.
MAX_UPSAMPLED_SIDE = 160


def embeds_at(m: int, p: int) -> bool:
    """Whether a model of patch side ``m`` embeds patches of side ``p`` in the dense pass: p divides m or is a
    multiple of it (resampled by a whole factor)."""
    return m % p == 0 or p % m == 0


def resolve_patch(model: HVAE, patch_size: int | None) -> tuple[int, int, int, int]:
    """(p, m, s, q): upsampling factor s = m / p or downsampling factor q = p / m (the other is 1)."""
    m = model.config.patch_size
    p = m if patch_size is None else int(patch_size)
    if p < 1:
        raise UserError(f"patch_size must be >= 1, got {p}")
    if not embeds_at(m, p):
        raise UserError(
            f"patch_size {p} must divide or be a multiple of the model's patch size m = {m} for the dense pass; "
            f"segment at a side that does (the model's own: -p {m}, or SegmentConfig.at_patch_sides([{m}]) in Python), "
            f"or train with data.patch_resize = {p}"
        )
    return (p, m, m // p, 1) if m % p == 0 else (p, m, 1, p // m)


def tile_side(tile: int, p: int, s: int) -> int:
    """The output tile side for patch side p upsampled by s: ``tile``, or less where the upsampled slab
    (tile + p - 1 plus one voxel of resampling halo per side, times s) would exceed :data:`MAX_UPSAMPLED_SIDE`."""
    if s == 1:
        return tile
    return max(1, min(tile, MAX_UPSAMPLED_SIDE // s - (p - 1) - 2))


def read_slab(array, starts: tuple[int, ...], stops: tuple[int, ...]) -> np.ndarray:
    """``array[starts:stops]`` per axis, with out-of-range indices clamped (replicate padding).

    Only the in-range box is read from ``array`` (basic slicing: lazy for memory maps and Zarr).
    """
    inner = tuple(slice(max(a, 0), min(b, n)) for a, b, n in zip(starts, stops, array.shape))
    if any(s.start >= s.stop for s in inner):  # entirely outside: the nearest face, repeated
        idx = tuple(np.clip(np.arange(a, b), 0, n - 1) for a, b, n in zip(starts, stops, array.shape))
        return np.asarray(array[np.ix_(*idx)], dtype=np.float32)
    box = np.asarray(array[inner], dtype=np.float32)
    pad = [(s.start - a, b - s.stop) for a, b, s in zip(starts, stops, inner)]
    return np.pad(box, pad, mode="edge") if any(p for pair in pad for p in pair) else box


@torch.no_grad()
def embed_volume(
    model: HVAE,
    volume,
    *,
    patch_size: int | None = None,
    tile: int | None = 48,
    device: str | torch.device = "cpu",
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    progress: bool = False,
    region: tuple[slice, slice, slice] | None = None,
    inversion: bool = False,
) -> np.ndarray:
    """Embed every voxel of ``volume`` (Z, Y, X): returns (Z, Y, X, d) float32 encoder means.

    Parameters
    ----------
    model : HVAE
    volume : array-like (Z, Y, X)
        Normalised intensities (or raw ones with ``transform``); numpy, memory map or Zarr array.
    patch_size : int, optional
        p, the side of each voxel's patch (default: the model's m).
    tile : int or None
        Side of the output tiles (None: the whole volume at once). For p < m it is capped by
        :func:`tile_side`, so that memory stays bounded whatever p.
    device : str or torch.device
    transform : callable, optional
        Applied to every slab after reading (e.g. the intensity normalisation of a lazily read volume).
    progress : bool
        Show a progress bar over tiles.
    region : tuple of 3 slices, optional
        Embed only the voxels of this box (steps of 1): the result has the box's shape, and the
        patches still read the volume around it (a chunk of a larger volume with a halo).
    inversion : bool
        Average each patch's code with its point-inverted patch's (module docstring).
    """
    if getattr(volume, "ndim", None) != 3:
        raise UserError(f"volume must be 3-D (Z, Y, X), got shape {tuple(getattr(volume, 'shape', ()))}")
    shape = tuple(int(n) for n in volume.shape)
    box = tuple(slice(0, n) for n in shape) if region is None else tuple(slice(*r.indices(n)[:2]) for r, n in zip(region, shape))
    if not model.config.dense:
        array = np.asarray(volume, dtype=np.float32)
        array = transform(array) if transform is not None else array
        if region is None:
            return embed_volume_patches(model, array, patch_size=patch_size, padding="edge", device=device, progress=progress,
                                        inversion=inversion)
        grids = np.meshgrid(*(np.arange(b.start, b.stop) for b in box), indexing="ij")
        voxels = np.stack(grids, axis=-1).reshape(-1, 3)
        flat = embed_voxels_naive(model, array, voxels=voxels, patch_size=patch_size, device=device, progress=progress,
                                  inversion=inversion)
        return flat.reshape(*grids[0].shape, -1)
    p, m, s, q = resolve_patch(model, patch_size)
    if tile is not None and tile < 1:
        raise UserError(f"tile must be >= 1, got {tile}")
    model = model.to(device).eval()
    extent = tuple(b.stop - b.start for b in box)
    out = np.empty(extent + (model.config.latent_dim,), dtype=np.float32)
    sides = extent if tile is None else (tile_side(tile, p, s),) * 3
    corners = list(itertools.product(*(range(b.start, b.stop, t) for b, t in zip(box, sides))))
    iterator = corners
    if progress:
        from hypseg.progress import progress as reporter

        iterator = reporter(corners, desc=f"embedding at p = {p}", unit="tile", leave=False)
    before = p // 2
    halo = 1 if s > 1 else 0  # resampling reads one neighbour on each side
    for corner in iterator:
        stop = tuple(min(c + t, b.stop) for c, t, b in zip(corner, sides, box))
        starts = tuple(c - before - halo for c in corner)
        stops = tuple(e - before + p - 1 + halo for e in stop)
        slab = read_slab(volume, starts, stops)
        if transform is not None:
            slab = transform(slab)
        x = torch.from_numpy(np.ascontiguousarray(slab, dtype=np.float32))[None, None].to(device)
        part = tuple(slice(c - b.start, e - b.start) for c, e, b in zip(corner, stop, box))
        sides_here = tuple(e - c for c, e in zip(corner, stop))
        codes = _tile_codes(model, x, s=s, q=q, sides=sides_here)
        if inversion:
            codes = average_inverted(model, codes, _tile_codes(model, x.flip((2, 3, 4)), s=s, q=q, sides=sides_here)[::-1, ::-1, ::-1])
        out[part] = codes
    return out


def _tile_codes(model: HVAE, x: torch.Tensor, *, s: int, q: int, sides: tuple[int, int, int]) -> np.ndarray:
    """(n_z, n_y, n_x, d) codes of the patches of one tile's slab ``x`` (1, 1, ...): upsampled by ``s``, in ``q`` phases,
    or read as it is."""
    if q > 1:
        return _polyphase(model, x, q=q, sides=sides)
    if s > 1:
        x = F.interpolate(x, scale_factor=s, mode="trilinear", align_corners=False)
        x = x[..., s:-s, s:-s, s:-s]  # drop the halo
    loc = model.encoder.dense(x, stride=s).loc[0]  # windows starting at (v - p//2) * s
    return loc.permute(1, 2, 3, 0).cpu().numpy()


def average_inverted(model: HVAE, codes: np.ndarray, inverted: np.ndarray) -> np.ndarray:
    """float32 (..., d): the mean of each code in ``codes`` and its inverted patch's in ``inverted`` (same shape), in the
    tangent space at the origin of the model's ball and mapped back (a Euclidean model's codes: their plain mean).

    >>> from hypseg.config import ModelConfig
    >>> model = HVAE(ModelConfig(patch_size=8, channels=(4, 8, 8), hidden=16))
    >>> average_inverted(model, np.array([[0.5, 0.0], [0.3, 0.4]]), np.array([[-0.5, 0.0], [0.3, 0.4]])).astype(float).round(6).tolist()
    [[0.0, 0.0], [0.3, 0.4]]
    """
    from hypseg.inference.tangent import to_ball, to_tangent

    geometry = model.config
    if not geometry.hyperbolic:
        return ((np.asarray(codes, dtype=np.float64) + inverted) / 2).astype(np.float32)
    c = geometry.curvature
    mean = (to_tangent(np.asarray(codes, dtype=np.float64), c=c) + to_tangent(np.asarray(inverted, dtype=np.float64), c=c)) / 2
    return to_ball(mean, c=c).astype(np.float32)


def _polyphase(model: HVAE, x: torch.Tensor, *, q: int, sides: tuple[int, int, int]) -> np.ndarray:
    """Embeddings (n_z, n_y, n_x, d) of a slab (1, 1, n + p - 1, ...) for patches of side p = q m."""
    result = np.empty(sides + (model.config.latent_dim,), dtype=np.float32)
    for phase in itertools.product(range(q), repeat=3):
        counts = [len(range(f, n, q)) for f, n in zip(phase, sides)]  # voxels of this phase in the tile
        if min(counts) == 0:
            continue
        shifted = x[..., phase[0] :, phase[1] :, phase[2] :]
        down = F.interpolate(shifted, scale_factor=1 / q, mode="trilinear", align_corners=False, recompute_scale_factor=False)
        loc = model.encoder.dense(down).loc[0]  # window a encodes the patch starting at a q + phase
        block = loc[:, : counts[0], : counts[1], : counts[2]]
        result[phase[0] :: q, phase[1] :: q, phase[2] :: q] = block.permute(1, 2, 3, 0).cpu().numpy()
    return result


@torch.no_grad()
def embed_voxels_naive(
    model: HVAE,
    volume: np.ndarray,
    *,
    voxels: np.ndarray,
    patch_size: int | None = None,
    batch: int = 2048,
    device: str | torch.device = "cpu",
    padding: str = "edge",
    progress: bool = False,
    inversion: bool = False,
) -> np.ndarray:
    """Encode each listed voxel's own patch (crop, resize to m^3, encode): (N, d) for voxels (N, 3).

    One encoder pass per voxel; the reference for the dense path, and the only path for an encoder
    that pads inside. ``padding`` ("edge" or "zero") fills the patches that cross a face. With ``inversion``
    each code is averaged with the code of its crop reversed on every axis (:func:`average_inverted`).
    """
    if padding not in ("edge", "zero"):
        raise UserError(f"padding must be 'edge' or 'zero', got {padding!r}")
    p, m, _, _ = resolve_patch(model, patch_size)
    model = model.to(device).eval()
    volume = np.asarray(volume, dtype=np.float32)
    before = p // 2
    padded = np.pad(volume, [(before, p - 1 - before)] * 3, mode="edge" if padding == "edge" else "constant")
    offsets = np.arange(p)
    results = []
    starts = range(0, len(voxels), batch)
    if progress:
        from hypseg.progress import progress as reporter

        starts = reporter(starts, desc="embedding", unit="batch", leave=False)
    for start in starts:
        v = np.asarray(voxels[start : start + batch], dtype=np.int64)  # (b, 3), padded start = v
        z = (v[:, 0, None] + offsets)[:, :, None, None]
        y = (v[:, 1, None] + offsets)[:, None, :, None]
        x = (v[:, 2, None] + offsets)[:, None, None, :]
        crops = torch.from_numpy(padded[z, y, x])[:, None].to(device)  # (b, 1, p, p, p)
        if p != m:
            crops = F.interpolate(crops, size=(m, m, m), mode="trilinear", align_corners=False)
        codes = model.encode_mean(crops).cpu().numpy()
        if inversion:
            codes = average_inverted(model, codes, model.encode_mean(crops.flip((2, 3, 4))).cpu().numpy())
        results.append(codes)
    return np.concatenate(results) if results else np.zeros((0, model.config.latent_dim), np.float32)


def embed_volume_patches(
    model: HVAE, volume, *, patch_size: int | None = None, padding: str = "zero", device: str | torch.device = "cpu",
    batch: int = 2048, progress: bool = False, inversion: bool = False,
) -> np.ndarray:
    """Every voxel's own patch of side p, resized to m^3 and encoded: (Z, Y, X, d) float32.

    The paper's per-voxel protocol with p = 5, m = 10 and ``padding="zero"`` (the volume zero-padded).
    """
    array = np.asarray(volume, dtype=np.float32)
    if array.ndim != 3:
        raise UserError(f"volume must be 3-D (Z, Y, X), got shape {array.shape}")
    voxels = np.stack(np.meshgrid(*(np.arange(n) for n in array.shape), indexing="ij"), axis=-1).reshape(-1, 3)
    flat = embed_voxels_naive(model, array, voxels=voxels, patch_size=patch_size, batch=batch, device=device,
                              padding=padding, progress=progress, inversion=inversion)
    return flat.reshape(*array.shape, -1)


def embed_volume_multiscale(model: HVAE, volume, *, patch_sizes, **options) -> np.ndarray:
    """Embeddings for several patch sides side by side: (Z, Y, X, F*d), a point of a product of F balls.

    ``options`` go to :func:`embed_volume`; cluster the result with ``factors=F``
    (:func:`hypseg.inference.segment_volume`).
    """
    sizes = [int(p) for p in patch_sizes]
    if not sizes:
        raise UserError("give at least one patch size")
    return np.concatenate([embed_volume(model, volume, patch_size=p, **options) for p in sizes], axis=-1)


def warn_if_collapsed(embeddings, *, volume: int) -> bool:
    """Warn (:class:`CollapsedModelWarning`) when the least spread of one volume's ``embeddings`` (one per
    patch side; arrays or memory-mapped files) is below :data:`COLLAPSED_SPREAD`; returns whether it did."""
    spread = min(embedding_spread(e) for e in embeddings)
    if spread < COLLAPSED_SPREAD:
        warnings.warn(CollapsedModelWarning(
            f"volume {volume}: the model embeds every voxel alike (spread {spread:.1g}, below {COLLAPSED_SPREAD:g}): "
            "its training collapsed and its label maps say nothing; train again with another seed"), stacklevel=3)
    return spread < COLLAPSED_SPREAD
