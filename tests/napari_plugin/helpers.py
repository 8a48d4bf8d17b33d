"""What the napari plugin's tests share besides fixtures: the test geometry, inputs and segmentation folders."""

from __future__ import annotations

import numpy as np

from hypseg.io import Volume, affine_from_spacing, save_volume

#: voxel size (dz, dy, dx) and origin (x, y, z) of the test volumes
SPACING = (2.0, 1.5, 0.5)
ORIGIN = (10.0, -4.0, 3.0)



def write_input(folder, name: str, image: np.ndarray, *, affine: np.ndarray | None = None):
    """``image`` saved as ``folder/name`` with :data:`SPACING` and :data:`ORIGIN` (or ``affine``)."""
    affine = affine_from_spacing(SPACING, origin=ORIGIN) if affine is None else affine
    path = folder / name
    save_volume(Volume(array=image, spacing=SPACING, affine=affine), path=path)
    return path


def segment_folder(model_dir, inputs, out, *, clusters=(2, 4), nested=False, containment=True):
    """``hypseg segment`` of ``inputs`` into ``out`` with the paper preset at the model's patch side."""
    import dataclasses

    from hypseg.config import segment_preset
    from hypseg.inference.pipeline import segment_files

    config = segment_preset("paper").with_clusters(list(clusters)).with_levels(patch_sides=(10,), in_object=containment)
    config = dataclasses.replace(config, nested=nested)
    segment_files(inputs, model_dir=model_dir, out=out, config=config)
    return out
