"""Whether ``hypseg train`` and ``hypseg segment`` give the same result again, and at another thread count.

Each run is a fresh ``hypseg`` process with ``OMP_NUM_THREADS`` set: a synthetic volume (hypseg's generator) is trained
on with the CPU recipe, twice at ``--threads`` and once at 1, and the first model segments it twice at ``--threads``
and once at 1 (default preset, k = 2, 4, 8). Printed: a Markdown table of what differs from the first run (the largest
weight difference, the voxels whose label differs, the largest embedding difference):

    python -m benchmarks.reproducibility --steps 100 --threads 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np


def _hypseg(*args, threads: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    subprocess.run([sys.executable, "-m", "hypseg.cli", *map(str, args), "--no-progress"], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="training steps (default 100)")
    parser.add_argument("--threads", type=int, default=2, help="the thread count run twice (default 2)")
    parser.add_argument("--size", type=int, default=48, help="side of the synthetic volume (default 48)")
    args = parser.parse_args()

    import torch

    from hypseg.data import SyntheticConfig, generate_volume
    from hypseg.io import Volume, load_labels, save_volume

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        image = generate_volume(np.random.default_rng(5), config=SyntheticConfig.scaled(args.size)).image
        save_volume(Volume.from_array(image), root / "v.nii.gz")
        runs = [("again", args.threads), ("again", args.threads), ("one thread", 1)]
        for i, (_, threads) in enumerate(runs):
            _hypseg("train", root / "v.nii.gz", "--out", root / f"run{i}", "--steps", args.steps, threads=threads)
        for i, (_, threads) in enumerate(runs):
            _hypseg("segment", root / "v.nii.gz", "--model", root / "run0", "--out", root / f"seg{i}", threads=threads)
        weights = [torch.load(root / f"run{i}" / "model.pt", weights_only=True)["model"] for i in range(3)]
        print(f"{args.size}^3 synthetic volume (seed 5), {args.steps} training steps, default preset; each row against "
              f"the first run at {args.threads} threads\n")
        print("| run | threads | largest weight difference | voxels whose label differs, k = 2 / 4 / 8 "
              "| largest embedding difference |")
        print("|---|---|---|---|---|")
        for i, (what, threads) in enumerate(runs[1:], start=1):
            gap = max(float((weights[i][k].double() - weights[0][k].double()).abs().max()) for k in weights[0])
            moved = [int((load_labels(root / f"seg{i}" / f"v_k{k}.nii.gz") != load_labels(root / "seg0" / f"v_k{k}.nii.gz")).sum())
                     for k in (2, 4, 8)]
            shift = float(np.abs(np.load(root / f"seg{i}" / "v_embedding.npy") - np.load(root / "seg0" / "v_embedding.npy")).max())
            print(f"| {what} | {threads} | {gap:.2e} | {' / '.join(map(str, moved))} of {image.size:,} | {shift:.2e} |")


if __name__ == "__main__":
    main()
