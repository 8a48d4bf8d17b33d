"""Dataset readers: which files make a dataset, and loading one case with its truth and mask.

A :class:`Case` only names files (nothing is read until :func:`load_case`), so a dataset of hundreds of
BraTS volumes costs nothing to list. Three layouts are understood, and :func:`discover_cases` picks one:

- a synthetic dataset folder written by :func:`hypseg.data.synthetic_dataset.write_synthetic_dataset`
  (``manifest.json``: split and per-level label maps);
- a BraTS root: case folders holding ``*_flair.nii.gz`` and, when labelled, ``*_seg.nii.gz``; the truth is
  the whole tumour (seg > 0) and the brain mask is FLAIR > 0 (searched recursively, so the HGG/LGG
  sub-folders of the official release work);
- volume files, or folders of volume files (any suffix :mod:`hypseg.io` reads), without truth.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from hypseg.config import DataConfig
from hypseg.data.synthetic_dataset import MANIFEST
from hypseg.errors import UserError, named
from hypseg.io import Volume, file_stem, is_volume_path, load_labels, load_volume

#: how the mask of a case is derived from its volume
MASK_RULES = ("none", "nonzero")


@dataclasses.dataclass(frozen=True)
class Case:
    """One volume of a dataset and its truth files (not loaded).

    Attributes
    ----------
    name : str
    image : Path
    truth : dict of str -> Path
        Truth label maps by name (``"1"``, ``"2"``, ``"3"`` for the synthetic levels; ``"whole_tumour"``
        for BraTS, whose file holds the BraTS labels).
    split : str or None
        ``"train"``, ``"val"``, ``"test"`` when the dataset says so.
    mask_rule : {"none", "nonzero"}
        ``"nonzero"``: the mask is ``volume != 0`` (BraTS brain = FLAIR > 0 on skull-stripped data).
    binarise : bool
        Truth is ``labels > 0`` (BraTS whole tumour).
    channel, channel_axis : int or None
        Which channel of a 4-D image is the volume, and along which axis (:func:`hypseg.io.load_volume`).
    """

    name: str
    image: Path
    truth: dict[str, Path] = dataclasses.field(default_factory=dict)
    split: str | None = None
    mask_rule: str = "none"
    binarise: bool = False
    channel: int | None = None
    channel_axis: int | None = None

    def read(self, **kwargs) -> Volume:
        """The image as :func:`hypseg.io.load_volume` reads it (``kwargs``: ``mmap``, ``lazy``), in its channel."""
        return load_volume(self.image, channel=self.channel, channel_axis=self.channel_axis, **kwargs)


@dataclasses.dataclass(eq=False)
class LoadedCase:
    """A case read from disk: its volume, truth label maps (same shape) and mask (or None)."""

    case: Case
    volume: Volume
    truth: dict[str, np.ndarray]
    mask: np.ndarray | None


def load_case(case: Case, *, mmap: bool = True) -> LoadedCase:
    """Read a case; every truth map must have the volume's shape (else an error naming the file)."""
    volume = case.read(mmap=mmap)
    truth = {}
    for key, path in case.truth.items():
        labels = load_labels(path, shape=volume.shape)
        truth[key] = (labels > 0).astype(np.uint8) if case.binarise else labels
    if case.mask_rule == "nonzero":
        mask = np.asarray(volume.array) != 0
        if not mask.any():
            raise UserError(f"{case.image}: the mask (non-zero voxels) is empty")
    elif case.mask_rule == "none":
        mask = None
    else:
        raise UserError(f"unknown mask rule {case.mask_rule!r}; choose one of {MASK_RULES}")
    return LoadedCase(case=case, volume=volume, truth=truth, mask=mask)


def read_files(paths: Sequence[str | os.PathLike]) -> list[Case]:
    """Cases from volume files and folders of volume files (sorted by name, not recursive)."""
    cases = []
    for p in map(Path, paths):
        if not p.exists():
            raise FileNotFoundError(f"{p}: no such file or folder")
        if p.is_dir() and not is_volume_path(p):  # a .zarr folder is a volume
            files = sorted(q for q in p.iterdir() if is_volume_path(q) and not q.name.startswith("."))
            if not files:
                raise UserError(f"{p}: folder holds no volume files")
            cases.extend(Case(name=file_stem(q), image=q) for q in files)
        else:
            if not is_volume_path(p):
                load_volume(p)  # raises the unknown-format error
            cases.append(Case(name=file_stem(p), image=p))
    return cases


