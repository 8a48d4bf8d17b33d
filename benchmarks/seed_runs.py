"""Training runs of the real-data benchmark one by one: each seed's last losses, embedding spread and score.

``python -m benchmarks.real_data --workdir DIR`` keeps every training run (``DIR/<volume>/seed<N>``). This
reads them back and, for each seed, prints the last logged training and validation losses, the spread of
the default's embedding over the volume (:func:`hypseg.models.collapse.embedding_spread`) and the tomogram's particle F1 at every
k of the benchmark (default segmentation, as the benchmark's ``hypseg default`` row). A run whose
embedding hardly varies has collapsed: every voxel gets the same point, and its label maps say nothing.
Training sets such a run aside in ``collapsed-seed<N>/`` of its folder and trains again with seed N + 1000;
those runs are read too (``"set_aside": true``), before the model that replaced them.

    python -m benchmarks.real_data --seeds 0 1 2 3 4 5 --volume tomogram --workdir /tmp/runs --out /tmp/tomo.md
    python -m benchmarks.seed_runs /tmp/runs/tomogram
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

from hypseg.models.collapse import embedding_spread
from hypseg.io.checkpoint import set_aside_runs


def last_losses(log: Path) -> tuple[dict, dict]:
    """The last training and the last validation record of a run's ``log.jsonl``."""
    records = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    train = [r for r in records if r.get("split") != "val"]
    val = [r for r in records if r.get("split") == "val"]
    return (train[-1] if train else {}), (val[-1] if val else {})


def main(argv: Sequence[str] | None = None) -> None:
    import hypseg
    from hypseg.config import segment_preset

    from benchmarks.real_data import (TOMO_CLUSTERS, load_tomogram, particle_concentration, particle_neighbourhood,
                                      sample_folder)

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, help="a folder of seed<N> training runs on the tomogram")
    args = parser.parse_args(argv)
    seeds = sorted(args.runs.glob("seed*"), key=lambda p: int(p.name[4:]))
    if not seeds:
        parser.error(f"no seed<N> runs in {args.runs}")
    volume = load_tomogram(sample_folder())
    near = particle_neighbourhood(volume)[2]
    # a run whose training collapsed and trained again keeps the collapsed one in collapsed-seed<N>/
    runs = [(asked, run) for asked in seeds for run in (*set_aside_runs(asked), asked)]
    for asked, run in runs:
        train, val = last_losses(run / "log.jsonl")
        model = hypseg.load_model(run)
        result = hypseg.segment(volume.image, model, recipe=segment_preset("default").with_clusters(TOMO_CLUSTERS))
        spread = {",".join(map(str, sides)): float(f"{embedding_spread(e[0]):.2g}") for sides, e in result.embeddings.items()}
        f1 = [round(particle_concentration(result.volumes[0].labels[k], volume.particles, near).f1, 3) for k in TOMO_CLUSTERS]
        print(json.dumps({"seed": int(asked.name[4:]), "model_seed": model.config.train.seed,
                          "set_aside": run != asked, "train": {k: round(train[k], 4) for k in ("kl", "triplet") if k in train},
                          "val": {k: round(val[k], 4) for k in ("kl", "triplet") if k in val},
                          "embedding_spread": spread, f"f1_k{'_'.join(map(str, TOMO_CLUSTERS))}": f1}), flush=True)


if __name__ == "__main__":
    main()
