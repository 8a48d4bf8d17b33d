"""Segmentation of volumes larger than memory: every stage chunk by chunk, on one process or a Dask cluster.

:func:`segment_chunked` runs the same recipe as :func:`hypseg.inference.recipe.segment` on volume files
read lazily (:class:`hypseg.io.LazyArray`) and writes the label maps box by box
(:mod:`hypseg.io.blockwise`); what it holds in memory at once is one chunk's data and one number per
supervoxel, whatever the volume's size. The chunks are boxes of whole supervoxel tiles
(:attr:`SegmentConfig.supervoxel_tile`, :func:`hypseg.data.tile_bounds`), so that the supervoxels,
and therefore the label maps, are those of the whole-volume run. The stages:

1. **Statistics** of the intensity normalisation and of SLIC's z-scoring, on
   :func:`hypseg.data.normalise.voxel_sample` (every voxel up to 256^3, a regular grid above).
2. **Embedding and supervoxels** per chunk: the chunk is read with a halo of the largest patch side
   (replicated at the volume's faces, as the whole-volume embedding pads), normalised, embedded at every
   level's patch sides (:func:`hypseg.inference.embed.embed_volume` with ``region``) and cut into SLIC
   supervoxels tile by tile; embeddings and tile-local supervoxel numbers go to memory-mapped files of a
   work folder, and each tile's supervoxel count comes back. Numbering the tiles on in raster order gives
   the whole-volume supervoxel ids. A finished chunk is recorded in the work folder (``done/``, with its
   tile counts), so that a run that stops is resumed without embedding it again (``resume``).
3. **Points** per chunk: each supervoxel's (purity-weighted) mean embedding (the ball's Fréchet mean, or
   the arithmetic mean in the tangent space at the origin with ``space = "tangent"``), as
   :func:`hypseg.inference.pooling.pool_embedding` computes it (the purity of a voxel near a chunk face
   reads the neighbouring chunk's supervoxel ids); a voxel level's points are the embedding file itself.
4. **Fit** in the calling process: k-means on a subsample of the points (:func:`fit_parts`, the same
   draw as the whole-volume run), then every supervoxel's cluster.
5. **Labels** per chunk, from each supervoxel's cluster (or each voxel's embedding).
6. **Containment**: the first level's outside is the cluster on more face voxels (counted per chunk);
   where that map lies in no field of view and ``field_retry`` says so, stages 3-5 run again for that volume
   alone with more clusters (:func:`_retry`), and the cluster least on the faces, if it lies in a field, is the
   object against the others together (:class:`Level1`); with a voxel band (``voxel_band``) the voxels near the clusters' boundary take their nearest centre
   (:func:`hypseg.inference.recipe.voxels_decide`), and with ``refine`` the rest's boundary is refined by the
   volume's intensity, chunk by chunk, each chunk read with a halo of the band's width and the refinement's
   reach (:mod:`hypseg.inference.refine`); the object is everything but the
   outside's connected components (6-connected) that reach a face,
   which is :func:`scipy.ndimage.binary_fill_holes`: components are labelled per chunk and joined across
   chunk faces with a union-find (:func:`scipy.sparse.csgraph.connected_components`).
7. **Output**: each label map is copied chunk by chunk into its file; the finest level's embedding file
   is moved to the output.

Stages 2, 3, 5 and 6 run through an executor: in this process (:class:`LocalExecutor`) or as tasks on
a Dask cluster (:class:`DaskExecutor`: a local cluster of worker processes or a scheduler's address).
The workers read and write the work folder, so on several machines it must lie on a shared file system;
they write with positioned writes of their own boxes' bytes (:func:`_store`), never through memory maps.
Each task computes the same numbers whichever process runs it, so the label maps equal the
single-process ones; only a different torch thread count may move an embedding in its last float bit.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import logging
import os
import shutil
import time
import uuid
import warnings
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from hypseg._malloc import worker_environment
from hypseg.clustering import EmptyClusterWarning
from hypseg.config import DataConfig, SegmentConfig
from hypseg.data.normalise import apply, statistics, voxel_sample
from hypseg.data.supervoxels import supervoxels, tile_bounds
from hypseg.errors import UserError, named
from hypseg.inference.embed import embed_volume_multiscale, read_slab, warn_if_collapsed
from hypseg.inference.hierarchy import (in_no_field, moved_boundary, object_kept, object_order, outside_of, second_try,
                                       warn_if_no_field)
from hypseg.inference.model_io import TrainedModel, _load_model
from hypseg.inference.pooling import pool_embedding, purity_of_padded
from hypseg.inference.recipe import (band_points, cluster_sums, contrast_object, contrast_points, embedded_sides, local_contrast, means_of,
                                     pools_by_kind, voxels_decide)
from hypseg.inference.refine import reach
from hypseg.inference.segment import _level_labels, fit_parts
from hypseg.inference.tangent import in_tangent, to_ball, to_tangent

__all__ = ["ChunkGrid", "LocalExecutor", "DaskExecutor", "ChunkedResult", "segment_chunked", "executor_for"]

#: Chunked segmentation is chosen by itself above this many voxels per volume (256^3).
AUTO_CHUNK_VOXELS = 1 << 24


class StaleWork(UserError):
    """A work folder that ``resume`` cannot continue (another run's, or incomplete); it is left as it is."""


# --------------------------------------------------------------------------------------------------
# the grid of chunks
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ChunkGrid:
    """Tiles of at most ``tile`` voxels per side (:func:`tile_bounds`), grouped ``group`` per side into chunks.

    >>> grid = ChunkGrid((300, 100, 60), tile=64, group=2)
    >>> grid.tiles_per_axis, len(grid.chunks()), grid.box((1, 0, 0))
    ((5, 2, 1), 3, (slice(120, 240, None), slice(0, 100, None), slice(0, 60, None)))
    """

    shape: tuple[int, int, int]
    tile: int
    group: int = 1

    @property
    def edges(self) -> tuple[np.ndarray, ...]:
        return tuple(tile_bounds(n, self.tile) for n in self.shape)

    @property
    def tiles_per_axis(self) -> tuple[int, ...]:
        return tuple(len(e) - 1 for e in self.edges)

    def chunks(self) -> list[tuple[int, int, int]]:
        """Chunk indices in raster order."""
        return list(itertools.product(*(range(-(-n // self.group)) for n in self.tiles_per_axis)))

    def tile_range(self, chunk) -> tuple[range, ...]:
        return tuple(range(c * self.group, min((c + 1) * self.group, n)) for c, n in zip(chunk, self.tiles_per_axis))

    def box(self, chunk) -> tuple[slice, slice, slice]:
        """The chunk's voxels."""
        return tuple(slice(int(e[r.start]), int(e[r.stop])) for e, r in zip(self.edges, self.tile_range(chunk)))

    def tiles(self, chunk) -> list[tuple[tuple[int, int, int], tuple[slice, slice, slice]]]:
        """The chunk's tiles in raster order: (tile index, box relative to the chunk)."""
        box = self.box(chunk)
        out = []
        for t in itertools.product(*self.tile_range(chunk)):
            out.append((t, tuple(slice(int(e[i]) - b.start, int(e[i + 1]) - b.start) for e, i, b in zip(self.edges, t, box))))
        return out


# --------------------------------------------------------------------------------------------------
# executors
# --------------------------------------------------------------------------------------------------
class LocalExecutor:
    """Runs the tasks one after another in this process, with a progress bar per stage."""

    def __init__(self, *, progress: bool = False) -> None:
        self.progress = progress

    def map(self, fn: Callable, items: Sequence, *, desc: str, shared: dict | None = None) -> list:
        """``fn(item, **shared)`` for every item, in order."""
        iterator: Iterable = items
        if self.progress:
            from hypseg.progress import progress as reporter

            iterator = reporter(items, desc=desc, unit="chunk")
        return [fn(item, **(shared or {})) for item in iterator]

    def close(self) -> None:
        pass


class DaskExecutor:
    """Runs the tasks on a Dask cluster: a local one of ``workers`` processes, or the scheduler at ``address``.

    Raises
    ------
    UserError
        When Dask is not installed, or the scheduler cannot be reached within ``timeout`` seconds.
    """

    def __init__(self, *, address: str | None = None, workers: int | None = None, timeout: float = 10.0,
                 progress: bool = False) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UserError("--workers and --scheduler need Dask: pip install 'hypseg[dask]'") from None
        self.progress = progress
        self._cluster = None
        if address is not None:
            try:
                self.client = Client(address, timeout=f"{timeout}s")
            except (OSError, TimeoutError) as err:
                raise UserError(f"cannot reach the Dask scheduler at {address} within {timeout:g} s ({type(err).__name__})") from None
            except ValueError as err:
                raise UserError(f"--scheduler {address!r} is not a Dask scheduler address ({err})") from None
        else:
            if workers is None or workers < 1:
                raise UserError(f"--workers must be >= 1, got {workers}")
            from hypseg.inference._dask_worker import QuietWorker, quiet_nanny_kills

            quiet_nanny_kills()
            self._cluster = _local_cluster(int(workers))
            try:
                self.client = Client(self._cluster)
                self.client.register_plugin(QuietWorker())  # on every worker, one the nanny restarts included
            except BaseException:
                self._cluster.close()
                raise

    def map(self, fn: Callable, items: Sequence, *, desc: str, shared: dict | None = None) -> list:
        """``fn(item, **shared)`` for every item, as tasks; ``shared`` goes to every worker once.

        Each shared value is scattered whole (a dict would otherwise be scattered item by item under its own keys)
        under a key of its own (``hash=False``, not its content's hash). Keys reused from call to call, as the
        stages' per-volume fits or an equal value would reuse them, let an earlier call's release reach the
        scheduler after a later call's scatter: the later tasks then lose their data (cancelled, or left waiting).
        The call releases what it scattered and its futures when it returns."""
        from distributed import as_completed

        scattered, futures = {}, []
        try:
            for name, value in (shared or {}).items():
                scattered[name] = self.client.scatter([value], broadcast=True, hash=False)[0]  # a dict stays one object
            futures = self.client.map(fn, list(items), pure=False, **scattered)
            done: Iterable = as_completed(futures)
            if self.progress:
                from hypseg.progress import progress as reporter

                done = reporter(done, desc=desc, unit="chunk", total=len(futures))
            for future in done:
                future.result()  # raises a task's error here, with its traceback
            return self.client.gather(futures)
        finally:
            for future in (*futures, *scattered.values()):
                future.release()

    def close(self) -> None:
        """Stops the client and a local cluster."""
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def _local_cluster(workers: int):
    """A local cluster of ``workers`` one-thread processes with Dask's own memory limit ("auto"), started keeping freed
    memory (:func:`hypseg._malloc.worker_environment`).

    Dask's nanny writes its start environment into this process's ``os.environ`` before it spawns a worker; the
    environment is put back as it was once the cluster is up, so that what this process starts later does not inherit
    it (a nanny that restarts its worker writes it here again). As in Dask, a variable already set in this process's
    environment wins over the start environment's value."""
    import dask
    from distributed import LocalCluster
    from distributed.worker_memory import parse_memory_limit

    memory_limit = parse_memory_limit("auto", 1, workers, logger=logging.getLogger(__name__))  # as LocalCluster does
    spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ", default={}), **worker_environment(memory_limit)}
    saved = dict(os.environ)
    try:
        with dask.config.set({"distributed.nanny.pre-spawn-environ": spawn}):
            # no dashboard; the scheduler's HTTP server (health checks) on a free port, not Dask's 8787, which another
            # cluster may hold (Dask would warn and move)
            return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, memory_limit=memory_limit,
                                dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"})
    finally:
        for name in os.environ.keys() - saved.keys():
            del os.environ[name]
        os.environ.update(saved)


def executor_for(*, workers: int | None = None, scheduler: str | None = None, timeout: float = 10.0,
                 progress: bool = False):
    """A :class:`DaskExecutor` when ``workers`` or ``scheduler`` is given, else a :class:`LocalExecutor`."""
    if workers is not None and scheduler is not None:
        raise UserError("give either --workers (a local Dask cluster) or --scheduler (an existing one), not both")
    if workers is None and scheduler is None:
        return LocalExecutor(progress=progress)
    return DaskExecutor(address=scheduler, workers=workers, timeout=timeout, progress=progress)


# --------------------------------------------------------------------------------------------------
# the job that every task sees (pickled to Dask workers: paths and small numbers only)
# --------------------------------------------------------------------------------------------------
class Group(NamedTuple):
    """Levels clustered together: their cluster counts and shared settings."""

    ks: tuple[int, ...]
    sides: tuple[int, ...]
    size: int | None
    power: float
    pooled: bool
    inside: bool  # clustered inside the first level's object
    clusterer: str  # LevelConfig.clusterer
    prefix: str = "k"  # each level's labels go to the work file <prefix><k>
    kept: frozenset = frozenset()  # volumes whose object stays whole: the levels inside divide the rest (contrast_divides)

    def region(self, job: Job, v: int, box) -> np.ndarray:
        """The voxels of volume v's chunk ``box`` these levels divide: its object, or where ``kept`` the rest."""
        return _read(job.file(v, "object"), box).astype(bool) != (v in self.kept)


@dataclasses.dataclass(frozen=True)
class Job:
    work: Path
    volumes: tuple  # LazyArray (or any array-like) per volume
    model_dir: str
    device: str
    config: SegmentConfig
    grids: tuple[ChunkGrid, ...]
    stats: tuple[tuple[float, ...], ...]  # normalisation statistics per volume
    scales: tuple[tuple[float, float], ...]  # SLIC's z-scoring of the normalised volume
    side_sets: tuple[tuple[int, ...], ...]
    sizes: tuple[int, ...]
    embed_tile: int | None
    halo: int
    data: DataConfig  # the model's intensity normalisation of the volumes
    run_id: str = ""  # in state.json and every marker: a task of an earlier run writes and records nothing
    tangent_c: float | None = None  # the ball's curvature where embeddings are clustered in its tangent space

    def file(self, v: int, what: str) -> Path:
        return self.work / f"v{v}_{what}.npy"


_MODELS: dict[tuple[str, str], TrainedModel] = {}


def _model(job: Job) -> TrainedModel:
    key = (job.model_dir, job.device)
    if key not in _MODELS:  # once per worker process
        _MODELS[key] = _load_model(job.model_dir, device=job.device)[0]  # its caller loaded it, and warned
    return _MODELS[key]


def _sides_name(sides: tuple[int, ...]) -> str:
    return "emb" + "x".join(map(str, sides))


def _read(path: Path, box) -> np.ndarray:
    """A box of a work file, copied out (the memory map is dropped at once)."""
    return np.array(np.load(path, mmap_mode="r")[box])


def _store(path: Path, box, block: np.ndarray, *, durable: bool = False) -> None:
    """Write ``block`` into the box of a work file (.npy, C order), one positioned write per (z, y) row;
    ``durable``: on disk (fsync) when it returns, for what a resumed run will trust.

    Not through a memory map: a mapped page is written back whole, so two machines writing neighbouring
    boxes of one file on a network file system could each write back the other's bytes of a shared
    page as they were before. Positioned writes send only the box's own bytes.
    """
    with open(path, "r+b") as handle:
        version = np.lib.format.read_magic(handle)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(handle)
        if fortran or block.shape[:3] != tuple(b.stop - b.start for b in box) or block.shape[3:] != shape[3:]:
            raise ValueError(f"{path}: cannot store a block of shape {block.shape} at {box} in an array of {shape}")
        offset = handle.tell()
        rows = np.ascontiguousarray(block, dtype=dtype).reshape(block.shape[0], block.shape[1], -1)
        row = int(np.prod(shape[2:], dtype=np.int64))  # items per (z, y) row of the file
        start = offset + (box[2].start * (row // shape[2])) * dtype.itemsize
        fd = handle.fileno()
        for z in range(rows.shape[0]):
            for y in range(rows.shape[1]):
                data = memoryview(rows[z, y]).cast("B")
                at = start + ((box[0].start + z) * shape[1] + box[1].start + y) * row * dtype.itemsize
                while data:  # a positioned write may write less than asked
                    written = os.pwrite(fd, data, at)
                    data, at = data[written:], at + written
        if durable:
            os.fsync(fd)


def _global_segments(job: Job, v: int, size: int, starts, stops, offsets: np.ndarray) -> np.ndarray:
    """Whole-volume supervoxel ids of the box [starts, stops), indices clamped to the volume (edge padding)."""
    grid = job.grids[v]
    idx = [np.clip(np.arange(a, b), 0, n - 1) for a, b, n in zip(starts, stops, grid.shape)]
    lo = [int(i.min()) for i in idx]
    hi = [int(i.max()) + 1 for i in idx]
    local = _read(job.file(v, f"seg{size}"), tuple(slice(a, b) for a, b in zip(lo, hi)))
    local = local[np.ix_(*(i - a for i, a in zip(idx, lo)))].astype(np.int64)
    tiles = [np.searchsorted(e, i, side="right") - 1 for e, i in zip(grid.edges, idx)]
    return local + offsets[np.ix_(*tiles)]


# --------------------------------------------------------------------------------------------------
# the tasks (module functions, so that Dask can pickle them)
# --------------------------------------------------------------------------------------------------
def _embed_task(job: Job, item) -> dict[int, list[tuple[tuple[int, int, int], int]]]:
    """Stage 2 for one chunk: embeddings and tile-local supervoxels to the work files, on disk before the
    chunk is recorded as finished; tile counts back."""
    v, chunk = item
    model = _model(job)
    grid = job.grids[v]
    box = grid.box(chunk)
    h = job.halo
    slab = read_slab(job.volumes[v], tuple(b.start - h for b in box), tuple(b.stop + h for b in box))
    slab = apply(slab, config=job.data, stats=job.stats[v])
    core = tuple(slice(h, h + b.stop - b.start) for b in box)
    blocks = {}
    for sides in job.side_sets:
        blocks[_sides_name(sides)] = embed_volume_multiscale(model.network, slab, patch_sizes=sides, tile=job.embed_tile,
                                                             device=job.device, region=core,
                                                             inversion=job.config.inverts(sides))
    counts: dict[int, list] = {}
    inner = slab[core]
    for size in job.sizes:
        seg = blocks[f"seg{size}"] = np.empty(inner.shape, dtype=np.int32)
        counts[size] = []
        for t, tbox in grid.tiles(chunk):
            local = supervoxels(inner[tbox], size=size, scale=job.scales[v])
            seg[tbox] = local
            counts[size].append((t, int(local.max()) + 1))
    _check_run(job)
    for what, block in blocks.items():
        _store(job.file(v, what), box, block, durable=True)
    _mark_done(job, item, counts)
    return counts


def _run_id(work: Path) -> str | None:
    try:
        return json.loads((work / "state.json").read_text())["run"]
    except (OSError, ValueError, KeyError):
        return None


def _check_run(job: Job) -> None:
    """Stop a task of a run that has since been replaced in its work folder (a Dask task that outlived an
    interrupted run), before it writes into the new run's files."""
    if _run_id(job.work) != job.run_id:
        raise RuntimeError(f"{job.work}: now belongs to another run; this task of run {job.run_id} stops")


def finished_chunks(work: Path) -> int:
    """How many chunks the run in ``work`` recorded as embedded."""
    return len(list((Path(work) / "done").glob("*.json")))


def _marker(job: Job, item) -> Path:
    v, chunk = item
    return job.work / "done" / f"v{v}_{'_'.join(map(str, chunk))}.json"


def _mark_done(job: Job, item, counts: dict) -> None:
    """Record that a chunk's embeddings and supervoxels are on disk (after they are flushed), with its tile
    counts: a resumed run skips the chunk and takes the counts from here."""
    marker = _marker(job, item)
    partial = marker.with_suffix(f".{job.run_id}.tmp")
    tiles = {str(size): [[list(t), n] for t, n in found] for size, found in counts.items()}
    partial.write_text(json.dumps({"run": job.run_id, "tiles": tiles}))
    os.replace(partial, marker)


def _read_done(job: Job, item) -> dict[int, list[tuple[tuple[int, int, int], int]]] | None:
    """The tile counts a finished chunk of this run recorded, or None."""
    marker = _marker(job, item)
    if not marker.exists():
        return None
    record = json.loads(marker.read_text())
    if record.get("run") != job.run_id:
        return None
    return {int(size): [(tuple(t), n) for t, n in found] for size, found in record["tiles"].items()}


def _chunk_segments(job: Job, v: int, chunk, group: Group, offsets: np.ndarray):
    """The chunk's whole-volume supervoxel ids, its voxel weights (purity), and the voxels clustered."""
    grid = job.grids[v]
    box = grid.box(chunk)
    starts, stops = [b.start for b in box], [b.stop for b in box]
    segs = _global_segments(job, v, group.size, starts, stops, offsets)
    weights = None
    if group.power:
        columns = []
        for p in group.sides:
            before, after = p // 2, p - 1 - p // 2
            padded = _global_segments(job, v, group.size, [a - before for a in starts], [b + after for b in stops], offsets)
            columns.append(purity_of_padded(padded, p) ** np.float32(group.power))
        weights = np.stack(columns, axis=-1)
    keep = group.region(job, v, box) if group.inside else None
    return box, segs, weights, keep


def _clustered(job: Job, points: np.ndarray, factors: int) -> np.ndarray:
    """``points`` of the embedding as they are clustered: in the tangent space at the origin where the
    segmentation says so (:mod:`hypseg.inference.tangent`), else as they are."""
    return points if job.tangent_c is None else to_tangent(points, factors=factors, c=job.tangent_c)


def _points_task(job: Job, group: Group, offsets: dict, item):
    """Stage 3 for one chunk: (supervoxel ids, their mean embeddings, their voxel counts)."""
    v, chunk = item
    model = _model(job)
    box, segs, weights, keep = _chunk_segments(job, v, chunk, group, offsets[v])
    ids = segs if keep is None else np.where(keep, segs, -1)
    present = ids >= 0
    if not present.any():
        return np.zeros(0, np.int64), np.zeros((0, 0)), np.zeros(0)
    unique, inverse = np.unique(ids[present], return_inverse=True)
    local = np.full(ids.shape, -1, dtype=np.int64)
    local[present] = inverse
    geometry = model.config.model
    emb = _clustered(job, _read(job.file(v, _sides_name(group.sides)), box), len(group.sides))
    pooled = pool_embedding(emb, local, c=geometry.curvature, hyperbolic=geometry.hyperbolic and job.tangent_c is None,
                            factors=len(group.sides), voxel_weights=weights, device=None if job.device == "cpu" else job.device)
    return unique, pooled.points, pooled.weights


class _Fitted(NamedTuple):
    """One volume's fit for a group of levels: the levels (their k without the outside), and with
    supervoxels their sorted ids and each one's cluster per k (without: every voxel is predicted)."""

    levels: list
    ids: np.ndarray | None
    luts: dict[int, np.ndarray] | None


def _labels_task(job: Job, group: Group, offsets: dict, item, fitted: dict):
    """Stage 5 for one chunk: every level's labels to the work files; for a group of levels clustered on their own
    (containment's first level among them), per level the face-voxel count of each label (row 0) and its voxel count
    (row 1)."""
    v, chunk = item
    _check_run(job)
    fit = fitted[v]
    box = job.grids[v].box(chunk)
    shape = tuple(b.stop - b.start for b in box)
    keep = group.region(job, v, box) if group.inside else np.ones(shape, bool)
    if fit.ids is not None:
        segs = _global_segments(job, v, group.size, [b.start for b in box], [b.stop for b in box], offsets[v])
        index = np.clip(np.searchsorted(fit.ids, segs), 0, len(fit.ids) - 1)[keep]
        found = {k: lut[index] for k, lut in fit.luts.items()}
    else:
        emb = _read(job.file(v, _sides_name(group.sides)), box)
        points = _clustered(job, emb[keep], len(group.sides))
        found = (_level_labels(fit.levels, points) if keep.any()  # a chunk outside the object: nothing to assign
                 else {level.k: np.zeros(0, np.int64) for level in fit.levels})
    faces = {}
    for k, values in found.items():
        labels = np.zeros(shape, dtype=np.int64)
        labels[keep] = values + group.inside  # inside the region divided, label 0 is the rest
        k += group.inside
        if v in group.kept:  # the object 1, as at level 1; the rest's first cluster 0
            labels = object_kept(labels)
        _store(job.file(v, f"{group.prefix}{k}"), box, labels.astype(np.uint16))
        if group.inside:  # counts only for the levels containment may read
            continue
        faces[k] = np.stack([np.bincount(labels[_face_mask(job.grids[v].shape, box)], minlength=k),
                             np.bincount(labels.ravel(), minlength=k)])
    return faces


def _face_mask(shape, box) -> np.ndarray:
    """The box's voxels on the volume's six faces."""
    mask = np.zeros(tuple(b.stop - b.start for b in box), dtype=bool)
    for axis, (b, n) in enumerate(zip(box, shape)):
        index = [slice(None)] * 3
        if b.start == 0:
            index[axis] = 0
            mask[tuple(index)] = True
        if b.stop == n:
            index[axis] = -1
            mask[tuple(index)] = True
    return mask


class Level1(NamedTuple):
    """What containment reads of one volume's first level: the work file of its map (``k2``, or ``retry-k<K>`` where its
    second try found the object, ``SegmentConfig.field_retry``), the map's outside label, and where the map holds more
    clusters, each cluster's label in the object map (1 the object, 0 the outside)."""

    source: str
    outside: int
    merge: np.ndarray | None = None

    def read(self, job: Job, v: int, box) -> np.ndarray:
        """The map in ``box``, its clusters merged into the object and the outside where there are more than two."""
        labels = _read(job.file(v, self.source), box)
        return labels if self.merge is None else self.merge[labels].astype(labels.dtype)


class Decide(NamedTuple):
    """What level 1's voxels near its boundary need to decide alone (``SegmentConfig.voxel_band``,
    :func:`hypseg.inference.recipe.voxels_decide`): the patch sides of the embedding they decide by, and per volume its
    clusters' centres in the space it was clustered in (one per cluster of its :class:`Level1` map); with
    ``intensity`` they decide by the volume's box mean instead (``SegmentConfig.band_feature``, the work file
    :data:`_BAND_INTENSITY`)."""

    sides: tuple[int, ...]
    centres: dict[int, np.ndarray]
    hyperbolic: bool
    c: float
    intensity: bool = False


#: the work file of a volume's box mean where level 1's voxel band decides by it (``SegmentConfig.band_feature``)
_BAND_INTENSITY = "band-intensity"


def _band_points(job: Job, v: int, box, decide: Decide) -> np.ndarray:
    """What the voxel band's voxels in ``box`` decide by: the box mean's work file, or the embedding at the band's
    sides in the space clustered in."""
    if decide.intensity:
        return _read(job.file(v, _BAND_INTENSITY), box)
    return _clustered(job, _read(job.file(v, _sides_name(decide.sides)), box), factors=len(decide.sides))


def _band_intensity_task(job: Job, item) -> None:
    """For one chunk: its voxels' box mean at the band's side (:func:`hypseg.inference.recipe.band_points`) to the work
    file :data:`_BAND_INTENSITY`, the volume read with a halo of that side as the whole volume's filter sees it."""
    v, chunk = item
    _check_run(job)
    box = job.grids[v].box(chunk)
    side = job.config.band_box
    found = _halo_filter(job.volumes[v], box, side, functools.partial(apply, config=job.data, stats=job.stats[v]),
                         lambda slab: band_points(slab, side))
    _store(job.file(v, _BAND_INTENSITY), box, found)


def _sums_task(job: Job, clusters: dict, decide: Decide, item) -> np.ndarray:
    """For one chunk, :func:`hypseg.inference.recipe.cluster_sums` of what the voxel band decides by (:func:`_band_points`)
    over the first level's clusters as its clustering left them (``clusters``: per volume its map's work file and
    number of clusters)."""
    v, chunk = item
    box = job.grids[v].box(chunk)
    points = _band_points(job, v, box, decide)
    source, k = clusters[v]
    return cluster_sums(points, _read(job.file(v, source), box), k)


def _moves_boundary(job: Job) -> bool:
    """Whether stage 6 rewrites the first level's object before filling its holes (:func:`_refine_task`)."""
    return bool(job.config.refine or job.config.banded or job.config.contrast_grow)


def _background(job: Job, v: int, level1: Level1, box):
    """The connected components of the first level's outside in ``box``: its outside cluster, or what the
    voxel band and the refinement left outside the object (:func:`_refine_task`)."""
    if _moves_boundary(job):
        return ndimage.label(_read(job.file(v, "object"), box) == 0)
    return ndimage.label(level1.read(job, v, box) == level1.outside)


def _refine_task(job: Job, level1: dict, decide: Decide | None, item):
    """Stage 6 for one chunk, before its components, with a voxel band or refinement: the first level's object
    (every voxel not in its outside cluster), the voxels near its boundary given their nearest centre
    (:func:`hypseg.inference.recipe.voxels_decide`), then its boundary refined by the volume's intensity
    (:func:`hypseg.inference.refine.refine_boundary`), holes not yet filled, to the work file ``object``, which
    :func:`_object_task` then overwrites box by box with the filled object. The chunk is read with a halo of the
    refinement's reach and the band's width, clipped to the volume, so that its voxels get the whole-volume result. Local
    contrast's object is then grown by ``SegmentConfig.contrast_grow`` voxels, the halo wider by as much
    (:func:`hypseg.inference.hierarchy.moved_boundary`, as the whole volume's :func:`~hypseg.inference.hierarchy.level1_object`)."""
    v, chunk = item
    _check_run(job)
    grid = job.grids[v]
    box = grid.box(chunk)
    mine = level1[v]
    grow = job.config.contrast_grow if mine.source == "contrast" else 0
    h = reach(job.config.refine) + (job.config.voxel_band if job.config.banded else 0) + grow
    outer = tuple(slice(max(b.start - h, 0), min(b.stop + h, n)) for b, n in zip(box, grid.shape))
    labels = mine.read(job, v, outer)
    if job.config.banded and decide.centres.get(v) is not None:  # local contrast's level 1 decided voxel by voxel
        labels = voxels_decide(labels, _band_points(job, v, outer, decide), decide.centres[v], outside=mine.outside,
                               width=job.config.voxel_band, hyperbolic=decide.hyperbolic, factors=len(decide.sides),
                               c=decide.c, merge=mine.merge)
    slab = (apply(read_slab(job.volumes[v], tuple(o.start for o in outer), tuple(o.stop for o in outer)),
                  config=job.data, stats=job.stats[v]) if job.config.refine else None)
    inside = moved_boundary(labels != mine.outside, volume=slab, refine=job.config.refine, grow=grow)
    core = tuple(slice(b.start - o.start, b.stop - o.start) for b, o in zip(box, outer))
    _store(job.file(v, "object"), box, inside[core].astype(np.uint8))


def _components_task(job: Job, level1: dict, item):
    """Stage 6a for one chunk: its outside components, their faces, and those on the volume's faces."""
    v, chunk = item
    box = job.grids[v].box(chunk)
    components, count = _background(job, v, level1[v], box)
    faces = [(np.ascontiguousarray(components.take(0, axis=a)), np.ascontiguousarray(components.take(-1, axis=a))) for a in range(3)]
    touching = np.unique(components[_face_mask(job.grids[v].shape, box)])
    return count, faces, touching[touching > 0]


def _object_task(job: Job, k: int, level1: dict, start: dict, reaches: Path, replace: bool, item):
    """Stage 6b for one chunk: the object (holes filled) to the work file, and as the first level's map (of ``k``
    clusters) when ``replace``."""
    v, chunk = item
    _check_run(job)
    box = job.grids[v].box(chunk)
    components, _ = _background(job, v, level1[v], box)
    ids = np.where(components > 0, components.astype(np.int64) + start[(v, chunk)], 0)  # 0: not the outside
    gone = np.load(reaches, mmap_mode="r")[ids.ravel()].reshape(ids.shape) & (components > 0)
    obj = (~gone).astype(np.uint8)
    _store(job.file(v, "object"), box, obj)
    if replace:
        _store(job.file(v, f"k{k}"), box, obj.astype(np.uint16))


# --------------------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------------------
class ChunkedResult(NamedTuple):
    """Per volume: the cluster centres per level, whether a level fell back to voxels, and the work files."""

    centers: list[dict[int, np.ndarray]]
    clustered_voxels: list[bool]
    labels: list[dict[int, Path]]  # k -> (Z, Y, X) uint16 .npy in the work folder
    objects: list[Path | None]
    embeddings: list[Path]  # the last level's embedding (.npy, (Z, Y, X, F*d) float32)
    seconds: dict[str, float]  # wall time per stage: statistics, embedding, means, fit, labels, containment
    grids: list[ChunkGrid]  # per volume, the chunks the work files were written in
    retried: list[bool]  # per volume, whether its level-1 object is the second try's (SegmentConfig.field_retry)
    contrast: list[bool] = []  # per volume, whether its level-1 object is local contrast's (SegmentConfig.contrast_sides)
    specimen: list[bool] = []  # per volume, whether the finer levels divided the specimen around it (contrast_divides)


class _VoxelPoints:
    """A volume's voxels (inside its object, or outside it with ``outside``) as points read from the embedding file on
    demand."""

    def __init__(self, emb: Path, obj: Path | None, transform=None, *, outside: bool = False) -> None:
        self.emb, self.obj, self.transform, self.outside = emb, obj, transform, outside
        shape = np.load(emb, mmap_mode="r").shape
        self.width = shape[-1]
        if obj is None:
            self.counts = None
            self.n = int(np.prod(shape[:3]))
        else:
            mask = np.load(obj, mmap_mode="r")
            self.counts = np.array([int(np.count_nonzero(self._inside(mask[z]))) for z in range(mask.shape[0])])
            self.n = int(self.counts.sum())

    def _inside(self, plane) -> np.ndarray:
        """The voxels of one plane of the object file that are points."""
        return np.asarray(plane).astype(bool) != self.outside

    def __len__(self) -> int:
        return self.n

    def _positions(self, idx) -> np.ndarray:
        if isinstance(idx, slice):
            idx = np.arange(self.n)[idx]
        idx = np.asarray(idx, dtype=np.int64)
        if self.counts is None:
            return idx
        mask = np.load(self.obj, mmap_mode="r")
        plane = int(np.prod(mask.shape[1:]))
        ends = np.cumsum(self.counts)
        z = np.searchsorted(ends, idx, side="right")
        out = np.empty(len(idx), dtype=np.int64)
        for zz in np.unique(z):
            chosen = z == zz
            inside = np.flatnonzero(self._inside(mask[zz]))
            out[chosen] = zz * plane + inside[idx[chosen] - (ends[zz] - self.counts[zz])]
        return out

    def __getitem__(self, idx) -> np.ndarray:
        positions = self._positions(idx)
        order = np.argsort(positions)
        flat = np.load(self.emb, mmap_mode="r").reshape(-1, self.width)
        out = np.empty((len(positions), self.width), dtype=np.float32)
        out[order] = flat[positions[order]]
        return out if self.transform is None else self.transform(out)


def _create(path: Path, shape, dtype) -> None:
    """A work file of zeros, its blocks reserved on disk now: a disk too small fails here with ENOSPC, not
    later with SIGBUS in whichever process writes to a memory-mapped page that has no block."""
    np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=tuple(shape)).flush()
    if hasattr(os, "posix_fallocate"):
        with open(path, "r+b") as handle:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)


def work_bytes_per_voxel(config: SegmentConfig, latent_dim: int) -> int:
    """Disk bytes per voxel of a chunked run's work files: a float32 embedding per distinct patch sides
    (:func:`hypseg.inference.recipe.embedded_sides`), int32 supervoxels per size, a uint16 map per level and, with
    containment, the uint8 object, and a uint16 map of level 1's second try (``SegmentConfig.field_retry``) and of its
    local contrast (``SegmentConfig.contrast_sides``), with the float32 local intensity contrast where its mixture is
    fitted on it (``SegmentConfig.contrast_feature``) and the float32 box mean where the voxel band decides by it
    (``SegmentConfig.band_feature``)."""
    sides = embedded_sides(config)
    sizes = {level.supervoxel_size for level in config.levels} - {None}
    return (4 * latent_dim * sum(len(s) for s in sides) + 4 * len(sizes) + 2 * len(config.levels) + int(config.contained)
            + 2 * int(config.retries) + 2 * int(config.contrasts) + 4 * int(config.contrasts and config.contrast_on_intensity)
            + 4 * int(config.band_on_intensity))


def check_chunk(chunk: int | None, config: SegmentConfig) -> int:
    """The chunk side in voxels (default: the supervoxel tile); one that is not a multiple of the tile is a one-line
    error. A volume smaller than a chunk is one chunk (a folder of volumes of several sizes shares one ``--chunk``)."""
    tile = config.supervoxel_tile
    if chunk is None:
        return tile
    if chunk < 1 or chunk % tile:
        raise UserError(f"--chunk {chunk} must be a positive multiple of the supervoxel tile ({tile} voxels)")
    return chunk


def segment_chunked(
    volumes: Sequence,
    *,
    model: TrainedModel,
    model_dir: str | os.PathLike,
    config: SegmentConfig,
    work: str | os.PathLike,
    chunk: int | None = None,
    executor=None,
    tile: int | None = 48,
    device: str = "cpu",
    resume: bool = False,
    fingerprint: dict | None = None,
) -> ChunkedResult:
    """Segment lazily read volumes chunk by chunk (module docstring) into label files in ``work``.

    Parameters
    ----------
    volumes : sequence of array-like (Z, Y, X)
        Raw intensities, read box by box (a :class:`hypseg.io.LazyArray`, a memory map, a Zarr array).
    model, model_dir
        The trained model and its folder (Dask workers load it from there).
    config : SegmentConfig
        With every level's patch sides resolved.
    work : path
        An existing folder for the work files (label maps, embeddings, supervoxels).
    chunk : int, optional
        Chunk side in voxels, a multiple of ``config.supervoxel_tile`` (the default).
    executor : LocalExecutor or DaskExecutor, optional
    tile : int or None
        Tile side of the dense embedding inside a chunk.
    resume : bool
        Continue the run whose work files are in ``work``: the chunks whose embeddings and supervoxels
        it finished are not computed again (every later stage is, as it is short). The run must have
        had the same volumes' statistics, chunk, recipe, latent dimension, embedding tile and
        ``fingerprint``, and its work files must all be there; otherwise it is a one-line error
        (:class:`StaleWork`) and ``work`` is left as it is. Finished chunks are recorded with the run's
        id, and every task checks it before writing, so a task of an earlier run that outlived it (on a
        Dask cluster) neither writes into this run's files nor records a chunk for it.
    fingerprint : dict, optional
        What else identifies the run for ``resume`` (JSON values: e.g. the input files' and model's
        sizes and times).
    """
    work = Path(work).resolve()  # workers elsewhere resolve nothing against this process's folder
    clock = _Clock()
    executor = executor or LocalExecutor()
    shapes = [tuple(int(n) for n in v.shape) for v in volumes]
    chunk = check_chunk(chunk, config)
    _MODELS[(str(Path(model_dir).resolve()), device)] = model
    data_config = model.config.data
    grids, stats, scales = [], [], []
    for v, shape in zip(volumes, shapes):
        grids.append(ChunkGrid(shape, tile=config.supervoxel_tile, group=chunk // config.supervoxel_tile))
        sample = voxel_sample(v)  # read once: it is the statistics' sample too
        with named(getattr(v, "path", None)):
            stat = statistics(sample, config=data_config)
        stats.append(stat)
        normalised = apply(sample, config=data_config, stats=stat).astype(np.float64)
        scales.append((float(normalised.mean()), float(normalised.std())))
    side_sets = embedded_sides(config)
    sizes = tuple(sorted({level.supervoxel_size for level in config.levels} - {None}))
    job = Job(work=work, volumes=tuple(volumes), model_dir=str(Path(model_dir).resolve()), device=device, config=config,
              grids=tuple(grids), stats=tuple(stats), scales=tuple(scales), side_sets=side_sets, sizes=sizes,
              embed_tile=tile, halo=max(max(s) for s in side_sets) + 2,
              tangent_c=model.config.model.curvature if in_tangent(config.space, model.config.model) else None,
              data=data_config)
    d = model.config.model.latent_dim
    identity = {"fingerprint": fingerprint or {}, "chunk": chunk, "shapes": shapes, "stats": stats, "scales": scales,
                "config": dataclasses.asdict(config), "latent_dim": d, "tile": tile}
    identity = json.loads(json.dumps(identity, default=str))  # as it reads back from state.json
    kept = {}  # the files a resumed run keeps: path -> (shape, dtype)
    for v, shape in enumerate(shapes):
        kept.update({job.file(v, _sides_name(sides)): (shape + (len(sides) * d,), np.float32) for sides in side_sets})
        kept.update({job.file(v, f"seg{size}"): (shape, np.int32) for size in sizes})
    resumed = resume and (work / "state.json").exists()
    if resumed:
        before = json.loads((work / "state.json").read_text())
        if before.get("identity") != identity:
            raise StaleWork(f"{work}: holds an interrupted run of other volumes, model or settings; "
                            "start over without --resume (and with --overwrite)")
        missing = [path.name for path in kept if not path.exists()]
        if missing:
            raise StaleWork(f"{work}: is incomplete ({missing[0]} is missing); start over without --resume "
                            "(and with --overwrite)")
        job = dataclasses.replace(job, run_id=before["run"])
    else:  # a fresh start: an earlier run's record of finished chunks goes first
        (work / "state.json").unlink(missing_ok=True)
        shutil.rmtree(work / "done", ignore_errors=True)
        job = dataclasses.replace(job, run_id=uuid.uuid4().hex)
        for path, (shape, dtype) in kept.items():
            _create(path, shape, dtype)
    for v, shape in enumerate(shapes):
        for k in config.clusters:
            _create(job.file(v, f"k{k}"), shape, np.uint16)
        if config.contained:
            _create(job.file(v, "object"), shape, np.uint8)
    if not resumed:
        (work / "done").mkdir(exist_ok=True)
        (work / "state.json").write_text(json.dumps({"run": job.run_id, "identity": identity}))  # last: the files exist
    items = [(v, c) for v, grid in enumerate(grids) for c in grid.chunks()]
    clock.lap("statistics")

    # stage 2: embeddings and supervoxels; whole-volume ids = tile-local ids + the tiles' running offsets
    found = [_read_done(job, item) for item in items] if resumed else [None] * len(items)
    todo = [i for i, result in enumerate(found) if result is None]
    desc = f"embedding ({len(items) - len(todo)} of {len(items)} chunks kept from the stopped run)" if resumed else "embedding"
    for i, result in zip(todo, executor.map(functools.partial(_embed_task, job), [items[i] for i in todo], desc=desc)):
        found[i] = result
    clock.lap("embedding")
    for v in range(len(volumes)):  # a collapsed model, as the whole-volume run says it
        warn_if_collapsed([np.load(job.file(v, _sides_name(sides)), mmap_mode="r") for sides in side_sets], volume=v)
    offsets: dict[int, dict[int, np.ndarray]] = {size: {} for size in sizes}
    for size in sizes:
        for v, grid in enumerate(grids):
            counts = np.zeros(grid.tiles_per_axis, dtype=np.int64)
            for (vv, _), result in zip(items, found):
                if vv == v:
                    for t, n in result[size]:
                        counts[t] = n
            offsets[size][v] = (np.cumsum(counts.ravel()) - counts.ravel()).reshape(counts.shape)

    centers: list[dict[int, np.ndarray]] = [{} for _ in volumes]
    retried: dict = {}  # volume -> what the second try at level 1 found (_retry)
    contrasted: dict = {}  # volume -> each local-contrast component's label in the object map (_contrast)
    kept: frozenset = frozenset()  # volumes whose finer levels divide the specimen around that object (contrast_divides)
    means: dict = {}  # (settings, volume) -> its supervoxel means (_fit_group), for the fits that share them
    clustered: dict[int, np.ndarray] = {}  # the first level's centres in the space it was clustered in, per volume
    voxels = [False] * len(volumes)
    first = config.levels[0]
    geometry = model.config.model

    def fit(levels: tuple, inside: bool) -> list[dict]:
        how = levels[0]
        group = Group(tuple(level.clusters for level in levels), how.patch_sides, how.supervoxel_size,
                      how.purity_power, how.pooled, inside, how.clusterer, kept=kept if inside else frozenset())
        fitted, fell_back = {}, {}
        for among in pools_by_kind(len(volumes), group.kept) if how.pooled else [None]:  # a pooled fit pools one kind
            found, few = _fit_group(job, executor, items, group, offsets, geometry, clock, only=among, means=means)
            fitted.update(found)
            fell_back.update(few)
        for v in range(len(volumes)):
            voxels[v] = voxels[v] or fell_back[v]
            if not inside:
                clustered.update({v: level.centers for level in fitted[v].levels if level.k == first.clusters})
            centers[v].update({level.k + inside: level.centers if job.tangent_c is None
                               else to_ball(level.centers, factors=len(how.patch_sides), c=job.tangent_c)
                               for level in fitted[v].levels})
        faces = executor.map(functools.partial(_labels_task, job, group, offsets.get(group.size, {})), items,
                             desc=f"labels k = {', '.join(map(str, group.ks))}", shared={"fitted": fitted})
        clock.lap("labels")
        return faces

    on_own, within = config.groups()
    for levels in on_own:  # the first level among them
        faces = fit(levels, False)
        if first.clusters in (level.clusters for level in levels):
            counts_of_first = {v: sum(f[first.clusters] for (vv, _), f in zip(items, faces) if vv == v)
                               for v in range(len(volumes))}
    if config.contained:
        n = len(volumes)
        level1 = {v: Level1(f"k{first.clusters}", outside_of(c[0][:2])) for v, c in counts_of_first.items()}
        warned = [v for v, c in counts_of_first.items() if in_no_field(c[0][:2], c[1][:2], level1[v].outside)]
        retried = _retry(job, executor, items, warned, offsets, geometry, clock, means) if config.retries and warned else {}
        for v, (tried, fell_back) in retried.items():  # the object 1 against the other clusters together, 0
            level1[v] = Level1(f"retry-k{config.field_retry}", 0, tried.merge)
            clustered[v] = tried.centres
            voxels[v] = voxels[v] or fell_back
        if config.contrasts and any(v not in retried for v in warned):
            contrasted = _contrast(job, executor, items, [v for v in warned if v not in retried], clock)
            kept = frozenset(contrasted if config.contrast_divides == "specimen" else ())
        for v, merge in contrasted.items():  # the mixture's components merged into the object and the outside
            level1[v] = Level1("contrast", 0, merge)
            clustered[v] = None  # decided voxel by voxel: no band
        decide = Decide(first.patch_sides, clustered, geometry.hyperbolic and job.tangent_c is None, geometry.curvature)
        if config.band_elsewhere or config.band_on_intensity:  # centres: the clusters' means of what the band reads
            banded = [item for item in items if item[0] not in contrasted]
            maps = {v: (level1[v].source, len(clustered[v])) for v in range(n) if v not in contrasted}
            read = (config.band_box,) if config.band_on_intensity else config.band_sides
            decide = Decide(read, {}, False, geometry.curvature, config.band_on_intensity)
            if config.band_on_intensity:  # the volume's box mean, one value per voxel, to a work file
                for v in maps:
                    _create(job.file(v, _BAND_INTENSITY), (*job.grids[v].shape, 1), np.float32)
                executor.map(functools.partial(_band_intensity_task, job), banded, desc="the band's box means")
            sums = executor.map(functools.partial(_sums_task, job, maps, decide), banded, desc="the band's centres")
            decide = decide._replace(centres={v: means_of(sum(s for (vv, _), s in zip(banded, sums) if vv == v))
                                              for v in maps})
        _contain(job, executor, items, first.clusters, level1, first.in_object, decide)
        for v in warned:
            if v not in retried and v not in contrasted:
                counts = counts_of_first[v]
                warn_if_no_field(counts[0][:2], counts[1][:2], level1[v].outside, volume=v,
                                 tried=config.field_retry if config.retries else 0)
        if first.in_object:  # the object map's labels: 0 outside, 1 the object; its centres alike
            pairs = {v: tried.object_centres() for v, (tried, _) in retried.items()}  # in the space clustered in
            if contrasted:  # the mean embeddings at level 1's side of its outside and its object as the mixture found them
                mine = [item for item in items if item[0] in contrasted]
                sums = executor.map(functools.partial(_sums_task, job, {v: ("contrast", config.contrast_components)
                                                                        for v in contrasted},
                                                      Decide(first.patch_sides, {}, False, geometry.curvature)),
                                    mine, desc="local contrast's centres")
                pairs.update({v: means_of(np.stack([total[merge == side].sum(0) for side in (0, 1)]))
                              for v, merge in contrasted.items()
                              for total in [sum(s for (vv, _), s in zip(mine, sums) if vv == v)]})
            for v, found in enumerate(centers):
                if v in pairs:
                    found[first.clusters] = (pairs[v] if job.tangent_c is None
                                             else to_ball(pairs[v], factors=len(first.patch_sides), c=job.tangent_c))
                else:
                    found[first.clusters] = object_order(found[first.clusters], level1[v].outside)
        clock.lap("containment")
    for levels in within:
        fit(levels, True)
    _MODELS.pop((job.model_dir, device), None)  # the caller holds the model; workers keep theirs
    return ChunkedResult(
        centers=[{k: c[k] for k in config.clusters} for c in centers], clustered_voxels=voxels,
        labels=[{k: job.file(v, f"k{k}") for k in config.clusters} for v in range(len(volumes))],
        objects=[job.file(v, "object") if config.contained else None for v in range(len(volumes))],
        embeddings=[job.file(v, _sides_name(config.levels[-1].patch_sides)) for v in range(len(volumes))],
        seconds=clock.seconds, grids=grids, retried=[v in retried for v in range(len(volumes))],
        contrast=[v in contrasted for v in range(len(volumes))],
        specimen=[v in kept for v in range(len(volumes))],
    )


class _Clock:
    """Wall seconds per named stage, summed over its passes."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now


def _fit_group(job: Job, executor, items, group: Group, offsets, geometry, clock: _Clock, only: Sequence[int] | None = None,
               means: dict | None = None):
    """Stages 3-4 for a group of levels: every volume's points (or those of the volumes ``only``), one fit per volume
    or pooled, and per volume what the labels task needs (:class:`_Fitted`), with whether it fell back to voxels.
    ``means`` keeps each volume's supervoxel means by the settings they depend on (sides, size, purity power, inside
    the object), so that a later fit on the same points (level 1's second try) does not compute them again."""
    vols = list(range(len(job.volumes))) if only is None else sorted(only)
    ks = [k - 1 for k in group.ks] if group.inside else list(group.ks)
    top = max(ks)
    means = {} if means is None else means
    key = (group.sides, group.size, group.power, group.inside)
    if group.size is not None:
        todo = [item for item in items if item[0] in vols and (key, item[0]) not in means]
        found = executor.map(functools.partial(_points_task, job, group, offsets[group.size]), todo,
                             desc=f"supervoxel means k = {', '.join(map(str, group.ks))}") if todo else []
        for v in dict.fromkeys(v for v, _ in todo):
            pieces = [r for (vv, _), r in zip(todo, found) if vv == v and len(r[0])]
            ids = np.concatenate([p[0] for p in pieces]) if pieces else np.zeros(0, np.int64)
            order = np.argsort(ids, kind="stable")
            points = np.concatenate([p[1] for p in pieces])[order] if pieces else np.zeros((0, 1))
            counts = np.concatenate([p[2] for p in pieces])[order] if pieces else np.zeros(0)
            means[key, v] = (ids[order], points, counts)
    parts = {v: means[key, v] for v in vols} if group.size is not None else {}
    clock.lap("means")
    counts = {v: len(part[0]) for v, part in parts.items()}
    if group.size is None:
        few = {v: False for v in vols}
    elif group.pooled:
        few = {v: sum(counts.values()) < top for v in vols}
    else:
        few = {v: counts[v] < top for v in vols}
    fit_input = []
    for v in vols:
        if group.size is None or few[v]:
            points = _VoxelPoints(job.file(v, _sides_name(group.sides)), job.file(v, "object") if group.inside else None,
                                  transform=functools.partial(_clustered, job, factors=len(group.sides)),
                                  outside=v in group.kept)
            fit_input.append((points, None))
        else:
            fit_input.append((parts[v][1], parts[v][2]))
        if group.inside and len(fit_input[-1][0]) == 0:
            raise UserError(f"volume {v}: the level-1 object is empty, so nothing lies inside it to segment")
    config = job.config
    fitted_levels = fit_parts(fit_input, ks, pooled=group.pooled, subsample=config.subsample, c=geometry.curvature,
                              hyperbolic=geometry.hyperbolic and job.tangent_c is None, nested=config.nested, n_init=config.n_init,
                              random_state=config.seed, factors=len(group.sides),
                              device=None if job.device == "cpu" else job.device, clusterer=group.clusterer)
    clock.lap("fit")
    fitted = {}
    for v, (_, weights), levels in zip(vols, fit_input, fitted_levels):
        if weights is None:  # fitted on the voxels
            fitted[v] = _Fitted(levels, None, None)
        else:
            ids, points, _ = parts[v]
            fitted[v] = _Fitted(levels, ids, {k: lut.astype(np.int64) for k, lut in _level_labels(levels, points).items()})
    return fitted, few


def _retry(job: Job, executor, items, warned: Sequence[int], offsets, geometry, clock: _Clock, means: dict) -> dict:
    """The first level of each volume of ``warned`` clustered again on its own, with ``SegmentConfig.field_retry``
    clusters, on the supervoxel means level 1's fit left in ``means``, to the work file ``retry-k<K>``
    (:func:`hypseg.inference.recipe.cluster_embeddings` says why). Per volume
    whose cluster least on the faces lies in a field: what it found (:func:`hypseg.inference.hierarchy.second_try`), and
    whether the fit fell back to voxels."""
    first, k = job.config.levels[0], job.config.field_retry
    group = Group((k,), first.patch_sides, first.supervoxel_size, first.purity_power, False, False, first.clusterer,
                  prefix="retry-k")
    for v in warned:
        _create(job.file(v, f"retry-k{k}"), job.grids[v].shape, np.uint16)
    fitted, few = {}, {}
    for v in warned:  # one at a time, as the whole-volume run fits them: each volume's subsample is its own first draw
        with warnings.catch_warnings():  # fewer distinct embeddings than clusters: an empty one is never the object
            warnings.simplefilter("ignore", EmptyClusterWarning)
            one, fell_back = _fit_group(job, executor, items, group, offsets, geometry, clock, only=[v], means=means)
        fitted.update(one)
        few.update(fell_back)
    mine = [item for item in items if item[0] in fitted]
    faces = executor.map(functools.partial(_labels_task, job, group, offsets.get(group.size, {})), mine,
                         desc=f"level 1 again, k = {k}", shared={"fitted": fitted})
    clock.lap("labels")
    found = {}
    for v in warned:
        counts = sum(f[k] for (vv, _), f in zip(mine, faces) if vv == v)
        tried = second_try(counts[0], counts[1], fitted[v].levels[0].centers)
        if tried is not None:
            found[v] = (tried, few[v])
    return found


class _ContrastPoints:
    """A volume's local contrast (``SegmentConfig.contrast_sides``) as points read on demand from the work files (what
    :func:`fit_parts` draws from): its embedding at the finer side minus at the coarser, in the space clustered in, its
    local intensity contrast, or both side by side (``SegmentConfig.contrast_feature``)."""

    def __init__(self, job: Job, v: int) -> None:
        clustered = functools.partial(_clustered, job, factors=1)
        config = job.config
        self.sides = ([_VoxelPoints(job.file(v, _sides_name((p,))), None, transform=clustered) for p in config.contrast_sides]
                      if config.contrast_on_embedding else [])
        self.intensity = _VoxelPoints(job.file(v, _INTENSITY_CONTRAST), None) if config.contrast_on_intensity else None

    def __len__(self) -> int:
        return len(self.intensity if self.intensity is not None else self.sides[0])

    def __getitem__(self, idx) -> np.ndarray:
        difference = None
        if self.sides:
            fine, coarse = (side[idx] for side in self.sides)
            difference = fine - coarse
        return contrast_points(difference, None if self.intensity is None else self.intensity[idx][:, 0])


def _contrast_task(job: Job, item, fitted: dict) -> np.ndarray:
    """For one chunk: the local-contrast mixture's components of its voxels to the work file ``contrast``; per
    component the sum of its voxels' local intensity contrast and its voxel count (:func:`cluster_sums`; the
    volume read with a halo of the coarser side, replicated beyond its faces as the whole-volume filter pads)."""
    v, chunk = item
    _check_run(job)
    box = job.grids[v].box(chunk)
    k = job.config.contrast_components
    config = job.config
    difference = intensity = None
    if config.contrast_on_embedding:
        fine, coarse = (_clustered(job, _read(job.file(v, _sides_name((p,))), box), factors=1) for p in config.contrast_sides)
        difference = fine - coarse
    if config.contrast_on_intensity:  # written by _intensity_contrast_task
        intensity = _read(job.file(v, _INTENSITY_CONTRAST), box)[..., 0]
    points = contrast_points(difference, intensity)
    found = _level_labels(fitted[v], points.reshape(-1, points.shape[-1]))[k].astype(np.uint16)
    _store(job.file(v, "contrast"), box, found.reshape(points.shape[:3]))
    if k == 2:  # two components need no intensity
        contrast = np.zeros(found.size)
    elif intensity is not None:
        contrast = intensity.ravel()
    else:
        contrast = box_contrast(job.volumes[v], box, config.contrast_sides,
                                functools.partial(apply, config=job.data, stats=job.stats[v])).ravel()
    return cluster_sums(contrast[..., None], found, k)


#: the work file of a volume's local intensity contrast where local contrast's mixture is fitted on it, alone or beside
#: the embedding's (``SegmentConfig.contrast_feature``)
_INTENSITY_CONTRAST = "intensity-contrast"


def _intensity_contrast_task(job: Job, item) -> None:
    """For one chunk: its voxels' local intensity contrast (:func:`box_contrast`) to the work file, as the points
    local contrast's mixture is fitted on and labels (float32, as the whole-volume run takes them)."""
    v, chunk = item
    _check_run(job)
    box = job.grids[v].box(chunk)
    found = box_contrast(job.volumes[v], box, job.config.contrast_sides,
                         functools.partial(apply, config=job.data, stats=job.stats[v]))
    _store(job.file(v, _INTENSITY_CONTRAST), box, found[..., None].astype(np.float32))


def box_contrast(volume, box, sides: Sequence[int], normalise: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """:func:`hypseg.inference.recipe.local_contrast` of the normalised ``volume`` (an array or a lazily read one) over
    ``box`` (slices) alone, equal to the whole volume's there: the box is read with a halo of the coarser side, the edge
    voxel repeated beyond the volume's faces (:func:`read_slab`) as the whole-volume filter repeats it."""
    return _halo_filter(volume, box, max(sides), normalise, lambda slab: local_contrast(slab, sides))


def _halo_filter(volume, box, h: int, normalise: Callable[[np.ndarray], np.ndarray],
                 filtered: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``filtered`` (a box filter of reach at most ``h``) of the normalised ``volume`` over ``box`` alone, equal to the
    whole volume's there: the box is read with a halo of ``h``, the edge voxel repeated beyond the volume's faces
    (:func:`read_slab`) as the whole-volume filter repeats it."""
    slab = read_slab(volume, tuple(b.start - h for b in box), tuple(b.stop + h for b in box))
    core = tuple(slice(h, h + b.stop - b.start) for b in box)
    return filtered(normalise(slab))[core]


def _contrast(job: Job, executor, items, volumes: Sequence[int], clock: _Clock) -> dict[int, np.ndarray]:
    """Level 1 of each volume of ``volumes`` by local contrast (:func:`hypseg.inference.recipe.contrast_split`): one
    mixture per volume, on the embeddings' difference or on the volume's local intensity contrast
    (``SegmentConfig.contrast_feature``; first written chunk by chunk to a work file, :func:`_intensity_contrast_task`),
    fitted as the whole-volume run fits it (:func:`fit_parts`, the same subsample), every voxel's
    component to the work file ``contrast``. Per volume with an object (:func:`contrast_object`): each component's
    label in the object map (1 the object, 0 the outside)."""
    config = job.config
    mine = [item for item in items if item[0] in volumes]
    if config.contrast_on_intensity:  # the volume's own local contrast, one value per voxel, to a work file
        for v in volumes:
            _create(job.file(v, _INTENSITY_CONTRAST), (*job.grids[v].shape, 1), np.float32)
        executor.map(functools.partial(_intensity_contrast_task, job), mine, desc="local intensity contrast")
    fitted = {}
    for v in volumes:
        _create(job.file(v, "contrast"), job.grids[v].shape, np.uint16)
        with warnings.catch_warnings():  # no contrast at all: one component stays empty (no object, below)
            warnings.simplefilter("ignore", EmptyClusterWarning)
            fitted[v] = fit_parts([(_ContrastPoints(job, v), None)], [config.contrast_components], pooled=False,
                                  subsample=config.subsample, random_state=config.seed, hyperbolic=False,
                                  n_init=config.n_init, clusterer="tied-mixture",
                                  likeliest=config.contrast_likeliest)[0]
    clock.lap("fit")
    counts = executor.map(functools.partial(_contrast_task, job), mine, desc="level 1 by local contrast",
                          shared={"fitted": fitted})
    clock.lap("labels")
    merges = {v: contrast_object(sum(c for (vv, _), c in zip(mine, counts) if vv == v)) for v in volumes}
    return {v: merge for v, merge in merges.items() if merge is not None}


def _contain(job: Job, executor, items, k: int, level1: dict, replace: bool, decide: Decide | None = None) -> None:
    """Stage 6: the first level's object (of ``k`` clusters; per volume its :class:`Level1`) with its holes filled, to
    the work files. ``decide``: what a voxel band needs (``job.config.voxel_band``)."""
    if _moves_boundary(job):
        executor.map(functools.partial(_refine_task, job, level1, decide), items, desc="refining the object's boundary")
    found = executor.map(functools.partial(_components_task, job, level1), items, desc="filling holes")
    start, total = {}, 1  # component ids from 1; node 0 stands for "reaches a face"
    for item, (count, _, _) in zip(items, found):
        start[item] = total - 1
        total += count
    rows, cols = [], []
    index = {item: i for i, item in enumerate(items)}
    for (v, chunk), (count, chunk_faces, touching) in zip(items, found):
        rows.extend((touching.astype(np.int64) + start[(v, chunk)]).tolist())
        cols.extend([0] * len(touching))
        for axis in range(3):
            neighbour = tuple(c + (a == axis) for a, c in enumerate(chunk))
            if (v, neighbour) not in index:
                continue
            high = chunk_faces[axis][1]
            low = found[index[(v, neighbour)]][1][axis][0]
            both = (high > 0) & (low > 0)
            pairs = np.unique(np.stack([high[both].astype(np.int64) + start[(v, chunk)],
                                        low[both].astype(np.int64) + start[(v, neighbour)]]), axis=1)
            rows.extend(pairs[0].tolist())
            cols.extend(pairs[1].tolist())
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(total, total))
    _, label = connected_components(graph, directed=False)
    table = job.work / "reaches_face.npy"
    np.save(table, label == label[0])
    executor.map(functools.partial(_object_task, job, k, level1, start, table, replace), items, desc="object")

