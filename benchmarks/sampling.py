"""Benchmark of the multi-scale triplet sampler (issue 4).

Twenty synthetic 50^3 volumes (normalised), the default :class:`~hypseg.config.DataConfig` (parent
sides U(5, 34), m = 10, 128 triplets per batch). Rows: a per-triplet loop baseline (crop each cube and
resize it with ``torch.nn.functional.interpolate``, as research code does), the batched
:class:`~hypseg.data.TripletSampler` in one process, and the same through a ``DataLoader`` with two
worker processes (persistent workers; start-up excluded). Each row is the median of ``repeats`` epochs.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.timing import format_table, median_seconds
from hypseg.config import DataConfig
from hypseg.data import TripletSampler, generate_volume, normalise

N_VOLUMES, BATCHES = 20, 8


def _loop_epoch(sampler: TripletSampler, volumes: list[np.ndarray], rng: np.random.Generator) -> int:
    """The baseline: same boxes, but one crop + interpolate per patch (integer boxes)."""
    cfg = sampler.config
    m = cfg.patch_resize
    count = 0
    for _ in range(BATCHES):
        boxes, _ = sampler.sample_boxes(rng)
        patches = []
        for i in range(boxes.volume.shape[0]):
            vol = volumes[int(boxes.volume[i])]
            for corner, side in ((boxes.anchor_corner[i], boxes.anchor_side[i]), (boxes.positive_corner[i], boxes.child_side[i]),
                                 (boxes.negative_corner[i], boxes.child_side[i])):
                z, y, x = (int(v) for v in corner)
                k = max(1, int(side))
                crop = torch.from_numpy(np.ascontiguousarray(vol[z : z + k, y : y + k, x : x + k]))[None, None]
                patches.append(torch.nn.functional.interpolate(crop, size=(m, m, m), mode="trilinear", align_corners=False))
        count += boxes.volume.shape[0]
    return count


def run(*, repeats: int = 5) -> None:
    """Print triplets per second: loop baseline, one process, two DataLoader workers."""
    torch.set_num_threads(1)
    cfg = DataConfig(batches_per_epoch=BATCHES)
    volumes = [
        normalise(generate_volume(np.random.default_rng(i)).image, config=cfg) for i in range(N_VOLUMES)
    ]
    sampler = TripletSampler(volumes, config=cfg, seed=0)
    per_epoch = cfg.batches_per_epoch * cfg.triplets_per_batch
    rng = np.random.default_rng(0)

    t_loop = median_seconds(lambda: _loop_epoch(sampler, volumes, rng), repeats=max(1, repeats // 2))
    t_one = median_seconds(lambda: sum(1 for _ in sampler), repeats=repeats)
    loader = torch.utils.data.DataLoader(sampler, batch_size=None, num_workers=2, persistent_workers=True)
    t_two = median_seconds(lambda: sum(1 for _ in loader), repeats=repeats)
    del loader

    rows = [
        ("loop: crop + F.interpolate per patch (baseline)", f"{per_epoch / t_loop:,.0f}", "1.0x"),
        ("TripletSampler, one process", f"{per_epoch / t_one:,.0f}", f"{t_loop / t_one:.1f}x"),
        ("TripletSampler, DataLoader with 2 workers", f"{per_epoch / t_two:,.0f}", f"{t_loop / t_two:.1f}x"),
    ]
    print(f"\nTriplet sampling: {N_VOLUMES} synthetic 50^3 volumes, {cfg.triplets_per_batch} triplets per batch, "
          f"m = {cfg.patch_resize}, sides U({cfg.patch_min:g}, {cfg.patch_max:g}); medians of {repeats} epochs of {BATCHES} batches")
    print(format_table(("sampler", "triplets/s", "vs loop"), rows))
