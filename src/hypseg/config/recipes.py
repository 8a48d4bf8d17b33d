"""Named training recipes and the segmentation defaults that go with them."""

from __future__ import annotations

from hypseg.config.data import DataConfig
from hypseg.config.model import ModelConfig
from hypseg.config.train import RunConfig, TrainConfig

#: voxels per SLIC supervoxel whose mean embedding segmentation clusters (``hypseg segment --supervoxels``,
#: the quality benchmark, the demo): 250 supervoxels in a 50^3 volume, chosen on the validation split (README)
DEFAULT_SUPERVOXEL_SIZE = 500
#: gamma of purity-weighted supervoxel means (:func:`hypseg.inference.pooling.purity_weights`) with 5^3
#: patches: the quality benchmark's levels 2-3 and the demo, chosen on the validation splits (README);
#: ``hypseg segment`` keeps plain means (0) unless ``--purity-power`` is given
PURITY_POWER = 8.0


def cpu_recipe() -> RunConfig:
    """The default recipe for two CPU cores (``hypseg train`` and ``hypseg demo``); see the README.

    The dataclass defaults keep the paper's widths (16/32/64/128, hidden 300); this recipe narrows
    them and trains on batches of 64 triplets, which the README's measurements justify. The triplet
    weight is 1, chosen on the validation split of the 120-volume synthetic set (10 lost 0.005-0.03 at
    levels 2-3, README).
    """
    return RunConfig(
        model=ModelConfig(channels=(8, 16, 16, 32), hidden=64),
        data=DataConfig(triplets_per_batch=64),
        train=TrainConfig(steps=300, shard_size=16, checkpoint_every=50, validate_every=50, log_every=10, triplet_weight=1.0),
    )


def smoke_recipe() -> RunConfig:
    """A tiny model and a few steps on 8^3 patches: for tests and ``hypseg demo --quick``, not results."""
    return RunConfig(
        model=ModelConfig(patch_size=8, channels=(4, 8, 8), hidden=16),
        data=DataConfig(patch_min=5.0, patch_max=16.0, patch_resize=8, triplets_per_batch=16),
        train=TrainConfig(steps=4, shard_size=8, checkpoint_every=2, validate_every=2, validation_batches=1, log_every=1),
    )
