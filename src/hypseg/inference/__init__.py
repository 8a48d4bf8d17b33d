"""Segmentation: dense per-voxel embedding (tiled), multi-level hyperbolic clustering, model loading."""

from hypseg.inference.embed import embed_volume, embed_volume_multiscale, embed_voxels_naive, read_slab
from hypseg.inference.model_io import TrainedModel, load_model
from hypseg.inference.recipe import RecipeResult, VolumeSegmentation, cluster_embeddings, segment
from hypseg.inference.segment import Segmentation, fit_levels, predict_levels, segment_volume, segment_volumes

__all__ = [
    "embed_volume",
    "embed_volume_multiscale",
    "embed_voxels_naive",
    "read_slab",
    "load_model",
    "TrainedModel",
    "segment",
    "cluster_embeddings",
    "RecipeResult",
    "VolumeSegmentation",
    "Segmentation",
    "fit_levels",
    "predict_levels",
    "segment_volume",
    "segment_volumes",
]
