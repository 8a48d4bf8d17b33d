"""Files in, files out: segment volume files with a trained model, and score segmentations.

A segmentation directory holds, for every input volume ``<name>``:

- ``<name>_k<K><suffix>``: the label map with K clusters, in the input's format and geometry
  (integer dtype), so that napari, ITK-SNAP, 3D Slicer or IMOD open it beside the input;
- ``<name>_embedding.npy``: the per-voxel embedding (Z, Y, X, d) float32, points on the ball;
- with containment, ``<name>_object<suffix>``: the first level's object with its holes filled (1)
  against the outside (0), in which the finer label maps' clusters 1..K-1 were found (where local contrast found it and
  the finer levels divided the specimen around it, ``SegmentConfig.contrast_divides``, the object is 1 in every map and
  the specimen's clusters 0, 2, ..., K-1);

and ``segmentation.json``, which lists the cases, files, cluster counts, centres and the recipe that
ran (a :class:`hypseg.config.SegmentConfig` as a dict). The directory is
written under a temporary name and renamed when complete: an error leaves no partial output.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import shutil
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from hypseg.config import SegmentConfig, check_sides, segment_preset
from hypseg.data import discover_cases, load_case, normalise, read_manifest
from hypseg._words import count
from hypseg.errors import UserError, named
from hypseg.io import atomic_path, full_suffix, load_labels, save_labels
from hypseg.io.blockwise import label_writer
from hypseg.io.formats import format_of
from hypseg.inference.chunked import (AUTO_CHUNK_VOXELS, StaleWork, check_chunk, executor_for, finished_chunks,
                                      segment_chunked, work_bytes_per_voxel)
from hypseg.inference.model_io import load_model
from hypseg.inference.recipe import VolumeSegmentation, check_clusterers, check_contrast_sides, check_patch_sides, resolve_patch_sides, segment
from hypseg.metrics import matched_dice

MANIFEST = "segmentation.json"


def is_segmentation_folder(folder: Path) -> bool:
    """Whether ``folder`` holds a ``segmentation.json`` that hypseg wrote (:func:`manifest_header`'s keys)."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and {"clusters", "recipe", "cases"} <= set(manifest)


def check_output(out: Path, *, overwrite: bool, keep: Sequence[Path] = (), options: tuple[str, str] = ("--overwrite", "--out"),
                 resume: bool = False) -> None:
    """``out`` may be written: it is new or empty, or ``overwrite`` replaces it, and then it is a folder hypseg
    wrote (:func:`is_segmentation_folder`; replacing deletes everything in it, so no other folder is ever replaced)
    that is not, and does not hold, any path of ``keep`` (the inputs and the model); and a folder can be made beside
    it (where it is made under a temporary name). ``options`` name the caller's ways to allow replacing and to choose
    the folder, for the messages; with ``resume``, a finished segmentation at ``out`` is said to leave nothing to
    resume."""
    allow, choose = options
    if out.is_symlink():  # replacing it would replace the link, not write where it points
        raise UserError(f"{out} is a symbolic link; give the path it points to ({out.resolve()}) or another {choose}")
    target = out.resolve()
    for path in keep if overwrite else ():  # without it, an ``out`` that holds anything is refused below
        path = Path(path).resolve()
        if path == target or target in path.parents:
            raise UserError(f"{out}: writing the output there would delete {path}, an input or the model; "
                            f"choose another {choose}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not is_segmentation_folder(out):  # never replaced: say so before anyone passes the option
            what = "is a file" if not out.is_dir() else f"holds files but no {MANIFEST} of hypseg's"
            raise FileExistsError(f"{out} already exists and {what}, so it is not a segmentation folder; choose another {choose}")
        if not overwrite and not resume:
            raise FileExistsError(f"{out} already exists; pass {allow} to replace it")
        if not overwrite:
            work = work_folder(out)
            if work.is_dir() and finished_chunks(work):  # a run to replace it stopped before its end
                raise FileExistsError(f"{out} holds a finished segmentation, and {work} the chunks of a run that was to "
                                      f"replace it; pass {allow} with --resume to continue that run")
            raise FileExistsError(f"{out} holds a finished segmentation: there is nothing to resume; pass {allow} "
                                  "instead to segment again")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"{out}: cannot create the folder it goes in, {out.parent} ({err.strerror})") from None
    probe = out.parent / f".{out.name}.probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError as err:
        raise UserError(f"{out}: cannot write in {out.parent}, where the output is made under a temporary name first "
                        f"({err.strerror}); nothing was written") from None
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


def segment_files(
    volumes: Sequence[str | Path],
    *,
    model_dir: str | Path,
    out: str | Path,
    config: SegmentConfig | None = None,
    tile: int | None = 48,
    device: str = "cpu",
    overwrite: bool = False,
    progress: bool = False,
    chunk: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_timeout: float = 10.0,
    resume: bool = False,
    channel: int | None = None,
    channel_axis: int | None = None,
    save_embedding: bool = True,
) -> dict:
    """Segment volume files (or a dataset folder) as ``config`` says and write the segmentation
    directory (module docstring); returns its manifest. A 4-D input is read in ``channel`` (along
    ``channel_axis``, see :func:`hypseg.io.load_volume`), which its manifest entry records. Without
    ``save_embedding`` the per-voxel embedding (4 bytes per voxel and latent dimension) is not kept: the
    manifest's ``embedding`` is null, and ``hypseg plot`` draws no Poincaré disk.

    ``config`` defaults to the ``default`` preset (:func:`hypseg.config.segment_preset`); the volumes are
    normalised as the model's training volumes and segmented by :func:`hypseg.inference.recipe.segment`.
    Every side must be at least :data:`hypseg.config.MIN_PATCH_SIDE` voxels, the smallest a model trains
    on; a side below a level's patch side is fine (patches crossing a face are edge-padded).
    A volume (or object) that a per-volume level's fit finds holding fewer supervoxels than clusters, or
    every volume when a pooled level's volumes hold fewer together, is clustered voxel by voxel; its
    manifest entry then has ``"clustered_voxels": true``. A volume whose level-1 object came from the second try at
    level 1 (``SegmentConfig.field_retry``) has ``"level1_retried": true``, one whose level-1 object is local contrast's
    rarer component (``SegmentConfig.contrast_sides``) ``"level1_by_contrast": true``, and where its finer levels divided
    the specimen around that object (``SegmentConfig.contrast_divides``) ``"finer_levels_divide": "specimen"``.

    **Chunked** (:func:`hypseg.inference.chunked.segment_chunked`): with ``chunk``, ``workers`` (a local
    Dask cluster of that many processes) or ``scheduler`` (a Dask scheduler's address), and by itself for a
    volume of more than 256^3 voxels without a mask, every stage runs chunk by chunk on volumes read
    lazily, so memory is set by the chunk, not the volume; the label maps are those of the whole-volume
    run. Its work files live beside the output folder, in ``.<out>.partial``, while it runs: with the outputs,
    31 bytes per voxel with the default recipe and a 2-d latent space (checked before it starts). When the
    run stops before its end (interrupted, killed, a worker lost) after some chunks were embedded, that
    folder stays, and the same call with ``resume=True`` embeds only the chunks that were not finished;
    without ``resume`` such a folder is an error, or, with ``overwrite``, removed to start over. An
    in-memory run has nothing to resume and ignores ``resume``.
    """
    paths = [Path(v) for v in volumes]
    if not paths:
        raise UserError("no volumes to segment")
    cases = discover_cases(paths, channel=channel, channel_axis=channel_axis)
    model = load_model(model_dir, device=device)
    config = resolve_patch_sides(segment_preset("default") if config is None else config, patch_size=model.patch_size)
    check_clusterers(config, model.config.model)
    check_contrast_sides(config, model.network)
    _check_names(cases)
    out = Path(out)
    check_output(out, overwrite=overwrite, resume=resume,
                  keep=[Path(model_dir), *(case.image for case in cases), *(p for c in cases for p in c.truth.values())])
    explicit = chunk is not None or workers is not None or scheduler is not None
    lazy = [case.read(lazy=True) for case in cases]  # the values are checked, nothing is kept
    for case, volume in zip(cases, lazy):
        check_patch_sides(config, volume.shape, patch_size=model.patch_size, what=str(case.image))
    if explicit or any(case.mask_rule == "none" and v.array.size > AUTO_CHUNK_VOXELS for case, v in zip(cases, lazy)):
        masked = [case.image.name for case in cases if case.mask_rule != "none"]
        if masked and explicit:
            raise UserError(f"{masked[0]}: a masked volume cannot be segmented chunk by chunk; leave out --chunk, --workers and --scheduler")
        if not masked:
            return _segment_chunked(cases, lazy, model=model, model_dir=model_dir, out=out, config=config, tile=tile,
                                    device=device, progress=progress, chunk=chunk, workers=workers, scheduler=scheduler,
                                    timeout=scheduler_timeout, resume=resume, overwrite=overwrite,
                                    save_embedding=save_embedding)
    _leftover_work(out, overwrite=overwrite, resume=resume)
    loaded, arrays = [], []
    for case in cases:
        read = load_case(case)
        _check_size(case, read.volume.shape)
        with named(case.image):
            arrays.append(normalise(np.asarray(read.volume.array, dtype=np.float32), config=model.config.data, mask=read.mask))
        loaded.append((case, read.volume))
    result = segment(arrays, model, config, tile=tile, device=device, progress=progress)
    embedded = config.levels[-1].patch_sides  # the finest level's embedding is saved
    with output_folder(out) as tmp:  # filled under a temporary name, renamed when complete
        manifest = manifest_header(model_dir, config)
        for i, ((case, volume), seg) in enumerate(zip(loaded, result.volumes)):
            files = _files(case, config, seg.object is not None, save_embedding)
            for k, label_map in seg.labels.items():
                save_labels(label_map.astype(_label_dtype(k)), like=volume, path=tmp / files["labels"][str(k)])
            if save_embedding:
                np.save(tmp / files["embedding"], result.embeddings[embedded][i])
            if seg.object is not None:
                save_labels(seg.object.astype(np.uint8), like=volume, path=tmp / files["object"])
            manifest["cases"].append(_entry(case, files, seg))
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def _check_names(cases) -> None:
    """Every case's outputs are named after it (:func:`_files`): two inputs of one name would overwrite each other."""
    seen = {}
    for case in cases:
        if case.name in seen:
            raise UserError(f"{seen[case.name]} and {case.image}: both would write outputs named {case.name}_*; "
                            "rename one or segment them into different --out folders")
        seen[case.name] = case.image


def _check_size(case, shape) -> None:
    """Every side at least MIN_PATCH_SIDE (patches crossing a face are padded: any larger side works)."""
    check_sides(shape, what=f"{case.image}: volume")


def _label_dtype(k: int) -> type:
    """The smallest integer type of a k-cluster map: uint8 label maps are what ImageJ, IMOD and viewers expect."""
    return np.uint8 if k <= 256 else np.uint16


def manifest_header(model_dir, config: SegmentConfig) -> dict:
    """``segmentation.json`` before its cases: the model's folder (None if it was never saved), the cluster
    counts, the finest level's patch sides (its embedding is saved) and the recipe."""
    return {"model": None if model_dir is None else str(Path(model_dir).resolve()), "clusters": sorted(config.clusters),
            "embedding_patch_sides": list(config.levels[-1].patch_sides), "recipe": config.to_dict(), "cases": []}


def case_files(name: str, suffix: str, config: SegmentConfig, contained: bool, *, embedding: bool = True) -> dict:
    """A case's output file names: label map per level, embedding (None when it is not saved), and the object
    with containment."""
    files = {"labels": {str(k): f"{name}_k{k}{suffix}" for k in config.clusters},
             "embedding": f"{name}_embedding.npy" if embedding else None}
    if contained:
        files["object"] = f"{name}_object{suffix}"
    return files


def case_entry(name: str, image: str, files: dict, found, *, read_as: dict | None = None, truth: dict | None = None) -> dict:
    """A case of ``segmentation.json``: its name, its image (absolute, or relative to the folder), how a 4-D image
    was read, its files, whether it was clustered voxel by voxel, whether its level-1 object is the second try's or local
    contrast's, whether its finer levels divided the specimen around it, the cluster centres and the truth it came with.
    ``found`` is its :class:`~hypseg.inference.recipe.VolumeSegmentation` (its labels are not read)."""
    return {"name": name, "image": image, **(read_as or {}), **files,
            **({"clustered_voxels": True} if found.clustered_voxels else {}),
            **({"level1_retried": True} if found.retried else {}),
            **({"level1_by_contrast": True} if found.contrast else {}),
            **({"finer_levels_divide": "specimen"} if found.specimen else {}),
            "centers": {str(k): np.asarray(c).tolist() for k, c in found.centers.items()},
            "truth": {level: str(Path(path).resolve()) for level, path in (truth or {}).items()}}


def _files(case, config: SegmentConfig, contained: bool, embedding: bool) -> dict:
    suffix = full_suffix(case.image) if case.image.is_file() or case.image.suffix == ".zarr" else ".nii.gz"
    return case_files(case.name, suffix, config, contained, embedding=embedding)


def _entry(case, files: dict, found: VolumeSegmentation) -> dict:
    read_as = {key: value for key in ("channel", "channel_axis") if (value := getattr(case, key)) is not None}
    return case_entry(case.name, str(case.image.resolve()), files, found, read_as=read_as, truth=case.truth)


@contextlib.contextmanager
def output_folder(out: Path):
    """The output folder under a temporary name, renamed when complete; a full disk is a one-line error
    and, like any error, leaves nothing behind."""
    try:
        with atomic_path(out) as tmp:
            tmp.mkdir()
            yield tmp
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise UserError(f"{out}: no space left on the device ({err.strerror}); nothing was written") from None
        raise


def _leftover_work(out: Path, *, overwrite: bool, resume: bool) -> None:
    """Before a run that is not chunked: a chunked run into ``out`` that stopped left its chunks beside it. With
    ``overwrite`` they go; otherwise they are the user's to continue (with that run's own chunking) or to drop."""
    work = work_folder(out)
    if not work.exists():
        return
    if overwrite or not finished_chunks(work):  # replaced, or stopped before its first chunk: nothing to keep
        shutil.rmtree(work)
    elif resume:
        raise UserError(f"{work}: holds the chunks of a chunked run; continue it with the options that started it "
                        "(--chunk, --workers or --scheduler) and --resume, or start over with --overwrite")
    else:
        raise UserError(f"{work}: holds the chunks of a run that stopped before its end; continue it with --resume "
                        "and the options that started it, or start over with --overwrite")


def work_folder(out: Path) -> Path:
    """Where a chunked run into ``out`` keeps its work files: beside it, so that a run that stops before
    its end leaves them for ``resume``."""
    return out.parent / f".{out.name}.partial"


def _fingerprint(cases, model_dir) -> dict:
    """Sizes and modification times of the inputs and the model: a resumed run must find them unchanged."""
    def stamp(path: Path) -> list:
        info = path.stat()
        return [str(path.resolve()), info.st_size, info.st_mtime_ns]

    return {"volumes": [stamp(case.image) for case in cases], "model": stamp(Path(model_dir) / "model.pt")}


@contextlib.contextmanager
def _kept_on_failure(work: Path):
    """The work folder for the run: removed when the run ends; kept, for ``resume``, when the run stops
    after some chunks were finished, unless the disk is full (the space goes back). A folder that
    ``resume`` refused (:class:`StaleWork`) is left as it was."""
    work.mkdir(exist_ok=True)
    try:
        yield
    except BaseException as err:
        if isinstance(err, StaleWork):
            raise
        finished = finished_chunks(work)
        if (isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT)) or not finished:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"hypseg: the {count(finished, 'chunk')} embedded so far {'is' if finished == 1 else 'are'} kept in {work}; run the same command with "
                  "--resume to continue, or delete that folder", file=sys.stderr)
        raise
    shutil.rmtree(work, ignore_errors=True)


