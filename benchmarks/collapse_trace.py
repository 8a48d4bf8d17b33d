"""The spread of a training run's embedding, step by step: how a run collapses, and how a healthy one does not.

Trains the ``cpu`` recipe on the real tomogram alone (as ``benchmarks.real_data`` does) with each given seed
and ``collapse_retries = 0`` (every run goes to its end), and prints :meth:`hypseg.training.Trainer.spread`
(the spread of the posterior means of a fixed batch of patches) at initialisation and every ``--every``
steps.

    python -m benchmarks.collapse_trace --seeds 0 3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile

import numpy as np


def main() -> None:
    from hypseg.config import training_recipe
    from hypseg.data import normalise
    from hypseg.training import Trainer

    from benchmarks.real_data import load_tomogram, sample_folder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 3])
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args()
    image = load_tomogram(sample_folder()).image.astype(np.float32)
    for seed in args.seeds:
        recipe = training_recipe("cpu")
        config = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, seed=seed, collapse_retries=0))
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(config, [normalise(image, config=config.data)], run_dir=tmp, progress=False)
            built = {}
            build = trainer._build

            def keep(build=build, built=built):  # the model being trained, for the trace
                built["model"], optimiser = build()
                return built["model"], optimiser

            trainer._build = keep
            trace = {}
            trainer.on_step = lambda step: trace.update({step: trainer.spread(built["model"])}) if step % args.every == 0 else None
            initial = trainer.spread(Trainer._build(trainer)[0])
            trainer.fit()
        print(json.dumps({"seed": seed, "spread_at_init": float(f"{initial:.2g}"),
                          "spread_by_step": {step: float(f"{value:.2g}") for step, value in trace.items()}}), flush=True)


if __name__ == "__main__":
    main()
