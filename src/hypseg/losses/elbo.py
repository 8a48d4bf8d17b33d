r"""The negative ELBO with a Monte Carlo KL (method.md section 5; the paper's eq. 8).

.. math:: -\mathrm{ELBO}(x) = \frac1K\sum_{k=1}^K\Big[-\log p(x\mid z_k)
          + \log q(z_k\mid x) - \log p(z_k)\Big],\qquad z_k \sim q(z\mid x),

with a unit-variance Gaussian likelihood :math:`-\log p(x\mid z) = \tfrac12|x - \hat x(z)|^2 +
\tfrac n2\log 2\pi` summed over the n voxels of a patch. There is no closed-form KL between wrapped
normals, so it is estimated from the same K samples.

**Reduction:** every term is a sum over voxels and latent dimensions, then a mean over the K samples
and, by default, a *mean over the batch* (a per-patch value), so that the loss scale and the weight of
the triplet term do not depend on the batch size; ``reduction="sum"`` sums over the batch instead, as
the released experiment did. A decoder may return one reconstruction per patch for all K samples
(K' = 1, the paper's grid decoder) instead of one per sample.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch
from torch.distributions import Distribution


class ELBOTerms(NamedTuple):
    """Per-patch means over the batch."""

    loss: torch.Tensor  # reconstruction + kl_weight * kl
    reconstruction: torch.Tensor  # -E_q log p(x | z)
    kl: torch.Tensor  # E_q [log q(z | x) - log p(z)]


def negative_elbo(
    patches: torch.Tensor,
    reconstruction: torch.Tensor,
    z: torch.Tensor,
    posterior: Distribution,
    prior: Distribution,
    *,
    kl_weight: float = 1.0,
    reduction: str = "mean",
    noise: torch.Tensor | None = None,
    precision: torch.Tensor | None = None,
) -> ELBOTerms:
    """Negative ELBO of a batch.

    Parameters
    ----------
    patches : (B, 1, m, m, m)
    reconstruction : (K', B, 1, m, m, m)
        Decoder means for the K samples (K' = K), or one for all of them (K' = 1).
    z : (K, B, d)
        The samples, drawn from ``posterior`` with ``rsample``.
    posterior : batch (B,), event (d,)
    prior : event (d,)
    kl_weight : float
        Weight of the KL term (1 for the ELBO proper).
    reduction : {"mean", "sum"}
        Over the batch. The returned terms are always per-patch means; only ``loss`` is summed.
    noise : (K, B, d) tensor, optional
        The standard-normal noise ``z`` was drawn from (``posterior.reparameterise(noise)``). With it,
        each KL term comes from the noise (``posterior.kl_sample``), which stays exact where ``z`` does
        not: a sample carried past the ball's float precision is projected back inside, and densities
        read from it make the KL estimate unbounded below. Training passes it.
    precision : (1, m, m, m) tensor, optional
        Per-voxel precision w of the Gaussian likelihood (1 everywhere by default): each voxel's term is
        w (x - x_hat)^2 / 2 + log(2 pi / w) / 2.
        :func:`centre_precision` builds one that makes the code describe a patch's centre first.
    """
    K, B = z.shape[:2]
    if reconstruction.shape[0] not in (1, K) or reconstruction.shape[1] != B or reconstruction.shape[2:] != patches.shape[1:]:
        raise ValueError(
            f"reconstruction must be shaped (K or 1, B, *patch) = ({K}, {B}, *{tuple(patches.shape[1:])}), got {tuple(reconstruction.shape)}"
        )
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    n_voxels = patches[0].numel()
    error = (reconstruction - patches.unsqueeze(0)).pow(2)
    if precision is None:
        nll = 0.5 * error.flatten(2).sum(-1) + 0.5 * n_voxels * math.log(2 * math.pi)  # (K', B)
    else:
        if precision.shape != patches.shape[1:]:  # (its values are not read here: that would wait for a GPU every step)
            raise ValueError(f"precision must be shaped like one patch {tuple(patches.shape[1:])}, got {tuple(precision.shape)}")
        nll = 0.5 * (precision * error).flatten(2).sum(-1) + 0.5 * torch.log(2 * math.pi / precision).sum()
    if noise is not None and noise.shape != z.shape:
        raise ValueError(f"noise must be shaped like z {tuple(z.shape)}, got {tuple(noise.shape)}")
    kl = posterior.log_prob(z) - prior.log_prob(z) if noise is None else posterior.kl_sample(noise, prior)  # (K, B)
    reconstruction_term = nll.mean()
    kl_term = kl.mean()
    loss = reconstruction_term + kl_weight * kl_term
    return ELBOTerms(loss * B if reduction == "sum" else loss, reconstruction_term, kl_term)


@functools.lru_cache(maxsize=8)  # training asks for the same one every step: built and moved to the device once
def centre_precision(side: int, sigma: float, *, dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu") -> torch.Tensor:
    """A Gaussian of standard deviation ``sigma * side`` voxels around the centre of a ``side``^3 patch,
    scaled so that its mean is 1 (the likelihood's total precision is that of the unweighted one).

    As the likelihood's per-voxel precision it makes reconstructing the centre worth more than the
    rim, so a code with little room describes what lies at the patch's centre rather than whatever
    in the patch is brightest. Shaped (1, side, side, side); one tensor per set of arguments, shared by every
    caller, so it must not be modified in place.

    >>> w = centre_precision(10, 0.25)
    >>> round(float(w.mean()), 6), bool(w[0, 4, 4, 4] > w[0, 0, 0, 0])
    (1.0, True)
    """
    if side < 1 or not sigma > 0:
        raise ValueError(f"centre_precision needs side >= 1 and sigma > 0, got side={side}, sigma={sigma}")
    offset = torch.arange(side, dtype=torch.float64) - (side - 1) / 2
    profile = torch.exp(-0.5 * (offset / (sigma * side)) ** 2)
    weights = profile[:, None, None] * profile[None, :, None] * profile[None, None, :]
    weights = (weights / weights.mean()).unsqueeze(0).to(dtype=dtype)
    if not bool((weights > 0).all()):  # checked on the CPU, before the tensor moves to the device
        raise ValueError(f"centre_precision: sigma {sigma} is too narrow for side {side}: the corners' weights vanish in {dtype}")
    return weights.to(device=device)
