"""Files in, files out: segment volume files with a trained model, and score segmentations.

A segmentation directory holds, for every input volume ``<name>``:

- ``<name>_k<K><suffix>``: the label map with K clusters, in the input's format and geometry
  (integer dtype), so that napari, ITK-SNAP, 3D Slicer or IMOD open it beside the input;
- ``<name>_embedding.npy``: the per-voxel embedding (Z, Y, X, d) float32, points on the ball;
- with ``inside`` (a level-1 segmentation directory), ``<name>_object<suffix>``: level 1's object with its
  holes filled (1) against the outside (0), in which the label maps' clusters 1..K-1 were found;

and ``segmentation.json``, which lists the cases, files, cluster counts and centres. The directory is
written under a temporary name and renamed when complete: an error leaves no partial output.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from hypseg.config import DEFAULT_SUPERVOXEL_SIZE
from hypseg.data import discover_cases, normalise, read_manifest, supervoxels
from hypseg.errors import UserError
from hypseg.io import atomic_path, full_suffix, load_labels, load_volume, save_labels
from hypseg.inference.embed import embed_volume_multiscale
from hypseg.inference.hierarchy import check_inside_clusters, level1_object, segment_inside
from hypseg.inference.model_io import load_model
from hypseg.inference.pooling import purity_weights
from hypseg.inference.segment import segment_volumes
from hypseg.metrics import matched_dice

MANIFEST = "segmentation.json"


def _check_output(out: Path, *, overwrite: bool) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise FileExistsError(f"{out} already exists; pass --overwrite to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)


def segment_files(
    volumes: Sequence[str | Path],
    *,
    model_dir: str | Path,
    out: str | Path,
    clusters: Sequence[int] = (2, 4, 8),
    patch_sizes: Sequence[int] | None = None,
    pooled: bool = True,
    nested: bool = False,
    subsample: int = 50_000,
    supervoxel_size: int | None = DEFAULT_SUPERVOXEL_SIZE,
    purity_power: float = 0.0,
    inside: str | Path | None = None,
    tile: int = 48,
    device: str = "cpu",
    seed: int = 0,
    overwrite: bool = False,
    progress: bool = False,
) -> dict:
    """Segment volume files (or a dataset folder) at every cluster count; returns the manifest.

    Several ``patch_sizes`` embed every voxel once per side and cluster on the product of the balls.
    ``supervoxel_size`` (voxels per SLIC supervoxel; None clusters voxels) clusters each supervoxel's
    mean embedding instead of every voxel's (:mod:`hypseg.inference.pooling`); ``purity_power`` > 0
    weighs each voxel in that mean by the share of its patch inside its supervoxel to this power.
    ``inside`` (a segmentation directory with a k = 2 map of every volume, e.g. the level-1 run) keeps
    that map's outside as label 0 and finds the other K - 1 clusters inside its object, holes filled
    (:mod:`hypseg.inference.hierarchy`). Fitted per volume (``pooled`` False), a volume (or object)
    holding fewer supervoxels than the largest k is clustered voxel by voxel; its manifest entry then
    has ``"clustered_voxels": true``.
    """
    paths = [Path(v) for v in volumes]
    if not paths:
        raise UserError("no volumes to segment")
    cases = discover_cases(paths)
    if any(int(k) < 2 for k in clusters):
        raise UserError(f"cluster counts must be >= 2, got {list(clusters)}")
    if supervoxel_size is not None and supervoxel_size < 1:
        raise UserError(f"supervoxel size must be at least 1 voxel, got {supervoxel_size}")
    if not purity_power >= 0:
        raise UserError(f"the purity power must be >= 0, got {purity_power}")
    if purity_power and supervoxel_size is None:
        raise UserError("a purity power weighs voxels within supervoxels: it needs supervoxels (a size above 0)")
    level1 = None if inside is None else _level1_maps(inside, nested=nested, clusters=clusters)
    model, config = load_model(model_dir, device=device)
    sizes = [int(p) for p in patch_sizes] if patch_sizes else [config.model.patch_size]
    p = max(sizes)
    out = Path(out)
    _check_output(out, overwrite=overwrite)
    with atomic_path(out) as tmp:  # filled under a temporary name, renamed when complete
        tmp.mkdir()
        loaded, embeddings, segments, weights = [], [], [], []
        iterator = cases
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(cases, desc="embedding", unit="vol")
        for case in iterator:
            volume = load_volume(case.image)
            if min(volume.shape) < p:
                raise UserError(f"{case.image}: volume of shape {volume.shape} is smaller than the patch side {p}")
            voxels = int(np.prod(volume.shape))
            if max(clusters) > voxels:
                raise UserError(f"{case.image}: {max(clusters)} clusters but only {voxels} voxels")
            array = normalise(np.asarray(volume.array, dtype=np.float32), config=config.data)
            embeddings.append(embed_volume_multiscale(model, array, patch_sizes=sizes, tile=tile, device=device))
            if supervoxel_size is not None:
                segments.append(supervoxels(array, size=supervoxel_size))
                if purity_power:
                    weights.append(purity_weights(segments[-1], sizes, purity_power))
            loaded.append((case, volume))
        options = dict(c=config.model.curvature, hyperbolic=config.model.hyperbolic, subsample=subsample, pooled=pooled,
                       random_state=seed, factors=len(sizes), segments=segments or None, voxel_weights=weights or None)
        if level1 is None:
            objects = [None] * len(loaded)
            segmentations = segment_volumes(embeddings, clusters=clusters, nested=nested, **options)
        else:
            objects = [_object(level1, case, volume.shape) for case, volume in loaded]
            segmentations = segment_inside(embeddings, objects, clusters=clusters, **options)
        manifest = {"model": str(Path(model_dir).resolve()), "clusters": sorted(int(k) for k in clusters),
                    "patch_sizes": sizes, "pooled": pooled, "nested": nested,
                    "supervoxel_size": supervoxel_size, "purity_power": purity_power,
                    "inside": None if inside is None else str(Path(inside).resolve()), "cases": []}
        for (case, volume), embedding, seg, obj in zip(loaded, embeddings, segmentations, objects):
            name = case.name
            suffix = full_suffix(case.image) if case.image.is_file() else ".nii.gz"
            labels = {}
            for k, label_map in seg.labels.items():
                file = f"{name}_k{k}{suffix}"
                # the smallest integer type: uint8 label maps are what ImageJ, IMOD and viewers expect
                small = label_map.astype(np.uint8 if label_map.max() < 256 else np.uint16)
                save_labels(small, like=volume, path=tmp / file)
                labels[str(k)] = file
            np.save(tmp / f"{name}_embedding.npy", embedding)
            if obj is not None:
                save_labels(obj.astype(np.uint8), like=volume, path=tmp / f"{name}_object{suffix}")
            manifest["cases"].append({
                "name": name, "image": str(case.image.resolve()), "labels": labels,
                "embedding": f"{name}_embedding.npy", **({} if obj is None else {"object": f"{name}_object{suffix}"}),
                **({"clustered_voxels": True} if seg.voxels else {}),
                "centers": {str(k): c.tolist() for k, c in seg.centers.items()},
                "truth": {level: str(path.resolve()) for level, path in case.truth.items()},
            })
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def _level1_maps(seg_dir: str | Path, *, nested: bool, clusters: Sequence[int]) -> dict[str, Path]:
    """Case name -> the k = 2 label map of a level-1 segmentation directory (for ``inside``)."""
    if nested:
        raise UserError("--inside and --nested exclude each other: levels inside the level-1 object are not a tree of equal splits")
    check_inside_clusters(clusters)
    manifest = read_segmentation(seg_dir)
    maps = {}
    for case in manifest.get("cases", []):
        if "2" not in case.get("labels", {}):
            raise UserError(f"{seg_dir}: no k = 2 label map of {case.get('name')} to take the level-1 object from")
        maps[case["name"]] = Path(seg_dir) / case["labels"]["2"]
    return maps


def _object(level1: dict[str, Path], case, shape) -> np.ndarray:
    """The level-1 object of one case, from its k = 2 map, holes filled."""
    if case.name not in level1:
        raise UserError(f"the level-1 segmentation has no volume {case.name}")
    labels = load_labels(level1[case.name])
    if labels.shape != tuple(shape):
        raise UserError(f"{level1[case.name]}: level-1 map of shape {labels.shape} for a volume of shape {tuple(shape)}")
    return level1_object(labels)


class ScoreRow(NamedTuple):
    case: str
    clusters: int
    level: str
    mean_dice: float
    per_class: dict[int, float]


def read_segmentation(seg_dir: str | Path) -> dict:
    path = Path(seg_dir) / MANIFEST
    if not Path(seg_dir).is_dir():
        raise FileNotFoundError(f"segmentation directory {seg_dir} does not exist")
    if not path.is_file():
        raise FileNotFoundError(f"{seg_dir} is not a hypseg segmentation: {MANIFEST} is missing")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None


def evaluate_segmentation(seg_dir: str | Path, *, truth: Sequence[str | Path] = ()) -> list[ScoreRow]:
    """Matched DICE (paper protocol) of every label map against its truth.

    ``truth``: nothing (use the truth recorded for dataset cases), a dataset folder with
    ``manifest.json`` (levels 1, 2, ... are matched to the cluster counts in increasing order), or one
    label file per case (in the order of the segmentation, scored against every cluster count).
    """
    seg_dir = Path(seg_dir)
    manifest = read_segmentation(seg_dir)
    cases = manifest["cases"]
    clusters = manifest["clusters"]
    truth = [Path(t) for t in truth]
    if len(truth) == 1 and truth[0].is_dir():
        by_name = {c.name: {lvl: str(p) for lvl, p in c.truth.items()} for c in read_manifest(truth[0])}
        truth_of = [by_name.get(c["name"]) for c in cases]
        if any(t is None for t in truth_of):
            missing = [c["name"] for c, t in zip(cases, truth_of) if t is None]
            raise UserError(f"{truth[0]}: no truth for cases {missing[:3]}")
    elif truth:
        if len(truth) != len(cases):
            raise UserError(f"got {len(truth)} truth files for {len(cases)} segmented volumes")
        truth_of = [{"all": str(t)} for t in truth]
    else:
        truth_of = [c.get("truth") or {} for c in cases]
        if not any(truth_of):
            raise UserError("no truth: pass --truth label files or the dataset folder")
    rows = []
    for case, case_truth in zip(cases, truth_of):
        for i, k in enumerate(clusters):
            level = "all" if "all" in case_truth else str(i + 1)
            if level not in case_truth:
                continue
            pred = load_labels(seg_dir / case["labels"][str(k)])
            true = load_labels(case_truth[level], shape=pred.shape)
            score = matched_dice(pred, true)
            rows.append(ScoreRow(case["name"], k, level, float(score.mean), {int(c): float(v) for c, v in score.per_class.items()}))
    return rows


def summarise(rows: Sequence[ScoreRow]) -> dict[int, float]:
    """Mean DICE over cases for every cluster count."""
    out: dict[int, list[float]] = {}
    for row in rows:
        out.setdefault(row.clusters, []).append(row.mean_dice)
    return {k: float(np.mean(v)) for k, v in sorted(out.items())}


def write_scores_csv(rows: Sequence[ScoreRow], path: str | Path) -> Path:
    """One line per (case, cluster count): mean DICE and the per-class DICE."""
    path = Path(path)
    classes = sorted({c for row in rows for c in row.per_class})
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["case", "clusters", "level", "mean_dice"] + [f"dice_class_{c}" for c in classes])
        for row in rows:
            writer.writerow([row.case, row.clusters, row.level, f"{row.mean_dice:.4f}"]
                            + [f"{row.per_class[c]:.4f}" if c in row.per_class else "" for c in classes])
    tmp.replace(path)
    return path
