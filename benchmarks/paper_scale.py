"""The ``paper`` recipe's runs at as many training steps as a time budget allows, all trained at once on one device.

Two phases, each one :mod:`benchmarks.paper_protocol` process per ``--run`` and seed at once (the processes share
the device and the CPUs' threads; each draws its own triplets):

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
from hypseg.data import discover_cases, write_synthetic_dataset

RECIPE = "paper"
#: seconds between looks at the running processes
POLL_SECONDS = 1.0


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
    """The name :mod:`benchmarks.paper_protocol` gives ``run``'s records, run directory and (here) log."""
    change, _, row = run.partition("/")
    return paper_protocol.run_tag(RECIPE, row, change=change, steps=steps, seed=seed, split=args.split, volumes=volumes)


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity, which a container's limits narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_all(args: argparse.Namespace, *, steps: int, volumes: int) -> dict[str, str]:
    """Train and score every run's seeds at once, one process per run and seed, sharing the CPUs' threads;
    {tag of its first seed: run}.

    A failed process stops the others and exits with the end of its log, and so does an interrupt; each
    stopped run keeps its checkpoint and scores, so the same command resumes it. Logs are appended to."""
    distinct: dict[str, str] = {}
    for run in args.run:  # a run that its change leaves as it was is the unchanged run: started once, under its first name
        distinct.setdefault(tag_of(args, run, steps=steps, volumes=volumes), run)
    jobs = {tag_of(args, run, steps=steps, volumes=volumes, seed=seed): (run, seed)
            for run in distinct.values() for seed in range(args.seeds)}
    threads = str(max(1, available_cpus() // len(jobs)))
    env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    running: dict[str, subprocess.Popen] = {}
    try:
        for tag, (run, seed) in jobs.items():
            with open(args.workdir / f"{tag}.log", "a") as log:
                command = [sys.executable, "-m", "benchmarks.paper_protocol",
                           *protocol_command(args, [run], steps=steps, volumes=volumes), "--only-seed", str(seed)]
                running[tag] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        while running:
            for tag, process in list(running.items()):
                code = process.poll()
                if code is None:
                    continue
                del running[tag]
                if code != 0:
                    log = args.workdir / f"{tag}.log"
                    print(f"{tag} failed (exit {code}); the end of {log}:\n" + "".join(log.read_text().splitlines(True)[-20:]), file=sys.stderr)
                    raise SystemExit(1)
            if running:
                time.sleep(POLL_SECONDS)
    finally:
        for process in running.values():
            process.terminate()
        for process in running.values():
            process.wait()
    return distinct


def steps_per_second(run_dir: Path, *, batch: int) -> float:
    """The median training steps per second in a run directory's log (batches of ``batch`` triplets), its first two
    logged steps (warm-up) left out. Exits naming the log when it holds no throughput."""
    log = run_dir / "log.jsonl"
    rates = [entry["triplets_per_s"] for entry in map(json.loads, log.read_text().splitlines())
             if entry.get("split") == "train" and "triplets_per_s" in entry]
    if not rates:
        raise SystemExit(f"{log} logs no training throughput: give --probe-steps several times the log interval")
    return float(np.median(rates[2:] or rates)) / batch


def budget_steps(rate: float, *, seconds: float, round_to: int, most: int) -> int:
    """The most steps, a multiple of ``round_to`` between ``round_to`` and ``most`` (itself one), trained in ``seconds``
    at ``rate`` steps/s.

    >>> budget_steps(12.3, seconds=300, round_to=500, most=20_000)
    3500
    >>> budget_steps(0.5, seconds=300, round_to=500, most=20_000)
    500
    >>> budget_steps(1000.0, seconds=300, round_to=500, most=20_000)
    20000
    """
    return int(min(max(rate * seconds // round_to, 1) * round_to, most))


def whole(text: str) -> int:
    """An argument that must be a whole number >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seconds(text: str) -> float:
    """An argument that must be a positive number of seconds."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 seconds, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="CHANGE/ROW", help="repeatable: a run of benchmarks.paper_protocol")
    parser.add_argument("--device", default="cuda", help="where every run trains and embeds (default: cuda)")
    parser.add_argument("--train-seconds", type=seconds, default=300.0,
                        help="the slowest run's training time to fill (every run's seeds train at once, one process each)")
    parser.add_argument("--probe-steps", type=whole, default=200)
    parser.add_argument("--round", type=whole, default=500, help="the steps are a multiple of this")
    parser.add_argument("--max-steps", type=whole, default=20_000, help="a multiple of --round")
    parser.add_argument("--steps", type=whole, default=None, help="skip the probe and train this many steps")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--volumes", type=whole, default=20, help="score the first N volumes of the split")
    parser.add_argument("--seeds", type=whole, default=1)
    parser.add_argument("--dataset-size", type=whole, default=120)
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("CHANGE/ROW", "CHANGE/ROW"))
    parser.add_argument("--workdir", type=Path, default=Path("paper-scale-work"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.max_steps % args.round:
        parser.error(f"--max-steps {args.max_steps} is not a multiple of --round {args.round}")
    # usage errors of the runs and pairs, and the device, before anything is written or started
    paper_protocol.parse_arguments(render_command(args, steps=args.steps or args.round))
    data = args.workdir / "regular"
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not (data / "manifest.json").exists():  # written once, before the processes that share it
        write_synthetic_dataset(data, n=args.dataset_size, seed=0, kind="regular")
    volumes = min(args.volumes, sum(case.split == args.split for case in discover_cases([data])))  # as paper_protocol counts them
    steps = args.steps
    if steps is None:
        start = time.perf_counter()
        probes = run_all(args, steps=args.probe_steps, volumes=1)
        rates = {}
        for tag, run in probes.items():
            change, _, row = run.partition("/")
            batch = paper_protocol.row_config(RECIPE, row, change=change, steps=None, seed=0).data.triplets_per_batch
            rates[run] = steps_per_second(args.workdir / tag, batch=batch)
        steps = budget_steps(min(rates.values()), seconds=args.train_seconds, round_to=args.round, most=args.max_steps)
        print(f"probe ({time.perf_counter() - start:.0f} s): steps/s with every run going: "
              + ", ".join(f"{run} {rate:.1f}" for run, rate in rates.items()) + f"; training {steps} steps", flush=True)
    start = time.perf_counter()
    run_all(args, steps=steps, volumes=volumes)
    print(f"runs ({time.perf_counter() - start:.0f} s)", flush=True)
    paper_protocol.main(render_command(args, steps=steps))


if __name__ == "__main__":
    main()
