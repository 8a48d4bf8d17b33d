"""What :func:`hypseg.inference.embed.embedding_spread` reads from a memory-mapped embedding, cold.

A chunked run checks every volume's embedding file for a collapsed model. This times that check on a
1.1 GB embedding file (140 x 1000 x 1000 voxels, d = 2) with the page cache dropped before each call (needs
root), and counts the bytes the process read from disk (``/proc/self/io``), for the sampling the library
uses (runs of consecutive voxels) against a stride across the whole file. Medians of three calls each.

    sudo python -m benchmarks.spread_io            # writes /tmp/spread_io.npy once (1.1 GB), prints the table
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import numpy as np

from benchmarks.timing import format_table
from hypseg.inference.embed import embedding_spread

PATH = Path("/tmp/spread_io.npy")
SHAPE = (140, 1000, 1000, 2)


def strided_spread(embedding: np.ndarray, max_points: int = 1_000_000) -> float:
    """The reference: every n-th voxel, which touches every page of a large file."""
    flat = embedding.reshape(-1, embedding.shape[-1])
    step = max(1, -(-flat.shape[0] // max_points))
    return float(np.asarray(flat[::step], dtype=np.float64).std(axis=0).mean())


def _read_bytes() -> int:
    return int(next(line for line in open("/proc/self/io") if line.startswith("read_bytes")).split()[1])


def main() -> None:
    if not PATH.exists():
        out = np.lib.format.open_memmap(PATH, mode="w+", dtype=np.float32, shape=SHAPE)
        rng = np.random.default_rng(0)
        for z in range(SHAPE[0]):
            out[z] = rng.normal(0.0, 0.05, SHAPE[1:]).astype(np.float32)
        out.flush()
        del out
    rows = []
    for name, spread in (("runs of consecutive voxels (embedding_spread)", embedding_spread),
                         ("a stride across the file (reference)", strided_spread)):
        seconds, mib = [], []
        for _ in range(3):
            subprocess.run(["sh", "-c", "sync; echo 3 > /proc/sys/vm/drop_caches"], check=True)
            before, start = _read_bytes(), time.perf_counter()
            value = spread(np.load(PATH, mmap_mode="r"))
            seconds.append(time.perf_counter() - start)
            mib.append((_read_bytes() - before) / 2**20)
        rows.append([name, f"{np.median(seconds):.2f}", f"{np.median(mib):.0f}", f"{value:.4f}"])
    print(format_table(["sampling", "seconds (median of 3, cold)", "MiB read", "spread"], rows))


if __name__ == "__main__":
    main()
