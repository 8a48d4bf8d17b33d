"""Why two-means misses the crowded set's particles: per-voxel clusterings of its validation volumes' features.

Trains one ``cpu``-recipe model (``--seed``) on the crowded set's 80 training volumes (``hypseg synth --kind crowded``,
generator seed 0) and clusters each of its 20 validation volumes voxel by voxel (never the test split) at k = 2, 3, 4
on seven features: the model's embedding at p = 5 and at p = 10 (the tangent space), the first minus the second, the
embedding at p = 5 minus its own mean over a box of 10 or 15 voxels around each voxel, the box mean at p = 5 minus at p = 10 (the intensity twin's), and a band-pass of the image (Gaussian of 1 voxel minus of
4); each feature z-scored per volume and clustered by k-means and by a tied Gaussian mixture
(:class:`hypseg.clustering.TiedGaussianMixture`), both fitted on every fifth voxel. Prints one JSON line per feature
and clusterer with the matched DICE per level, averaged over the volumes:

    python -m benchmarks.crowded_probe --seed 0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.cluster import KMeans

from benchmarks.intensity_twin import box_means
from benchmarks.validation_split import split_volumes
from hypseg.clustering import TiedGaussianMixture
from hypseg.config import cpu_recipe
from hypseg.data import CROWDED_LEVELS, SyntheticConfig, discover_cases, write_synthetic_dataset
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.tangent import to_tangent
from hypseg.metrics import matched_dice
from hypseg.training import Trainer


def features(model, volume: np.ndarray) -> dict[str, np.ndarray]:
    """Name -> (voxels, columns) of one volume."""
    e5, e10 = (to_tangent(embed_volume_multiscale(model, volume, patch_sizes=(p,))) for p in (5, 10))
    boxes = box_means(volume, (5, 10))
    surround = {side: np.stack([ndimage.uniform_filter(e5[..., j], side, mode="nearest") for j in range(e5.shape[-1])], -1)
                for side in (10, 15)}
    found = {"embedding p=5": e5, "embedding p=10": e10, "embedding p=5 - p=10": e5 - e10,
             **{f"embedding p=5 - its box mean over {side}": e5 - s for side, s in surround.items()},
             "box mean p=5 - p=10": boxes[..., :1] - boxes[..., 1:],
             "band-pass 1-4": (ndimage.gaussian_filter(volume, 1) - ndimage.gaussian_filter(volume, 4))[..., None]}
    return {name: f.reshape(-1, f.shape[-1]) for name, f in found.items()}


def trained_on_crowded(seed: int, tmp: Path):
    """A ``cpu``-recipe model of training seed ``seed`` trained on the crowded set's 80 training volumes (generator seed
    0, written under ``tmp``), its 20 validation volumes (normalised) and their truths per level."""
    config = cpu_recipe()
    write_synthetic_dataset(tmp / "set", n=120, seed=0, kind="crowded", config=SyntheticConfig())
    cases = discover_cases([tmp / "set"])
    val, truths = split_volumes(cases, "val", CROWDED_LEVELS, brighten=0, blur=0, noise=0, config=config.data)
    train, _ = split_volumes(cases, "train", {1: 2}, brighten=0, blur=0, noise=0, config=config.data)
    run = dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed))
    return Trainer(run, train, run_dir=tmp / "run", progress=False).fit().model, val, truths


def probe_on_crowded(doc: str):
    """A crowded-set probe's command line (``--seed``, the training seed) and what it probes: the parsed arguments, the
    model trained on the crowded set (:func:`trained_on_crowded`), its validation volumes and their truths."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="training seed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        return (args, *trained_on_crowded(args.seed, Path(tmp)))


def main() -> None:
    args, model, val, truths = probe_on_crowded(__doc__)
    scores: dict = {}
    for volume, truth in zip(val, truths):
        for name, x in features(model, volume).items():
            x = (x - x.mean(0)) / (x.std(0) + 1e-12)
            for level, k in CROWDED_LEVELS.items():
                for clusterer in ("kmeans", "tied mixture"):
                    fit = (KMeans(k, n_init=3, random_state=0) if clusterer == "kmeans"
                           else TiedGaussianMixture(k, random_state=0)).fit(x[::5])
                    found = fit.predict(x).reshape(volume.shape)
                    scores.setdefault((name, clusterer), {}).setdefault(level, []).append(matched_dice(found, truth[level]).mean)
    for (name, clusterer), found in scores.items():
        print(json.dumps({"seed": args.seed, "feature": name, "clusterer": clusterer,
                          "dice": [round(float(np.mean(found[level])), 3) for level in CROWDED_LEVELS]}), flush=True)


if __name__ == "__main__":
    main()
