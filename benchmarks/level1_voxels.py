"""Level 1 voxel by voxel instead of by supervoxels, on the intensity twin (validation splits, no training).

The default's level 1 labels SLIC supervoxels whole, which caps it below the classical peers on the nuclei
(:mod:`benchmarks.supervoxel_ceiling`). Whether a level 1 that labels every voxel apart would cost the synthetic
sets is asked here without a model: on every validation set of :data:`SETS`, the recipe's
level 1 is clustered on box-mean intensity (:func:`benchmarks.refine_choice.twin_level1`) with its supervoxels,
with every voxel apart, and with its supervoxels but the voxels within :data:`BAND` of its clusters' boundary
deciding alone (``SegmentConfig.voxel_band``), each unrefined and refined by the recipe's passes, holes filled.
Each row gives all three, and each of the others minus supervoxels paired over the 20 validation volumes (never
the test split). The twin stands in for a model here: this says whether a structure is worth training for, not
what a model would score.

    python -m benchmarks.level1_voxels --out benchmarks/results/level1_voxels.md   # about 4 minutes
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmarks.refine_choice import SETS as REFINE_SETS, refined_objects

#: the validation sets: :data:`benchmarks.refine_choice.SETS` and the nuclei-sized bright blurred cells
SETS = {**REFINE_SETS, "nuclei-sized bright blurred cells": ("regular", 0.7, 2.0, 2.5)}
#: the width of the voxel band scored beside the supervoxels and the voxels (``SegmentConfig.voxel_band``)
BAND = 1
#: what is scored: (supervoxel size: None the recipe's, 0 every voxel; voxel band) per column group
SETTINGS = {"supervoxels": (None, 0), "voxels": (0, 0), "band": (None, BAND)}


def scores_at(volumes, truths, found, *, passes: Sequence[int]) -> list[np.ndarray]:
    """Level 1's matched DICE per volume of the objects ``found`` (labels > 0) after each count of ``passes``
    refinement passes, holes filled (:func:`benchmarks.refine_choice.refined_objects`)."""
    from hypseg.metrics import matched_dice

    steps = [list(refined_objects(v, obj > 0, passes=max(passes))) for v, obj in zip(volumes, found)]
    return [np.array([matched_dice(objects[n].astype(np.int64), truth[1]).mean for objects, truth in zip(steps, truths)])
            for n in passes]


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.quality import INFERENCE
    from benchmarks.refine_choice import twin_level1
    from benchmarks.timing import format_table
    from benchmarks.validation_pairs import paired_text

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="sets", action="append", choices=sorted(SETS), help="only these sets (default: all)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    passes = INFERENCE[1].refine
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets or SETS:
            volumes, truths, found = twin_level1(*SETS[name], Path(tmp) / name, settings=tuple(SETTINGS.values()))
            scores = {label: scores_at(volumes, truths, found[setting], passes=(0, passes)) for label, setting in SETTINGS.items()}
            rows.append([name, *(f"{s.mean():.3f}" for label in scores for s in scores[label]),
                         *(paired_text(scores[label][1], scores["supervoxels"][1]) for label in ("voxels", "band"))])
            print(f"{name}: done", flush=True)
    table = format_table(["set", "supervoxels, unrefined", f"supervoxels, {passes} passes (the recipe without its band)", "voxels, unrefined",
                          f"voxels, {passes} passes", f"supervoxels, voxel band {BAND}, unrefined",
                          f"supervoxels, voxel band {BAND}, {passes} passes", "voxels - supervoxels, refined [95%]",
                          f"voxel band {BAND} - supervoxels, refined [95%]"], rows)
    text = ("# Level 1 voxel by voxel against the recipe's supervoxels, on the intensity twin (validation splits)\n\n"
            "The recipe's level 1 on box-mean intensity (no model), with its SLIC supervoxels, with every voxel apart, and "
            f"with its supervoxels and the voxels within {BAND} of its clusters' boundary deciding alone (the voxel band), "
            "unrefined and refined, holes filled; matched DICE over each set's 20 validation volumes, paired 95% bootstrap "
            "interval. Command: `python -m benchmarks.level1_voxels --out benchmarks/results/level1_voxels.md`\n\n" + table + "\n")
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
