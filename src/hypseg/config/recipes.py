"""Named training recipes and the segmentation defaults that go with them."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from hypseg.config.data import DataConfig
from hypseg.config.model import ModelConfig
from hypseg.config.segment import LevelConfig, SegmentConfig
from hypseg.config.train import RunConfig, TrainConfig
from hypseg.errors import UserError

#: voxels per SLIC supervoxel whose mean embedding segmentation clusters (``hypseg segment --supervoxels``,
#: the ``default`` preset, the demo): 250 supervoxels in a 50^3 volume
DEFAULT_SUPERVOXEL_SIZE = 500
#: gamma of purity-weighted supervoxel means (:func:`hypseg.inference.pooling.purity_weights`) with 5^3
#: patches: the ``default`` preset's levels 2-3 and the demo
PURITY_POWER = 8.0
#: passes of the ``default`` preset's refinement of the level-1 object's boundary (:mod:`hypseg.inference.refine`)
REFINE_PASSES = 2
#: how near level 1's boundary the ``default`` preset's voxels take their own nearest centre (``SegmentConfig.voxel_band``)
VOXEL_BAND = 2
#: which patch codes the ``default`` preset averages with their point-inverted patches' (``SegmentConfig.inversion``): the
#: finer levels', whose codes otherwise may carry which side of a thin bright shell is bright, an axis k-means splits by
INVERSION = "finer"
#: what those voxels decide by (``SegmentConfig.band_feature``) and its box side (``SegmentConfig.band_sides``): the
#: image's mean over a box of side 5 against the mean of level 1's clusters there, which has no bend at a bright, soft
#: edge where a patch's code lies nearer the object than its mean intensity
BAND_FEATURE = "intensity"
BAND_SIDES = (5,)
#: clusters of the ``default`` preset's second try at level 1 where its object lies in no field of view
#: (``SegmentConfig.field_retry``)
FIELD_RETRY = 3
#: the box sides (finer, coarser) whose mean intensities' difference the ``default`` preset's level 1 is clustered on
#: where neither try finds an object in a field of view (``SegmentConfig.contrast_sides``): a box of side 3 keeps most of
#: a small particle's contrast, where one of side 5 dilutes it
CONTRAST_SIDES = (3, 10)
#: what that mixture is fitted on (``SegmentConfig.contrast_feature``): the image's local contrast, which held more
#: particles than the embedding's
CONTRAST_FEATURE = "intensity"
#: components of that mixture (``SegmentConfig.contrast_components``): the bulk and a brighter and a darker tail, the
#: volume's intensity picking the object between the tails
CONTRAST_COMPONENTS = 3
#: what the finer levels divide there (``SegmentConfig.contrast_divides``): the specimen around the particles, which stay
#: one cluster at every level
CONTRAST_DIVIDES = "specimen"
#: voxels by which that object is grown after its refinement (``SegmentConfig.contrast_grow``): a blurred particle's rim
#: stands out less than its core
CONTRAST_GROW = 1


def cpu_recipe() -> RunConfig:
    """The default recipe for two CPU cores (``hypseg train`` and ``hypseg demo``).

    The dataclass defaults keep the paper's widths (16/32/64/128, hidden 300); this recipe narrows
    them to 8/16/16/32 with a 64-unit hidden layer, trains 300 steps on batches of 64 triplets and
    weighs the triplet loss by 1.
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


#: Learning rate and gradient-norm clip of the released experiment, per latent space.
PAPER_OPTIMISATION = {"hyperbolic": (5e-7, 8.0), "euclidean": (5e-5, 0.0)}
#: Triplets per anchor table pass: 8 epochs over every anchor in the released experiment.
PAPER_EPOCHS = 8


