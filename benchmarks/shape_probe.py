"""Would grouping the organelles by shape carry level 2? A probe on a cell set's validation volumes, no model.

Levels 2-3 of the cell sets are limited by the grouping, not the data: vesicles and mitochondria draw their
intensities at random, instance by instance, and differ only in shape (spheres against boxes), so any clustering
of appearance groups organelles by intensity. This probe measures how much a shape stage could give, with the
truth's level-1 object for every row, so that only level 2's stage inside the object differs:

- ``intensity``: SLIC supervoxels (``--size`` voxels) inside the object, k-means on their mean intensity into 3
  clusters weighted by their voxels (the SLIC peer's level 2 in its object, in effect);
- ``true instances by shape``: every true organelle (a connected component of vesicle or mitochondrion, holes filled)
  is one region, and the regions of a volume are grouped by shape (below) into 2 groups; the cell takes the rest.
  The bound of a shape stage whose instances are exact;
- ``true instances of contrast >= C by shape``: only the true organelles that differ from the cell around them by at
  least C of the cell's standard deviations (``--visible``), the others left to the cell: a perfect detector of what
  the image shows;
- ``found instances by shape, tau T``: the supervoxels inside the object merged, weakest pair of neighbours first,
  while the pair's weight is below T (``--criterion``: the difference of their mean intensities, in units of the
  normalised volume; Ward's cost; the gradient on their shared faces; or, instead of merging, the connected
  components of the intensity clustering into T clusters); the largest region is the cell, every other region of at
  least ``--min-voxels`` voxels (holes filled, so a region takes in what it encloses) an instance, grouped by shape;
  smaller regions go to the cell;
- ``found instances grouped by the truth, tau T``: the same instances, each given the kind most of its voxels are
  (or left to the cell where most are the cell's): the bound of this detector with no error of grouping.

Shape, per instance: the share of its bounding box it fills (a box's 1, a ball's 0.52) and its voxel count (log).
A volume's instances are split in 2 groups by k-means on these two, standardised over all instances of the
split (a volume with one instance puts it in the group of the nearer pooled centre). Scored as the quality
benchmark does: DICE per class after Hungarian matching of the 4 labels (outside, cell, 2 groups) to level 2's
classes, averaged over the volumes, with each row's paired difference from the ``intensity`` row.

    python -m benchmarks.shape_probe --kind regular --criterion means --taus 0.1 0.2 0.3
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

from benchmarks.validation_split import split_volumes
from hypseg.config import cpu_recipe
from hypseg.data import discover_cases, supervoxels, write_synthetic_dataset
from hypseg.metrics import matched_dice, paired_interval


def intensity_level2(volume: np.ndarray, inside: np.ndarray, segments: np.ndarray, *, k: int = 3) -> np.ndarray:
    """Outside 0; inside, supervoxels clustered on mean intensity into ``k`` clusters (labels 1..k)."""
    from sklearn.cluster import KMeans

    ids = segments[inside]
    counts = np.bincount(ids)
    means = np.bincount(ids, weights=volume[inside]) / np.maximum(counts, 1)
    used = counts > 0
    fit = KMeans(n_clusters=k, n_init=10, random_state=0).fit(means[used, None], sample_weight=counts[used])
    table = np.zeros(counts.size, dtype=np.int64)
    table[used] = fit.labels_ + 1
    out = np.zeros(volume.shape, dtype=np.int64)
    out[inside] = table[ids]
    return out


def merged_regions(volume: np.ndarray, inside: np.ndarray, segments: np.ndarray, *, tau: float,
                   criterion: str = "means") -> np.ndarray:
    """Supervoxels inside the object merged, the weakest pair of neighbours first, while its weight is below ``tau``;
    a map of region ids (-1 outside). ``criterion`` "means": the weight is the difference of the two regions' mean
    intensities; "boundary": the mean gradient magnitude (Gaussian derivative, sigma 1) over the faces the two
    regions share, so that a slow drift inside an instance (the pink noise) does not count, a step between two
    instances does."""
    if criterion == "clusters":  # the connected components of the intensity clustering into int(tau) clusters
        clusters = intensity_level2(volume, inside, segments, k=int(tau))
        out = np.full(volume.shape, -1, dtype=np.int64)
        start = 0
        for c in range(1, int(tau) + 1):
            parts, count = ndimage.label(clusters == c)
            out[parts > 0] = parts[parts > 0] + start - 1
            start += count
        return out
    ids = segments[inside]
    n = int(ids.max()) + 1
    total = np.bincount(ids, weights=volume[inside], minlength=n).astype(float)
    count = np.bincount(ids, minlength=n).astype(float)
    full = np.full(volume.shape, -1, dtype=np.int64)
    full[inside] = ids
    strength = (ndimage.gaussian_gradient_magnitude(volume.astype(np.float64), sigma=1.0) if criterion == "boundary"
                else np.zeros(volume.shape))  # the faces are counted for every criterion: they say who neighbours whom
    face_sum: dict[tuple[int, int], float] = {}
    face_count: dict[tuple[int, int], float] = {}
    for axis in range(3):
        a = np.moveaxis(full, axis, 0)[:-1].ravel()
        b = np.moveaxis(full, axis, 0)[1:].ravel()
        g = 0.5 * (np.moveaxis(strength, axis, 0)[:-1].ravel() + np.moveaxis(strength, axis, 0)[1:].ravel())
        keep = (a >= 0) & (b >= 0) & (a != b)
        lo, hi, g = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep]), g[keep]
        key = lo * n + hi
        uniq, inverse = np.unique(key, return_inverse=True)
        sums = np.bincount(inverse, weights=g)
        counts = np.bincount(inverse)
        for k, sm, c in zip(uniq.tolist(), sums.tolist(), counts.tolist()):
            pair = (k // n, k % n)
            face_sum[pair] = face_sum.get(pair, 0.0) + sm
            face_count[pair] = face_count.get(pair, 0.0) + c
    neighbours: dict[int, dict[int, list[float]]] = {i: {} for i in range(n)}
    for (a, b), sm in face_sum.items():
        neighbours[a][b] = neighbours[b][a] = [sm, face_count[(a, b)]]
    parent = np.arange(n)
    alive = count > 0

    if criterion == "ward":  # the voxel-to-voxel noise inside the object
        sigma = float(np.std((volume - ndimage.gaussian_filter(volume.astype(np.float64), 1.0))[inside]))

    def weight(a: int, b: int) -> float:
        if criterion == "means":
            return abs(total[a] / count[a] - total[b] / count[b])
        if criterion == "ward":  # the means' difference in units of its own standard error (Ward's cost, square-rooted)
            return abs(total[a] / count[a] - total[b] / count[b]) * np.sqrt(count[a] * count[b] / (count[a] + count[b])) / sigma
        sm, c = neighbours[a][b]
        return sm / c

    while True:
        best, best_pair = tau, None
        for a in np.flatnonzero(alive):
            for b in neighbours[a]:
                if b > a:
                    d = weight(a, b)
                    if d < best:
                        best, best_pair = d, (a, b)
        if best_pair is None:
            break
        a, b = best_pair  # b into a
        total[a] += total[b]
        count[a] += count[b]
        alive[b] = False
        parent[b] = a
        for c, (sm, fc) in neighbours.pop(b).items():
            if c == a:
                continue
            del neighbours[c][b]
            merged = neighbours[a].get(c, [0.0, 0.0])
            merged = [merged[0] + sm, merged[1] + fc]
            neighbours[a][c] = neighbours[c][a] = merged
        neighbours[a].pop(b, None)
        neighbours[b] = {}
    root = parent.copy()
    for i in range(n):
        r = i
        while root[r] != r:
            r = root[r]
        root[i] = r
    out = np.full(volume.shape, -1, dtype=np.int64)
    out[inside] = root[ids]
    return out


def instances_of(regions: np.ndarray, *, min_voxels: int) -> list[np.ndarray]:
    """Every region but the largest, as a mask with its holes filled, of at least ``min_voxels`` voxels; larger first."""
    ids, counts = np.unique(regions[regions >= 0], return_counts=True)
    order = np.argsort(-counts)
    found = []
    for i in ids[order][1:]:
        mask = ndimage.binary_fill_holes(regions == i)
        if mask.sum() >= min_voxels:
            found.append(mask)
    return found


def shape_of(mask: np.ndarray) -> tuple[float, float]:
    """(the share of its bounding box the mask fills, log of its voxels)."""
    box = ndimage.find_objects(mask.astype(np.int8))[0]
    extent = mask.sum() / np.prod([s.stop - s.start for s in box])
    return float(extent), float(np.log(mask.sum()))


def grouped(volume_instances: list[list[np.ndarray]]) -> list[list[int]]:
    """Each volume's instances split in 2 groups by k-means on standardised shape (pooled centres for a lone one)."""
    from sklearn.cluster import KMeans

    shapes = [np.array([shape_of(m) for m in inst]).reshape(-1, 2) for inst in volume_instances]
    pooled = np.concatenate(shapes)
    mean, std = pooled.mean(0), pooled.std(0) + 1e-9
    centres = KMeans(n_clusters=2, n_init=10, random_state=0).fit((pooled - mean) / std).cluster_centers_
    groups = []
    for s in shapes:
        z = (s - mean) / std
        if len(z) >= 2:
            labels = KMeans(n_clusters=2, n_init=10, random_state=0).fit(z).labels_
        else:
            labels = np.argmin(((z[:, None] - centres[None]) ** 2).sum(-1), axis=1)
        groups.append([int(g) for g in labels])
    return groups