def _segment_chunked(cases, volumes, *, model, model_dir, out: Path, config: SegmentConfig, tile, device, progress,
                     chunk, workers, scheduler, timeout, resume: bool, overwrite: bool, save_embedding: bool) -> dict:
    """:func:`segment_files` chunk by chunk (:mod:`hypseg.inference.chunked`)."""
    for case, volume in zip(cases, volumes):
        _check_size(case, volume.shape)
    check_chunk(chunk, config)
    work = work_folder(out)
    if work.exists() and not finished_chunks(work):  # stopped before its first chunk: nothing to keep
        shutil.rmtree(work)
    if work.exists() and not resume:
        if not overwrite:
            raise UserError(f"{work}: holds the chunks of a run that stopped before its end; continue it with --resume, "
                            "or start over with --overwrite")
        shutil.rmtree(work)
    outputs = len(config.levels) + int(config.contained)  # uint8 label maps; the embedding is moved, not copied
    per_voxel = work_bytes_per_voxel(config, model.config.model.latent_dim) + outputs
    reserved = sum(f.stat().st_size for f in work.glob("*.npy")) if work.exists() else 0  # a resumed run's files
    need = sum(int(np.prod(v.shape)) for v in volumes) * per_voxel - reserved
    free = shutil.disk_usage(out.parent).free
    if need > free:
        raise UserError(f"{out}: segmenting chunk by chunk needs about {need / 1e9:.1f} GB of disk there, "
                        f"{free / 1e9:.1f} GB are free")
    executor = executor_for(workers=workers, scheduler=scheduler, timeout=timeout, progress=progress)
    # on leaving: the executor stops first, then the work folder goes (or stays), then the output is renamed
    with output_folder(out) as tmp, _kept_on_failure(work), contextlib.closing(executor):
        result = segment_chunked([v.array for v in volumes], model=model, model_dir=model_dir, config=config,
                                 work=work, chunk=chunk, executor=executor, tile=tile, device=device, resume=resume,
                                 fingerprint=_fingerprint(cases, model_dir))
        manifest = manifest_header(model_dir, config)
        written = time.perf_counter()
        for i, (case, volume) in enumerate(zip(cases, volumes)):
            files = _files(case, config, result.objects[i] is not None, save_embedding)
            grid = result.grids[i]
            maps = [(result.labels[i][k], files["labels"][str(k)], _label_dtype(k)) for k in config.clusters]
            if result.objects[i] is not None:
                maps.append((result.objects[i], files["object"], np.uint8))
            for source, name, dtype in maps:
                writer = label_writer(tmp / name, shape=volume.shape, dtype=dtype, like=volume)
                for c in grid.chunks():
                    box = grid.box(c)
                    writer.write(box, np.load(source, mmap_mode="r")[box].astype(dtype))
                writer.close()
            found = VolumeSegmentation({}, result.centers[i], None, result.clustered_voxels[i], retried=result.retried[i],
                                       contrast=result.contrast[i], specimen=result.specimen[i])
            manifest["cases"].append(_entry(case, files, found))
        manifest["seconds"] = {**result.seconds, "write": time.perf_counter() - written}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        for i, entry in enumerate(manifest["cases"]):  # last, so that a failure before leaves the work whole
            if entry["embedding"]:  # else it goes with the work folder
                shutil.move(result.embeddings[i], tmp / entry["embedding"])  # a rename: the same file system
    return manifest


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


