"""Quality benchmark: the paper's Table 2 ablations and the classical peers on the synthetic test split.

The synthetic regular set (120 volumes, seed 0: 80 train / 20 val / 20 test, as ``hypseg synth``
writes it) is generated in a temporary folder. Every ablation is trained with the CPU recipe on the
80 training volumes for each seed, then the 20 test volumes are embedded and clustered (pooled) at
k = 2, 4, 8; every baseline segments the same test volumes. DICE is the paper's protocol (Hungarian
matching, background included), averaged over volumes; learned models show mean ± std over seeds.
The recipe was tuned on validation-like volumes only (``benchmarks/recipe_search.py``).
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from hypseg.baselines import BASELINES, evaluate_baseline
from hypseg.benchmarking.timing import format_table
from hypseg.config import cpu_recipe
from hypseg.data import discover_cases, load_normalised, write_synthetic_dataset
from hypseg.inference import embed_volume, segment_volumes
from hypseg.io import load_labels
from hypseg.metrics import matched_dice
from hypseg.training import Trainer

LEVELS = {1: 2, 2: 4, 3: 8}
PAPER = {  # Table 1 and Table 2 of the paper (NeurIPS 2021), levels 1-3
    "euclidean base": (0.784, 0.322, 0.109),
    "euclidean triplet": (0.761, 0.342, 0.153),
    "hyperbolic base": (0.832, 0.352, 0.135),
    "hyperbolic gyroplane": (0.905, 0.473, 0.204),
    "hyperbolic triplet": (0.945, 0.534, 0.222),
    "hyperbolic gyroplane + triplet": (0.952, 0.540, 0.216),
}
#: ablation -> (model variant, triplet weight)
ABLATIONS = {
    "euclidean base": ("euclidean", 0.0),
    "euclidean triplet": ("euclidean", None),
    "hyperbolic base": ("hyperbolic", 0.0),
    "hyperbolic gyroplane": ("hyperbolic-gyro", 0.0),
    "hyperbolic triplet": ("hyperbolic", None),
    "hyperbolic gyroplane + triplet": ("hyperbolic-gyro", None),
}


def _score(segmentations, truths) -> dict[int, float]:
    return {
        level: float(np.mean([matched_dice(s.labels[k], t[level]).mean for s, t in zip(segmentations, truths)]))
        for level, k in LEVELS.items()
    }


def run(*, repeats: int = 3, volumes: int = 120, out: str | os.PathLike | None = None) -> None:
    """Print (and save to ``out``) the quality table; ``repeats`` is the number of training seeds."""
    base = cpu_recipe()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp) / "synth", n=volumes, seed=0)
        cases = discover_cases([Path(tmp) / "synth"])
        train = load_normalised([c for c in cases if c.split == "train"], config=base.data)
        test_cases = [c for c in cases if c.split == "test"]
        test = load_normalised(test_cases, config=base.data)
        truths = [{level: load_labels(c.truth[str(level)]) for level in LEVELS} for c in test_cases]
        for name, (variant, weight) in ABLATIONS.items():
            scores, minutes, seconds = [], [], []
            for seed in range(repeats):
                train_config = dataclasses.replace(base.train, seed=seed, validation_batches=0, checkpoint_every=10**6)
                if weight is not None:
                    train_config = dataclasses.replace(train_config, triplet_weight=weight)
                config = dataclasses.replace(base, model=dataclasses.replace(base.model, variant=variant), train=train_config)
                start = time.process_time()
                model = Trainer(config, train, run_dir=Path(tmp) / f"run-{variant}-{weight}-{seed}", progress=False).fit().model
                minutes.append((time.process_time() - start) / 60)
                start = time.perf_counter()
                embeddings = [embed_volume(model, v) for v in test]
                segs = segment_volumes(embeddings, clusters=tuple(LEVELS.values()), c=config.model.curvature,
                                       hyperbolic=config.model.hyperbolic, random_state=seed)
                seconds.append((time.perf_counter() - start) / len(test))
                scores.append(_score(segs, truths))
            cells = [f"{np.mean([s[l] for s in scores]):.3f} ± {np.std([s[l] for s in scores]):.3f}" for l in LEVELS]
            paper = " / ".join(f"{v:.3f}" for v in PAPER[name])
            rows.append([name, *cells, f"{np.mean(minutes):.1f}", f"{np.mean(seconds):.2f}", paper])
            print(f"  {name}: {cells}", flush=True)
        for name in BASELINES:
            result = evaluate_baseline(name, test, truths, clusters=LEVELS)
            rows.append([f"baseline: {name}", *(f"{result.dice[l]:.3f}" for l in LEVELS), "0", f"{result.seconds_per_volume:.2f}", ""])
    table = format_table(
        ["method", "L1", "L2", "L3", "train CPU-min", "inference s/volume", "paper L1 / L2 / L3"], rows
    )
    header = (
        f"Synthetic regular set, test split ({volumes // 6} volumes of 50^3), paper protocol, k = 2 / 4 / 8; "
        f"learned models: CPU recipe, mean ± std over {repeats} seeds"
    )
    print(header)
    print(table)
    if out is not None:
        Path(out).write_text(f"{header}\n\n{table}\n")
