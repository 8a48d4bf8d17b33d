"""``hypseg plot``: training curves of a run directory, or slices and Poincare disks of a segmentation.

The command reads files (volumes and label maps through :mod:`hypseg.io`, embeddings with NumPy) and
hands arrays to :mod:`hypseg.plotting`, which never reads files itself.

What it plots depends on the target folder:

* a **run directory** (holds ``log.jsonl``, one JSON object per line with ``step``, ``split`` and the
  loss terms) -> ``training_curves.png``;
* a **segmentation directory** (holds ``segmentation.json``) -> for each case ``<name>_slices.png``
  (three orthogonal slices with one overlay row per level) and, when the case lists an embedding,
  ``<name>_disk.png`` (the voxel embeddings on the Poincare disk, one panel per level with its centres,
  plus a "true class" panel per truth map).

True classes come from ``--truth`` (one label map per case), else from the case's ``"truth"`` entry
(``{level: path}``, written by ``hypseg segment`` for labelled datasets). The ball's curvature comes
from ``--curvature``, else from the ``config.toml`` of the ``"model"`` directory, else 1; a Euclidean
model's embeddings are not on a ball, and no disk is drawn for them.

``segmentation.json`` reads ``{"model": str, "clusters": [2, 4, 8], "cases": [{"name": str, "image":
path, "labels": {"2": path, ...}, "embedding": path, "centers": {"2": [[x, y], ...], ...}}]}``; paths are
relative to the segmentation directory unless absolute, the embedding is a ``(Z, Y, X, d)`` ``.npy``.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

import typer

from hypseg.cli._errors import user_errors
from hypseg.errors import UserError


@user_errors
def plot(
    target: Path = typer.Argument(..., help="A run directory (with log.jsonl) or a segmentation directory (with segmentation.json)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the PNG files (created); default TARGET/plots."),
    volume: Optional[Path] = typer.Option(None, "--volume", help="Image under the overlays, instead of the one segmentation.json names (one case only)."),
    truth: Optional[List[Path]] = typer.Option(None, "--truth", metavar="PATH", help="True label map(s), one per case in order: colour the disk by true class and add a truth row."),
    case: Optional[List[str]] = typer.Option(None, "--case", metavar="NAME", help="Plot only the case(s) of this name (repeatable)."),
    max_points: int = typer.Option(20000, "--max-points", min=1, help="Voxels drawn on each Poincare disk (a random subsample)."),
    curvature: Optional[float] = typer.Option(None, "--curvature", "-c", help="Curvature magnitude c of the ball (radius 1/sqrt(c)); default: the model's, else 1."),
    seed: int = typer.Option(0, help="Seed of the subsample of voxels on the disk."),
) -> None:
    """Plot a training run (loss curves) or a segmentation (slice overlays, Poincare disks) as PNG files.

    Writes training_curves.png for a run, <case>_slices.png and <case>_disk.png for a segmentation (the disk
    where the embedding was saved and the model is hyperbolic).

    Examples:

        hypseg plot runs/gyro

        hypseg plot seg/ --out figures/

        hypseg plot seg/ --out figures/ --truth data/synth/labels/level1/synth_000.nii.gz --case synth_000
    """
    from hypseg.inference.pipeline import MANIFEST as SEGMENTATION_NAME
    from hypseg.io.checkpoint import LOG_NAME, read_log

    if not target.exists():
        raise FileNotFoundError(f"{target}: no such run or segmentation directory")
    if target.is_file() and target.name in (LOG_NAME, SEGMENTATION_NAME):
        target = target.parent
    if not target.is_dir():
        raise NotADirectoryError(f"{target}: is a file; give a run directory (with {LOG_NAME}) or a segmentation directory (with {SEGMENTATION_NAME})")
    is_run, is_segmentation = (target / LOG_NAME).is_file(), (target / SEGMENTATION_NAME).is_file()
    if not (is_run or is_segmentation):
        from hypseg.io.checkpoint import CONFIG_NAME

        if (target / CONFIG_NAME).is_file():  # a run stopped before its first log line
            raise UserError(f"{target}: this run has logged no step yet ({LOG_NAME} is missing); there is nothing to plot")
        raise UserError(f"{target}: is neither a run directory (no {LOG_NAME}) nor a segmentation directory (no {SEGMENTATION_NAME})")
    if not is_segmentation and (volume is not None or truth or case):
        raise UserError(f"{target}: --volume, --truth and --case apply to a segmentation directory, and this is a run directory")
    out = out if out is not None else target / "plots"
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder")

    jobs = []
    if is_run:
        records = read_log(target)
        if not records:
            raise UserError(f"{target / LOG_NAME}: holds no records yet; there is nothing to plot")
        jobs.append(lambda folder: _plot_run(records, out=folder, name=target.resolve().name))
    if is_segmentation:
        manifest = _read_segmentation(target / SEGMENTATION_NAME)
        cases = _select_cases(manifest["cases"], names=case or [])
        hyperbolic, c = _model_geometry(manifest.get("model"), curvature=curvature)
        if volume is not None and len(cases) != 1:
            raise UserError(f"--volume replaces the image of one case, and {len(cases)} are selected; pick one with --case NAME")
        if truth and len(truth) != len(cases):
            raise UserError(f"--truth gives {len(truth)} label map(s) for {len(cases)} case(s); give one per case, in order, or select cases with --case")
        if not hyperbolic:
            typer.echo("the model is Euclidean: its embeddings are not on a ball, so no Poincare disk is drawn")
        for i, entry in enumerate(cases):
            jobs.append(
                lambda folder, entry=entry, i=i: _plot_case(
                    entry, root=target, out=folder, volume=volume, truth=truth[i] if truth else None,
                    max_points=max_points, c=c if hyperbolic else None, seed=seed,
                )
            )
    with tempfile.TemporaryDirectory(prefix="hypseg-plots-") as scratch:  # a bad input leaves no figure, nor --out
        drawn = [path for job in jobs for path in job(Path(scratch))]
        out.mkdir(parents=True, exist_ok=True)
        for path in drawn:
            written = Path(shutil.move(path, out / path.name))
            typer.echo(f"wrote {written}")


def _plot_run(records: list[dict], *, out: Path, name: str) -> list[Path]:
    from hypseg.plotting import plot_training_curves

    return [plot_training_curves(records, path=out / "training_curves.png", title=f"{name}: training curves")]


def _plot_case(
    entry: dict, *, root: Path, out: Path, volume: Path | None, truth: Path | None, max_points: int, c: float | None, seed: int
) -> list[Path]:
    """Slices with overlays and (given an embedding and a hyperbolic model, ``c`` not None) the disk of one case.

    The true classes come from ``truth`` when given, else from the case's ``truth`` entry
    (``{level: path}``, written by ``hypseg segment`` for datasets with labels), else there are none.
    """
    import numpy as np

    from hypseg.inference.hierarchy import divided_labels
    from hypseg.io import load_labels, load_volume
    from hypseg.plotting import plot_poincare_panels, plot_slices

    name = entry["name"]
    read_as = {}  # the recorded channel belongs to the recorded image, not to a --volume given instead
    if volume is None:
        read_as = {"channel": entry.get("channel"), "channel_axis": entry.get("channel_axis")}
        volume = _resolve(entry["image"], root=root)
        if not volume.exists():
            raise UserError(f"{volume}: the image of case {name} is not there (moved?); give it with --volume "
                            f"(and --case {name} when the folder holds several cases)")
    image = load_volume(volume, **read_as)
    shape = image.shape
    levels = {f"k={k}": load_labels(_resolve(p, root=root), shape=shape) for k, p in sorted(entry["labels"].items(), key=lambda kv: int(kv[0]))}
    if truth is not None:
        truths = {"": load_labels(truth, shape=shape)}
    else:
        listed = {str(level): _resolve(p, root=root) for level, p in sorted((entry.get("truth") or {}).items())}
        missing = [path for path in listed.values() if not path.exists()]
        if missing:  # the truth is an extra here: the figures go on without it
            print(f"note: the truth of case {name} is not at {missing[0]} (moved?); plotting without it "
                  "(give it with --truth)", file=sys.stderr)
            listed = {}
        truths = {level: load_labels(path, shape=shape) for level, path in listed.items()}
    stem = re.sub(r"[^\w.-]+", "_", name)
    rows = {f"truth {level}".strip(): t for level, t in truths.items()} | levels
    written = [plot_slices(image.array, labels=rows, path=out / f"{stem}_slices.png", spacing=image.spacing, title=name)]

    if c is None:  # a Euclidean model: said once for all cases
        return written
    if entry.get("embedding") is None:
        print(f"note: case {name} has no embedding saved (segmented with --no-embedding, or save_embedding=False), so no "
              "Poincare disk is drawn", file=sys.stderr)
        return written
    path = _resolve(entry["embedding"], root=root)
    if path.suffix.lower() != ".npy":
        raise UserError(f"{path}: embeddings are read from .npy files")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such embedding file")
    try:
        embedding = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        raise UserError(f"{path}: cannot read as .npy: {err}") from None
    if embedding.ndim != 4 or embedding.shape[:3] != shape:
        raise UserError(f"{path}: embedding of shape {embedding.shape} does not match the volume; expected {shape + ('d',)}")
    d = embedding.shape[3]
    points = embedding.reshape(-1, d)  # (Z*Y*X, d), a view of the memory map
    panels = {f"true class {level}".strip(): t.reshape(-1) for level, t in truths.items()}
    panels |= {k: v.reshape(-1) for k, v in levels.items()}
    centers, center_labels = {}, {}
    for k, rows in (entry.get("centers") or {}).items():
        if f"k={k}" in panels:
            centers[f"k={k}"] = np.asarray(rows, dtype=np.float64)
            inside = len(rows) == int(k) - 1  # a level inside level 1's object, or around it (specimen)
            specimen = entry.get("finer_levels_divide") == "specimen"
            center_labels[f"k={k}"] = divided_labels(int(k), specimen=specimen) if inside else range(len(rows))
    written.append(
        plot_poincare_panels(
            points, panels=panels, centers=centers or None, path=out / f"{stem}_disk.png", title=name,
            max_points=max_points, c=c, random_state=seed, center_labels=center_labels,
        )
    )
    return written


def _model_geometry(model: object, *, curvature: float | None) -> tuple[bool, float]:
    """(hyperbolic, c) of the model a segmentation names; ``curvature`` overrides c.

    A model directory that cannot be read (moved, another machine) counts as a hyperbolic ball of
    curvature 1 (or ``curvature``): plotting does not need the model itself.
    """
    if curvature is not None and not (curvature > 0):
        raise UserError(f"--curvature must be positive, got {curvature}")
    from hypseg.io.checkpoint import CONFIG_NAME, load_run_config

    if isinstance(model, str) and (Path(model) / CONFIG_NAME).is_file():
        try:
            config = load_run_config(model).model
        except ValueError:
            return True, curvature or 1.0
        return config.hyperbolic, curvature or config.curvature
    return True, curvature or 1.0


def _read_segmentation(path: Path) -> dict:
    """``segmentation.json`` after checking the keys each case needs."""
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: is not valid JSON ({err.msg} at line {err.lineno})") from None
    cases = manifest.get("cases") if isinstance(manifest, dict) else None
    if not isinstance(cases, list) or not cases:
        raise UserError(f"{path}: has no list of 'cases'")
    for i, entry in enumerate(cases):
        if not isinstance(entry, dict):
            raise UserError(f"{path}: case {i} is not a JSON object")
        for key, kind in (("name", str), ("image", str), ("labels", dict)):
            if not isinstance(entry.get(key), kind):
                raise UserError(f"{path}: case {i} lacks {key!r} (a {'string' if kind is str else 'mapping'})")
        if not isinstance(entry.get("truth") or {}, dict):
            raise UserError(f"{path}: case {i} has 'truth' that is not a mapping of level to label file")
        if not isinstance(entry.get("centers") or {}, dict):
            raise UserError(f"{path}: case {i} has 'centers' that is not a mapping of level to points")
        bad = [k for k in list(entry["labels"]) + list(entry.get("centers") or {}) if not str(k).isdigit()]
        if bad:
            raise UserError(f"{path}: case {i} has levels {bad}; levels are cluster counts such as \"2\"")
    return manifest


def _select_cases(cases: list[dict], *, names: list[str]) -> list[dict]:
    if not names:
        return cases
    known = [entry["name"] for entry in cases]
    missing = [n for n in names if n not in known]
    if missing:
        raise UserError(f"no case named {missing[0]!r} in the segmentation; it holds {known}")
    return [entry for entry in cases if entry["name"] in names]


def _resolve(path: str, *, root: Path) -> Path:
    p = Path(path)
    return p if p.is_absolute() else root / p
