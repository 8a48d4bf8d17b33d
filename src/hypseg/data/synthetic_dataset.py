"""Writing a synthetic dataset folder: NIfTI volumes, per-level label maps and a JSON manifest.

Layout of ``out/``::

    manifest.json
    images/synth_000.nii.gz            float32 volume (identity affine, 1 voxel = 1 unit)
    labels/level1/synth_000.nii.gz     uint8 label maps, classes in manifest["classes"]
    labels/level2/synth_000.nii.gz
    labels/level3/synth_000.nii.gz

``kind`` picks the generator (:data:`KINDS`): ``"regular"`` and ``"irregular"`` are the cell volumes of
:func:`hypseg.data.synthetic.generate_volume` (spheres and cuboids, or their deformed versions);
``"shepp-logan"`` is the noisy 3-D Shepp-Logan phantom of :func:`hypseg.data.phantom.generate_phantom`
and ``"crowded"`` a specimen filling its field of view with small particles
(:func:`hypseg.data.crowded.generate_crowded`), both of side ``config.shape`` with their other parameters
at their defaults. The manifest records the kind, the
class names per level and the number of classes per level (``"levels"``) of that kind; the number of
levels is whatever the kind makes. The old ``irregular=True`` still means ``kind="irregular"``.

Volume ``i`` is generated from ``numpy.random.SeedSequence(seed).spawn(n)[i]``, so it does not depend on
``n``. The split is contiguous: the first 2/3 train, the next 1/6 val, the last 1/6 test (80/20/20 for
n = 120). The whole folder is written under a temporary name next to ``out`` and renamed at the end.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

import numpy as np

from hypseg.config import to_dict
from hypseg.data.synthetic_config import SyntheticConfig
from hypseg.data.crowded import CROWDED_CLASSES, generate_crowded
from hypseg.data.phantom import PHANTOM_CLASSES, generate_phantom
from hypseg.data.synthetic import CLASSES, SyntheticVolume, generate_volume
from hypseg.errors import UserError
from hypseg.io import Volume, save_labels, save_volume
from hypseg.io._atomic import check_parent_folders

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "hypseg-synthetic"


def _regular(rng: np.random.Generator, config: SyntheticConfig) -> SyntheticVolume:
    return generate_volume(rng, config=config, irregular=False)


def _irregular(rng: np.random.Generator, config: SyntheticConfig) -> SyntheticVolume:
    return generate_volume(rng, config=config, irregular=True)


def _shepp_logan(rng: np.random.Generator, config: SyntheticConfig) -> SyntheticVolume:
    return generate_phantom(rng, shape=config.shape)


def _crowded(rng: np.random.Generator, config: SyntheticConfig) -> SyntheticVolume:
    return generate_crowded(rng, shape=config.shape)


Generator = Callable[[np.random.Generator, SyntheticConfig], SyntheticVolume]

#: dataset kind -> (class names per level, generator of one volume from (rng, config))
KINDS: dict[str, tuple[dict[int, tuple[str, ...]], Generator]] = {
    "regular": (CLASSES, _regular),
    "irregular": (CLASSES, _irregular),
    "shepp-logan": (PHANTOM_CLASSES, _shepp_logan),
    "crowded": (CROWDED_CLASSES, _crowded),
}


def resolve_kind(kind: str | None, *, irregular: bool = False) -> str:
    """The dataset kind from ``kind`` and the older ``irregular`` flag (None: ``"irregular"`` if set, else ``"regular"``).

    >>> resolve_kind(None), resolve_kind(None, irregular=True), resolve_kind("shepp-logan")
    ('regular', 'irregular', 'shepp-logan')
    """
    if kind is None:
        return "irregular" if irregular else "regular"
    if kind not in KINDS:
        raise UserError(f"unknown dataset kind {kind!r}; choose one of {', '.join(KINDS)}")
    if irregular and kind != "irregular":
        raise UserError(f"irregular=True contradicts kind={kind!r}")
    return kind


def _parameters(generate: Callable, shape: int) -> dict[str, object]:
    """The arguments the Shepp-Logan or crowded kind passes to its generator: ``shape`` and its defaults."""
    signature = inspect.signature(generate)
    defaults = {name: p.default for name, p in signature.parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY}
    return {**defaults, "shape": shape}


def split_sizes(n: int) -> tuple[int, int, int]:
    """(train, val, test) counts: val = test = round(n / 6), train = the rest.

    >>> split_sizes(120), split_sizes(10), split_sizes(1)
    ((80, 20, 20), (6, 2, 2), (1, 0, 0))
    """
    val = test = int(round(n / 6))
    if n < 3:
        val = test = 0
    return n - val - test, val, test


def check_output_folder(out: Path, *, overwrite: bool, how: str = "allow overwriting") -> None:
    """The checks :func:`write_synthetic_dataset` makes of its folder before writing: ``out`` is new, an empty
    folder, or (``overwrite``) a dataset this module wrote (its manifest says so) to replace; missing parent folders
    are made when writing (none may be a file); no other folder is replaced, since replacing deletes everything in it. ``how`` says how to allow overwriting (the
    command line: ``pass --overwrite``)."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not _is_synthetic_dataset(out):  # never replaced: say so before anyone allows overwriting
            raise FileExistsError(f"{out}: folder exists and holds files that are not a synthetic dataset (no manifest.json "
                                  "of one); choose another")
        if not overwrite:
            raise FileExistsError(f"{out}: folder holds a synthetic dataset already (choose another or {how})")
    check_parent_folders(out, what=str(out))  # a missing parent is made when writing, unless a file stands in its way


