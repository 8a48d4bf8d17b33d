"""One method's test-split scores in two saved quality runs, paired volume by volume.

Two runs of ``hypseg bench quality`` (or ``python -m benchmarks.bench_quality``) that differ in one
setting, e.g. ``--space ball`` against the recipe's tangent space, train the same models (same seeds, same
code) and score the same test volumes. Each saves every method's per-volume DICE beside its tables
(``<out>.json``). This prints, for every set and level both runs hold, the method's mean in each run, the
difference (second minus first) and the paired 95% bootstrap interval of that difference over the volumes.

    python -m benchmarks.compare_runs benchmarks/results/quality_ball.json benchmarks/results/quality_before_band.json
    python -m benchmarks.compare_runs A.json B.json --method "euclidean base"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmarks.quality import FULL, SETS, MethodScore
from benchmarks.timing import format_table
from hypseg.metrics.paired import paired_interval


def method_scores(path: Path, method: str) -> dict[str, MethodScore]:
    """Set name -> the method's scores in the run saved at ``path`` (sets without the method are left out)."""
    data = json.loads(Path(path).read_text())
    found = {}
    for name, scores in data["sets"].items():
        for score in scores:
            if score["name"] == method:
                found[name] = MethodScore.from_json(score)
    return found


def compare(first: Path, second: Path, *, method: str = FULL, score: str = "dice") -> list[list[str]]:
    """Rows: set, level, first run's mean ``score`` (``"dice"``, or on a set of particles ``"object_f1"``: the F1 of
    the cluster holding most particle voxels), second's, second minus first and its paired 95% interval."""
    a, b = method_scores(first, method), method_scores(second, method)
    shared = [name for name in a if name in b]
    if not shared:
        raise ValueError(f"no set holds {method!r} in both {first} and {second}")
    if score != "dice":  # a score only some sets have (the particles'): the sets where either run holds it
        shared = [name for name in shared if a[name].scores(score) is not None or b[name].scores(score) is not None] or shared
    rows = []
    for name in shared:
        for level in sorted(set(a[name].dice) & set(b[name].dice)):
            x, y = a[name].scores(score), b[name].scores(score)
            if x is None or y is None or len(x[level]) != len(y[level]):
                raise ValueError(f"set {name!r}: the two runs do not hold the same volumes' "
                                 f"{'scores' if score == 'dice' else score + ' scores'} for {method!r}")
            low, high = paired_interval(y[level], x[level])
            difference = float(np.mean(np.subtract(y[level], x[level])))
            rows.append([name, f"L{level} (k={SETS[name].levels[level]})", f"{np.mean(x[level]):.3f}", f"{np.mean(y[level]):.3f}",
                         f"{difference:+.3f}", f"[{low:+.3f}, {high:+.3f}]" + (" (within noise)" if low <= 0 <= high else "")])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("first", type=Path, help="the first run's saved scores (<out>.json)")
    parser.add_argument("second", type=Path, help="the second run's saved scores")
    parser.add_argument("--method", default=FULL, help="the row to compare (default: %(default)s)")
    parser.add_argument("--score", choices=("dice", "object_f1"), default="dice", help="the per-volume score paired: "
                        "DICE, or on a set of particles the F1 of the cluster holding most particle voxels")
    args = parser.parse_args(argv)
    for path in (args.first, args.second):
        if not path.is_file():
            parser.error(f"no saved scores at {path}")
    try:
        rows = compare(args.first, args.second, method=args.method, score=args.score)
    except ValueError as error:
        parser.error(str(error))
    what = "DICE" if args.score == "dice" else "F1 of the cluster holding most particle voxels"
    print(f"{args.method}: {args.first.name} (first) against {args.second.name} (second), mean {what} over the test volumes "
          "(seeds' mean per volume); difference = second - first, paired 95% bootstrap interval over volumes\n")
    print(format_table(["set", "level", "first", "second", "difference", "paired 95% interval"], rows))


if __name__ == "__main__":
    main()