def paper_recipe(variant: str = "hyperbolic-gyro", *, triplet: bool = True, steps: int = 1000) -> RunConfig:
    """The released experiment of the paper, exactly (../shared/spec/paper-recipe.md).

    Raw intensities; one anchor per voxel centre with sizes fixed per anchor and a concentric positive
    (:class:`hypseg.data.PaperTripletSampler`); the encoder with kernel 5, paddings 2/1/1/0 and widths
    16/32/64/128, a 300-unit hidden layer and a 1e-5 scale floor; the released decoder; the ELBO of the
    parent only, summed over a batch of 128 with K = 8 samples, plus 1000 x the batch mean of the
    squared-distance triplet hinge; Adam with AMSGrad at 5e-7 with gradient clipping at 8 for the ball,
    5e-5 without clipping for R^d.

    ``variant`` and ``triplet`` select a row of the paper's Table 2 (``triplet=False``: weight 0).
    ``steps`` is the training length; eight epochs over the anchors of V volumes of 50^3 voxels are
    ``8 * ceil(V * 46^3 / 128)`` steps (:func:`hypseg.data.PaperTripletSampler.steps_per_epoch`).

    >>> paper_recipe("euclidean").train.learning_rate
    5e-05
    """
    lr, clip = PAPER_OPTIMISATION["euclidean" if variant == "euclidean" else "hyperbolic"]
    return RunConfig(
        model=ModelConfig(
            variant=variant, channels=(16, 32, 64, 128), kernel_size=5, paddings=(2, 1, 1, 0), hidden=300,
            scale_floor=1e-5, decoder="paper",
        ),
        data=DataConfig(
            sampler="paper", patch_min=5.0, patch_max=34.0, child_min=3.0, child_gap=1.0, child_max=15.0,
            anchor_margin=2, triplets_per_batch=128, normalisation="none", constant_tol=0.0,
        ),
        train=TrainConfig(
            steps=steps, learning_rate=lr, optimiser="amsgrad", samples=8, kl_weight=1.0,
            triplet_weight=1000.0 if triplet else 0.0, triplet_margin=0.2, triplet_squared=True, grad_clip=clip,
            reduction="sum", reconstruct="parent", shard_size=16, checkpoint_every=100, validate_every=100,
            log_every=10, validation_batches=1,
        ),
    )


#: Training recipes by name (``hypseg train --recipe``).
TRAINING_RECIPES = {"cpu": cpu_recipe, "paper": paper_recipe, "smoke": smoke_recipe}


def training_recipe(name: str, *, variant: str | None = None) -> RunConfig:
    """The training recipe called ``name`` (one of :data:`TRAINING_RECIPES`) for ``variant``.

    The ``paper`` recipe's learning rate and clipping follow the variant; the others only swap it.

    >>> training_recipe("paper", variant="euclidean").train.learning_rate
    5e-05
    """
    if name not in TRAINING_RECIPES:
        raise UserError(f"unknown training recipe {name!r}; choose one of {', '.join(TRAINING_RECIPES)}")
    if name == "paper":
        return paper_recipe(variant or "hyperbolic-gyro")
    run = TRAINING_RECIPES[name]()
    return dataclasses.replace(run, model=dataclasses.replace(run.model, variant=variant)) if variant else run


def default_segmentation() -> SegmentConfig:
    """The segmentation recipe of the quality benchmark (``hypseg segment`` without options).

    Level 1 (k = 2): 10^3 patches, plain means of 500-voxel supervoxels, one fit per volume; its
    object, holes filled, is the level-1 map. Level 2 (k = 4): 5^3 patches, purity^8-weighted means,
    one fit per volume inside the object. Level 3 (k = 8): as level 2, one fit over all volumes. Each p = 5 code is the
    mean of the patch's and of the patch's with every axis reversed (:mod:`hypseg.inference.embed`), so that it does
    not say which side of an edge is bright. A
    hyperbolic model's embeddings are clustered in the tangent space at the origin
    (:mod:`hypseg.inference.tangent`): the same labels as the ball's where objects are large, fewer
    background voxels drawn into a rare, bright, soft-edged object. Before its holes are filled, the voxels
    within 2 voxels of the boundary between level 1's clusters take the cluster whose mean of the image's intensity over a box of
    side 5 is nearest their own (:func:`hypseg.inference.recipe.voxels_decide`), and then the object's boundary is refined voxel by voxel by the
    image's intensity in two passes (:mod:`hypseg.inference.refine`): both let it follow an edge that its
    supervoxels straddle. Where level 1's two clusters meet the volume's faces as much as their sizes predict (no
    object in a field of view: a faint object whose brighter rim, or a gradient across the field, took the second
    cluster), level 1 is clustered again with three clusters, and the one off the faces is the object. Where none is
    either (a specimen that fills the volume, as in a tomogram), level 1 is clustered voxel by voxel on local contrast,
    the image's box mean at side 3 minus at side 10, by a three-component tied Gaussian mixture: besides the specimen's bulk a
    brighter and a darker tail, and the tail whose voxels differ more from their surroundings in the image's intensity
    is the object: small particles, which two-means would lose to a slow variation of the specimen; grown by one voxel
    after its refinement, it takes in the particles' blurred rims. Such a volume has no outside, so its finer levels
    divide the specimen around the particles, which stay one cluster at every level.
    """
    size = DEFAULT_SUPERVOXEL_SIZE
    return SegmentConfig(levels=(
        LevelConfig(2, patch_sides=(10,), supervoxel_size=size, pooled=False, in_object=True),
        LevelConfig(4, patch_sides=(5,), supervoxel_size=size, purity_power=PURITY_POWER, pooled=False, in_object=True),
        LevelConfig(8, patch_sides=(5,), supervoxel_size=size, purity_power=PURITY_POWER, pooled=True, in_object=True),
    ), space="tangent", refine=REFINE_PASSES, voxel_band=VOXEL_BAND, band_sides=BAND_SIDES, band_feature=BAND_FEATURE,
       field_retry=FIELD_RETRY, contrast_sides=CONTRAST_SIDES,
       contrast_components=CONTRAST_COMPONENTS, contrast_divides=CONTRAST_DIVIDES, contrast_grow=CONTRAST_GROW,
       contrast_feature=CONTRAST_FEATURE, inversion=INVERSION)