def read_brats(root: str | os.PathLike) -> list[Case]:
    """Cases of a BraTS-layout folder: ``<case>/<case>_flair.nii.gz`` (+ ``<case>_seg.nii.gz``)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    flairs = sorted(root.rglob("*_flair.nii.gz"))
    if not flairs:
        raise UserError(f"{root}: no BraTS cases (no */*_flair.nii.gz files)")
    cases = []
    for flair in flairs:
        name = flair.name[: -len("_flair.nii.gz")]
        segs = sorted(flair.parent.glob("*_seg.nii.gz"))
        truth = {"whole_tumour": segs[0]} if segs else {}
        cases.append(Case(name=name, image=flair, truth=truth, mask_rule="nonzero", binarise=True))
    return cases


def read_manifest(path: str | os.PathLike) -> list[Case]:
    """Cases of a synthetic dataset from its ``manifest.json`` (or the folder holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such manifest")
    try:
        manifest = json.loads(path.read_text())
        root = path.parent
        return [
            Case(
                name=c["name"],
                image=root / c["image"],
                truth={level: root / rel for level, rel in c.get("labels", {}).items()},
                split=c.get("split"),
            )
            for c in manifest["cases"]
        ]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise UserError(f"{path}: not a hypseg dataset manifest ({type(err).__name__}: {err})") from None


def discover_cases(paths: Sequence[str | os.PathLike], *, channel: int | None = None,
                   channel_axis: int | None = None) -> list[Case]:
    """Cases from what a user typed: a dataset folder with a manifest, a BraTS root, or volume files; each
    read in ``channel`` along ``channel_axis`` where it is 4-D (:class:`Case`)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise UserError("no data given")
    cases = None
    if len(paths) == 1 and paths[0].is_dir() and not is_volume_path(paths[0]):
        folder = paths[0]
        if (folder / MANIFEST).is_file():
            cases = read_manifest(folder)
        elif next(folder.rglob("*_flair.nii.gz"), None) is not None:
            cases = read_brats(folder)
    cases = read_files(paths) if cases is None else cases
    if channel is None and channel_axis is None:
        return cases
    return [dataclasses.replace(case, channel=channel, channel_axis=channel_axis) for case in cases]


def load_normalised(cases: Sequence[Case], *, config: DataConfig, progress: bool = False) -> list[np.ndarray]:
    """Read the cases' volumes and normalise them as training and inference do (float32 arrays)."""
    from hypseg.data.normalise import normalise

    if not cases:
        raise UserError("no volumes to load")
    iterator = cases
    if progress:
        from hypseg.progress import progress as reporter

        iterator = reporter(cases, desc="loading", unit="vol")
    volumes = []
    for case in iterator:
        loaded = load_case(case)
        with named(case.image):
            volumes.append(normalise(np.asarray(loaded.volume.array, dtype=np.float32), config=config, mask=loaded.mask))
    return volumes


def pack_normalised(cases: Sequence[Case], *, config: DataConfig, path: str | os.PathLike, progress: bool = False):
    """Normalise the cases' volumes, read slab by slab, into one float32 file at ``path``; returns its
    :class:`hypseg.data.sampling.PackedVolumes` (a read-only memory map).

    The values are those of :func:`load_normalised` (the same statistics, :func:`hypseg.data.normalise.statistics`),
    but no volume is ever held whole: training on volumes larger than memory reads each patch from the file.
    Cases with a mask rule need their whole volume for the mask and are refused.
    """
    from hypseg.data.normalise import apply, statistics
    from hypseg.data.sampling import PackedVolumes

    if not cases:
        raise UserError("no volumes to load")
    masked = [c.image.name for c in cases if c.mask_rule != "none"]
    if masked:
        raise UserError(f"{masked[0]}: a masked volume cannot be streamed from disk for training")
    volumes = [case.read(lazy=True) for case in cases]
    total = sum(int(np.prod(v.shape)) for v in volumes)
    path = Path(path)
    buffer = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(total,))
    start = 0
    iterator = zip(cases, volumes)
    if progress:
        from hypseg.progress import progress as reporter

        iterator = reporter(list(iterator), desc="normalising", unit="vol")
    for case, volume in iterator:
        with named(case.image):
            stats = statistics(volume.array, config=config)
        plane = int(np.prod(volume.shape[1:]))
        step = max(1, (1 << 22) // plane)
        for z in range(0, volume.shape[0], step):
            slab = apply(volume.array[z : z + step], config=config, stats=stats).ravel()
            buffer[start : start + slab.size] = slab
            start += slab.size
        buffer.flush()
    del buffer
    return PackedVolumes(np.load(path, mmap_mode="r"), [v.shape for v in volumes])
