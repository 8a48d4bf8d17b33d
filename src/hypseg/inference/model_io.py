"""A trained model with its run config, rebuilt from a run directory (config.toml + tensors-only model.pt)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import torch

from hypseg.config import RunConfig
from hypseg.data import normalise
from hypseg.io.checkpoint import WEIGHTS_NAME, load_checkpoint, load_run_config, set_aside_seeds
from hypseg.models import HVAE


@dataclasses.dataclass(frozen=True)
class TrainedModel:
    """A trained network and the run config it was trained with: it knows its geometry (the ball's
    curvature, or a Euclidean latent space), its patch side and how its inputs were normalised.

    Attributes
    ----------
    network : HVAE
        In eval mode.
    config : RunConfig
    run_dir : Path or None
        Where it was read from or trained into.
    set_aside : tuple of int
        The seeds of the training runs that collapsed (embedded every patch alike) and were set aside in
        ``run_dir`` before this model trained (:meth:`hypseg.training.Trainer.fit`); ``config`` holds the
        model's own seed.
    embeds_alike : bool
        The training that returned this model found it embedding every patch alike after its last retry
        (:class:`~hypseg.models.collapse.CollapsedModelWarning`); a model read by :func:`load_model` says False.
    """

    network: HVAE
    config: RunConfig
    run_dir: Path | None = None
    set_aside: tuple[int, ...] = ()
    embeds_alike: bool = False

    @property
    def curvature(self) -> float:
        """c > 0: the latent ball's curvature is -c (ignored by a Euclidean model)."""
        return self.config.model.curvature

    @property
    def hyperbolic(self) -> bool:
        """Whether the latent space is the Poincare ball (else R^d)."""
        return self.config.model.hyperbolic

    @property
    def patch_size(self) -> int:
        """m, the side of the patches the network encodes."""
        return self.config.model.patch_size

    def normalise(self, array) -> np.ndarray:
        """``array`` as float32, normalised as the training volumes were (:func:`hypseg.data.normalise`)."""
        return normalise(np.asarray(array, dtype=np.float32), config=self.config.data)


class UnfinishedTrainingWarning(UserWarning):
    """The run directory's checkpoint is from a step before the run's ``train.steps``: its training was
    interrupted, and ``hypseg train ... --resume`` continues it."""


def load_model(run_dir: str | Path, *, device: str | torch.device = "cpu") -> TrainedModel:
    """The trained model of a run directory, in eval mode; clear errors for missing or foreign runs.

    A model whose training did not reach the run's ``train.steps`` loads with an
    :class:`UnfinishedTrainingWarning`: a partly trained model may still be worth a look.
    """
    model, step = _load_model(run_dir, device=device)
    steps = model.config.train.steps
    if step < steps:
        warnings.warn(UnfinishedTrainingWarning(
            f"{Path(run_dir)}: the model is from step {step} of {steps}: its training did not finish "
            f"(hypseg train ... --out {Path(run_dir)} --resume continues it)"), stacklevel=2)
    return model


def _load_model(run_dir: str | Path, *, device: str | torch.device) -> tuple[TrainedModel, int]:
    """The model of ``run_dir`` and the step its checkpoint holds, unchecked (a worker process loading a
    model its caller has loaded)."""
    config = load_run_config(run_dir)
    state = load_checkpoint(run_dir, map_location=device)
    network = HVAE(config.model).to(device)
    network.load_weights(state["model"], source=str(Path(run_dir) / WEIGHTS_NAME))
    return TrainedModel(network.eval(), config, Path(run_dir), set_aside_seeds(run_dir)), int(state["step"])