def shape_level2(inside: np.ndarray, instances: list[np.ndarray], groups: list[int]) -> np.ndarray:
    """Outside 0, cell 1, instance groups 2 and 3 (a larger instance first, so a smaller one inside it stays its own);
    an instance of group -1 is left to the cell."""
    out = np.zeros(inside.shape, dtype=np.int64)
    out[inside] = 1
    for mask, g in zip(instances, groups):
        if g >= 0:
            out[mask & inside] = 2 + g
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", default="regular", choices=("regular", "irregular"))
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=125, help="voxels per supervoxel (default %(default)s)")
    parser.add_argument("--taus", type=float, nargs="+", default=[0.2, 0.4, 0.6])
    parser.add_argument("--min-voxels", type=int, default=200)
    parser.add_argument("--visible", type=float, default=2.0, help="the contrast (in the cell's standard deviations) of "
                        "the true instances kept in the row of visible instances (default %(default)s)")
    parser.add_argument("--criterion", choices=("means", "boundary", "clusters", "ward"), default="means")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    config = cpu_recipe()
    rows: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_dataset(Path(tmp) / "set", n=120, seed=args.data_seed, kind=args.kind)
        cases = discover_cases([Path(tmp) / "set"])
        volumes, truths = split_volumes(cases, "val", {1: None, 2: None}, brighten=0.0, blur=0.0, noise=0.0, config=config.data)
    insides = [t[1] > 0 for t in truths]
    segments = [supervoxels(v, size=args.size, mask=m) for v, m in zip(volumes, insides)]
    score = lambda maps: [matched_dice(p, t[2]).mean for p, t in zip(maps, truths)]  # noqa: E731
    rows["intensity"] = score([intensity_level2(v, m, s) for v, m, s in zip(volumes, insides, segments)])
    true = [[ndimage.binary_fill_holes(c) for kind in (2, 3) for c in _components(t[2] == kind)] for t in truths]
    rows["true instances by shape"] = score([shape_level2(m, i, g) for m, i, g in zip(insides, true, grouped(true))])
    n_true = sum(len(i) for i in true)
    contrasts = [[contrast(v, c, t[2] == 1) for c in inst] for v, inst, t in zip(volumes, true, truths)]
    visible = [[c for c, x in zip(inst, xs) if x >= args.visible] for inst, xs in zip(true, contrasts)]
    notes = {"true instances by shape": f"{n_true} / {n_true}"}
    kept = [i for i, inst in enumerate(visible) if inst]
    groups_visible = dict(zip(kept, grouped([visible[i] for i in kept]))) if kept else {}
    name = f"true instances of contrast >= {args.visible:g} by shape"
    rows[name] = score([shape_level2(m, inst, groups_visible.get(i, [])) for i, (m, inst) in enumerate(zip(insides, visible))])
    notes[name] = f"{sum(len(i) for i in visible)} / {n_true}"
    by_contrast = {}
    for tau in args.taus:
        found = [instances_of(merged_regions(v, m, s, tau=tau, criterion=args.criterion), min_voxels=args.min_voxels)
                 for v, m, s in zip(volumes, insides, segments)]
        empty = [i for i, f in enumerate(found) if not f]
        groups = grouped([f for f in found if f]) if len(found) > len(empty) else []
        it = iter(groups)
        name = f"found instances by shape, tau {tau:g}"
        rows[name] = score([shape_level2(m, f, next(it) if f else []) for m, f in zip(insides, found)])
        by_truth = [[_truth_group(t[2][i]) for i in f] for f, t in zip(found, truths)]
        rows[f"found instances grouped by the truth, tau {tau:g}"] = score(
            [shape_level2(m, f, g) for m, f, g in zip(insides, found, by_truth)])
        ious = np.array([max([(c & i).sum() / (c | i).sum() for i in f], default=0.0) for f, inst in zip(found, true)
                         for c in inst])
        notes[name] = (f"{sum(len(f) for f in found)} / {n_true}; true instances' best IoU: median {np.median(ious):.2f}, "
                       f"{np.mean(ious > 0.7):.0%} above 0.7")
        by_contrast[tau] = _by_contrast(np.array([x for xs in contrasts for x in xs]), ious)
    base = np.array(rows["intensity"])
    lines = [f"# Level 2 by shape: {args.kind} set, validation volumes of seed {args.data_seed}, the truth's level-1 object",
             "", f"`python -m benchmarks.shape_probe --kind {args.kind} --size {args.size} --min-voxels {args.min_voxels} "
             f"--criterion {args.criterion} --taus {' '.join(f'{t:g}' for t in args.taus)}`", "",
             "| level 2 inside the true object | mean DICE | minus intensity [95% paired interval] | instances found / true |",
             "|---|---|---|---|"]
    for name, values in rows.items():
        v = np.array(values)
        diff = "" if name == "intensity" else "{:+.3f} [{:+.3f}, {:+.3f}]".format(*_interval(v, base))
        lines.append(f"| {name} | {v.mean():.3f} | {diff} | {notes.get(name, '')} |")
    lines += ["", "True organelles by their contrast with the cell (in the cell's standard deviations): how many, and the "
              "median of each one's best IoU with a found instance, per threshold", "",
              "| tau | " + " | ".join(f"contrast {lo:g}-{hi:g}" for lo, hi in CONTRAST_BINS) + " |",
              "|---|" + "---|" * len(CONTRAST_BINS)]
    for tau, cells in by_contrast.items():
        lines.append(f"| {tau:g} | " + " | ".join(f"{n}: {m:.2f}" for n, m in cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    print(json.dumps({k: [round(x, 3) for x in v] for k, v in rows.items()}))
    if args.out:
        args.out.write_text(text)


def _truth_group(classes: np.ndarray) -> int:
    """The organelle kind most of a found instance's voxels belong to (0 vesicle, 1 mitochondrion), or -1 (the cell)
    where most of them are the cell's."""
    counts = np.bincount(classes, minlength=4)
    return int(counts[2:].argmax()) if counts[2:].sum() > counts[1] else -1


def contrast(volume: np.ndarray, instance: np.ndarray, cell: np.ndarray) -> float:
    """|mean inside the instance - mean of the cell within 3 voxels of it|, in the cell's standard deviations."""
    ring = ndimage.binary_dilation(instance, iterations=3) & ~instance & cell
    if not ring.any():
        return float("inf")
    return float(abs(volume[instance].mean() - volume[ring].mean()) / volume[cell].std())


CONTRAST_BINS = ((0.0, 2.0), (2.0, 4.0), (4.0, 7.0), (7.0, float("inf")))


def _by_contrast(contrasts: np.ndarray, ious: np.ndarray) -> list[tuple[int, float]]:
    """(count, median best IoU) of the true organelles in each of :data:`CONTRAST_BINS`."""
    cells = []
    for lo, hi in CONTRAST_BINS:
        inside = (contrasts >= lo) & (contrasts < hi)
        cells.append((int(inside.sum()), float(np.median(ious[inside])) if inside.any() else float("nan")))
    return cells


def _components(mask: np.ndarray) -> list[np.ndarray]:
    labels, n = ndimage.label(mask)
    return [labels == i for i in range(1, n + 1)]


def _interval(values: np.ndarray, base: np.ndarray) -> tuple[float, float, float]:
    low, high = paired_interval(values, base)
    return float(np.mean(values - base)), low, high


if __name__ == "__main__":
    main()
