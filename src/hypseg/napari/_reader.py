"""Open a ``hypseg segment`` output folder in napari: the image and one labels layer per level.

The folder's ``segmentation.json`` (:mod:`hypseg.inference.pipeline`) lists every case: its input
volume, its label map per cluster count and, with containment, its level-1 object. For every case
the reader returns

- the input volume as an image layer named after the case (when the file is still where the
  manifest says; otherwise the labels are placed by the geometry of the first label map);
- one labels layer per level, ``k=2``, ``k=4``, ... (``<case> k=2`` when the folder holds several
  cases), with the input's scale and translation from its voxel size and affine;
- with containment, the level-1 object as a hidden labels layer ``object``;
- with nested levels (``hypseg segment --nested``), the tree: each labels layer below the first has a
  ``features`` table whose ``parent`` column names the cluster of the level above that holds each
  cluster (napari's status bar shows it under the cursor), and ``metadata["hypseg"]["parent"]``
  holds the same mapping.

Every layer's ``metadata["hypseg"]`` records the case, the file, the cluster count, the input's
affine and unit, so that :func:`hypseg.napari._writer.write_labels` writes a label map with the
input's exact geometry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from hypseg.errors import UserError
from hypseg.napari._layers import labels_colormap, layer_axes, layer_geometry, zero_is_outside

#: the manifest's file name (:data:`hypseg.inference.pipeline.MANIFEST`, which imports torch)
MANIFEST = "segmentation.json"

LayerData = tuple[Any, dict[str, Any], str]


def napari_get_reader(path: str | os.PathLike | Sequence[str | os.PathLike]) -> Callable[..., list[LayerData]] | None:
    """The reader for ``path`` when it is a segmentation folder (or its ``segmentation.json``), else None."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    return read_segmentation_folder if _folder_of(path) is not None else None


def _folder_of(path: str | os.PathLike) -> Path | None:
    """The segmentation folder that ``path`` names (the folder or its manifest), or None."""
    path = Path(path)
    folder = path.parent if path.name == MANIFEST else path
    return folder if (folder / MANIFEST).is_file() else None


def read_segmentation_folder(path: str | os.PathLike | Sequence[str | os.PathLike]) -> list[LayerData]:
    """The layers of a segmentation folder (module docstring), case by case.

    Raises
    ------
    UserError
        If ``path`` is no segmentation folder, its manifest is not valid JSON, or a label map is
        missing or of another shape than its volume.
    """
    from hypseg.inference.pipeline import read_segmentation

    if isinstance(path, (list, tuple)):
        path = path[0]
    folder = _folder_of(path)
    if folder is None:
        raise UserError(f"{path}: not a hypseg segmentation folder ({MANIFEST} is missing)")
    manifest = read_segmentation(folder)
    cases = manifest.get("cases", [])
    if not cases:
        raise UserError(f"{folder / MANIFEST}: lists no segmented volumes")
    nested = bool(manifest.get("recipe", {}).get("nested", False))
    layers: list[LayerData] = []
    for case in cases:
        layers.extend(_case_layers(folder, case, nested=nested, prefix=f"{case['name']} " if len(cases) > 1 else ""))
    return layers


def _case_layers(folder: Path, case: dict, *, nested: bool, prefix: str) -> list[LayerData]:
    from hypseg.io import load_labels, load_volume

    files = {int(k): folder / name for k, name in case["labels"].items()}
    for file in files.values():
        if not file.exists():  # a Zarr label map is a folder
            raise UserError(f"{file}: label map listed in {folder / MANIFEST} is missing")
    image_path = Path(case["image"])
    if not image_path.is_absolute():  # a folder that keeps its image (hypseg.save_labels of a volume made in memory)
        image_path = folder / image_path
    layers: list[LayerData] = []
    if image_path.exists():
        volume = load_volume(image_path, channel=case.get("channel"), channel_axis=case.get("channel_axis"))
    else:  # the input moved: every label map carries its geometry (written ``like`` the input)
        volume = load_volume(files[min(files)])
    axes = layer_axes(volume.metadata.get("unit"))
    if image_path.exists():
        layers.append((volume.array, {"name": case["name"], **layer_geometry(volume.affine), **axes,
                                      "metadata": {"hypseg": _record(volume, case=case["name"], file=image_path)}}, "image"))
    contained = "object" in case
    specimen = case.get("finer_levels_divide") == "specimen"  # the finer levels' label 0 is a cluster of the specimen
    ks = sorted(files)
    maps = {k: load_labels(files[k], shape=volume.shape) for k in ks}
    for i, k in enumerate(ks):
        meta = _record(volume, case=case["name"], file=files[k], clusters=k)
        kwargs: dict[str, Any] = {"name": f"{prefix}k={k}", **layer_geometry(volume.affine), **axes,
                                  "colormap": labels_colormap(k, outside=zero_is_outside(k, contained=contained, first=ks[0],
                                                                                         specimen=specimen)),
                                  "visible": k == ks[-1]}
        if nested and i > 0:
            parent = parent_clusters(maps[k], maps[ks[i - 1]])
            meta["parent"] = {"clusters": ks[i - 1], "of": {str(c): p for c, p in parent.items()}}
            kwargs["features"] = {"index": list(parent), f"parent (k={ks[i - 1]})": list(parent.values())}
        kwargs["metadata"] = {"hypseg": meta}
        layers.append((maps[k], kwargs, "labels"))
    if contained:
        file = folder / case["object"]
        mask = load_labels(file, shape=volume.shape)
        layers.append((mask, {"name": f"{prefix}object", **layer_geometry(volume.affine), **axes,
                              "visible": False,
                              "metadata": {"hypseg": _record(volume, case=case["name"], file=file)}}, "labels"))
    return layers


def _record(volume, *, case: str, file: Path, clusters: int | None = None) -> dict[str, Any]:
    """What a layer remembers of its origin (JSON-compatible): case, file, cluster count, geometry."""
    record: dict[str, Any] = {"case": case, "file": str(file), "affine": np.asarray(volume.affine).tolist(),
                              "unit": volume.metadata.get("unit")}
    if clusters is not None:
        record["clusters"] = clusters
    return record


def parent_clusters(child: np.ndarray, parent: np.ndarray) -> dict[int, int]:
    """The cluster of ``parent`` that holds most voxels of each cluster of ``child`` (nested levels hold
    each child inside one parent, so "most" is "all" there).

    >>> child = np.array([[[0, 1, 2, 3]]]); parent = np.array([[[0, 0, 1, 1]]])
    >>> parent_clusters(child, parent)
    {0: 0, 1: 0, 2: 1, 3: 1}
    """
    child = np.asarray(child).ravel().astype(np.int64)
    parent = np.asarray(parent).ravel().astype(np.int64)
    width = int(parent.max()) + 1
    counts = np.bincount(child * width + parent, minlength=(int(child.max()) + 1) * width).reshape(-1, width)
    present = np.flatnonzero(counts.sum(axis=1))
    return {int(c): int(np.argmax(counts[c])) for c in present}
