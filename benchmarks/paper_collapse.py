"""Does the trainer's collapse rule see a ``paper``-recipe run whose posterior collapses (KL near 0)?

Trains one row of the ``paper`` recipe (:func:`benchmarks.paper_protocol.row_config`) on the training volumes
of the regular synthetic set in ``--workdir`` (written there first if missing, as ``paper_protocol`` does), with
the trainer's own collapse rule in force, and prints one JSON line: the training KL every ``--every`` steps,
whether the rule set the run aside, and the spread of the posterior means on the rule's fixed batch
(:meth:`hypseg.training.Trainer.spread`) after training and at the initial weights. The rule calls a run
collapsed when that spread is below 1e-4 and at most a tenth of the initial one.

    python -m benchmarks.paper_collapse --row 'euclidean base' --seed 2 --steps 100
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path


def main() -> None:
    from benchmarks import paper_protocol
    from hypseg.data import discover_cases, load_normalised, write_synthetic_dataset
    from hypseg.training import Trainer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--row", default="euclidean base", choices=tuple(paper_protocol.ROWS))
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--every", type=int, default=10, help="print the training KL at every this many steps")
    parser.add_argument("--workdir", type=Path, default=Path("paper-protocol-work"))
    args = parser.parse_args()
    data = args.workdir / "regular"
    if not (data / "manifest.json").exists():
        write_synthetic_dataset(data, n=120, seed=0, kind="regular")
    run = paper_protocol.row_config("paper", args.row, change="none", steps=args.steps, seed=args.seed)
    train = load_normalised([c for c in discover_cases([data]) if c.split == "train"], config=run.data)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(run, train, run_dir=Path(tmp) / "run", progress=False)
        result = trainer.fit()
        log = [json.loads(line) for line in (Path(tmp) / "run" / "log.jsonl").read_text().splitlines()]
    kl = {entry["step"]: round(entry["kl"], 4) for entry in log if entry.get("split") == "train" and entry["step"] % args.every == 0}
    print(json.dumps({"row": args.row, "seed": args.seed, "steps": args.steps, "kl_by_step": kl,
                      "set_aside_as_collapsed": list(result.collapsed), "model_seed": result.config.train.seed,
                      "spread": float(f"{trainer.spread(result.model):.3g}"),
                      "initial_spread": float(f"{trainer.spread(trainer._build()[0]):.3g}")}), flush=True)


if __name__ == "__main__":
    main()
