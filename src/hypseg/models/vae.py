"""The VAE of the paper with its variants (method.md section 4; Table 2 ablations)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch.distributions import Distribution

from hypseg.config import ModelConfig
from hypseg.distributions import EuclideanNormal, WrappedNormal
from hypseg.errors import UserError
from hypseg.geometry import PoincareBall
from hypseg.models.decoder import Decoder
from hypseg.models.encoder import Encoder
from hypseg.models.paper_decoder import OUTPUT_SIDE, PaperDecoder

#: variant -> (hyperbolic latent, decoder lift). Unknown names fail in ModelConfig.
VARIANT_SPECS: dict[str, tuple[bool, str]] = {
    "hyperbolic-gyro": (True, "gyroplane"),
    "hyperbolic": (True, "linear"),
    "euclidean": (False, "linear"),
}


class VAEOutput(NamedTuple):
    """One forward pass over a batch of B patches with K posterior samples."""

    posterior: Distribution  # batch (B,), event (d,)
    z: torch.Tensor  # (K, n, d): the decoded patches' samples (n = B, or ``decode``)
    noise: torch.Tensor  # (K, n, d): the standard-normal noise ``z`` was drawn from
    reconstruction: torch.Tensor  # (K', B, 1, m, m, m): K' = K, or 1 for the paper's grid decoder


class HVAE(torch.nn.Module):
    """Encoder, posterior family, prior and decoder of one variant.

    Examples
    --------
    >>> model = HVAE(ModelConfig(variant="hyperbolic-gyro"))
    >>> out = model(torch.zeros(4, 1, 10, 10, 10), samples=3)
    >>> out.z.shape, out.reconstruction.shape
    (torch.Size([3, 4, 2]), torch.Size([3, 4, 1, 10, 10, 10]))
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        hyperbolic, lift = VARIANT_SPECS[config.variant]
        self.ball = PoincareBall(c=config.curvature) if hyperbolic else None
        self._family = WrappedNormal if hyperbolic else EuclideanNormal
        self.encoder = Encoder(config, self.ball)
        if config.decoder == "paper":
            if config.patch_size != OUTPUT_SIDE:
                raise UserError(f"the paper's decoder reconstructs {OUTPUT_SIDE}^3 patches; set patch_size = {OUTPUT_SIDE}")
            self.decoder: torch.nn.Module = PaperDecoder(config.latent_dim, self.ball, lift=lift)
        else:
            self.decoder = Decoder(config, self.ball, lift=lift)

    def posterior(self, patches: torch.Tensor) -> Distribution:
        """q(z | x) for patches (B, 1, m, m, m)."""
        loc, scale = self.encoder(patches)
        return self._family(loc, scale, self.ball)

    def prior(self, like: torch.Tensor) -> Distribution:
        """p(z): the (wrapped) standard normal at the origin, with the dtype and device of ``like``."""
        zeros = like.new_zeros(self.config.latent_dim)
        return self._family(zeros, torch.ones_like(zeros), self.ball)

    def encode_mean(self, patches: torch.Tensor) -> torch.Tensor:
        """Posterior means (B, d) of patches (B, 1, m, m, m): the embedding used for segmentation."""
        return self.encoder(patches).loc

    def load_weights(self, state_dict: dict[str, torch.Tensor], *, source: str) -> None:
        """Load weights saved from a model of the same config; ``ValueError`` naming ``source`` if they differ."""
        own = self.state_dict()
        missing = sorted(set(own) - set(state_dict))
        unexpected = sorted(set(state_dict) - set(own))
        reshaped = sorted(k for k in set(own) & set(state_dict) if own[k].shape != state_dict[k].shape)
        if missing or unexpected or reshaped:
            details = "; ".join(
                f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                for label, keys in (("missing", missing), ("unexpected", unexpected), ("wrong shape", reshaped))
                if keys
            )
            raise UserError(f"{source}: weights do not match the model of its config ({details})")
        self.load_state_dict(state_dict)

    def distance(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Latent distance (Poincare or Euclidean) over the last axis."""
        return self.ball.dist(x, y) if self.ball is not None else (x - y).norm(dim=-1)

    def forward(
        self, patches: torch.Tensor, *, samples: int = 1, noise: torch.Tensor | None = None, decode: int | None = None
    ) -> VAEOutput:
        """Encode, sample K latents per patch and decode them.

        ``noise`` (K, B, d), standard normal, fixes the samples (``samples`` is then ignored); without it
        the samples come from torch's global generator. ``decode`` = n samples and decodes only the
        first n patches (``posterior`` still covers all B; ``z`` and ``reconstruction`` cover n).
        """
        q = self.posterior(patches)
        if decode is not None:
            q_decoded = self.restrict(q, decode)
            noise = None if noise is None else noise[:, :decode]
        else:
            q_decoded = q
        if noise is None:
            noise = torch.randn((samples, *q_decoded.loc.shape), dtype=q.loc.dtype, device=q.loc.device)
        noise = noise.to(q.loc.dtype)
        z = q_decoded.reparameterise(noise)  # (K, n, d)
        return VAEOutput(q, z, noise, self.decode(z))

    def restrict(self, posterior: Distribution, n: int) -> Distribution:
        """The posterior of the first ``n`` patches of a batch."""
        return self._family(posterior.loc[:n], posterior.scale[:n], self.ball)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Reconstructions (K', B, 1, m, m, m) of samples (K, B, d); K' = K, or 1 for the paper's grid."""
        if self.config.decoder == "paper":
            return self.decoder(z)
        K, B, d = z.shape
        reconstruction = self.decoder(z.reshape(K * B, d))
        return reconstruction.view(K, B, *reconstruction.shape[1:])
