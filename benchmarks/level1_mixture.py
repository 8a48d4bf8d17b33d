"""Does a Gaussian mixture in place of 2-means draw level 1's object better?

On intensity, a two-component Gaussian mixture beats 2-means on the nuclei stack (0.908 against 0.896,
``benchmarks/results/real_data.md``): its boundary follows each class's own spread instead of lying
midway between the centres. This probe asks the same of the learned embedding, on validation splits
only. It trains one model (``cpu`` recipe) on a synthetic set's training volumes and, on each of the 20
validation volumes, clusters the default's level-1 points (the mean p = 10 embedding of every 500-voxel
supervoxel, in the tangent space at the origin) with 2-means and with two-component Gaussian mixtures
(full and diagonal covariances), all unweighted, and scores the level-1 object (the cluster touching
fewer faces, holes filled) by mean matched DICE, beside the default's own level 1.

    python -m benchmarks.level1_mixture --kind regular --object-scale 0.5 --brighten 1 --blur 1.5
    python -m benchmarks.level1_mixture --kind regular
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from benchmarks.level1_band import probe_from_command_line
from benchmarks.quality import INFERENCE, level_weights, segment_embeddings
from hypseg.data import supervoxels
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.hierarchy import level1_object
from hypseg.inference.pooling import pool_embedding
from hypseg.inference.tangent import to_tangent
from hypseg.metrics import matched_dice


def main() -> None:
    args, config, model, val, truths = probe_from_command_line(__doc__)
    side = config.model.patch_size
    level1 = dataclasses.replace(INFERENCE[1], in_object=True, space="tangent", refine=0)  # the clustering alone, unrefined, as recorded
    segments = [supervoxels(v, size=level1.supervoxel_size) for v in val]
    embeddings = {(side,): [embed_volume_multiscale(model, v, patch_sizes=(side,)) for v in val]}
    objects = segment_embeddings(embeddings, config, {1: 2}, seed=0, inference={1: level1},
                                 segments={level1.supervoxel_size: segments},
                                 weights=level_weights([level1], {level1.supervoxel_size: segments}), members=1,
                                 volumes=val)[1]
    methods = {"2-means": lambda x: KMeans(2, n_init=3, random_state=0).fit_predict(x),
               "gmm, full": lambda x: GaussianMixture(2, covariance_type="full", n_init=3, random_state=0).fit_predict(x),
               "gmm, diagonal": lambda x: GaussianMixture(2, covariance_type="diag", n_init=3, random_state=0).fit_predict(x)}
    scores: dict[str, list[float]] = {"default": [], **{name: [] for name in methods}}
    for found, truth, embedding, seg in zip(objects, truths, embeddings[(side,)], segments):
        truth = (truth > 0).astype(int)
        scores["default"].append(matched_dice((found > 0).astype(int), truth).mean)
        means = pool_embedding(to_tangent(embedding.astype(np.float64), c=config.model.curvature), seg,
                               hyperbolic=False).points
        for name, cluster in methods.items():
            voxels = cluster(means)[seg]
            score = matched_dice(level1_object(voxels).astype(int), truth).mean if np.unique(voxels).size == 2 else 0.0
            scores[name].append(score)
    print(json.dumps({**vars(args), "level1_dice": {k: round(float(np.mean(v)), 4) for k, v in scores.items()}}), flush=True)


if __name__ == "__main__":
    main()
