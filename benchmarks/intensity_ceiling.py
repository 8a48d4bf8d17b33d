"""What an oracle on intensity could reach on the regular test split: the ceiling of appearance-only methods.

For each test volume of the 120-volume set (seed 0, volumes 100-119) the instances (background, cell,
organelles) are sorted by their true, noise-free mean intensity, and every partition of that order into
k contiguous runs (k - 1 thresholds) is scored with the paper's protocol (Hungarian-matched mean DICE,
background included). The best partition is what a method could reach if it knew every instance's exact
intensity and the best thresholds: a ceiling for any clustering of (denoised) intensity.

That oracle ignores the noise: it separates two instances whose means differ by 0.01, though the pink
noise (standard deviation 0.25, most of its power at low frequencies) shifts whole regions by more.
A second, voxel-level oracle for level 1 sees what a method sees: the image itself, smoothed by a
Gaussian of sigma 0, 1, 2 or 4 voxels, cut by the one threshold (chosen with the truth, among every
voxel value) that scores best; the best sigma per volume is kept. It bounds every two-cluster split of
smoothed intensity as it stands. The level-1 rows of the quality tables, though, fill the holes of their object
(the recipe's containment), which mends the organelles a threshold cuts out of the cell; so another oracle scores
the same thresholds' objects as the recipe makes them (the side on fewer of the volume's faces, every enclosed
hole filled, :func:`hypseg.inference.hierarchy.level1_object`), the threshold (one per percentile of the
smoothed image, :func:`percentile_cuts`) and the sigma again chosen with the truth per volume. It bounds what a two-cluster split of
smoothed intensity reaches under the recipe's containment.

A third oracle for level 1 is supervised and sees more than intensity: every filter-bank feature
(:func:`hypseg.baselines.filter_bank.filter_bank_features`, all five kinds at sigmas 0.5-8: smoothed
intensity, local standard deviation, gradient, LoG and Hessian eigenvalues, 35 columns) feeds a
gradient-boosted classifier (scikit-learn's ``HistGradientBoostingClassifier``) trained on the volume's own
level-1 truth in one half of the volume (z < 25, then z >= 25; 20,000 voxels drawn from that half) and
predicting the other half; the two halves' predictions make one map, whose holes are filled as the recipe's
containment does. It bounds, in practice, what any method reading local appearance (texture and
context up to a few voxels) could reach, with labels.

    python -m benchmarks.intensity_ceiling               # about 5 minutes on one core
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from sklearn.ensemble import HistGradientBoostingClassifier

from benchmarks.quality import LEVEL1_GOAL
from hypseg.baselines.filter_bank import FEATURE_KINDS, filter_bank_features
from hypseg.data.synthetic_config import SyntheticConfig
from hypseg.data import generate_volume
from hypseg.inference.hierarchy import level1_object
from hypseg.metrics import matched_dice, overlap_scores

LEVELS = ((1, 2), (2, 4), (3, 8))
SIGMAS = (0.0, 1.0, 2.0, 4.0)
FEATURE_SIGMAS = (0.5, 1.0, 2.0, 4.0, 8.0)  # the supervised oracle's filter bank
TRAIN_VOXELS = 20_000  # drawn from the training half
NOISE_STD = SyntheticConfig().noise_std  # the generator's pink noise


def best_threshold_dice(intensities: np.ndarray, instances: np.ndarray, labels: np.ndarray, k: int) -> float:
    """The best matched mean DICE of k intensity intervals over the instances (per-instance counts)."""
    order = np.argsort(intensities)
    classes = int(labels.max()) + 1
    counts = np.zeros((len(intensities), classes))
    np.add.at(counts, (instances.ravel(), labels.ravel()), 1)
    cumulative = np.vstack([np.zeros(classes), np.cumsum(counts[order], axis=0)])
    n, best = len(intensities), 0.0
    for cuts in itertools.combinations(range(1, n), min(k, n) - 1):
        dice = overlap_scores(np.diff(cumulative[[0, *cuts, n]], axis=0))  # clusters x classes
        rows, cols = linear_sum_assignment(-dice)
        best = max(best, float(dice[rows, cols].sum() / classes))
    return best


def best_voxel_threshold_dice(image: np.ndarray, cell: np.ndarray) -> float:
    """The best matched mean DICE (two classes) of ``image > t`` over every threshold t (voxel values)."""
    order = np.argsort(image, axis=None)
    values = image.ravel()[order]
    inside = cell.ravel()[order].astype(np.int64)
    n, n_cell = inside.size, int(inside.sum())
    below_cell = np.cumsum(inside)[:-1]  # cuts after voxel i (both sides non-empty)
    below = np.arange(1, n)
    below_bg = below - below_cell
    above_cell, above_bg = n_cell - below_cell, (n - n_cell) - below_bg
    n_bg, above = n - n_cell, n - below
    # the cell matched to the bright side (background to the dark one), or the reverse
    bright = (2 * above_cell / (above + n_cell) + 2 * below_bg / (below + n_bg)) / 2
    dark = (2 * below_cell / (below + n_cell) + 2 * above_bg / (above + n_bg)) / 2
    cut = values[1:] > values[:-1]  # a threshold cannot split equal values
    return float(max(bright[cut].max(), dark[cut].max()))


def percentile_cuts(image: np.ndarray) -> np.ndarray:
    """Thresholds that leave 1%, 2%, ..., 99% of the voxels at or below them: each halfway between the two
    sorted values it separates (equal values are not split, so a cut may leave a few more)."""
    values = np.sort(image, axis=None)
    at = np.round(np.arange(1, 100) / 100 * values.size).astype(int)
    return np.unique((values[at - 1] + values[at]) / 2)


def best_contained_threshold_dice(image: np.ndarray, cell: np.ndarray) -> float:
    """The best matched mean DICE (two classes) of the recipe's object of ``image > t`` over :func:`percentile_cuts`."""
    truth = cell.astype(np.int64)
    best = 0.0
    for t in percentile_cuts(image):
        split = image > t
        if split.all() or not split.any():
            continue
        best = max(best, float(matched_dice(level1_object(split).astype(np.int64), truth).mean))
    return best


