"""What the learned embedding's principal axes follow, per voxel, on the regular set's validation volumes.

The intensity-axis share (:func:`benchmarks.paper_protocol.intensity_axis`) says how much of the embedding
lies on one axis, and that this axis follows the local mean intensity; it does not say what the rest
carries. For each trained run given, this embeds the first volumes of the validation split under the
paper's protocol (:func:`benchmarks.paper_protocol.protocol_embedding`: p = 5 resized to the model's m,
every voxel), takes the principal axes of the voxel embeddings (in the tangent space at the origin for a
ball) and gives, for the first two axes, the share of the variance each holds and its absolute correlation
with four voxel descriptors:

- ``mean``: the 5^3 mean intensity (what the first axis is known to follow);
- ``std``: the 5^3 standard deviation of intensity (texture and edges inside the patch);
- ``gradient``: the gradient magnitude of the image smoothed by a Gaussian of 1 voxel (edges);
- ``boundary``: the distance to the nearest voxel of another level-2 class, capped at 5 (how far the patch
  lies from a true boundary; read from the labels, for this analysis only, never to choose anything);
- ``direction``: the largest of the absolute correlations with the three signed components of that
  gradient (which side of the patch is brighter: an edge's orientation, invisible to the other four).

Correlation sees only a linear relation, and a one-dimensional code bent into an arc of the ball has a
second principal axis that is a curve of the first (uncorrelated with it, yet nothing new). So each run
also gets the share of the embedding's variance that a function of the 5^3 mean intensity explains
(``R^2 mean``: every point replaced by the mean embedding of the voxels in its quantile bin of that
intensity, 64 bins), of the mean and standard deviation together (``R^2 mean, std``: 64 x 8 bins), and of
a linear function of the patch's 125 voxel values (``R^2 linear``, least squares). What none explains is
what the embedding carries beyond them.

Everything is over a fixed random subsample of each volume's voxels; the table gives medians over
volumes. Usage::

    python -m benchmarks.axis_features paper-protocol-work/cpu-none-full-0-val-6-300 ... --volumes 6
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import scipy.ndimage as ndi
import torch

from benchmarks.paper_protocol import PROTOCOL_PATCH, protocol_embedding
from benchmarks.timing import format_table
from hypseg.data import discover_cases, load_normalised, write_synthetic_dataset
from hypseg.geometry import logmap0
from hypseg.inference.model_io import load_model
from hypseg.io import load_labels

FEATURES = ("mean", "std", "gradient", "boundary", "direction")
#: per run, not per axis: the share of the embedding's variance explained by a function of these
EXPLAINED = ("r2 mean", "r2 mean, std", "r2 linear")
#: the boundary distance is capped here: beyond it a patch of side 5 sees no boundary at all
BOUNDARY_CAP = 5.0


def voxel_features(volume: np.ndarray, classes: np.ndarray) -> dict[str, np.ndarray]:
    """The four descriptors of every voxel (same shape as ``volume``), as the module docstring defines them."""
    volume = np.asarray(volume, np.float64)
    mean = ndi.uniform_filter(volume, size=PROTOCOL_PATCH, mode="nearest")
    square = ndi.uniform_filter(volume**2, size=PROTOCOL_PATCH, mode="nearest")
    std = np.sqrt(np.maximum(square - mean**2, 0.0))
    gradient = ndi.gaussian_gradient_magnitude(volume, sigma=1.0, mode="nearest")
    components = [ndi.gaussian_filter(volume, sigma=1.0, order=order, mode="nearest")
                  for order in ((1, 0, 0), (0, 1, 0), (0, 0, 1))]
    boundary = np.full(volume.shape, BOUNDARY_CAP)
    for label in np.unique(classes):  # distance from each voxel of a class to the nearest voxel of any other
        inside = classes == label
        if inside.all():
            continue
        boundary[inside] = np.minimum(ndi.distance_transform_edt(inside)[inside], BOUNDARY_CAP)
    return {"mean": mean, "std": std, "gradient": gradient, "boundary": boundary, "direction": np.stack(components, axis=-1)}


def axis_correlations(points: np.ndarray, features: dict[str, np.ndarray], *, axes: int = 2) -> dict[str, list[float]]:
    """For the first ``axes`` principal axes of ``points`` (N, D): ``share`` (the variance on each axis over
    the total) and, per feature (N,), the absolute correlation of the coordinate on that axis with it."""
    centred = points - points.mean(axis=0)
    eigenvalues, vectors = np.linalg.eigh(centred.T @ centred)
    order = np.argsort(eigenvalues)[::-1][:axes]
    out: dict[str, list[float]] = {"share": [float(eigenvalues[i] / eigenvalues.sum()) for i in order]}
    for name, values in features.items():  # a feature of several columns: the best of them
        columns = values.reshape(len(points), -1).T
        out[name] = [max(float(abs(np.corrcoef(centred @ vectors[:, i], column)[0, 1])) for column in columns) for i in order]
    return out


def explained(points: np.ndarray, *values: np.ndarray, bins: int | Sequence[int]) -> float:
    """1 - (variance of ``points`` (N, D) about their mean within the cells of a quantile grid of ``values``)
    / (their total variance): the share that a function of ``values`` explains, read off in ``bins`` quantile
    bins (per value, or one count for all; fewer where values repeat)."""
    cell = np.zeros(len(points), dtype=np.int64)
    for v, n in zip(values, [bins] * len(values) if isinstance(bins, int) else bins):
        edges = np.unique(np.quantile(v, np.linspace(0, 1, n + 1)[1:-1]))
        cell = cell * (len(edges) + 1) + np.searchsorted(edges, v, side="right")
    _, cell = np.unique(cell, return_inverse=True)
    counts = np.bincount(cell).astype(np.float64)
    means = np.stack([np.bincount(cell, weights=points[:, j]) for j in range(points.shape[1])], axis=1) / counts[:, None]
    residual = float(((points - means[cell]) ** 2).sum())
    return 1.0 - residual / float(((points - points.mean(axis=0)) ** 2).sum())


def explained_linearly(points: np.ndarray, design: np.ndarray) -> float:
    """The share of the variance of ``points`` (N, D) that a least-squares affine function of ``design`` (N, F) explains."""
    design = np.column_stack([design, np.ones(len(design))])
    coefficients, *_ = np.linalg.lstsq(design, points, rcond=None)
    residual = float(((points - design @ coefficients) ** 2).sum())
    return 1.0 - residual / float(((points - points.mean(axis=0)) ** 2).sum())


def patches_at(volume: np.ndarray, flat: np.ndarray, side: int = PROTOCOL_PATCH) -> np.ndarray:
    """(N, side^3) the voxel values of the side^3 patches centred on the voxels at flat indices ``flat``
    (faces replicated, as :func:`voxel_features`' filters do)."""
    half = side // 2
    padded = np.pad(volume, half, mode="edge")
    centres = np.stack(np.unravel_index(flat, volume.shape), axis=1)
    offsets = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    where = centres[:, None, :] + offsets[None]
    return padded[where[..., 0], where[..., 1], where[..., 2]]


def probe_run(run_dir: Path, volumes: Sequence[np.ndarray], classes: Sequence[np.ndarray], *, sample: int = 20_000,
              seed: int = 0) -> dict[str, list[list[float]]]:
    """Per volume, :func:`axis_correlations` of one trained run's protocol embedding (key -> [volume][axis])."""
    model = load_model(run_dir)
    rng = np.random.default_rng(seed)
    per_volume: dict[str, list[list[float]]] = {}
    for volume, truth in zip(volumes, classes):
        embedding = protocol_embedding(model.network, volume)
        points = embedding.reshape(-1, embedding.shape[-1]).astype(np.float64)
        pick = rng.choice(points.shape[0], size=min(sample, points.shape[0]), replace=False)
        points = points[pick]
        if model.hyperbolic:
            points = logmap0(torch.from_numpy(points), c=model.curvature).numpy()
        features = {name: values.reshape(volume.size, -1)[pick] for name, values in voxel_features(volume, truth).items()}
        for key, values in axis_correlations(points, features).items():
            per_volume.setdefault(key, []).append(values)
        per_volume.setdefault("r2 mean", []).append([explained(points, features["mean"][:, 0], bins=64)])
        per_volume.setdefault("r2 mean, std", []).append([explained(points, features["mean"][:, 0], features["std"][:, 0],
                                                                    bins=(64, 8))])
        per_volume.setdefault("r2 linear", []).append([explained_linearly(points, patches_at(volume, pick))])
    return per_volume


def table(results: dict[str, dict[str, list[list[float]]]]) -> str:
    """One row per run and axis: the median over volumes of the share and of each |correlation|; the
    explained shares, which are the whole embedding's, on each run's first row."""
    rows = []
    for name, per_volume in results.items():
        for axis in range(len(per_volume["share"][0])):
            cells = [f"{float(np.median([v[axis] for v in per_volume[key]])):.3f}" for key in ("share", *FEATURES)]
            whole = [f"{float(np.median(per_volume[key])):.3f}" if axis == 0 else "" for key in EXPLAINED]
            rows.append([name, str(axis + 1), *cells, *whole])
    return format_table(["run", "axis", "variance share", *(f"corr {f}" for f in FEATURES), "R^2 mean", "R^2 mean, std",
                         "R^2 linear"], rows)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, help="trained run folders (config.toml and model.pt)")
    parser.add_argument("--volumes", type=int, default=6, help="the first N validation volumes")
    parser.add_argument("--data", type=Path, default=Path("paper-protocol-work") / "regular",
                        help="the regular set (written with seed 0, 120 volumes, if missing)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if not (args.data / "manifest.json").exists():
        write_synthetic_dataset(args.data, n=120, seed=0, kind="regular")
    cases = [c for c in discover_cases([args.data]) if c.split == "val"][: args.volumes]
    classes = [load_labels(c.truth["2"]) for c in cases]
    names = [run.name for run in args.runs]
    if len(set(names)) < len(names):  # runs of the same name (run0 of several --keep folders): name their folders too
        names = [f"{run.parent.name}/{run.name}" for run in args.runs]
    results = {}
    for name, run_dir in zip(names, args.runs):
        volumes = load_normalised(cases, config=load_model(run_dir).config.data)
        results[name] = probe_run(run_dir, volumes, classes)
        print(f"{name}: done", file=sys.stderr, flush=True)
    text = (f"## Principal axes of the protocol embedding, regular set, val split ({len(cases)} volumes)\n\n{table(results)}\n\n"
            f"Command: `python -m benchmarks.axis_features {shlex.join(sys.argv[1:] if argv is None else argv)}`\n")
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