def paper_segmentation() -> SegmentConfig:
    """The paper's protocol: every voxel's 5^3-patch embedding, k = 2, 4, 8, one fit per volume."""
    return SegmentConfig(levels=tuple(LevelConfig(k, patch_sides=(5,)) for k in (2, 4, 8)))


#: Segmentation presets by name (``hypseg segment --recipe``, ``hypseg.segment(recipe=...)``).
SEGMENT_PRESETS = {"default": default_segmentation, "paper": paper_segmentation}


def segment_preset(name: str) -> SegmentConfig:
    """The segmentation preset called ``name`` (one of :data:`SEGMENT_PRESETS`)."""
    if name not in SEGMENT_PRESETS:
        raise UserError(f"unknown segmentation recipe {name!r}; choose one of {', '.join(SEGMENT_PRESETS)}")
    return SEGMENT_PRESETS[name]()


#: The smallest side a training volume may have: patch sides clip down to it (:func:`clip_patch_sides`).
MIN_PATCH_SIDE = 8


def check_sides(shape: Sequence[int], *, what: str, to: str = "segment") -> None:
    """A one-line :class:`~hypseg.errors.UserError` when a side of ``shape`` is below :data:`MIN_PATCH_SIDE`,
    naming ``what`` (the volume) and what it is ``to`` be used for; training and segmenting share the rule.

    >>> check_sides((7, 30, 30), what="volume 0")
    Traceback (most recent call last):
    ...
    hypseg.errors.UserError: volume 0 of shape (7, 30, 30) is too small to segment: every side must be at least 8 voxels
    """
    shape = tuple(int(n) for n in shape)
    if min(shape) < MIN_PATCH_SIDE:
        raise UserError(f"{what} of shape {shape} is too small to {to}: every side must be at least {MIN_PATCH_SIDE} voxels")


def clip_patch_sides(config: RunConfig, shapes: Sequence[Sequence[int]]) -> RunConfig:
    """``config`` with its training patch sides clipped to fit the smallest side of ``shapes``.

    A volume whose smallest side S is below ``data.patch_max`` gets ``patch_max = S`` (and
    ``patch_min`` at most S); a config whose patches fit every volume comes back unchanged, and so
    does one of the paper's sampler, which shrinks each parent at the faces itself.

    Raises
    ------
    UserError
        If a side is below :data:`MIN_PATCH_SIDE`.

    >>> clip_patch_sides(cpu_recipe(), [(50, 50, 50), (20, 64, 64)]).data.patch_max
    20.0
    """
    shapes = [tuple(int(n) for n in shape) for shape in shapes]
    if not shapes:
        return config
    smallest = min(shapes, key=min)
    side = min(smallest)
    check_sides(smallest, what="a volume", to="train on")
    if side >= config.data.patch_max or config.data.sampler == "paper":
        return config
    data = dataclasses.replace(config.data, patch_max=float(side), patch_min=min(config.data.patch_min, float(side)))
    return dataclasses.replace(config, data=data)


def clip_note(before: RunConfig, after: RunConfig) -> str | None:
    """The note that :func:`clip_patch_sides` changed ``before`` into ``after`` (None when it did not)."""
    if after.data.patch_max == before.data.patch_max:
        return None
    return (f"note: the smallest volume side is {after.data.patch_max:g} voxels, so training patch sides are clipped "
            f"from {before.data.patch_max:g} to {after.data.patch_max:g}")
