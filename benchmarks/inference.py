"""Per-voxel embedding: the dense pass against one encoder pass per voxel, and tiled memory.

- voxels/s of :func:`~hypseg.inference.embed_volume` (dense, tiled) against
  :func:`~hypseg.inference.embed_voxels_naive` (crop + encode per voxel, timed on a subsample and
  scaled), for 50^3 and 128^3 volumes, beside the FLOP ratio naive / dense of the encoder (counted by
  ``torch.utils.flop_counter``): the speed-up the dense form can give at most;
- embedding + clustering at three levels of a 128^3 volume, end to end;
- clustering supervoxels (SLIC, Frechet-mean pooling, k-means on the pooled points) against clustering
  every voxel, on that embedding and on a 50^3 synthetic cell volume;
- peak memory (VmHWM of a fresh process) of tiled and untiled embedding of a 256^3 volume;
- the dense pass at p = 5 (a 48^3 tile upsampled twice per axis): the encoder's hidden layer at every
  upsampled position, then every second kept, against the hidden layer run at stride 2.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks.timing import count_flops, format_table, median_seconds
from hypseg.config import DEFAULT_SUPERVOXEL_SIZE, cpu_recipe
from hypseg.data import generate_volume, normalise, supervoxels
from hypseg.inference import embed_volume, embed_voxels_naive, segment_volume
from hypseg.inference.pooling import patch_purity, pool_embedding
from hypseg.models import HVAE


def _model() -> HVAE:
    torch.manual_seed(0)
    return HVAE(cpu_recipe().model).eval()



def _supervoxel_table(cases: dict[str, tuple[np.ndarray, np.ndarray]], *, repeats: int) -> None:
    """Seconds of each step of supervoxel pooling at k = 2, 4, 8 against clustering every voxel.

    ``cases``: name -> (volume, its embedding); one pair of columns (seconds, ratio) per case.
    """
    columns = []
    for volume, embedding in cases.values():
        segments = supervoxels(volume, size=DEFAULT_SUPERVOXEL_SIZE)
        t_voxels = median_seconds(lambda: segment_volume(embedding, clusters=(2, 4, 8)), repeats=repeats)
        times = [t_voxels,
                 median_seconds(lambda: supervoxels(volume, size=DEFAULT_SUPERVOXEL_SIZE), repeats=repeats),
                 median_seconds(lambda: patch_purity(segments, 5), repeats=repeats),
                 median_seconds(lambda: pool_embedding(embedding, segments), repeats=repeats),
                 median_seconds(lambda: segment_volume(embedding, clusters=(2, 4, 8), segments=segments), repeats=repeats)]
        columns.append([(f"{t:.2f}", f"{t / t_voxels:.2f}") for t in times] + [(f"{segments.max() + 1}", "")])
    steps = ["every voxel (baseline)", f"SLIC supervoxels of ~{DEFAULT_SUPERVOXEL_SIZE} voxels",
             "patch purity, p = 5 (purity weighting)", "Frechet-mean pooling",
             "pooling + clustering supervoxels", "supervoxels"]
    rows = [[step] + [cell for column in columns for cell in column[i]] for i, step in enumerate(steps)]
    header = ["step"] + [h for name in cases for h in (f"{name} s", f"{name} vs every voxel")]
    print(f"\nClustering an embedding at k = 2, 4, 8, median of {repeats}")
    print(format_table(header, rows))


_MEMORY_PROBE = """
import json, sys, numpy as np, torch
from benchmarks.inference import _model
from hypseg.inference import embed_volume
side, tile = int(sys.argv[1]), (None if sys.argv[2] == "none" else int(sys.argv[2]))
model = _model()
volume = np.random.default_rng(0).normal(size=(side,) * 3).astype(np.float32)
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
before = rss("VmRSS:")
embed_volume(model, volume, tile=tile)
print(json.dumps({"before": before, "peak": rss("VmHWM:")}))
"""


def _peak_memory(side: int, tile: int | None) -> float:
    # run in the checkout's root, so that the child (``-c``: its working directory first on sys.path) imports ``benchmarks``
    done = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(side), "none" if tile is None else str(tile)],
                          capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["peak"] - result["before"]


def strided_table(*, repeats: int = 3) -> None:
    """Time the p = 5 dense pass with its hidden layer at every position (then subsampled) against stride 2."""
    model = _model()
    m, side, s = model.config.patch_size, 48, 2
    x = torch.randn(1, 1, *(s * (side + 4),) * 3)  # a 48^3 tile with its p - 1 halo, upsampled by s
    full = lambda: model.encoder.dense(x).loc[..., ::s, ::s, ::s]  # noqa: E731
    strided = lambda: model.encoder.dense(x, stride=s).loc  # noqa: E731
    with torch.no_grad():
        gap = float((full() - strided()).abs().max())
        t_full, t_strided = (median_seconds(f, repeats=repeats) for f in (full, strided))
    rows = [["hidden layer at every position, subsampled (baseline)", f"{t_full:.2f}", "1.00"],
            ["hidden layer at stride 2", f"{t_strided:.2f}", f"{t_full / t_strided:.2f}x"]]
    print(f"\nDense pass at p = 5 (m = {m}, a {side}^3 tile upsampled by 2), {torch.get_num_threads()} threads, "
          f"median of {repeats}; largest difference {gap:.1e}")
    print(format_table(["pass", "s per tile", "speed-up"], rows))


def run(*, repeats: int = 3) -> None:
    model = _model()
    m = model.config.patch_size
    rng = np.random.default_rng(0)
    patch_flops = count_flops(lambda: model.encode_mean(torch.zeros(1, 1, m, m, m)))
    rows = []
    for side in (50, 128):
        volume = rng.normal(size=(side,) * 3).astype(np.float32)
        dense_flops = count_flops(lambda: embed_volume(model, volume, tile=48))
        flop_ratio = patch_flops * side**3 / dense_flops
        t_dense = median_seconds(lambda: embed_volume(model, volume, tile=48), repeats=repeats)
        voxels = rng.integers(0, side, size=(4096, 3))
        t_naive = median_seconds(lambda: embed_voxels_naive(model, volume, voxels=voxels), repeats=repeats)
        naive_rate, dense_rate = len(voxels) / t_naive, side**3 / t_dense
        rows.append([f"{side}^3", f"{dense_rate:,.0f}", f"{naive_rate:,.0f}", f"{dense_rate / naive_rate:.1f}x",
                     f"{flop_ratio:.1f}x", f"{dense_rate / naive_rate / flop_ratio:.0%}"])
    print(f"Per-voxel embedding, encoder of `hypseg demo`, m = p = {m}, {torch.get_num_threads()} threads, median of {repeats}")
    print(format_table(["volume", "dense voxels/s", "naive voxels/s", "measured speed-up", "FLOP ratio", "measured / FLOP ratio"], rows))

    volume = rng.normal(size=(128,) * 3).astype(np.float32)
    start = time.perf_counter()
    embedding = embed_volume(model, volume, tile=48)
    t_embed = time.perf_counter() - start
    segment_volume(embedding, clusters=(2, 4, 8))
    t_total = time.perf_counter() - start
    print(f"\n128^3 volume: embedding {t_embed:.1f} s, embedding + clustering at k = 2, 4, 8: {t_total:.1f} s (goal: <= 60 s)")
    cell = normalise(generate_volume(np.random.default_rng(2000)).image, config=cpu_recipe().data)
    _supervoxel_table({"50^3 cell": (cell, embed_volume(model, cell, tile=48)), "128^3 noise": (volume, embedding)},
                      repeats=repeats)

    print("\nPeak memory of embedding (fresh process, growth of VmHWM over the loaded model and volume)")
    mem_rows = [[f"{side}^3", "untiled" if tile is None else f"tiles of {tile}^3", f"{_peak_memory(side, tile):.0f}"]
                for side, tile in ((128, 48), (256, 48), (128, None), (256, None))]
    print(format_table(["volume", "mode", "peak MB"], mem_rows))
    strided_table(repeats=repeats)
