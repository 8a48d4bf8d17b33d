"""Score the CPU recipe with another triplet weight on the 120-volume set's own validation split.

Trains the full model (hyperbolic gyroplane + triplet, seed 0) on the 80 training volumes of
``hypseg synth --seed 0`` and clusters the 20 validation volumes at p = 10 (k = 2, 4, 8), per volume
and pooled over the 20, as the quality benchmark does on the test split: the same sizes, never the test
volumes. Prints one JSON line per clustering mode.

    python benchmarks/validation_split.py 10     # the recipe's triplet weight
    python benchmarks/validation_split.py 1
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np

from hypseg.config import cpu_recipe
from hypseg.data import discover_cases, load_normalised, write_synthetic_dataset
from hypseg.inference import embed_volume, segment_volumes
from hypseg.io import load_labels
from hypseg.metrics import matched_dice
from hypseg.training import Trainer

LEVELS = ((1, 2), (2, 4), (3, 8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("triplet_weight", type=float)
    args = parser.parse_args()
    base = cpu_recipe()
    config = dataclasses.replace(base, train=dataclasses.replace(
        base.train, seed=0, validation_batches=0, checkpoint_every=10**6, triplet_weight=args.triplet_weight))
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp) / "synth", n=120, seed=0)
        cases = discover_cases([Path(tmp) / "synth"])
        train = load_normalised([c for c in cases if c.split == "train"], config=config.data)
        val_cases = [c for c in cases if c.split == "val"]
        val = load_normalised(val_cases, config=config.data)
        truths = [{level: load_labels(c.truth[str(level)]) for level, _ in LEVELS} for c in val_cases]
        model = Trainer(config, train, run_dir=Path(tmp) / "run", progress=False).fit().model
    embeddings = [embed_volume(model, v) for v in val]
    for pooled in (False, True):
        segs = segment_volumes(embeddings, clusters=tuple(k for _, k in LEVELS), c=config.model.curvature,
                               hyperbolic=config.model.hyperbolic, pooled=pooled)
        dice = [round(float(np.mean([matched_dice(s.labels[k], t[level]).mean for s, t in zip(segs, truths)])), 3)
                for level, k in LEVELS]
        print(json.dumps({"triplet_weight": args.triplet_weight, "pooled": pooled, "dice": dice}), flush=True)


if __name__ == "__main__":
    main()
