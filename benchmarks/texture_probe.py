"""Is there texture for an unsupervised level 1 to use? A label-free probe of the regular set's validation volumes.

The synthetic generator gives every instance (background, cell, organelles) its own texture: white
noise smoothed over 0.7-2 voxels, of standard deviation 0.1-0.3, under a pink noise of 0.25 over the
whole volume. An embedding that carried texture beside intensity could, in principle, separate a cell
from a background of the same mean intensity. This probe measures how much such a feature could give,
with hand-made statistics instead of a learned code, on the 20 validation volumes of ``hypseg synth
--seed 0`` (never the test split). For each SLIC supervoxel of 500 voxels (the recipe's) it takes

- its mean intensity (what the learned embedding carries today), and
- its high-pass energy: the log mean square of the image minus its Gaussian smoothing of ``sigma``
  voxels (the texture; 1 voxel by default, ``--sigma`` to change),

and reports per volume

- the separability of the true cell and background by each feature, with labels: the area under
  the ROC curve of the supervoxels (each labelled by its majority, weighted by its voxels; 0.5 is
  none, 1 is complete, whichever side is higher);
- the level-1 DICE without labels, as the recipe scores it: 2-cluster k-means on the supervoxels
  (weighted by voxels; features z-scored), the object being the cluster on fewer faces, holes filled,
  for intensity alone, texture alone and both.

    python -m benchmarks.texture_probe            # about 2 minutes on one core
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage
from sklearn.cluster import KMeans
from sklearn.metrics import roc_auc_score

from benchmarks.beyond_intensity import zscored
from hypseg.data.readers import discover_cases
from hypseg.data.supervoxels import supervoxels
from hypseg.data.synthetic_dataset import write_synthetic_dataset
from hypseg.inference.hierarchy import level1_object
from hypseg.io import load_labels, load_volume

#: Contrast (|cell mean - background mean| / background std) below which a volume counts as low-contrast.
LOW_CONTRAST = 2.0


def supervoxel_features(image: np.ndarray, segments: np.ndarray, sigma: float, *, median: bool = False
                        ) -> tuple[np.ndarray, np.ndarray]:
    """(S, 2) mean intensity and log high-pass energy per supervoxel, and (S,) voxel counts. With ``median``, the
    energy is the median of the squared high-pass image over the supervoxel instead of its mean, so that the few
    voxels on an edge inside a supervoxel do not decide it."""
    n = int(segments.max()) + 1
    flat = segments.ravel()
    counts = np.bincount(flat, minlength=n).astype(float)
    high = image - ndimage.gaussian_filter(image, sigma)
    mean = np.bincount(flat, image.ravel(), n) / counts
    if median:
        energy = ndimage.median(high ** 2, labels=segments + 1, index=np.arange(1, n + 1))
    else:
        energy = np.bincount(flat, (high ** 2).ravel(), n) / counts
    return np.stack([mean, np.log(energy)], axis=1), counts


def level1_dice(features: np.ndarray, counts: np.ndarray, segments: np.ndarray, truth: np.ndarray) -> float:
    """DICE of the object of a 2-cluster weighted k-means of z-scored supervoxel features."""
    fit = KMeans(2, n_init=10, random_state=0).fit(zscored(features, counts), sample_weight=counts)
    found = level1_object(fit.labels_[segments])
    return float(2 * np.sum(found & truth) / (found.sum() + truth.sum()))


def separability(feature: np.ndarray, counts: np.ndarray, inside: np.ndarray) -> float:
    """Weighted ROC AUC of one feature for the supervoxels' majority labels, folded to >= 0.5."""
    auc = roc_auc_score(inside, feature, sample_weight=counts)
    return float(max(auc, 1 - auc))


def probe(root: Path, sigma: float, *, median: bool = False) -> list[dict]:
    """One row per validation volume of the set at ``root``."""
    rows = []
    for case in (c for c in discover_cases([root]) if c.split == "val"):
        image = np.asarray(load_volume(case.image).array, dtype=np.float32)
        image = (image - image.mean()) / image.std()
        truth = load_labels(case.truth["1"]) > 0
        segments = supervoxels(image, size=500)
        features, counts = supervoxel_features(image, segments, sigma, median=median)
        inside = np.bincount(segments.ravel(), truth.ravel(), len(counts)) / counts > 0.5
        background = image[~truth]
        row = {"volume": case.name, "contrast": float(abs(image[truth].mean() - background.mean()) / background.std())}
        for name, columns in {"intensity": [0], "texture": [1], "both": [0, 1]}.items():
            if len(columns) == 1 and inside.any() and not inside.all():
                row[f"auc {name}"] = separability(features[:, columns[0]], counts, inside)
            row[f"dice {name}"] = level1_dice(features[:, columns], counts, segments, truth)
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sigma", type=float, default=1.0, help="Gaussian sigma of the high-pass filter (voxels)")
    parser.add_argument("--median", action="store_true", help="the energy as the supervoxel's median squared high-pass "
                        "value instead of its mean (robust to the edges a supervoxel holds)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp) / "set", n=120, seed=0, kind="regular")
        rows = probe(Path(tmp) / "set", args.sigma, median=args.median)
    groups = {"all": rows, f"contrast < {LOW_CONTRAST:g}": [r for r in rows if r["contrast"] < LOW_CONTRAST]}
    print(f"| volumes | n | AUC intensity | AUC texture | DICE intensity | DICE texture | DICE both |  (sigma {args.sigma:g}{', median' if args.median else ''})")
    print("|---|---|---|---|---|---|---|")
    for name, group in groups.items():
        cells = [np.mean([r[key] for r in group if key in r]) for key in
                 ("auc intensity", "auc texture", "dice intensity", "dice texture", "dice both")]
        print(f"| {name} | {len(group)} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
