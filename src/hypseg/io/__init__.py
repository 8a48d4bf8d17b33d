"""Reading and writing 3-D volumes with their voxel geometry.

Formats (by suffix): NIfTI ``.nii``/``.nii.gz`` (nibabel), MRC ``.mrc``/``.rec``/``.map`` (mrcfile),
TIFF ``.tif``/``.tiff`` (tifffile, ImageJ spacing), NumPy ``.npy``/``.npz``, Zarr ``.zarr`` (optional
extra ``hypseg[zarr]``). Arrays are ``(Z, Y, X)``; see :mod:`hypseg.io.volume` for the geometry
conventions. Writes are atomic (temporary name in the same folder, then rename).
"""

from hypseg.io._atomic import atomic_path, file_stem, full_suffix
from hypseg.io.formats import FORMATS, is_volume_path
from hypseg.io.read import LazyArray, load_labels, load_volume
from hypseg.io.volume import Volume, affine_from_spacing, spacing_from_affine
from hypseg.io.write import save_labels, save_volume

__all__ = [
    "FORMATS",
    "LazyArray",
    "Volume",
    "affine_from_spacing",
    "atomic_path",
    "file_stem",
    "full_suffix",
    "is_volume_path",
    "load_labels",
    "load_volume",
    "save_labels",
    "save_volume",
    "spacing_from_affine",
]
