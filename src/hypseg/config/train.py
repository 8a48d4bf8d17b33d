"""How a model is trained, and the whole run (model, data, training) saved as ``config.toml``."""

from __future__ import annotations

import dataclasses

from hypseg.config._base import Config
from hypseg.config.data import DataConfig
from hypseg.config.model import ModelConfig
from hypseg.errors import UserError

#: Optimisers of :mod:`hypseg.training.optim`.
OPTIMISERS = ("adam", "amsgrad", "riemannian-adam")
#: How the negative ELBO is reduced over a batch.
REDUCTIONS = ("mean", "sum")
#: Which patches of a triplet the decoder reconstructs.
RECONSTRUCT = ("all", "parent")


#: the narrowest centre weighting (:attr:`TrainConfig.centre_sigma`) whose corner weights stay well inside float32
MIN_CENTRE_SIGMA = 0.1


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """How a model is trained (method.md section 5); the named recipes are in :mod:`hypseg.config.recipes`.

    Parameters
    ----------
    steps : int
        Optimiser steps. Each step sees ``DataConfig.triplets_per_batch`` triplets in all (over every
        DDP process together).
    learning_rate : float
    optimiser : {"adam", "amsgrad", "riemannian-adam"}
        Adam, Adam with the AMSGrad correction (betas 0.9, 0.999), or geoopt's RiemannianAdam
        (equivalent to Adam while no parameter lives on the ball).
    samples : int
        K, posterior samples per patch for the reconstruction term and the Monte Carlo KL.
    kl_weight : float
        Weight of the KL term (1 for the ELBO).
    triplet_weight : float
        beta, the weight of the triplet loss (a batch mean) against the negative ELBO.
    reduction : {"mean", "sum"}
        The negative ELBO as a mean over the batch (a per-patch value, so beta does not depend on the
        batch size) or as a sum (the released experiment: beta / B per patch).
    reconstruct : {"all", "parent"}
        Decode and score every patch of a triplet, or only the parent (anchor).
    centred_target : bool
        Score the reconstruction against each patch minus its own mean, so that the likelihood pays nothing
        for coding a patch's mean intensity and the code is left to the patch's structure (and to whatever
        of the mean the triplet loss asks for). Not with the paper decoder, whose ReLU output cannot be negative.
    centre_sigma : float
        0 scores every voxel of the reconstruction alike; above 0, each voxel's squared error is weighed by a
        Gaussian of this standard deviation (a fraction of the patch side) around the patch centre
        (:func:`hypseg.losses.centre_precision`), so that the code describes the patch's centre first.
    triplet_margin : float
        alpha (0.2 in the paper).
    triplet_squared : bool
        Square the distances in the triplet loss (the released code did; the paper does not).
    grad_clip : float
        Maximum gradient norm (8 in the released runs); 0 disables clipping.
    collapse_retries : int
        Times a run whose model embeds every patch alike (it collapsed) is set aside and trained again with
        the seed ``seed + 1000`` (:meth:`hypseg.training.Trainer.fit`); 0 keeps it.
    seed : int
        Seeds the model's initial weights and, with the step number, every batch and every sample.
    shard_size : int
        Triplets per random stream: a step's batch is made of shards of this size, shard j of step s
        drawn from ``SeedSequence([seed, s, j])``, so any number of DDP processes that divides the shard
        count sees exactly the batch of a single process.
    checkpoint_every, validate_every, log_every : int
        Period, in steps, of checkpoints, validation passes and log lines.
    validation_batches : int
        Batches in one validation pass (fixed across passes).
    device : str
        "cpu", "cuda" or "cuda:N".
    amp : bool
        bfloat16 autocast for convolutions on CUDA (the geometry stays float32).
    """

    steps: int = 600
    learning_rate: float = 1e-3
    optimiser: str = "adam"
    samples: int = 1
    kl_weight: float = 1.0
    triplet_weight: float = 10.0
    triplet_margin: float = 0.2
    triplet_squared: bool = False
    reduction: str = "mean"
    reconstruct: str = "all"
    centred_target: bool = False
    centre_sigma: float = 0.0
    grad_clip: float = 8.0
    collapse_retries: int = 2
    seed: int = 0
    shard_size: int = 16
    checkpoint_every: int = 100
    validate_every: int = 100
    log_every: int = 10
    validation_batches: int = 2
    device: str = "cpu"
    amp: bool = False

    def __post_init__(self) -> None:
        if self.optimiser not in OPTIMISERS:
            raise UserError(f"TrainConfig: unknown optimiser {self.optimiser!r}; choose one of {OPTIMISERS}")
        if self.reduction not in REDUCTIONS:
            raise UserError(f"TrainConfig: reduction must be one of {REDUCTIONS}, got {self.reduction!r}")
        if self.reconstruct not in RECONSTRUCT:
            raise UserError(f"TrainConfig: reconstruct must be one of {RECONSTRUCT}, got {self.reconstruct!r}")
        for name in ("steps", "samples", "shard_size", "checkpoint_every", "validate_every", "log_every"):
            if getattr(self, name) < 1:
                raise UserError(f"TrainConfig: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate",):
            if not getattr(self, name) > 0:
                raise UserError(f"TrainConfig: {name} must be > 0, got {getattr(self, name)}")
        for name in ("kl_weight", "triplet_weight", "triplet_margin", "grad_clip", "validation_batches", "collapse_retries",
                     "centre_sigma"):
            if not getattr(self, name) >= 0:
                raise UserError(f"TrainConfig: {name} must be >= 0, got {getattr(self, name)}")
        if 0 < self.centre_sigma < MIN_CENTRE_SIGMA:
            raise UserError(f"TrainConfig: centre_sigma must be 0 (off) or at least {MIN_CENTRE_SIGMA} of the patch side, "
                            f"got {self.centre_sigma} (the weights of a patch's corners would vanish)")
        if not (self.device == "cpu" or self.device == "cuda" or self.device.startswith("cuda:")):
            raise UserError(f"TrainConfig: device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")


@dataclasses.dataclass(frozen=True)
class RunConfig(Config):
    """Everything a training run needs; saved as ``config.toml`` in the run directory."""

    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()

    def __post_init__(self) -> None:
        if self.model.patch_size != self.data.patch_resize:
            raise UserError(
                f"RunConfig: model.patch_size ({self.model.patch_size}) must equal data.patch_resize ({self.data.patch_resize})"
            )
        if self.data.triplets_per_batch % self.train.shard_size:
            raise UserError(
                f"RunConfig: data.triplets_per_batch ({self.data.triplets_per_batch}) must be a multiple of "
                f"train.shard_size ({self.train.shard_size})"
            )
        if self.train.centred_target and self.model.decoder == "paper":
            raise UserError("RunConfig: train.centred_target needs a decoder that can output negative values; "
                            "the paper decoder ends in a ReLU")