def supervised_half_dice(image: np.ndarray, cell: np.ndarray, *, seed: int = 0) -> float:
    """Matched mean DICE (two classes) of a classifier trained on one half's truth, predicting the other.

    The halves split the first axis; each half is predicted by a classifier fitted on voxels of the
    other, and the combined map, holes filled (:func:`hypseg.inference.hierarchy.level1_object`), is scored.
    """
    features, _ = filter_bank_features(image, sigmas=FEATURE_SIGMAS, kinds=FEATURE_KINDS)
    rng = np.random.default_rng(seed)
    found = np.zeros(cell.shape, dtype=np.int64)
    half = image.shape[0] // 2
    for test, train in ((slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))):
        x = features[train].reshape(-1, features.shape[-1])
        y = cell[train].ravel()
        pick = rng.choice(y.size, size=min(TRAIN_VOXELS, y.size), replace=False)
        classifier = HistGradientBoostingClassifier(random_state=seed).fit(x[pick], y[pick])
        found[test] = classifier.predict(features[test].reshape(-1, features.shape[-1])).reshape(cell[test].shape)
    if np.unique(found).size == 2:
        found = level1_object(found).astype(np.int64)
    return matched_dice(found, cell.astype(np.int64)).mean


def main() -> None:
    children = np.random.SeedSequence(0).spawn(120)
    scores: dict[int, list[float]] = {level: [] for level, _ in LEVELS}
    voxel: list[float] = []
    contained: list[float] = []
    supervised: list[float] = []
    contrasts: list[float] = []  # |cell - background| in mean intensity
    for i in range(100, 120):
        volume = generate_volume(np.random.default_rng(children[i]))
        scene = volume.scene
        intensities = np.array([scene.background_intensity] + [o.intensity for o in scene.objects])
        for level, k in LEVELS:
            scores[level].append(best_threshold_dice(intensities, volume.instances.astype(int), volume.labels[level], k))
        cell = next(o for o in scene.objects if o.kind == "cell")
        contrasts.append(abs(cell.intensity - scene.background_intensity))
        image = volume.image.astype(np.float64)
        voxel.append(max(best_voxel_threshold_dice(ndimage.gaussian_filter(image, s) if s else image, volume.labels[1])
                         for s in SIGMAS))
        contained.append(max(best_contained_threshold_dice(ndimage.gaussian_filter(image, s) if s else image,
                                                           volume.labels[1] > 0) for s in SIGMAS))
        supervised.append(supervised_half_dice(volume.image, volume.labels[1] > 0))
    for level, k in LEVELS:
        values = np.array(scores[level])
        print(f"level {level} (k = {k}): ceiling {values.mean():.3f}"
              + (f", {int((values < LEVEL1_GOAL).sum())} of {len(values)} volumes below {LEVEL1_GOAL:.2f}" if level == 1 else ""))
    values = np.array(voxel)
    print(f"level 1, one threshold on the smoothed image (best sigma of {SIGMAS} per volume): ceiling {values.mean():.3f}, "
          f"{int((values < LEVEL1_GOAL).sum())} of {len(values)} volumes below {LEVEL1_GOAL:.2f}, median {np.median(values):.3f}")
    filled = np.array(contained)
    print(f"level 1, the same thresholds' objects as the recipe's containment makes them (holes filled): ceiling "
          f"{filled.mean():.3f}, {int((filled < LEVEL1_GOAL).sum())} of {len(filled)} volumes below {LEVEL1_GOAL:.2f}, "
          f"median {np.median(filled):.3f}")
    trained = np.array(supervised)
    print(f"level 1, a classifier trained on the other half's truth (filter bank, sigmas {FEATURE_SIGMAS}): ceiling "
          f"{trained.mean():.3f}, {int((trained < LEVEL1_GOAL).sum())} of {len(trained)} volumes below {LEVEL1_GOAL:.2f}, "
          f"median {np.median(trained):.3f}")
    low = np.array(contrasts) < NOISE_STD
    print(f"{int(low.sum())} of {len(low)} volumes have a cell/background contrast below the noise's {NOISE_STD} "
          f"(their voxel ceiling: {', '.join(f'{v:.3f}' for v in values[low])}; "
          f"with containment: {', '.join(f'{v:.3f}' for v in filled[low])}; "
          f"supervised: {', '.join(f'{v:.3f}' for v in trained[low])})")


if __name__ == "__main__":
    main()