def _is_synthetic_dataset(folder: Path) -> bool:
    """Whether ``folder`` holds the manifest of a dataset :func:`write_synthetic_dataset` wrote."""
    try:
        return json.loads((folder / MANIFEST).read_text()).get("format") == MANIFEST_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def write_synthetic_dataset(
    out: str | os.PathLike,
    *,
    n: int = 120,
    seed: int = 0,
    irregular: bool = False,
    kind: str | None = None,
    config: SyntheticConfig = SyntheticConfig(),
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Generate ``n`` volumes and write them with label maps and a manifest to the folder ``out``.

    Parameters
    ----------
    out : path-like
        Target folder: new or empty, or with ``overwrite`` a dataset this function wrote.
    n, seed, config
        What to generate (see :func:`hypseg.data.synthetic.generate_volume`; the Shepp-Logan and crowded
        kinds only use ``config.shape``).
    irregular : bool
        Older spelling of ``kind="irregular"``.
    kind : {"regular", "irregular", "shepp-logan", "crowded"}, optional
        The generator (:data:`KINDS`); None: ``"irregular"`` when ``irregular`` is set, else ``"regular"``.
    overwrite : bool
        Replace a dataset this function wrote at ``out``, with everything in it (no other folder is replaced).
    progress : callable, optional
        Called with 1 after each volume (e.g. ``tqdm.update``).

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    kind = resolve_kind(kind, irregular=irregular)
    if n < 1:
        raise UserError(f"{out}: the number of volumes must be >= 1, got {n}")
    check_output_folder(out, overwrite=overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        _write(tmp, n=n, seed=seed, kind=kind, config=config, progress=progress)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _write(root: Path, *, n, seed, kind, config, progress) -> None:
    classes, generate = KINDS[kind]
    (root / "images").mkdir(parents=True)
    for level in classes:
        (root / "labels" / f"level{level}").mkdir(parents=True)
    n_train, n_val, _ = split_sizes(n)
    seeds = np.random.SeedSequence(seed).spawn(n)
    width = max(3, len(str(n - 1)))
    cases = []
    for i, ss in enumerate(seeds):
        name = f"synth_{i:0{width}d}"
        vol = generate(np.random.default_rng(ss), config)
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
        "kind": kind,
        "irregular": kind == "irregular",
        "generator": (to_dict(config) if kind in ("regular", "irregular")
                      else _parameters(generate_phantom if kind == "shepp-logan" else generate_crowded, config.shape)),
        "classes": {str(level): list(names) for level, names in classes.items()},
        "levels": {str(level): len(names) for level, names in classes.items()},
        "split": {s: [c["name"] for c in cases if c["split"] == s] for s in ("train", "val", "test")},
        "cases": cases,
    }
    (root / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
