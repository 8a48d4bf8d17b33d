"""Atomic writes: write under a temporary name in the target's folder, then :func:`os.replace`."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from pathlib import Path
from typing import Iterator


def full_suffix(path: Path) -> str:
    """The suffix that decides the format (``.nii.gz`` counts as one)."""
    name = path.name.lower()
    if name.endswith(".nii.gz"):
        return ".nii.gz"
    return path.suffix.lower()


def file_stem(path: Path) -> str:
    """The name of a volume file without its format's suffix, nor the ``.ome`` that an OME-TIFF or OME-Zarr name
    puts before it: what a label map's name starts with (``cell.ome.tif`` -> ``cell``, ``brain.nii.gz`` -> ``brain``).

    >>> file_stem(Path("cell.ome.tif")), file_stem(Path("brain.nii.gz")), file_stem(Path("scan.ome.npy"))
    ('cell', 'brain', 'scan.ome')
    """
    name = Path(path).name
    suffix = full_suffix(Path(path))
    stem = name[: len(name) - len(suffix)] if suffix else name
    ome = suffix in (".tif", ".tiff", ".zarr") and stem.lower().endswith(".ome") and len(stem) > len(".ome")
    return stem[: -len(".ome")] if ome else stem


def check_parent_folders(path: Path, *, what: str) -> None:
    """Refuse ``path`` where a file stands in place of one of its folders; missing folders are the writer's to make.
    ``what`` opens the message (the path as the user named it)."""
    from hypseg.errors import UserError

    for parent in Path(path).parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{what}: {parent} is a file, not a folder")
            return


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` with the same suffix; move it onto ``path`` on success.

    On an exception the temporary file or folder is removed and ``path`` is left untouched. A folder
    target (a Zarr store, an output folder) that already exists is first renamed aside, the new one renamed
    into place and only then the old one removed: an interrupt at any point leaves one of the two whole at
    ``path`` (at worst with the old one left aside as ``.<name>.old-<hex>``). An ``OSError`` about the temporary name
    (a folder where nothing can be created) names ``path`` instead, the one the user gave.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{path}: the folder {path.parent} does not exist")
    suffix = full_suffix(path)
    tmp = path.parent / f".{path.name[: len(path.name) - len(suffix)]}.tmp-{uuid.uuid4().hex[:8]}{suffix}"
    try:
        yield tmp
        old = None
        if tmp.is_dir() and path.exists():
            old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)
            raise
        if old is not None:
            shutil.rmtree(old) if old.is_dir() and not old.is_symlink() else old.unlink()  # a link goes, not its target
    except BaseException as err:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
        if isinstance(err, OSError) and isinstance(err.filename, (str, os.PathLike)) and Path(err.filename) == tmp:
            err.filename = str(path)  # the file system's complaint about the temporary name is one about the path asked for
        raise
