"""How large local contrast's object should be: rules that grow it, compared on the crowded set's validation volumes.

The tomogram's score takes the cluster holding most particle positions, so a particle map that is precise but holds
fewer than half of the particles loses it to the specimen's bulk. This probe asks, on validation only, which rule for
level 1's object holds more of the particles without giving up its precision. It trains one ``cpu``-recipe model
(``--seed``) on the crowded set's training volumes (:func:`benchmarks.crowded_probe.trained_on_crowded`; never the
test split) and, for each of its 20 validation volumes, fits tied Gaussian mixtures
(:class:`hypseg.clustering.TiedGaussianMixture`, on 50,000 voxels drawn with seed 0, 3 restarts, fitted as
:func:`hypseg.inference.recipe.contrast_split` fits them, the same subsample) of two and three components to the p = 5 embedding minus the p = 10 (the tangent space). Each rule names the
object:

- ``three, posterior``: three components, each voxel in its most probable one; of the two besides the largest the
  one whose voxels' mean local intensity contrast (:func:`hypseg.inference.recipe.local_contrast`, sides 5 and 10)
  is farthest from zero, among those holding a thousandth of the volume (the recipe's rule,
  :func:`hypseg.inference.recipe.contrast_object`; none: an empty object);
- ``three, posterior, tails of its sign``: the same, with the other tail too where its mean contrast has the object's
  sign;
- ``three, likelihood``: as ``three, posterior`` with each voxel in its most likely component, the mixing weights
  left out (a rare component's boundary then lies where its density equals the bulk's);
- ``three, likelihood, tails of its sign``;
- ``three, posterior, dilated`` and ``three, likelihood, dilated``: those objects grown by one voxel (six neighbours);
- ``three, posterior, dilated into its sign``: grown by one voxel into the neighbours whose local intensity contrast has
  the sign of the object's mean (a particle's rim, not the specimen beside it);
- ``two, posterior`` and ``two, likelihood``: two components, the smaller.

Scored per volume, as the tomogram is (:func:`benchmarks.real_data.particle_concentration`): the F1 of the cluster
(the object or the rest) holding most particle voxels (``voxel_f1``) and of the one holding most particle centres
(``centre_f1``: each connected particle's voxel deepest inside it, the tomogram's positions; precision the share of
the cluster's voxels that are particle voxels), the object's DICE against the particles, the share of the centres
inside the object and the object's share of the volume. Prints one JSON line per volume and one with the means::

    python -m benchmarks.contrast_grow_probe --seed 0
"""

from __future__ import annotations

import json
import warnings

import numpy as np
from scipy import ndimage

from benchmarks.contrast_tails_probe import dice
from benchmarks.crowded_probe import probe_on_crowded
from benchmarks.quality import particle_centres
from benchmarks.real_data import particle_concentration
from hypseg.clustering import EmptyClusterWarning
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.recipe import cluster_sums, contrast_object, local_contrast
from hypseg.inference.segment import fit_parts
from hypseg.inference.tangent import to_tangent

SUBSAMPLE = 50_000


def mixture(points: np.ndarray, components: int) -> tuple[np.ndarray, np.ndarray]:
    """Each voxel's most probable and most likely component of one tied mixture, fitted as
    :func:`hypseg.inference.recipe.contrast_split` fits it (:func:`hypseg.inference.segment.fit_parts`, the same
    subsample), so that the posterior's map is the recipe's."""
    flat = points.reshape(-1, points.shape[-1]).astype(np.float64)
    with warnings.catch_warnings():  # no contrast at all: a component stays empty
        warnings.simplefilter("ignore", EmptyClusterWarning)
        fit = fit_parts([(flat, None)], [components], pooled=False, subsample=SUBSAMPLE, random_state=0, hyperbolic=False,
                        n_init=3, clusterer="tied-mixture")[0][0].models[0]
    probable = fit.predict(flat)
    likely = fit.set_params(likeliest=True).predict(flat)  # the same mixture, each voxel in its likeliest component
    return probable.reshape(points.shape[:-1]), likely.reshape(points.shape[:-1])


def objects(found: np.ndarray, contrast: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The object of ``found``'s k components as the recipe names it (:func:`hypseg.inference.recipe.contrast_object`;
    none: an empty map) and the same with every other tail whose mean contrast has its sign."""
    sums = cluster_sums(contrast[..., None], found, k)
    merge = contrast_object(sums)
    if merge is None:
        return np.zeros(found.shape, dtype=bool), np.zeros(found.shape, dtype=bool)
    means = sums[:, 0] / np.maximum(sums[:, 1], 1.0)
    best, bulk = int(np.argmax(merge)), int(np.argmax(sums[:, 1]))
    same = [j for j in range(k) if j != bulk and sums[j, 1] > 0 and np.sign(means[j]) == np.sign(means[best])]
    return found == best, np.isin(found, same)


def rules(model, volume: np.ndarray) -> dict[str, np.ndarray]:
    """Rule name -> the object (bool map) it names in ``volume``."""
    e5, e10 = (to_tangent(embed_volume_multiscale(model, volume, patch_sizes=(p,))) for p in (5, 10))
    contrast = local_contrast(volume, (5, 10))
    post3, like3 = mixture(e5 - e10, 3)
    post2, like2 = mixture(e5 - e10, 2)
    out = {}
    for name, found in (("posterior", post3), ("likelihood", like3)):
        out[f"three, {name}"], out[f"three, {name}, tails of its sign"] = objects(found, contrast, 3)
    for name in ("posterior", "likelihood"):
        out[f"three, {name}, dilated"] = ndimage.binary_dilation(out[f"three, {name}"])
    sign = np.sign(contrast[out["three, posterior"]].mean()) if out["three, posterior"].any() else 0.0
    out["three, posterior, dilated into its sign"] = out["three, posterior"] | (
        out["three, posterior, dilated"] & (np.sign(contrast) == sign))
    for name, found in (("posterior", post2), ("likelihood", like2)):
        out[f"two, {name}"] = objects(found, contrast, 2)[0]
    return out


def main() -> None:
    args, model, val, truths = probe_on_crowded(__doc__)
    means: dict[str, dict[str, list[float]]] = {}
    for i, (volume, truth) in enumerate(zip(val, truths)):
        particles = truth[1] > 0
        points = particle_centres(particles)
        row = {}
        for name, obj in rules(model, volume).items():
            labels = obj.astype(np.int32)
            row[name] = {"voxel_f1": particle_concentration(labels, np.argwhere(particles), particles).f1,
                         "centre_f1": particle_concentration(labels, points, particles).f1,
                         "dice": dice(obj, particles),
                         "centres_inside": float(obj[tuple(points.T)].mean()) if len(points) else 0.0,
                         "share": float(obj.mean())}
            for key, value in row[name].items():
                means.setdefault(name, {}).setdefault(key, []).append(value)
        print(json.dumps({"seed": args.seed, "volume": i,
                          "rules": {n: {k: round(v, 3) for k, v in r.items()} for n, r in row.items()}}), flush=True)
    print(json.dumps({"seed": args.seed, "means": {n: {k: round(float(np.mean(v)), 3) for k, v in r.items()}
                                                   for n, r in means.items()}}), flush=True)


if __name__ == "__main__":
    main()
