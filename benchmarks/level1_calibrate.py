"""Does placing level 1's cut where a half-and-half patch lands undo the object's over-growth?

Level 1 splits the supervoxels' mean embeddings (p = 10, tangent space) by 2-means, so its cut is the
midpoint between the two centres, and a voxel counts as object once a fifth to a quarter of its patch is
(``benchmarks/results/level1_mixing.md``). For a flat edge the cut that puts every voxel on its own side is
where a patch that is half one class and half the other lands. This probe makes such patches from the
volume itself: it pairs patches centred on voxels deep inside each class of the default's level 1 (farther
than a patch side from the boundary), joins the first half of one to the second half of the other along a
random axis (both ways round), embeds them with the model, and projects every point on the axis between
the two classes' mean embeddings (0 at the background's mean, 1 at the object's). The supervoxels are then
cut at the median projection of the joined patches instead of at 2-means' cut, and the object's holes are
filled. It trains one model (``cpu`` recipe) on a synthetic set's training volumes and prints the level-1
object's mean matched DICE on the 20 validation volumes: the default's, the same supervoxels re-cut at
their midpoint 0.5 (the reference for the re-cut), and re-cut at the calibrated point. Validation only.

    python -m benchmarks.level1_calibrate --kind regular --object-scale 0.5 --brighten 1 --blur 1.5
    python -m benchmarks.level1_calibrate --kind regular
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import torch
from scipy import ndimage

from benchmarks.level1_band import probe_from_command_line
from benchmarks.quality import INFERENCE, level_weights, segment_embeddings
from hypseg.data import supervoxels
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.pooling import pool_embedding
from hypseg.inference.tangent import to_tangent
from hypseg.metrics import matched_dice

#: joined patches per volume (each pair both ways round)
PAIRS = 128


def joined_patches(volume: np.ndarray, first: np.ndarray, second: np.ndarray, side: int, rng) -> np.ndarray:
    """(2 * PAIRS, 1, side, side, side): patches whose first half along a random axis comes from a patch
    centred in ``first`` (bool mask) and whose second half from one centred in ``second``, and the reverse."""
    half = side // 2

    def crops(mask):
        points = np.argwhere(mask)
        chosen = points[rng.integers(len(points), size=PAIRS)]
        return np.stack([volume[z - half:z - half + side, y - half:y - half + side, x - half:x - half + side]
                         for z, y, x in chosen])

    a, b = crops(first), crops(second)
    axes = rng.integers(3, size=PAIRS)
    out = []
    for one, other in ((a, b), (b, a)):
        joined = other.copy()
        for i, axis in enumerate(axes):
            index = [slice(None)] * 3
            index[axis] = slice(0, half)
            joined[i][tuple(index)] = one[i][tuple(index)]
        out.append(joined)
    return np.concatenate(out)[:, None].astype(np.float32)


def main() -> None:
    args, config, model, val, truths = probe_from_command_line(__doc__)
    side = config.model.patch_size
    level1 = dataclasses.replace(INFERENCE[1], in_object=True, space="tangent", refine=0)  # the clustering alone, unrefined, as recorded
    segments = {level1.supervoxel_size: [supervoxels(v, size=level1.supervoxel_size) for v in val]}
    embeddings = {(side,): [embed_volume_multiscale(model, v, patch_sizes=(side,)) for v in val]}
    objects = segment_embeddings(embeddings, config, {1: 2}, seed=0, inference={1: level1}, segments=segments,
                                 weights=level_weights([level1], segments), members=1, volumes=val)[1]
    rng = np.random.default_rng(0)
    scores: dict[str, list[float]] = {"default": [], "re-cut at 0.5": [], "calibrated": []}
    cuts = []
    for found, truth, volume, embedding, seg in zip(objects, truths, val, embeddings[(side,)], segments[level1.supervoxel_size]):
        found, truth = found > 0, (truth > 0).astype(int)
        u = to_tangent(embedding.astype(np.float64), c=config.model.curvature)
        low, high = u[~found].mean(0), u[found].mean(0)
        axis = (high - low) / ((high - low) ** 2).sum()
        means = pool_embedding(u, seg, hyperbolic=False).points
        position = (means - low) @ axis  # per supervoxel: 0 at the background's mean, 1 at the object's
        inner = np.zeros(found.shape, bool)
        inner[side:-side, side:-side, side:-side] = True
        deep_in = found & (ndimage.distance_transform_edt(found) > side) & inner
        deep_out = ~found & (ndimage.distance_transform_edt(~found) > side) & inner
        scores["default"].append(matched_dice(found.astype(int), truth).mean)
        scores["re-cut at 0.5"].append(matched_dice(ndimage.binary_fill_holes((position > 0.5)[seg]).astype(int), truth).mean)
        if not deep_in.any() or not deep_out.any():
            scores["calibrated"].append(scores["re-cut at 0.5"][-1])
            continue
        patches = joined_patches(volume, deep_in, deep_out, side, rng)
        with torch.no_grad():
            points = model.encode_mean(torch.from_numpy(patches)).double().numpy()
        cut = float(np.median((to_tangent(points, c=config.model.curvature) - low) @ axis))
        cuts.append(cut)
        scores["calibrated"].append(matched_dice(ndimage.binary_fill_holes((position > cut)[seg]).astype(int), truth).mean)
    print(json.dumps({**vars(args), "level1_dice": {k: round(float(np.mean(v)), 4) for k, v in scores.items()},
                      "cut_quartiles": np.round(np.percentile(cuts, [25, 50, 75]), 3).tolist() if cuts else None}), flush=True)


if __name__ == "__main__":
    main()
