"""Score one training recipe on validation-like synthetic volumes (how the CPU recipe was chosen).

Trains on 16 synthetic 50^3 volumes (generator seeds 1000-1015), embeds ``--volumes`` others (seeds
2000, 2001, ...; never the test split) and prints the mean matched DICE at levels 1-3 (k = 2, 4, 8) for
k-means fitted per volume and pooled over those volumes, as one JSON line (also appended to ``--log``).
``--baselines`` also scores the classical peers on the same volumes.

    python benchmarks/recipe_search.py NAME '{"model": {...}, "data": {...}, "train": {...}, "p": 5}'
    python benchmarks/recipe_search.py recipe --volumes 8 --baselines

The JSON overrides fields of ``hypseg.config.cpu_recipe()``; ``p`` is the inference patch side, or a
list of sides embedded side by side and clustered on the product of balls.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time

import numpy as np

from hypseg.baselines import BASELINES, evaluate_baseline
from hypseg.config import cpu_recipe
from hypseg.data import generate_volume, normalise
from hypseg.inference import embed_volume_multiscale, segment_volumes
from hypseg.metrics import matched_dice
from hypseg.training import Trainer

LEVELS = ((1, 2), (2, 4), (3, 8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name")
    parser.add_argument("overrides", nargs="?", default="{}")
    parser.add_argument("--log", default="recipe_search.jsonl")
    parser.add_argument("--volumes", type=int, default=4, help="validation volumes (seeds 2000, 2001, ...)")
    parser.add_argument("--baselines", action="store_true", help="also score the classical peers on them")
    args = parser.parse_args()
    overrides = json.loads(args.overrides)
    base = cpu_recipe()
    config = dataclasses.replace(
        base,
        model=dataclasses.replace(base.model, **overrides.get("model", {})),
        data=dataclasses.replace(base.data, **overrides.get("data", {})),
        train=dataclasses.replace(base.train, **{"validation_batches": 0, "checkpoint_every": 10**6, **overrides.get("train", {})}),
    )
    train = [normalise(generate_volume(np.random.default_rng(1000 + i)).image, config=config.data) for i in range(16)]
    validation = [generate_volume(np.random.default_rng(2000 + i)) for i in range(args.volumes)]
    start = time.time()
    with tempfile.TemporaryDirectory() as run_dir:
        model = Trainer(config, train, run_dir=run_dir, progress=False).fit().model
    result = {"name": args.name, "overrides": overrides, "train_s": round(time.time() - start)}
    sizes = overrides.get("p", config.model.patch_size)
    sizes = sizes if isinstance(sizes, list) else [sizes]
    embeddings = [embed_volume_multiscale(model, normalise(v.image, config=config.data), patch_sizes=sizes) for v in validation]
    for pooled in (False, True):
        segs = segment_volumes(embeddings, clusters=(2, 4, 8), c=config.model.curvature, hyperbolic=config.model.hyperbolic,
                               pooled=pooled, factors=len(sizes))
        result["pooled" if pooled else "per_volume"] = {
            level: round(float(np.mean([matched_dice(s.labels[k], v.labels[level]).mean for s, v in zip(segs, validation)])), 3)
            for level, k in LEVELS
        }
    lines = [result]
    if args.baselines:
        images = [normalise(v.image, config=config.data) for v in validation]
        for baseline in BASELINES:
            scores = evaluate_baseline(baseline, images, [v.labels for v in validation], clusters=dict(LEVELS)).dice
            lines.append({"name": f"baseline: {baseline}", "per_volume": {level: round(scores[level], 3) for level, _ in LEVELS}})
    for line in lines:
        print(json.dumps(line))
        with open(args.log, "a") as handle:
            handle.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
