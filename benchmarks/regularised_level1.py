"""Does a spatially regularised two-phase split carry level 1 where k-means on intensity does not?

Level 1 of the regular set is a split of (smoothed) intensity for every method, and its errors on the
low-contrast volumes are whole regions, not boundaries (docs/research.md, "What limits it"). A split that
penalises the boundary's area, as the two-phase piecewise-constant Mumford-Shah model (Chan-Vese) does,
prefers one compact region to the pink noise's blobs, so it could find a cell that k-means on the
supervoxels' intensity misses. This probe measures that, and the same for a texture map, on the 20
validation volumes of ``hypseg synth --seed 0`` (never the test split), with no model (the learned
embedding's supervoxel means follow intensity with a correlation of 0.96-0.99, so a split of the
embedding would fare as intensity's). Per volume, every split's object is the recipe's (the cluster on
fewer of the volume's faces, holes filled, :func:`hypseg.inference.hierarchy.level1_object`; the oracles
take either side) and is scored by its DICE with the true cell (the object's, not the two-class matched
DICE of the quality tables):

- ``kmeans``: 2-means on the mean intensity of SLIC supervoxels of 500 voxels, weighted by their
  voxels (the recipe's level 1 on intensity, the reference);
- ``chan-vese mS``: scikit-image's morphological Chan-Vese on the image smoothed by a Gaussian of
  sigma 2, ``smoothing`` S (the boundary's regularisation: S passes of the curvature operator per
  iteration), 60 iterations, started from the ``kmeans`` split;
- ``threshold oracle``: the best DICE over one threshold per percentile (1-99) of the same
  smoothed image, either side taken as the object, holes filled: a bound, chosen with the truth,
  for any threshold of that image (not for splits of other statistics, e.g. supervoxel means);
- ``texture kmeans``, ``texture chan-vese m1``, ``texture oracle``: the same on a texture map, the log
  of the squared high-pass image (the image minus its Gaussian smoothing of sigma 1) smoothed by a
  Gaussian of sigma 4 (voxel k-means on it);
- ``auc intensity``, ``auc texture``: how well each map separates cell from background voxel by voxel,
  given the labels (ROC AUC, folded to at least 0.5).

    python -m benchmarks.regularised_level1 --out benchmarks/results/regularised_level1.md   # ~5 min, 1 core
    python -m benchmarks.regularised_level1 --pairs benchmarks/results/regularised_level1.md # paired intervals
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
from skimage.segmentation import morphological_chan_vese

from benchmarks.intensity_ceiling import percentile_cuts
from benchmarks.texture_probe import LOW_CONTRAST
from hypseg.data.readers import discover_cases
from hypseg.data.supervoxels import supervoxels
from hypseg.data.synthetic_dataset import write_synthetic_dataset
from hypseg.inference.hierarchy import level1_object
from hypseg.io import load_labels, load_volume

SMOOTH_SIGMA = 2.0  # the intensity the Chan-Vese rows and the oracle split
HIGH_PASS_SIGMA, ENERGY_SIGMA = 1.0, 4.0  # the texture map
SMOOTHINGS = (1, 2)  # Chan-Vese's boundary regularisation on intensity
ITERATIONS = 60


def dice(found: np.ndarray, truth: np.ndarray) -> float:
    return float(2 * np.sum(found & truth) / max(found.sum() + truth.sum(), 1))


def texture_map(image: np.ndarray) -> np.ndarray:
    """Log local high-pass energy: (image - G_1 * image)^2 smoothed by G_4, logged."""
    high = image - ndimage.gaussian_filter(image, HIGH_PASS_SIGMA)
    return np.log(ndimage.gaussian_filter(high ** 2, ENERGY_SIGMA))


def chan_vese_dice(image: np.ndarray, start: np.ndarray, smoothing: int, truth: np.ndarray) -> float:
    """DICE of the recipe's object of a morphological Chan-Vese split of ``image`` started from ``start``."""
    phases = morphological_chan_vese(image, num_iter=ITERATIONS, init_level_set=start.astype(np.int8),
                                     smoothing=smoothing)
    return dice(level1_object(phases), truth) if np.unique(phases).size == 2 else 0.0


def oracle_dice(image: np.ndarray, truth: np.ndarray) -> float:
    """The best DICE of ``image > t`` or ``image < t``, holes filled, over one threshold per percentile."""
    best = 0.0
    for t in percentile_cuts(image):
        for side in (image > t, image < t):
            best = max(best, dice(ndimage.binary_fill_holes(side), truth))
    return best


def folded_auc(values: np.ndarray, truth: np.ndarray) -> float:
    auc = roc_auc_score(truth.ravel(), values.ravel())
    return float(max(auc, 1 - auc))


