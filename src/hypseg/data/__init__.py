"""What the model learns from: synthetic hierarchical volumes, dataset readers, normalisation, triplets.

- :mod:`hypseg.data.synthetic`: the seeded three-level generator (method.md section 8);
- :mod:`hypseg.data.phantom`: the noisy, randomised 3-D Shepp-Logan phantom with nested levels;
- :mod:`hypseg.data.crowded`: a specimen filling its field of view, crowded with small particles;
- :mod:`hypseg.data.synthetic_dataset`: writes a dataset folder (NIfTI + label maps + manifest);
- :mod:`hypseg.data.readers`: files/folders, the BraTS layout, the synthetic manifest;
- :mod:`hypseg.data.normalise`: intensity normalisation shared by training and inference;
- :mod:`hypseg.data.supervoxels`: SLIC supervoxels, shared by the SLIC peer and supervoxel pooling;
- :mod:`hypseg.data.sampling`: the multi-scale :class:`TripletSampler` (method.md section 6).
"""

from hypseg.data.crowded import CROWDED_CLASSES, CROWDED_LEVELS, generate_crowded
from hypseg.data.normalise import normalise, percentile_scale, zscore
from hypseg.data.paper_sampling import PaperTripletSampler
from hypseg.data.phantom import PHANTOM_CLASSES, PHANTOM_LEVELS, generate_phantom
from hypseg.data.readers import Case, LoadedCase, discover_cases, load_case, load_normalised, pack_normalised, read_brats, read_files, read_manifest
from hypseg.data.sampling import TripletBatch, TripletBoxes, TripletSampler, draw_boxes, extract_patches
from hypseg.data.supervoxels import supervoxels
from hypseg.data.synthetic import CLASSES, SyntheticVolume, generate_volume
from hypseg.data.synthetic_config import SyntheticConfig
from hypseg.data.synthetic_dataset import write_synthetic_dataset

__all__ = [
    "CLASSES",
    "CROWDED_CLASSES",
    "CROWDED_LEVELS",
    "Case",
    "LoadedCase",
    "PHANTOM_CLASSES",
    "PaperTripletSampler",
    "PHANTOM_LEVELS",
    "SyntheticConfig",
    "SyntheticVolume",
    "TripletBatch",
    "TripletBoxes",
    "TripletSampler",
    "discover_cases",
    "draw_boxes",
    "extract_patches",
    "generate_crowded",
    "generate_phantom",
    "generate_volume",
    "load_case",
    "load_normalised",
    "pack_normalised",
    "normalise",
    "percentile_scale",
    "read_brats",
    "read_files",
    "read_manifest",
    "supervoxels",
    "write_synthetic_dataset",
    "zscore",
]
