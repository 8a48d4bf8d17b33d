"""Classical baselines on synthetic volumes: levels 1-3 matched DICE and seconds per volume.

Usage::

    python -m benchmarks.bench_baselines              # the table of every baseline
    python -m benchmarks.bench_baselines --threads 1  # same, one BLAS/OpenMP thread
    python -m benchmarks.bench_baselines --tune       # the filter-bank grid behind its defaults

The volumes are ``hypseg.data.generate_volume(numpy.random.default_rng(seed))`` for seeds 100-104:
validation-like volumes, never the test seeds 0-19 (the filter bank's and SLIC's defaults were chosen
on them). Levels 1 / 2 / 3 use 2 / 4 / 8 clusters and the paper's protocol (Hungarian-matched mean
DICE, background included; method.md §7). "s / volume" is the wall time to segment one 50^3 volume at
all three levels (work shared between levels is done once).
"""

from __future__ import annotations

import argparse
import contextlib
import platform

import numpy as np
from threadpoolctl import threadpool_limits

from hypseg.baselines import BASELINES, FilterBankKMeans, evaluate_baseline
from hypseg.data import generate_volume

SEEDS = tuple(range(100, 105))
CLUSTERS = {1: 2, 2: 4, 3: 8}

#: (sigmas, feature weights) tried by --tune
TUNE_SIGMAS = ((0.5, 1.0, 2.0, 4.0), (0.7, 1.5, 3.0), (0.5, 1.0, 2.0), (1.0, 2.0, 4.0))


def _tune_grid() -> list[tuple[tuple[float, ...], dict[str, float]]]:
    grid: list[tuple[tuple[float, ...], dict[str, float]]] = []
    everything = {"gaussian": 1.0, "std": 1.0, "gradient": 1.0, "log": 1.0, "hessian": 1.0}
    for sigmas in TUNE_SIGMAS:
        grid.append((sigmas, {"gaussian": 1.0}))
        grid.append((sigmas, everything))
        for std in (0.2, 0.3, 0.45, 1.0):
            for gradient in (0.0, 0.2):
                for log in (0.0, 0.15):
                    for hessian in (0.0, 0.15):
                        grid.append((sigmas, {"gaussian": 1.0, "std": std, "gradient": gradient, "log": log, "hessian": hessian}))
    return grid


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="print the filter-bank grid instead")
    parser.add_argument("--threads", type=int, default=None, help="limit BLAS/OpenMP threads")
    args = parser.parse_args()

    volumes = [generate_volume(np.random.default_rng(seed)) for seed in SEEDS]
    images = [v.image for v in volumes]
    truths = [v.labels for v in volumes]
    limit = threadpool_limits(limits=args.threads) if args.threads else contextlib.nullcontext()
    with limit:
        if args.tune:
            print(_row(["sigmas", "weights", "L1", "L2", "L3", "s / volume"]))
            print(_row(["---"] * 6))
            for sigmas, weights in _tune_grid():
                r = evaluate_baseline(FilterBankKMeans(sigmas=sigmas, features=weights), images, truths, CLUSTERS)
                shown = ", ".join(f"{k} {w:g}" for k, w in weights.items() if w)
                print(_row([str(sigmas), shown] + [f"{r.dice[l]:.3f}" for l in (1, 2, 3)] + [f"{r.seconds_per_volume:.2f}"]), flush=True)
            return
        print(f"seeds {SEEDS[0]}-{SEEDS[-1]}, 50^3, clusters {CLUSTERS}; {platform.processor() or platform.machine()}, threads: {args.threads or 'default'}\n")
        print(_row(["baseline", "L1", "L2", "L3", "s / volume (3 levels)"]))
        print(_row(["---"] * 5))
        for name in BASELINES:
            r = evaluate_baseline(name, images, truths, CLUSTERS)
            print(_row([name] + [f"{r.dice[l]:.3f}" for l in (1, 2, 3)] + [f"{r.seconds_per_volume:.2f}"]), flush=True)


if __name__ == "__main__":
    main()
