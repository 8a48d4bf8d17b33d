"""What an oracle on intensity could reach on the regular test split: the ceiling of appearance-only methods.

For each test volume of the 120-volume set (seed 0, volumes 100-119) the instances (background, cell,
organelles) are sorted by their true, noise-free mean intensity, and every partition of that order into
k contiguous runs (k - 1 thresholds) is scored with the paper's protocol (Hungarian-matched mean DICE,
background included). The best partition is what a method could reach if it knew every instance's exact
intensity and the best thresholds: a ceiling for any clustering of (denoised) intensity.

    python benchmarks/intensity_ceiling.py
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linear_sum_assignment

from hypseg.data import generate_volume

LEVELS = ((1, 2), (2, 4), (3, 8))
GOALS = (0.97, 0.65, 0.35)


def best_threshold_dice(intensities: np.ndarray, instances: np.ndarray, labels: np.ndarray, k: int) -> float:
    """The best matched mean DICE of k intensity intervals over the instances (per-instance counts)."""
    order = np.argsort(intensities)
    classes = int(labels.max()) + 1
    counts = np.zeros((len(intensities), classes))
    np.add.at(counts, (instances.ravel(), labels.ravel()), 1)
    cumulative = np.vstack([np.zeros(classes), np.cumsum(counts[order], axis=0)])
    class_sizes = counts.sum(axis=0)
    n, best = len(intensities), 0.0
    for cuts in itertools.combinations(range(1, n), min(k, n) - 1):
        confusion = np.diff(cumulative[[0, *cuts, n]], axis=0)  # clusters x classes
        dice = 2 * confusion / (confusion.sum(axis=1, keepdims=True) + class_sizes[None, :])
        rows, cols = linear_sum_assignment(-dice)
        best = max(best, float(dice[rows, cols].sum() / classes))
    return best


def main() -> None:
    children = np.random.SeedSequence(0).spawn(120)
    scores: dict[int, list[float]] = {level: [] for level, _ in LEVELS}
    for i in range(100, 120):
        volume = generate_volume(np.random.default_rng(children[i]))
        scene = volume.scene
        intensities = np.array([scene.background_intensity] + [o.intensity for o in scene.objects])
        for level, k in LEVELS:
            scores[level].append(best_threshold_dice(intensities, volume.instances.astype(int), volume.labels[level], k))
    for (level, k), goal in zip(LEVELS, GOALS):
        values = np.array(scores[level])
        print(f"level {level} (k = {k}): ceiling {values.mean():.3f}, {int((values < goal).sum())} of {len(values)} volumes below {goal}")


if __name__ == "__main__":
    main()