def evaluate_segmentation(seg_dir: str | Path, *, truth: Sequence[str | Path] = (), foreground: bool = False) -> list[ScoreRow]:
    """Matched DICE (paper protocol) of every label map against its truth, voxel by voxel. A truth whose affine differs
    from its label map's (another grid, or a file of another volume) is scored all the same, with a
    :class:`GeometryWarning`.

    ``truth``: nothing (use the truth recorded for dataset cases), a dataset folder with
    ``manifest.json`` (levels 1, 2, ... are matched to the cluster counts in increasing order), or one
    label file per case (in the order of the segmentation, scored against every cluster count).
    ``foreground`` scores every truth map as two classes, background (0) and everything else: for a map
    of instances, such as one label per nucleus.
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
            raise UserError(f"got {count(len(truth), 'truth file')} for {count(len(cases), 'segmented volume')}")
        truth_of = [{"all": str(t)} for t in truth]
    else:
        truth_of = [c.get("truth") or {} for c in cases]
        if not any(truth_of):
            raise UserError("no truth: pass --truth label files or the dataset folder")
        for path in (Path(p) for t in truth_of for p in t.values()):
            if not path.exists():
                raise UserError(f"{path}: the truth recorded in {seg_dir / MANIFEST} is not there (moved?); pass --truth "
                                "label files or the dataset folder")
    rows, checked = [], set()
    for case, case_truth in zip(cases, truth_of):
        for i, k in enumerate(clusters):
            level = "all" if "all" in case_truth else str(i + 1)
            if level not in case_truth:
                continue
            pred = load_labels(seg_dir / case["labels"][str(k)])
            true = load_labels(case_truth[level], shape=pred.shape)
            if (case["name"], case_truth[level]) not in checked:  # once per volume and truth file
                checked.add((case["name"], case_truth[level]))
                _check_geometry(seg_dir / case["labels"][str(k)], Path(case_truth[level]), pred.shape)
            score = matched_dice(pred, (true > 0).astype(np.uint8) if foreground else true)
            rows.append(ScoreRow(case["name"], k, level, float(score.mean), {int(c): float(v) for c, v in score.per_class.items()}))
    return rows


class GeometryWarning(UserWarning):
    """A truth label map lies on another grid than the label map it scores (their affines differ)."""


def _check_geometry(labels: Path, truth: Path, shape: tuple[int, ...]) -> None:
    """Warn where ``truth`` lies elsewhere than ``labels`` (whose affine is the segmented volume's): the two are
    compared voxel by voxel, which is right only on one grid. They differ where a corner of the ``shape`` (Z, Y, X)
    grid maps to places more than a tenth of the smallest voxel side apart. A format without an affine (NumPy) reads as
    the identity and is not compared."""
    from hypseg.io.read import read_affine

    if any(format_of(path).name in ("npy", "npz") for path in (labels, truth)):
        return
    mine, theirs = read_affine(labels), read_affine(truth)
    corners = np.array([[x, y, z, 1.0] for x in (0, shape[2] - 1) for y in (0, shape[1] - 1) for z in (0, shape[0] - 1)])
    apart = float(np.abs((corners @ mine.T - corners @ theirs.T)[:, :3]).max())
    if apart > 0.1 * float(np.linalg.norm(mine[:3, :3], axis=0).min()):
        warnings.warn(f"{truth}: its affine differs from that of {labels.name} (the segmented volume's); they are compared "
                      "voxel by voxel, as if on one grid", GeometryWarning, stacklevel=3)


def summarise(rows: Sequence[ScoreRow]) -> dict[int, float]:
    """Mean DICE over cases for every cluster count."""
    out: dict[int, list[float]] = {}
    for row in rows:
        out.setdefault(row.clusters, []).append(row.mean_dice)
    return {k: float(np.mean(v)) for k, v in sorted(out.items())}


#: the first columns of the table :func:`write_scores_csv` writes (its header line starts with them)
SCORES_HEADER = "case,clusters,level,mean_dice"


def write_scores_csv(rows: Sequence[ScoreRow], path: str | Path) -> Path:
    """One line per (case, cluster count): mean DICE and the per-class DICE. Written atomically."""
    path = Path(path)
    classes = sorted({c for row in rows for c in row.per_class})
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SCORES_HEADER.split(",") + [f"dice_class_{c}" for c in classes])
        for row in rows:
            writer.writerow([row.case, row.clusters, row.level, f"{row.mean_dice:.4f}"]
                            + [f"{row.per_class[c]:.4f}" if c in row.per_class else "" for c in classes])
    return path
