"""What the ``paper`` training recipe costs on this machine: seconds per training step and per-voxel
embedding throughput of its padded encoder, and what eight epochs over 20 volumes of 50^3 would take.

    python -m benchmarks.paper_cost --steps 3 --voxels 4096
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

import numpy as np

from hypseg.config import paper_recipe
from hypseg.data import generate_volume
from hypseg.inference.embed import embed_voxels_naive
from hypseg.io.checkpoint import read_log
from hypseg.models import HVAE
from hypseg.training import Trainer

#: The synthetic set of the paper's protocol: 20 volumes of 50^3, eight epochs.
VOLUMES, SIDE, EPOCHS = 20, 50, 8


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="training steps timed per variant (after one warm-up step)")
    parser.add_argument("--voxels", type=int, default=4096, help="voxels embedded to time the per-voxel protocol")
    args = parser.parse_args(argv)
    volumes = [generate_volume(np.random.default_rng(i)).image for i in range(2)]
    config = paper_recipe()
    anchors = (SIDE - 2 * config.data.anchor_margin) ** 3 * VOLUMES  # every voxel centre away from the faces
    steps_per_epoch = -(-anchors // config.data.triplets_per_batch)
    rows = []
    for variant in ("hyperbolic-gyro", "euclidean"):
        run = paper_recipe(variant, steps=args.steps + 1)
        run = dataclasses.replace(run, train=dataclasses.replace(run.train, validation_batches=0, checkpoint_every=10**6, log_every=1))
        with tempfile.TemporaryDirectory() as folder:
            Trainer(run, volumes, run_dir=folder, progress=False).fit()  # includes one warm-up step; the log's last lines time the rest
            rates = [r["triplets_per_s"] for r in read_log(folder) if r["split"] == "train"][1:]
        seconds = run.data.triplets_per_batch / float(np.median(rates))
        rows.append((variant, seconds))
    network = HVAE(paper_recipe().model).eval()
    voxels = np.stack(np.meshgrid(*(np.arange(SIDE),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)[: args.voxels]
    embed_voxels_naive(network, volumes[0], voxels=voxels[:256], patch_size=5, padding="zero")  # warm-up
    start = time.perf_counter()
    embed_voxels_naive(network, volumes[0], voxels=voxels, patch_size=5, padding="zero", batch=1024)
    per_second = len(voxels) / (time.perf_counter() - start)
    print("| variant | s per step of 128 triplets | 8 epochs over 20 volumes of 50^3 (hours) |")
    print("|---|---|---|")
    for variant, seconds in rows:
        print(f"| {variant} | {seconds:.2f} | {EPOCHS * steps_per_epoch * seconds / 3600:.0f} |")
    volume_seconds = SIDE**3 / per_second
    print(f"\nper-voxel embedding (p = 5 to 10, zero-padded): {per_second:.0f} patches/s, {volume_seconds:.0f} s per 50^3 volume, "
          f"{VOLUMES * volume_seconds / 3600:.1f} h for {VOLUMES} volumes; {EPOCHS * steps_per_epoch} steps in 8 epochs")


if __name__ == "__main__":
    main()
