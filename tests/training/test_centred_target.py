"""TrainConfig.centred_target: the reconstruction is scored against each patch less its own mean."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from hypseg.config import RunConfig, cpu_recipe, paper_recipe
from hypseg.errors import UserError
from hypseg.models import HVAE
from hypseg.training.stream import StepBatch
from hypseg.training.trainer import compute_losses


def _losses(centred: bool, patches: torch.Tensor, noise: torch.Tensor):
    config = cpu_recipe()
    config = dataclasses.replace(config, train=dataclasses.replace(config.train, centred_target=centred))
    torch.manual_seed(0)
    model = HVAE(config.model).double()
    return model, compute_losses(model, StepBatch(patches, noise), config)


def test_the_reconstruction_term_is_scored_against_each_patch_less_its_mean_by_hand():
    torch.manual_seed(1)
    patches = torch.randn(6, 1, 10, 10, 10, dtype=torch.float64) + torch.arange(6, dtype=torch.float64).view(6, 1, 1, 1, 1)
    noise = torch.randn(1, 6, 2, dtype=torch.float64)
    model, centred = _losses(True, patches, noise)
    out = model(patches, noise=noise)
    target = patches - patches.mean(dim=(2, 3, 4), keepdim=True)
    by_hand = torch.stack([0.5 * ((target[b] - out.reconstruction[0, b]) ** 2).sum() + 500 * math.log(2 * math.pi)
                           for b in range(6)]).mean()  # unit-variance Gaussian, K = 1, mean over the batch
    torch.testing.assert_close(centred.reconstruction, by_hand)
    _, plain = _losses(False, patches, noise)
    torch.testing.assert_close(plain.kl, centred.kl)  # only the target moves
    torch.testing.assert_close(plain.triplet, centred.triplet)
    assert plain.reconstruction > centred.reconstruction + 100  # patch means of 0..5 cost the plain target dearly


def test_a_centred_target_with_the_paper_decoder_is_refused():
    config = paper_recipe("euclidean")
    with pytest.raises(UserError, match=r"^RunConfig: train.centred_target needs a decoder that can output negative values; "
                                        r"the paper decoder ends in a ReLU$"):
        RunConfig(model=config.model, data=config.data, train=dataclasses.replace(config.train, centred_target=True))
