"""Segmentation: dense per-voxel embedding (tiled), multi-level hyperbolic clustering, model loading."""

from hypseg.inference.embed import embed_volume, embed_volume_multiscale, embed_voxels_naive, read_slab
from hypseg.inference.model_io import load_model
from hypseg.inference.segment import Segmentation, fit_levels, predict_levels, segment_volume, segment_volumes

__all__ = [
    "embed_volume",
    "embed_volume_multiscale",
    "embed_voxels_naive",
    "read_slab",
    "load_model",
    "Segmentation",
    "fit_levels",
    "predict_levels",
    "segment_volume",
    "segment_volumes",
]
