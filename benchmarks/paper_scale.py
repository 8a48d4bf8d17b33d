"""The ``paper`` recipe's runs at as many training steps as a time budget allows, all trained at once on one device.

Two phases, each one :mod:`benchmarks.paper_protocol` process per ``--run`` at once (the processes share
the device; each draws its own triplets on its own CPU cores):

1. a probe of ``--probe-steps`` steps with one volume scored. The median of each run's logged throughput
   with every run going gives the slowest run's steps per second;
2. the runs themselves at the most steps (a multiple of ``--round``, at most ``--max-steps``) that the
   slowest run trains in ``--train-seconds``, each scored on ``--volumes`` volumes of the split.

Then the table of every run, with ``--pair``'s paired differences, printed and written to ``--out`` by
:mod:`benchmarks.paper_protocol`, whose workdir and records these are: a rerun with the steps it chose
(``--steps``) skips the probe and resumes what was cut off. Each process's output is ``<workdir>/<tag>.log``.
Usage::

    python -m benchmarks.paper_scale --device cuda --run none/full --run 'none/euclidean base' \\
        --train-seconds 300 --volumes 20 --pair none/full 'none/euclidean base' --out table.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmarks import paper_protocol
from hypseg.config import paper_recipe
from hypseg.data import write_synthetic_dataset

RECIPE = "paper"


def protocol_command(args: argparse.Namespace, runs: Sequence[str], *, steps: int, volumes: int) -> list[str]:
    """The :mod:`benchmarks.paper_protocol` arguments that train and score ``runs`` at ``steps``."""
    command = ["--recipe", RECIPE, "--split", args.split, "--volumes", str(volumes), "--seeds", str(args.seeds),
               "--steps", str(steps), "--dataset-size", str(args.dataset_size), "--device", args.device,
               "--workdir", str(args.workdir)]
    return command + [option for run in runs for option in ("--run", run)]


def render_command(args: argparse.Namespace, *, steps: int) -> list[str]:
    """The :mod:`benchmarks.paper_protocol` arguments that print every run's table with the pairs (and write ``--out``)."""
    pairs = [option for pair in args.pair for option in ("--pair", *pair)]
    return protocol_command(args, args.run, steps=steps, volumes=args.volumes) + pairs + ([] if args.out is None else ["--out", str(args.out)])


def tag_of(args: argparse.Namespace, run: str, *, steps: int, volumes: int, seed: int = 0) -> str:
    change, _, row = run.partition("/")
    return paper_protocol.run_tag(RECIPE, row, change=change, steps=steps, seed=seed, split=args.split, volumes=volumes)


def run_all(args: argparse.Namespace, *, steps: int, volumes: int) -> dict[str, str]:
    """Train and score every run at once, one process each; {tag of its first seed: run}. Exits on a failed process."""
    distinct: dict[str, str] = {}
    for run in args.run:  # a run that its change leaves as it was is the unchanged run: started once, under its first name
        distinct.setdefault(tag_of(args, run, steps=steps, volumes=volumes), run)
    threads = str(max(1, (os.cpu_count() or 1) // len(distinct)))
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    processes = []
    for tag, run in distinct.items():
        with open(args.workdir / f"{tag}.log", "w") as log:
            command = [sys.executable, "-m", "benchmarks.paper_protocol", *protocol_command(args, [run], steps=steps, volumes=volumes)]
            processes.append((tag, subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)))
    failed = [tag for tag, process in processes if process.wait() != 0]
    for tag in failed:
        print(f"{tag} failed; the end of {args.workdir / f'{tag}.log'}:\n" + "".join((args.workdir / f"{tag}.log").read_text().splitlines(True)[-20:]),
              file=sys.stderr)
    if failed:
        raise SystemExit(1)
    return distinct


def steps_per_second(run_dir: Path) -> float:
    """The median training steps per second in a run directory's log, its first two logged steps (warm-up) left out."""
    rates = [entry["triplets_per_s"] for entry in map(json.loads, (run_dir / "log.jsonl").read_text().splitlines())
             if entry.get("split") == "train" and "triplets_per_s" in entry]
    return float(np.median(rates[2:] or rates)) / paper_recipe().data.triplets_per_batch


def budget_steps(rate: float, *, seconds: float, round_to: int, most: int) -> int:
    """The most steps, a multiple of ``round_to`` between ``round_to`` and ``most``, trained in ``seconds`` at ``rate`` steps/s.

    >>> budget_steps(12.3, seconds=300, round_to=500, most=20_000)
    3500
    >>> budget_steps(0.5, seconds=300, round_to=500, most=20_000)
    500
    """
    return int(min(max(rate * seconds // round_to, 1) * round_to, most))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="CHANGE/ROW", help="repeatable: a run of benchmarks.paper_protocol")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--train-seconds", type=float, default=300.0, help="the slowest run's training time to fill")
    parser.add_argument("--probe-steps", type=int, default=200)
    parser.add_argument("--round", type=int, default=500, help="the steps are a multiple of this")
    parser.add_argument("--max-steps", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=None, help="skip the probe and train this many steps")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--volumes", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--dataset-size", type=int, default=120)
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("CHANGE/ROW", "CHANGE/ROW"))
    parser.add_argument("--workdir", type=Path, default=Path("paper-scale-work"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    # usage errors of the runs and pairs, and the device, before anything is written or started
    paper_protocol.parse_arguments(render_command(args, steps=args.steps or 1))
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not (args.workdir / "regular" / "manifest.json").exists():  # written once, before the processes that share it
        write_synthetic_dataset(args.workdir / "regular", n=args.dataset_size, seed=0, kind="regular")
    steps = args.steps
    if steps is None:
        start = time.perf_counter()
        probes = run_all(args, steps=args.probe_steps, volumes=1)
        rates = {run: steps_per_second(args.workdir / tag) for tag, run in probes.items()}
        slowest = min(rates.values())
        steps = budget_steps(slowest, seconds=args.train_seconds, round_to=args.round, most=args.max_steps)
        print(f"probe ({time.perf_counter() - start:.0f} s): steps/s with every run going: "
              + ", ".join(f"{run} {rate:.1f}" for run, rate in rates.items()) + f"; training {steps} steps", flush=True)
    start = time.perf_counter()
    run_all(args, steps=steps, volumes=args.volumes)
    print(f"runs ({time.perf_counter() - start:.0f} s)", flush=True)
    paper_protocol.main(render_command(args, steps=steps))


if __name__ == "__main__":
    main()
