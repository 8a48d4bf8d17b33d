"""The recipe run on smoothed intensity instead of a learned embedding: is the embedding more than that?

hypseg's measurements read its embedding as a smoothed intensity. This module makes that reading a
segmentation one can score: every voxel's "embedding" at a patch side p is the mean intensity of the p^3 box
centred on it as the model's patch is (:func:`scipy.ndimage.uniform_filter`; beyond a face the edge voxel
repeats, as the model's patches are padded), one column per side of a product, in a
Euclidean space. The recipe's own inference then runs on it unchanged (the same supervoxels, purity weights,
containment, clusterer and seeds), so a segmentation that differs from the model's does so through the
embedding alone. A model that ties its twin has learnt nothing that its patches' mean intensity does not say.

Run as a module, it scores the twin once on the test split of every set of a saved quality run and pairs it,
volume by volume, with that run's full model (its seeds' mean per volume). The twin has no training and nothing
tuned, so the test split is scored once and nothing is chosen on it:

    python -m benchmarks.intensity_twin benchmarks/results/quality.json benchmarks/results/quality_small_cells.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from scipy import ndimage

from hypseg.config import ModelConfig


def box_means(volume: np.ndarray, sides: Sequence[int], *, percentile: float | None = None) -> np.ndarray:
    """(Z, Y, X, len(sides)) float32: per side, the mean of ``volume`` over the side^3 box around each voxel (or,
    with ``percentile``, that percentile of the box's values: a rank filter, 100 for the maximum).

    >>> box_means(np.arange(27.0).reshape(3, 3, 3), (1, 3))[1, 1, 1].tolist()
    [13.0, 13.0]
    >>> box_means(np.arange(27.0).reshape(3, 3, 3), (3,), percentile=100)[1, 1, 1].tolist()
    [26.0]
    """
    image = np.asarray(volume, dtype=np.float64)
    if percentile is None:
        columns = [ndimage.uniform_filter(image, size=int(side), mode="nearest") for side in sides]
    else:
        columns = [ndimage.percentile_filter(image, percentile, size=int(side), mode="nearest") for side in sides]
    return np.stack(columns, axis=-1).astype(np.float32)


def twin_embeddings(volumes: Sequence[np.ndarray], sides_list: Iterable[tuple[int, ...]], *,
                    percentile: float | None = None) -> dict[tuple[int, ...], list[np.ndarray]]:
    """Patch sides -> one box-mean "embedding" per volume (:func:`box_means`, ``percentile`` passed on), in the
    layout :func:`hypseg.inference.recipe.cluster_embeddings` takes."""
    return {tuple(sides): [box_means(v, sides, percentile=percentile) for v in volumes]
            for sides in dict.fromkeys(map(tuple, sides_list))}


def twin_geometry(model: ModelConfig) -> ModelConfig:
    """``model`` as a one-dimensional Euclidean latent space: box means are plain numbers, one per side."""
    return dataclasses.replace(model, variant="euclidean", latent_dim=1)


def score_test_split(saved: Path, workdir: Path) -> list[list[str]]:
    """Rows per set and level of the saved quality run ``saved``: the full model's mean DICE on the test split, the
    twin's (clustered with the saved run's own inference, :func:`benchmarks.quality.saved_inference`), and model
    minus twin with its paired 95% interval over the test volumes."""
    from benchmarks.quality import FULL, SETS, level_weights, saved_inference, score_labels, segment_embeddings, set_generator
    from hypseg.config import cpu_recipe
    from hypseg.data import discover_cases, load_normalised, supervoxels, write_synthetic_dataset
    from hypseg.io import load_labels
    from benchmarks.validation_pairs import paired_text

    data = json.loads(Path(saved).read_text())
    for setting in ("shape", "supervoxel_tile"):  # files written before these were saved ran at the defaults
        if data.get(setting) is not None:
            raise ValueError(f"{saved}: the run set {setting} = {data[setting]}; the twin scores the default volumes and tiles only")
    inference_of_run = saved_inference(data)
    recipe = cpu_recipe()
    config = dataclasses.replace(recipe, model=twin_geometry(recipe.model))
    rows = []
    for name, scores in data["sets"].items():
        spec = SETS[name]
        model = next(score for score in scores if score["name"] == FULL)["per_volume"]
        write_synthetic_dataset(workdir / name, n=data["volumes"], seed=0, kind=spec.kind, config=set_generator(name))
        cases = [c for c in discover_cases([workdir / name]) if c.split == "test"]
        test = load_normalised(cases, config=recipe.data)
        truths = [{level: load_labels(c.truth[str(level)]) for level in spec.levels} for c in cases]
        inference = {level: inference_of_run[level] for level in spec.levels}
        segments = {size: [supervoxels(v, size=size) for v in test]
                    for size in {how.supervoxel_size for how in inference.values()} - {None}}
        labels = segment_embeddings(twin_embeddings(test, [how.patch_sides for how in inference.values()]), config,
                                    spec.levels, seed=0, inference=inference, segments=segments,
                                    weights=level_weights(inference.values(), segments), volumes=test)
        twin = score_labels(labels, truths)
        for level in spec.levels:
            ours, theirs = np.asarray(model[str(level)]), np.asarray(twin[level])
            rows.append([name, f"L{level} (k={spec.levels[level]})", f"{ours.mean():.3f}", f"{theirs.mean():.3f}",
                         paired_text(ours, theirs)])
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    from benchmarks.timing import format_table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("saved", type=Path, nargs="+", help="a quality run's saved scores (<out>.json)")
    args = parser.parse_args(argv)
    for path in args.saved:
        if not path.is_file():
            parser.error(f"no saved scores at {path}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in args.saved:
            try:
                rows += score_test_split(path, Path(tmp))
            except ValueError as error:
                parser.error(str(error))
    print("The full model (the saved run's seeds' mean per test volume) against the recipe on box-mean intensity; "
          "paired 95% bootstrap interval over the test volumes\n")
    print(format_table(["set", "level", "full model", "intensity twin", "model - twin [95%]"], rows))


if __name__ == "__main__":
    main()


__all__ = ["box_means", "main", "score_test_split", "twin_embeddings", "twin_geometry"]
