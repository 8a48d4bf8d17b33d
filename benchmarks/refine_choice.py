"""How the level-1 boundary refinement's settings were chosen: its passes, band and sigma on the intensity twin.

The refinement (:mod:`hypseg.inference.refine`) reads the image's intensity, not the embedding, so its settings can
be chosen without training: on every validation set below, the recipe's level 1 (``quality.INFERENCE[1]``, unrefined
and without its voxel band, which came later) is clustered on box-mean intensity (:mod:`benchmarks.intensity_twin`), and its object is then refined with each
setting and its holes filled, as :func:`hypseg.inference.hierarchy.level1_object` does. Each row gives level 1's
DICE and its difference from the unrefined object, paired over the 20 validation volumes (never the test split),
with the volumes that gain and lose more than 0.001.

    python -m benchmarks.refine_choice --out benchmarks/results/refine_choice.md
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from scipy import ndimage

#: name -> (generator kind, object scale, brighten, blur): the validation sets the recipe is chosen on, and the
#: cells at half size, bright, and blurred, which stand in for the nuclei (``validation_split`` options)
SETS = {
    "regular": ("regular", 1.0, 0.0, 0.0),
    "irregular": ("irregular", 1.0, 0.0, 0.0),
    "shepp-logan": ("shepp-logan", 1.0, 0.0, 0.0),
    "cells at half size": ("regular", 0.5, 0.0, 0.0),
    "rare bright blurred cells": ("regular", 0.5, 1.0, 1.5),
}
PASSES = (1, 2, 3, 4)
BANDS = (1, 2)
SIGMAS = (2.0, 4.0)


def twin_level1(kind: str, scale: float, brighten: float, blur: float, workdir: Path, *,
                settings: Sequence[tuple[int | None, int]] = ((None, 0),)) -> tuple[list, list, dict]:
    """The validation volumes of a set (the generator's ``kind`` at ``scale``, ``brighten``-ed and ``blur``-red as
    ``validation_split`` does; written to ``workdir``), their truths, and per setting the recipe's unrefined level-1
    labels on box-mean intensity (no model). A setting is (supervoxel size, voxel band): the size None for the
    recipe's, 0 for every voxel apart; the band as ``SegmentConfig.voxel_band`` (0: none)."""
    from benchmarks.intensity_twin import twin_embeddings, twin_geometry
    from benchmarks.quality import INFERENCE, level_weights, segment_embeddings
    from benchmarks.validation_split import split_volumes
    from hypseg.config import cpu_recipe
    from hypseg.data import SyntheticConfig, discover_cases, supervoxels, write_synthetic_dataset

    recipe = cpu_recipe()
    write_synthetic_dataset(workdir, n=120, seed=0, kind=kind, config=SyntheticConfig().with_object_scale(scale))
    volumes, truths = split_volumes(discover_cases([workdir]), "val", {1: 2}, brighten=brighten, blur=blur, noise=0.0,
                                    config=recipe.data)
    embeddings = twin_embeddings(volumes, [INFERENCE[1].patch_sides])
    geometry = dataclasses.replace(recipe, model=twin_geometry(recipe.model))
    found, segments = {}, {}
    for size, band in settings:
        level1 = dataclasses.replace(INFERENCE[1], refine=0, voxel_band=band)
        if size is not None:
            level1 = dataclasses.replace(level1, supervoxel_size=size or None)
        if level1.supervoxel_size and level1.supervoxel_size not in segments:
            segments[level1.supervoxel_size] = [supervoxels(v, size=level1.supervoxel_size) for v in volumes]
        found[size, band] = segment_embeddings(embeddings, geometry, {1: 2}, seed=0, inference={1: level1}, segments=segments,
                                               weights=level_weights([level1], segments), volumes=volumes)[1]
    return volumes, truths, found


def refined_objects(volume: np.ndarray, inside: np.ndarray, *, passes: int, band: int | None = None,
                    sigma: float | None = None) -> Iterator[np.ndarray]:
    """``inside`` after 0, 1, ..., ``passes`` refinement passes (:func:`hypseg.inference.refine.refine_boundary`, its
    band and sigma unless given), each with its holes filled: the n-th is
    :func:`hypseg.inference.hierarchy.level1_object`'s object with ``refine=n``, each pass refining the last one's."""
    from hypseg.inference import refine

    band = refine.BAND if band is None else band
    sigma = refine.SIGMA if sigma is None else sigma
    for n in range(passes + 1):
        if n:
            inside = refine.refine_boundary(volume, inside, passes=1, band=band, sigma=sigma)
        yield ndimage.binary_fill_holes(inside)


def rows_for(name: str, workdir: Path) -> list[list[str]]:
    """One row per (band, sigma, passes) on the set ``name``, and the unrefined (and unfilled) row first."""
    from benchmarks.validation_pairs import paired_text
    from hypseg.metrics import matched_dice

    volumes, truths, found = twin_level1(*SETS[name], workdir / name)
    found = found[None, 0]
    dice = lambda obj, truth: matched_dice(obj.astype(np.int64), truth[1]).mean  # noqa: E731
    base = np.array([dice(obj > 0, truth) for obj, truth in zip(found, truths)])
    rows = [[name, "unrefined", f"{base.mean():.3f}", "", ""]]
    for band, sigma in itertools.product(BANDS, SIGMAS):
        steps = [list(refined_objects(v, obj > 0, passes=max(PASSES), band=band, sigma=sigma)) for v, obj in zip(volumes, found)]
        for passes in PASSES:
            scores = np.array([dice(objects[passes], truth) for objects, truth in zip(steps, truths)])
            rows.append([name, f"band {band}, sigma {sigma:g}, {passes} pass{'es' if passes > 1 else ''}",
                         f"{scores.mean():.3f}", paired_text(scores, base),
                         f"{int(np.sum(scores - base > 0.001))} / {int(np.sum(scores - base < -0.001))}"])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.timing import format_table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", dest="sets", action="append", choices=sorted(SETS), help="only these sets (default: all)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets or SETS:
            rows += rows_for(name, Path(tmp))
            print(f"{name}: done", flush=True)
    table = format_table(["set", "refinement", "level 1 DICE", "refined - unrefined [95%]", "volumes gaining / losing"], rows)
    text = ("# The level-1 boundary refinement's settings on the intensity twin (validation splits)\n\n"
            "Level 1 of the recipe on box-mean intensity (no model), its object refined with each setting and its holes "
            "filled; paired 95% bootstrap interval over each set's 20 validation volumes. Command: "
            "`python -m benchmarks.refine_choice --out benchmarks/results/refine_choice.md`\n\n" + table + "\n")
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
