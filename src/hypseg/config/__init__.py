"""Typed configuration dataclasses, their dict / TOML round trips, and the named recipes.

Every configuration of hypseg is a frozen dataclass deriving from :class:`Config`; one module per
concern: :mod:`~hypseg.config.data` (patch sampling, normalisation), :mod:`~hypseg.config.model`,
:mod:`~hypseg.config.train` (optimisation and the whole run) and :mod:`~hypseg.config.recipes`
(named presets). Unknown keys and values of the wrong type raise :class:`~hypseg.errors.UserError` naming the key.

This package imports nothing else from hypseg (it is the bottom of the layering table in ``design.md``).

>>> cfg = DataConfig(patch_distribution="log-uniform", patch_max=20.0)
>>> from_dict(DataConfig, to_dict(cfg)) == cfg
True
>>> from_dict(DataConfig, {"patch_sise": 3})
Traceback (most recent call last):
...
hypseg.errors.UserError: DataConfig: unknown key 'patch_sise'
"""

from hypseg.config._base import Config, dumps_toml, from_dict, load_toml, save_toml, to_dict
from hypseg.config.data import NORMALISATIONS, PATCH_DISTRIBUTIONS, DataConfig
from hypseg.config.model import VARIANTS, ModelConfig
from hypseg.config.recipes import (
    DEFAULT_SUPERVOXEL_SIZE,
    MIN_PATCH_SIDE,
    PURITY_POWER,
    SEGMENT_PRESETS,
    TRAINING_RECIPES,
    check_sides,
    clip_patch_sides,
    cpu_recipe,
    paper_recipe,
    segment_preset,
    smoke_recipe,
    training_recipe,
)
from hypseg.config.segment import LevelConfig, SegmentConfig
from hypseg.config.train import OPTIMISERS, RunConfig, TrainConfig

__all__ = [
    "Config",
    "DataConfig",
    "ModelConfig",
    "TrainConfig",
    "RunConfig",
    "LevelConfig",
    "SegmentConfig",
    "segment_preset",
    "SEGMENT_PRESETS",
    "clip_patch_sides",
    "check_sides",
    "MIN_PATCH_SIDE",
    "to_dict",
    "from_dict",
    "save_toml",
    "load_toml",
    "dumps_toml",
    "cpu_recipe",
    "smoke_recipe",
    "paper_recipe",
    "training_recipe",
    "TRAINING_RECIPES",
    "DEFAULT_SUPERVOXEL_SIZE",
    "PURITY_POWER",
    "NORMALISATIONS",
    "PATCH_DISTRIBUTIONS",
    "VARIANTS",
    "OPTIMISERS",
]