def probe_volume(image: np.ndarray, truth: np.ndarray) -> dict:
    """One row of scores for a z-scored volume and its true cell."""
    segments = supervoxels(image, size=500)
    n = int(segments.max()) + 1
    counts = np.bincount(segments.ravel(), minlength=n)
    means = np.bincount(segments.ravel(), image.ravel(), n) / counts
    fit = KMeans(2, n_init=10, random_state=0).fit(means[:, None], sample_weight=counts)
    start = fit.labels_[segments]
    row = {"kmeans": dice(level1_object(start), truth)}
    smooth = ndimage.gaussian_filter(image, SMOOTH_SIGMA)
    for smoothing in SMOOTHINGS:
        row[f"chan-vese m{smoothing}"] = chan_vese_dice(smooth, start, smoothing, truth)
    row["threshold oracle"] = oracle_dice(smooth, truth)
    texture = texture_map(image)
    sample = texture.reshape(-1, 1)[::7]  # k-means on a seventh of the voxels, then every voxel labelled
    labels = KMeans(2, n_init=4, random_state=0).fit(sample).predict(texture.reshape(-1, 1)).reshape(texture.shape)
    row["texture kmeans"] = dice(level1_object(labels), truth)
    row["texture chan-vese m1"] = chan_vese_dice(texture, labels, 1, truth)
    row["texture oracle"] = oracle_dice(texture, truth)
    row["auc intensity"] = folded_auc(smooth, truth)
    row["auc texture"] = folded_auc(texture, truth)
    return row


def probe(root: Path) -> list[dict]:
    rows = []
    for case in (c for c in discover_cases([root]) if c.split == "val"):
        image = np.asarray(load_volume(case.image).array, dtype=np.float32)
        image = (image - image.mean()) / image.std()
        truth = load_labels(case.truth["1"]) > 0
        background = image[~truth]
        row = {"volume": case.name,
               "contrast": float(abs(image[truth].mean() - background.mean()) / background.std()),
               **probe_volume(image, truth)}
        rows.append(row)
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}), flush=True)
    return rows


def summary(rows: list[dict]) -> list[str]:
    """A Markdown table of the means over all volumes and over the low-contrast ones."""
    keys = [k for k in rows[0] if k not in ("volume", "contrast")]
    lines = ["| volumes | n | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    groups = {"all": rows, f"contrast < {LOW_CONTRAST:g}": [r for r in rows if r["contrast"] < LOW_CONTRAST],
              f"contrast >= {LOW_CONTRAST:g}": [r for r in rows if r["contrast"] >= LOW_CONTRAST]}
    for name, group in groups.items():
        lines.append(f"| {name} | {len(group)} | " + " | ".join(f"{np.mean([r[k] for r in group]):.3f}" for k in keys) + " |")
    return lines


def pairs(rows: list[dict], *, reference: str = "kmeans") -> list[str]:
    """Each split minus ``reference``, volume by volume: the mean and its paired 95% interval, per contrast group."""
    from benchmarks.validation_pairs import paired_interval

    keys = [k for k in rows[0] if k not in ("volume", "contrast", reference) and not k.startswith("auc")
            and "oracle" not in k]
    groups = {"all": rows, f"contrast < {LOW_CONTRAST:g}": [r for r in rows if r["contrast"] < LOW_CONTRAST],
              f"contrast >= {LOW_CONTRAST:g}": [r for r in rows if r["contrast"] >= LOW_CONTRAST]}
    lines = []
    for key in keys:
        for name, group in groups.items():
            a, b = np.array([r[key] for r in group]), np.array([r[reference] for r in group])
            lo, hi = paired_interval(a, b)
            lines.append(f"{key} minus {reference}, {name} ({len(group)}): {np.mean(a - b):+.3f} [{lo:+.3f}, {hi:+.3f}]")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="also write the rows and the table to this Markdown file")
    parser.add_argument("--pairs", type=Path, metavar="FILE", help="only print each split minus k-means with its paired "
                        "interval, from the rows of a file --out wrote")
    args = parser.parse_args(argv)
    if args.pairs:
        rows = [json.loads(line) for line in args.pairs.read_text().splitlines() if line.startswith("{")]
        print("\n".join(pairs(rows)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp) / "set", n=120, seed=0, kind="regular")
        rows = probe(Path(tmp) / "set")
    table = summary(rows)
    print("\n".join(table))
    if args.out:
        body = "\n".join(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}) for r in rows)
        args.out.write_text(
            "# Level 1 by a spatially regularised split (Chan-Vese) and by a texture map\n\n"
            "Regular set, its 20 validation volumes (never the test split); no model. Every object of a split is the recipe's "
            "(the cluster on fewer faces, holes filled); the oracles take either side, holes filled; each is scored by "
            "its DICE with the true cell (not the two-class matched DICE of the quality tables). Columns: see the module "
            "docstring of `benchmarks/regularised_level1.py`.\n\n"
            "Command (about 5 minutes on one core): `OMP_NUM_THREADS=1 python -m benchmarks.regularised_level1 "
            "--out benchmarks/results/regularised_level1.md`\n\n```\n" + body + "\n```\n\n" + "\n".join(table) + "\n")


if __name__ == "__main__":
    main()
