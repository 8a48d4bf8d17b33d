"""Probe: do the validation volumes whose level 1 shows no object in a field of view find one at k = 3?

The recipe warns (:class:`hypseg.inference.hierarchy.NoFieldWarning`) when level 1's object meets the volume's faces
as much as its size predicts; on the synthetic validation sets every such volume is one whose level 1 failed. This
probe trains the model ``validation_split`` trains (same recipe, seed and set), scores the recipe, and for each
warned volume clusters level 1 again with three clusters (the recipe's level-1 setting otherwise: p = 10, 500-voxel
supervoxels, the tangent space). Each cluster in turn is the object against the other two; the one with the smallest
:func:`~hypseg.inference.hierarchy.field_ratio` is kept where that ratio is below ``FIELD_RATIO`` (an object in a
field), refined and filled as the recipe's object is (no voxel band), and its level-1 DICE printed beside the
recipe's. Nothing here changes the recipe::

    OMP_NUM_THREADS=1 python -m benchmarks.level1_retry --object-scale 0.5 --seed 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.quality import INFERENCE, SETS, cluster_volumes, level_labels, level_weights, score_labels
from benchmarks.validation_split import split_volumes
from hypseg.config import LevelConfig, SegmentConfig, cpu_recipe
from hypseg.data import SyntheticConfig, discover_cases, supervoxels, write_synthetic_dataset
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.hierarchy import FIELD_RATIO, face_counts, field_ratio, level1_object
from hypseg.inference.recipe import cluster_embeddings
from hypseg.metrics import matched_dice
from hypseg.training import Trainer


def least_on_faces(labels: np.ndarray, clusters: int) -> tuple[int, float]:
    """The cluster of ``labels`` that, as an object against the others, has the smallest field ratio, and that ratio.

    >>> labels = np.zeros((6, 6, 6), dtype=int); labels[:, :, 3:] = 1; labels[2:4, 2:4, 2:4] = 2
    >>> least_on_faces(labels, 3)
    (2, 0.0)
    """
    ratios = []
    for c in range(clusters):
        two = (labels == c).astype(int)
        ratios.append(field_ratio(face_counts(two, np.arange(2)), np.bincount(two.ravel(), minlength=2), 0))
    best = int(np.argmin(ratios))
    return best, float(ratios[best])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", default="regular", choices=tuple(SETS))
    parser.add_argument("--object-scale", type=float, default=1.0)
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    args = parser.parse_args(argv)
    base = cpu_recipe()
    config = dataclasses.replace(base, train=dataclasses.replace(base.train, seed=args.seed, validation_batches=0,
                                                                 checkpoint_every=10**6))
    levels = dict(SETS[args.kind].levels)
    first = INFERENCE[1]
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp) / "set", n=120, seed=args.data_seed, kind=args.kind,
                                config=SyntheticConfig().with_object_scale(args.object_scale))
        cases = discover_cases([Path(tmp) / "set"])
        val, truths = split_volumes(cases, "val", levels, brighten=0.0, blur=(0.0,), noise=0.0, config=config.data)
        train, _ = split_volumes(cases, "train", {1: levels[1]}, brighten=0.0, blur=(0.0,), noise=0.0, config=config.data)
        model = Trainer(config, train, run_dir=Path(tmp) / "run0", progress=False).fit().model
    sides = list(dict.fromkeys(how.patch_sides for how in INFERENCE.values()))
    embeddings = {s: [embed_volume_multiscale(model, v, patch_sizes=s) for v in val] for s in sides}
    sizes = {how.supervoxel_size for how in INFERENCE.values()} - {None}
    segments = {size: [supervoxels(v, size=size) for v in val] for size in sizes}
    found = cluster_volumes(embeddings, config, levels, seed=0, segments=segments,
                            weights=level_weights(INFERENCE.values(), segments), volumes=val)
    recipe = score_labels(level_labels(found, levels), truths)[1]
    three = SegmentConfig(levels=(LevelConfig(3, first.patch_sides, first.supervoxel_size, pooled=False),),
                          space=first.space)
    for i, volume in enumerate(found):
        if not volume.no_field:
            continue
        labels = cluster_embeddings({first.patch_sides: [embeddings[first.patch_sides][i]]}, three, geometry=config.model,
                                    segments={first.supervoxel_size: [segments[first.supervoxel_size][i]]})[0].labels[3]
        cluster, ratio = least_on_faces(labels, 3)
        row = {"kind": args.kind, "object_scale": args.object_scale, "data_seed": args.data_seed, "seed": args.seed,
               "volume": i, "recipe_level1_dice": round(recipe[i], 4), "k3_least_ratio": round(ratio, 3)}
        if ratio < FIELD_RATIO:
            obj = level1_object((labels == cluster).astype(np.int32), volume=val[i], refine=first.refine, outside=0)
            row["k3_object_level1_dice"] = round(float(matched_dice(obj.astype(np.int32), truths[i][1]).mean), 4)
        print(json.dumps(row), flush=True)
    print(json.dumps({"kind": args.kind, "object_scale": args.object_scale, "data_seed": args.data_seed, "seed": args.seed,
                      "recipe_level1_mean": round(float(np.mean(recipe)), 4),
                      "warned": [i for i, v in enumerate(found) if v.no_field]}), flush=True)


if __name__ == "__main__":
    main()
