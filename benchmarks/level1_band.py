"""Does level 1's boundary band, re-labelled by the finer p = 5 embedding, undo the object's over-growth?

Level 1 labels 500-voxel supervoxels by their p = 10 mean embeddings, and a voxel counts as object once a
fifth to a quarter of its patch is (``benchmarks/results/level1_mixing.md``): a rare bright object grows
by about a third of a patch side. This probe keeps level 1's decision away from its boundary and
re-labels only the voxels within r voxels of it (on both sides): each goes to the nearer of two centres
in the tangent space at the origin, the mean p = 5 embeddings of the object's and the background's
voxels farther than r from the boundary; the object's holes are then filled. It trains one model
(``cpu`` recipe) on a synthetic set's 80 training volumes, as ``benchmarks.validation_split`` does, and
prints the level-1 object's mean matched DICE on the 20 validation volumes before and after, for r = 1,
2, 3, 5; the ``local`` rows take each band voxel's two centres over the class voxels in the 15^3 window
around it instead of the whole volume. Validation splits only.

    python -m benchmarks.level1_band --kind regular --object-scale 0.5 --brighten 1 --blur 1.5
    python -m benchmarks.level1_band --kind regular
    python -m benchmarks.level1_band --kind irregular
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

from benchmarks.quality import INFERENCE, level_weights, segment_embeddings
from benchmarks.validation_split import blurred, brightened
from hypseg.config import cpu_recipe
from hypseg.data import SyntheticConfig, discover_cases, load_normalised, supervoxels, write_synthetic_dataset
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.tangent import to_tangent
from hypseg.io import load_labels
from hypseg.metrics import matched_dice
from hypseg.training import Trainer

RADII = (1, 2, 3, 5)
#: side of the window over which --local centres are averaged
LOCAL_WINDOW = 15


def _local_mean(fine: np.ndarray, mask: np.ndarray, window: int) -> np.ndarray:
    """The mean of ``fine`` (Z, Y, X, d) over the voxels of ``mask`` in the window around each voxel (NaN where
    the window holds none)."""
    count = ndimage.uniform_filter(mask.astype(np.float64), window, mode="nearest")
    sums = np.stack([ndimage.uniform_filter(fine[..., j] * mask, window, mode="nearest") for j in range(fine.shape[-1])], -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / count[..., None]


def banded(found: np.ndarray, fine: np.ndarray, radius: int, *, local: bool = False) -> np.ndarray:
    """``found`` (bool object) with the voxels within ``radius`` of its boundary re-labelled by the nearer
    of the two classes' mean ``fine`` vectors (Z, Y, X, d) over their voxels beyond ``radius`` (the whole
    volume's, or with ``local`` those in a window of side :data:`LOCAL_WINDOW` around the voxel), holes filled."""
    inside, outside = ndimage.distance_transform_edt(found), ndimage.distance_transform_edt(~found)
    band = (inside <= radius) & (outside <= radius)
    core, rest = found & (inside > radius), ~found & (outside > radius)
    if not core.any() or not rest.any():
        return found
    if local:
        to_core_mean, to_rest_mean = (_local_mean(fine, m, LOCAL_WINDOW)[band] for m in (core, rest))
    else:
        to_core_mean, to_rest_mean = fine[core].mean(0), fine[rest].mean(0)
    near_core = ((fine[band] - to_core_mean) ** 2).sum(-1)
    near_rest = ((fine[band] - to_rest_mean) ** 2).sum(-1)
    keep = np.isnan(near_core) | np.isnan(near_rest)  # no class voxel in the window: level 1's label stays
    out = found.copy()
    out[band] = np.where(keep, found[band], near_core < near_rest)
    return ndimage.binary_fill_holes(out)


def training_and_validation(config, args) -> tuple:
    """A model trained with ``config`` on the training volumes of a synthetic set (``args.kind``,
    ``args.object_scale``; brightened by ``args.brighten`` and blurred by ``args.blur`` as
    ``benchmarks.validation_split`` does), and the set's validation volumes and level-1 truths."""
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp) / "set", n=120, seed=0, kind=args.kind,
                                config=SyntheticConfig().with_object_scale(args.object_scale))
        cases = discover_cases([Path(tmp) / "set"])
        sets = {}
        for split in ("train", "val"):
            chosen = [c for c in cases if c.split == split]
            objects = [load_labels(c.truth["1"]) for c in chosen]
            volumes = brightened(load_normalised(chosen, config=config.data), objects, args.brighten, config=config.data)
            sets[split] = (blurred(volumes, args.blur, config=config.data), objects)
        model = Trainer(config, sets["train"][0], run_dir=Path(tmp) / "run", progress=False).fit().model
    return model, *sets["val"]


def probe_from_command_line(description: str) -> tuple:
    """Parse a level-1 probe's options (the set, how it is altered, the training seed), train its model
    (:func:`training_and_validation`) and return (args, config, model, validation volumes, level-1 truths)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", default="regular", choices=("regular", "irregular", "shepp-logan"))
    parser.add_argument("--object-scale", type=float, default=1.0)
    parser.add_argument("--brighten", type=float, default=0.0)
    parser.add_argument("--blur", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    args = parser.parse_args()
    base = cpu_recipe()
    config = dataclasses.replace(base, train=dataclasses.replace(base.train, seed=args.seed, validation_batches=0,
                                                                 checkpoint_every=10**6))
    return args, config, *training_and_validation(config, args)


def main() -> None:
    args, config, model, val, truths = probe_from_command_line(__doc__)
    level1 = dataclasses.replace(INFERENCE[1], in_object=True, space="tangent", refine=0)  # the clustering alone, unrefined, as recorded
    segments = {level1.supervoxel_size: [supervoxels(v, size=level1.supervoxel_size) for v in val]}
    embeddings = {sides: [embed_volume_multiscale(model, v, patch_sizes=sides) for v in val] for sides in ((10,), (5,))}
    objects = segment_embeddings(embeddings, config, {1: 2}, seed=0, inference={1: level1}, segments=segments,
                                 weights=level_weights([level1], segments), members=1, volumes=val)[1]
    scores: dict[str, list[float]] = {"before": [], **{f"{how}r = {r}": [] for how in ("", "local, ") for r in RADII}}
    for found, truth, fine in zip(objects, truths, embeddings[(5,)]):
        found, truth = found > 0, (truth > 0).astype(int)
        fine = to_tangent(fine.astype(np.float64), c=config.model.curvature)
        scores["before"].append(matched_dice(found.astype(int), truth).mean)
        for (how, local), r in itertools.product((("", False), ("local, ", True)), RADII):
            scores[f"{how}r = {r}"].append(matched_dice(banded(found, fine, r, local=local).astype(int), truth).mean)
    print(json.dumps({**vars(args), "level1_dice": {k: round(float(np.mean(v)), 4) for k, v in scores.items()}}))


if __name__ == "__main__":
    main()
