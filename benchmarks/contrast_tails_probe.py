"""Which component of local contrast's mixture is the particles: rules compared on the crowded set's validation volumes.

Trains one ``cpu``-recipe model (``--seed``) on the crowded set's training volumes (:func:`benchmarks.crowded_probe.
trained_on_crowded`; never the test split) and, for each of its 20 validation volumes, fits tied Gaussian mixtures of
two and three components to the p = 5 embedding minus the p = 10 (the tangent space; fitted on 50,000 voxels, as the
recipe fits them, :func:`hypseg.inference.recipe.contrast_split`). Each rule names one component the object, scored
by its DICE against the volume's particles (level 1's truth):

- ``two, smaller``: two components, the smaller (the rule before three components);
- ``three, smaller``: three components, the smallest;
- ``three, strongest mean``: three components; of the two besides the largest, the one whose voxels' mean local
  intensity contrast (:func:`hypseg.inference.recipe.local_contrast` at sides 5 and 10) is farther from zero (the
  rule of :func:`hypseg.inference.recipe.contrast_object`);
- ``three, strongest sum``: the same with the contrast summed over the component's voxels;
- ``three, strongest mean x sqrt(count)``: the same with the mean times the square root of the voxel count (how surely
  the mean departs from zero);
- ``three, best``: the better of the two, as if a label told (the ceiling of any rule).

Prints one JSON line per volume and one with the means::

    python -m benchmarks.contrast_tails_probe --seed 0
"""

from __future__ import annotations

import json

import numpy as np

from benchmarks.crowded_probe import probe_on_crowded
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.recipe import cluster_sums, contrast_split, local_contrast
from hypseg.inference.tangent import to_tangent


def dice(found: np.ndarray, truth: np.ndarray) -> float:
    """2|A n B| / (|A| + |B|) of two boolean maps (0 where both are empty)."""
    total = found.sum() + truth.sum()
    return 0.0 if total == 0 else float(2.0 * (found & truth).sum() / total)


def picks(model, volume: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Rule name -> the object (bool map) it picks in ``volume``; and the three-component labels."""
    e5, e10 = (to_tangent(embed_volume_multiscale(model, volume, patch_sizes=(p,))) for p in (5, 10))
    contrast = local_contrast(volume, (5, 10))
    two = contrast_split(e5 - e10, components=2, subsample=50_000, n_init=3, seed=0)
    three = contrast_split(e5 - e10, components=3, subsample=50_000, n_init=3, seed=0)
    totals, counts = cluster_sums(contrast[..., None], three, 3).T
    tails = [j for j in range(3) if j != int(np.argmax(counts)) and counts[j] > 0]
    means = {j: abs(totals[j]) / counts[j] for j in tails}
    found = {"two, smaller": two == np.argmin(np.bincount(two.ravel(), minlength=2)),
             "three, smaller": three == min(tails, key=lambda j: counts[j]),
             "three, strongest mean": three == max(tails, key=lambda j: means[j]),
             "three, strongest sum": three == max(tails, key=lambda j: abs(totals[j])),
             "three, strongest mean x sqrt(count)": three == max(tails, key=lambda j: means[j] * np.sqrt(counts[j]))}
    return found, three


def main() -> None:
    args, model, val, truths = probe_on_crowded(__doc__)
    scores: dict[str, list[float]] = {}
    for i, (volume, truth) in enumerate(zip(val, truths)):
        particles = truth[1] > 0
        found, three = picks(model, volume)
        row = {name: dice(obj, particles) for name, obj in found.items()}
        row["three, best"] = max(dice(three == j, particles) for j in range(3))
        for name, value in row.items():
            scores.setdefault(name, []).append(value)
        print(json.dumps({"seed": args.seed, "volume": i, "particle_dice": {k: round(v, 3) for k, v in row.items()},
                          "three_shares": np.round(np.bincount(three.ravel(), minlength=3) / three.size, 3).tolist()}),
              flush=True)
    print(json.dumps({"seed": args.seed, "mean_particle_dice": {k: round(float(np.mean(v)), 3) for k, v in scores.items()}}),
          flush=True)


if __name__ == "__main__":
    main()
