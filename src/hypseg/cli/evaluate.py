"""``hypseg evaluate``: matched-DICE table per level of a segmentation directory."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hypseg._words import count
from hypseg.cli._errors import user_errors
from hypseg.errors import UserError


@user_errors
def evaluate(
    seg: Path = typer.Argument(..., help="Segmentation directory written by hypseg segment."),
    truth: Optional[List[Path]] = typer.Option(None, "--truth", "-t", help="Dataset folder, or one label file per segmented volume."),
    csv: Optional[Path] = typer.Option(None, help="Where to write the table as CSV (default: SEG/evaluation.csv); an "
                                       "existing file is replaced only if it is such a table."),
    foreground: bool = typer.Option(False, "--foreground", help="Score the truth as background (0) against everything "
                                    "else: for a map of instances, e.g. one label per nucleus."),
) -> None:
    """Print per-case and mean DICE for every cluster count, and write them as CSV.

    Clusters are matched to classes by the Hungarian method, background included, as in the paper.

    Examples:

        hypseg evaluate seg/ --truth data/synth

        hypseg evaluate seg-brats/ -t case1_seg.nii.gz -t case2_seg.nii.gz

        hypseg evaluate seg-nuclei/ -t nuclei_label.tif --foreground
    """
    from hypseg.inference.pipeline import evaluate_segmentation, read_segmentation, summarise, write_scores_csv

    target = csv or Path(seg) / "evaluation.csv"
    check_scores_target(target, what="--csv " if csv is not None else "")  # before the scoring, not after its table
    rows = evaluate_segmentation(seg, truth=truth or [], foreground=foreground)
    typer.echo("| case | clusters | level | mean DICE | per-class DICE |")
    typer.echo("|---|---|---|---|---|")
    for row in rows:
        classes = " ".join(f"{c}:{v:.3f}" for c, v in sorted(row.per_class.items()))
        typer.echo(f"| {row.case} | {row.clusters} | {row.level} | {row.mean_dice:.3f} | {classes} |")
    typer.echo("")
    for k, value in summarise(rows).items():
        typer.echo(f"mean DICE over volumes, k = {k}: {value:.3f}")
    for note in pairing_notes(rows, read_segmentation(seg)["clusters"], foreground=foreground):
        typer.echo(f"note: {note}", err=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    path = write_scores_csv(rows, target)
    typer.echo(f"wrote {path}")


def check_scores_target(path: Path, *, what: str = "") -> None:
    """Refuse a CSV target that would replace something other than an earlier table of ``hypseg evaluate``: a folder,
    a link, something that is not a regular file, or a file whose first line is not that table's header (a label map,
    the truth, another tool's table), so that a mistyped ``--csv`` cannot destroy an input; an empty file may go.
    ``what`` prefixes the message (``"--csv "``; without it the target is the default one)."""
    from hypseg.inference.pipeline import SCORES_HEADER
    from hypseg.io._atomic import check_parent_folders

    other = "choose another name" if what else "give another with --csv FILE"
    if path.is_symlink():
        raise UserError(f"{what}{path}: is a symbolic link; give the path it points to ({path.resolve()}) or {other}")
    if path.is_dir():
        raise UserError(f"{what}{path}: is a folder; give the CSV file's name (e.g. {path / 'evaluation.csv'})")
    if path.exists():
        if not path.is_file():
            raise UserError(f"{what}{path}: is not a regular file; {other}")
        try:
            with open(path, "rb") as handle:
                first = handle.readline(len(SCORES_HEADER) + 8)
        except OSError as err:
            raise UserError(f"{what}{path}: cannot be read to check what it holds ({err.strerror or err})") from None
        if first and not first.removeprefix(b"\xef\xbb\xbf").startswith(SCORES_HEADER.encode()):  # a BOM: a spreadsheet's save
            raise UserError(f"{what}{path}: exists and is not a table hypseg evaluate wrote; it is not replaced ({other})")
    check_parent_folders(path, what=f"{what}{path}")


def pairing_notes(rows, clusters, *, foreground: bool = False) -> list[str]:
    """What the pairing of a dataset's truth levels with the cluster counts (by position, in increasing order) did
    that a reader of the table might not expect: a level (or a single truth label map, scored at every count)
    scored against a count other than its number of classes (those of all its volumes together), and counts left
    without a level. A map with more classes than clusters may label instances: the note names ``--foreground``.

    >>> from hypseg.inference.pipeline import ScoreRow
    >>> pairing_notes([ScoreRow("a", 4, "1", 0.5, {0: 0.6, 1: 0.4})], [4, 8])
    ['truth level 1 has 2 classes and was scored against k = 4', 'k = 8: the truth has no level for it; not scored']
    """
    classes: dict[tuple[str, int], set[int]] = {}
    for r in rows:
        classes.setdefault((r.level, r.clusters), set()).update(r.per_class)
    notes, hinted = [], set()
    for (level, k), ids in sorted(classes.items()):
        if len(ids) != k:
            what = "the truth label map" if level == "all" else f"truth level {level}"
            hint = ""
            if len(ids) > k and not foreground and level not in hinted:  # said once per truth map
                hint = "; if it labels instances (one label per object), --foreground scores it as background against the rest"
                hinted.add(level)
            notes.append(f"{what} has {count(len(ids), 'class', 'classes')}{' (as foreground)' if foreground else ''} and was scored "
                         f"against k = {k}{hint}")
    scored = {r.clusters for r in rows}
    notes += [f"k = {k}: the truth has no level for it; not scored" for k in clusters if k not in scored]
    return notes
