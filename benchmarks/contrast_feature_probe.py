"""Which particles local contrast's object holds, by kind, when its mixture is fitted on the embedding or on intensity.

On the crowded set's validation volumes, local contrast fitted on the volume's local intensity contrast finds more
particle voxels than fitted on the embedding's, and fewer particle centres (``SegmentConfig.contrast_feature``). The
crowded generator draws two kinds of particle (:mod:`hypseg.data.crowded`): 18-36 large ones of radius about 3 and
45-90 small ones of radius about 1.8, so the large hold most particle voxels and the small most particles. This probe
measures, per kind, the share of the particles' centres inside each object. It trains one ``cpu``-recipe model
(``--seed``) on the crowded set's training volumes (:func:`benchmarks.crowded_probe.trained_on_crowded`; never the
test split) and, for each of its 20 validation volumes, fits the recipe's three-component tied mixture
(:func:`benchmarks.contrast_grow_probe.mixture`, as :func:`hypseg.inference.recipe.contrast_split` fits it) to

- ``embedding``: the p = 5 embedding minus the p = 10 (the tangent space), the default's;
- ``intensity``: the volume's box mean at p = 5 minus at p = 10 (:func:`hypseg.inference.recipe.local_contrast`);
- ``intensity 3,10``: its box mean at p = 3 minus at p = 10, a finer box that dilutes a small particle less;
- ``band-pass``: the volume smoothed by a Gaussian of 1 voxel minus by one of 4 (:func:`scipy.ndimage.gaussian_filter`);

and names the object as the recipe does (:func:`hypseg.inference.recipe.contrast_object`, each voxel in its most
probable component; no refinement, growth or hole filling). Per kind (level 2 of the truth: 1 large, 2 small) the
centres are each connected particle's deepest voxel (:func:`benchmarks.quality.particle_centres`). Prints one JSON
line per volume and one with the means over the volumes::

    python -m benchmarks.contrast_feature_probe --seed 0
"""

from __future__ import annotations

import json

import numpy as np

from benchmarks.contrast_grow_probe import mixture, objects
from benchmarks.crowded_probe import probe_on_crowded
from benchmarks.quality import particle_centres
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.recipe import local_contrast
from hypseg.inference.tangent import to_tangent

#: level 2's label of each kind of particle (:data:`hypseg.data.crowded.CROWDED_CLASSES`)
KINDS = {"large": 1, "small": 2}


def feature_objects(model, volume: np.ndarray) -> dict[str, np.ndarray]:
    """Feature name -> the object (bool map) that local contrast's mixture on it names in ``volume``."""
    e5, e10 = (to_tangent(embed_volume_multiscale(model, volume, patch_sizes=(p,))) for p in (5, 10))
    from scipy import ndimage

    contrast = local_contrast(volume, (5, 10))
    smooth = [ndimage.gaussian_filter(np.asarray(volume, dtype=np.float64), s, mode="nearest") for s in (1.0, 4.0)]
    intensities = (("intensity", contrast), ("intensity 3,10", local_contrast(volume, (3, 10))), ("band-pass", smooth[0] - smooth[1]))
    features = [("embedding", e5 - e10), *((name, x[..., None].astype(np.float32)) for name, x in intensities)]  # as the recipe
    return {name: objects(mixture(points, 3)[0], contrast, 3)[0] for name, points in features}


def kind_shares(obj: np.ndarray, level2: np.ndarray) -> dict[str, float]:
    """Per kind of particle, the share of its centres inside ``obj`` (NaN where the volume has none), the centres'
    count, and the object's share of the volume."""
    out = {"share": float(obj.mean())}
    for kind, label in KINDS.items():
        centres = particle_centres(level2 == label)
        out[f"{kind}_centres"] = len(centres)
        out[f"{kind}_inside"] = float(obj[tuple(centres.T)].mean()) if len(centres) else float("nan")
    return out


def main() -> None:
    args, model, val, truths = probe_on_crowded(__doc__)
    rows: dict[str, list[dict[str, float]]] = {}
    for i, (volume, truth) in enumerate(zip(val, truths)):
        found = {name: kind_shares(obj, truth[2]) for name, obj in feature_objects(model, volume).items()}
        for name, row in found.items():
            rows.setdefault(name, []).append(row)
        print(json.dumps({"seed": args.seed, "volume": i,
                          "features": {n: {k: round(v, 3) for k, v in r.items()} for n, r in found.items()}}), flush=True)
    print(json.dumps({"seed": args.seed, "means": {n: {k: round(float(np.nanmean([r[k] for r in found])), 3) for k in found[0]}
                                                   for n, found in rows.items()}}), flush=True)


if __name__ == "__main__":
    main()
