"""Decoders: lift a latent point to a small grid, then transposed convolutions back to m^3.

The lift depends on the variant (method.md section 4 and Table 2 of the paper):

- ``gyroplane``: a per-offset :class:`~hypseg.layers.GyroplaneConv3d` over the 1x1x1 grid holding z,
  one plane per (channel, offset), kernel g and padding g - 1, so that every voxel of the g^3 output
  has planes of its own;
- ``linear``: ``log_0(z)`` for ball points (identity in R^d), then a linear map to C x g^3 (a
  transposed convolution of kernel g over the 1x1x1 grid).

The transposed convolutions mirror the encoder's valid convolutions, so g is the encoder's final
extent and the output is m^3 again.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hypseg.config import ModelConfig
from hypseg.geometry import PoincareBall
from hypseg.layers import GyroplaneConv3d


class Decoder(torch.nn.Module):
    """Latent points (N, d) -> reconstructions (N, 1, m, m, m).

    Examples
    --------
    >>> dec = Decoder(ModelConfig(), PoincareBall(), lift="gyroplane")
    >>> dec(torch.zeros(3, 2)).shape
    torch.Size([3, 1, 10, 10, 10])
    """

    def __init__(self, config: ModelConfig, ball: PoincareBall | None, *, lift: str):
        super().__init__()
        self.config, self.ball, self.lift_kind = config, ball, lift
        g, width = config.final_extent, config.channels[-1]
        if lift == "gyroplane":
            if ball is None:
                raise ValueError("a gyroplane decoder needs a hyperbolic latent space")
            self.lift = GyroplaneConv3d(config.latent_dim, width, g, padding=g - 1, per_offset=True, ball=ball)
            self.lift.check_inputs = False  # points come from the model and are projected
        elif lift == "linear":
            self.lift = torch.nn.ConvTranspose3d(config.latent_dim, width, g)
        else:
            raise ValueError(f"unknown decoder lift {lift!r}; choose 'gyroplane' or 'linear'")
        widths = (*config.channels[::-1], 1)
        self.deconvs = torch.nn.ModuleList(
            torch.nn.ConvTranspose3d(w_in, w_out, config.kernel_size) for w_in, w_out in zip(widths[:-1], widths[1:])
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        N, d = z.shape
        if self.lift_kind == "linear" and self.ball is not None:
            z = self.ball.logmap0(z)
        h = F.relu(self.lift(z.view(N, d, 1, 1, 1)))  # (N, C, g, g, g)
        for i, deconv in enumerate(self.deconvs):
            h = deconv(h)
            if i < len(self.deconvs) - 1:
                h = F.relu(h)
        return h  # (N, 1, m, m, m)
