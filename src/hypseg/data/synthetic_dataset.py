"""Writing a synthetic dataset folder: NIfTI volumes, per-level label maps and a JSON manifest.

Layout of ``out/``::

    manifest.json
    images/synth_000.nii.gz            float32 volume (identity affine, 1 voxel = 1 unit)
    labels/level1/synth_000.nii.gz     uint8 label maps, classes in manifest["classes"]
    labels/level2/synth_000.nii.gz
    labels/level3/synth_000.nii.gz

Volume ``i`` is generated from ``numpy.random.SeedSequence(seed).spawn(n)[i]``, so it does not depend on
``n``. The split is contiguous: the first 2/3 train, the next 1/6 val, the last 1/6 test (80/20/20 for
n = 120). The whole folder is written under a temporary name next to ``out`` and renamed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

import numpy as np

from hypseg.config import SyntheticConfig, to_dict
from hypseg.data.synthetic import CLASSES, generate_volume
from hypseg.io import Volume, save_labels, save_volume

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "hypseg-synthetic"


def split_sizes(n: int) -> tuple[int, int, int]:
    """(train, val, test) counts: val = test = round(n / 6), train = the rest.

    >>> split_sizes(120), split_sizes(10), split_sizes(1)
    ((80, 20, 20), (6, 2, 2), (1, 0, 0))
    """
    val = test = int(round(n / 6))
    if n < 3:
        val = test = 0
    return n - val - test, val, test


def write_synthetic_dataset(
    out: str | os.PathLike,
    *,
    n: int = 120,
    seed: int = 0,
    irregular: bool = False,
    config: SyntheticConfig = SyntheticConfig(),
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Generate ``n`` volumes and write them with label maps and a manifest to the folder ``out``.

    Parameters
    ----------
    out : path-like
        Target folder; must not exist (or be empty) unless ``overwrite``.
    n, seed, irregular, config
        What to generate (see :func:`hypseg.data.synthetic.generate_volume`).
    overwrite : bool
        Replace an existing non-empty ``out``.
    progress : callable, optional
        Called with 1 after each volume (e.g. ``tqdm.update``).

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    if n < 1:
        raise ValueError(f"{out}: the number of volumes must be >= 1, got {n}")
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out}: folder exists and is not empty (choose another or allow overwriting)")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out}: the folder {out.parent} does not exist")
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        _write(tmp, n=n, seed=seed, irregular=irregular, config=config, progress=progress)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write(root: Path, *, n, seed, irregular, config, progress) -> None:
    (root / "images").mkdir(parents=True)
    for level in CLASSES:
        (root / "labels" / f"level{level}").mkdir(parents=True)
    n_train, n_val, _ = split_sizes(n)
    seeds = np.random.SeedSequence(seed).spawn(n)
    width = max(3, len(str(n - 1)))
    cases = []
    for i, ss in enumerate(seeds):
        name = f"synth_{i:0{width}d}"
        vol = generate_volume(np.random.default_rng(ss), config=config, irregular=irregular)
        image = Volume.from_array(vol.image, metadata={"unit": "unknown"})
        save_volume(image, root / "images" / f"{name}.nii.gz")
        labels = {}
        for level, array in vol.labels.items():
            rel = f"labels/level{level}/{name}.nii.gz"
            save_labels(array, like=image, path=root / rel)
            labels[str(level)] = rel
        split = "train" if i < n_train else "val" if i < n_train + n_val else "test"
        cases.append({"name": name, "split": split, "image": f"images/{name}.nii.gz", "labels": labels, "counts": vol.scene.counts()})
        if progress is not None:
            progress(1)
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "n": n,
        "seed": seed,
        "irregular": irregular,
        "generator": to_dict(config),
        "classes": {str(level): list(names) for level, names in CLASSES.items()},
        "split": {s: [c["name"] for c in cases if c["split"] == s] for s in ("train", "val", "test")},
        "cases": cases,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
