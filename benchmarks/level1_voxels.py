"""Level 1 voxel by voxel instead of by supervoxels, on the intensity twin (validation splits, no training).

The default's level 1 labels SLIC supervoxels whole, which caps it below the classical peers on the nuclei
(:mod:`benchmarks.supervoxel_ceiling`). Whether a level 1 that labels every voxel apart would cost the synthetic
sets is asked here without a model: on every validation set of :data:`benchmarks.refine_choice.SETS`, the recipe's
level 1 is clustered on box-mean intensity (:func:`benchmarks.refine_choice.twin_level1`) with its supervoxels and
with every voxel apart, each unrefined and refined by the recipe's passes, holes filled. Each row gives both, and
voxels minus supervoxels paired over the 20 validation volumes (never the test split). The twin tied the learned
model at level 1 on validation (`validation_twin.md`), so this says where a voxel-level level 1 is worth training for.

    python -m benchmarks.level1_voxels --out benchmarks/results/level1_voxels.md   # about 4 minutes
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np


def filled_scores(volumes, truths, found, *, passes: int) -> np.ndarray:
    """Level 1's matched DICE per volume of the objects ``found`` (labels > 0), refined ``passes`` times and filled,
    as :func:`hypseg.inference.hierarchy.level1_object` does."""
    from scipy import ndimage

    from hypseg.inference.refine import refine_boundary
    from hypseg.metrics import matched_dice

    return np.array([matched_dice(ndimage.binary_fill_holes(refine_boundary(v, obj > 0, passes=passes)).astype(np.int64),
                                  truth[1]).mean for v, obj, truth in zip(volumes, found, truths)])


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.quality import INFERENCE
    from benchmarks.refine_choice import SETS, twin_level1
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
            scores = {}
            for label, size in (("supervoxels", None), ("voxels", 0)):
                volumes, truths, found = twin_level1(name, Path(tmp), supervoxel_size=size)
                scores[label] = [filled_scores(volumes, truths, found, passes=n) for n in (0, passes)]
            rows.append([name, *(f"{s.mean():.3f}" for label in scores for s in scores[label]),
                         paired_text(scores["voxels"][1], scores["supervoxels"][1])])
            print(f"{name}: done", flush=True)
    table = format_table(["set", "supervoxels, unrefined", f"supervoxels, {passes} passes (the recipe)", "voxels, unrefined",
                          f"voxels, {passes} passes", "voxels - supervoxels, refined [95%]"], rows)
    text = ("# Level 1 voxel by voxel against the recipe's supervoxels, on the intensity twin (validation splits)\n\n"
            "The recipe's level 1 on box-mean intensity (no model), with its SLIC supervoxels and with every voxel apart, "
            "unrefined and refined, holes filled; matched DICE over each set's 20 validation volumes, paired 95% bootstrap "
            "interval. Command: `python -m benchmarks.level1_voxels --out benchmarks/results/level1_voxels.md`\n\n" + table + "\n")
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
