"""The fully convolutional encoder (method.md section 4, "Decision (performance)").

Valid 3D convolutions without strides or padding (or, for the paper's architecture, with its paddings), then a hidden layer whose kernel covers the
remaining extent (the research code's "flatten + linear"), then 1x1x1 heads. On an m^3 patch the
output is 1x1x1; on a larger volume the same weights give, at every position, the encoding of the
m^3 window that starts there: the whole volume is encoded by one pass.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from hypseg.config import ModelConfig
from hypseg.geometry import PoincareBall


class Encoding(NamedTuple):
    """Posterior parameters, shaped (B, d, D', H', W') for volumes or (B, d) for patches."""

    loc: torch.Tensor  # on the ball (hyperbolic variants) or in R^d
    scale: torch.Tensor  # positive


class Encoder(torch.nn.Module):
    """Valid convolutions -> hidden convolution -> (loc, scale) heads.

    Examples
    --------
    >>> enc = Encoder(ModelConfig(), PoincareBall())
    >>> enc(torch.zeros(4, 1, 10, 10, 10)).loc.shape
    torch.Size([4, 2])
    >>> enc.dense(torch.zeros(1, 1, 13, 12, 10)).loc.shape
    torch.Size([1, 2, 4, 3, 1])
    """

    def __init__(self, config: ModelConfig, ball: PoincareBall | None):
        super().__init__()
        self.config = config
        self.ball = ball
        widths = (1, *config.channels)
        pads = config.paddings or (0,) * len(config.channels)
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv3d(w_in, w_out, config.kernel_size, padding=pad)
            for w_in, w_out, pad in zip(widths[:-1], widths[1:], pads)
        )
        self.hidden = torch.nn.Conv3d(widths[-1], config.hidden, config.final_extent)
        self.loc_head = torch.nn.Conv3d(config.hidden, config.latent_dim, 1)
        self.scale_head = torch.nn.Conv3d(config.hidden, config.latent_dim, 1)

    @property
    def receptive_field(self) -> int:
        """Side of the window that one output position sees (= the patch size m)."""
        return self.config.patch_size

    def dense(self, volume: torch.Tensor, *, stride: int = 1) -> Encoding:
        """Encode every m^3 window of ``volume`` (B, 1, D, H, W): maps shaped (B, d, D-m+1, H-m+1, W-m+1).

        ``stride`` s > 1 encodes only the windows starting at multiples of s (maps of side
        ``(D-m) // s + 1``): the hidden layer and the heads run at those positions alone, which saves
        most of the hidden layer's cost when the caller would subsample the maps anyway.
        Exact only for an encoder without padding (``config.dense``); a padded encoder's windows see
        their neighbours' voxels where a lone patch would see zeros.
        """
        act = F.relu if self.config.activation == "relu" else F.leaky_relu
        h = volume
        for conv in self.convs:
            h = act(conv(h))
        h = act(F.conv3d(h, self.hidden.weight, self.hidden.bias, stride=stride))  # (B, hidden, D', H', W')
        # The geometry runs in float32 or float64 even under mixed-precision autocast.
        dtype = torch.promote_types(volume.dtype, torch.float32)
        tangent = self.loc_head(h).to(dtype)  # (B, d, D', H', W')
        scale = F.softplus(self.scale_head(h).to(dtype)) + self.config.scale_floor
        if self.ball is None:
            return Encoding(tangent, scale)
        loc = self.ball.expmap0_clipped(tangent.movedim(1, -1)).movedim(-1, 1)
        return Encoding(loc, scale)

    def forward(self, patches: torch.Tensor) -> Encoding:
        """Encode patches (B, 1, m, m, m) to (loc, scale), each (B, d)."""
        m = self.config.patch_size
        if patches.dim() != 5 or patches.shape[1] != 1 or tuple(patches.shape[2:]) != (m, m, m):
            raise ValueError(f"patches must be shaped (B, 1, {m}, {m}, {m}), got {tuple(patches.shape)}")
        loc, scale = self.dense(patches)
        return Encoding(loc.flatten(1), scale.flatten(1))
