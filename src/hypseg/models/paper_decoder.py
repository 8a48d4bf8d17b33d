"""The decoder of the authors' released experiment (../shared/spec/paper-recipe.md, "Model").

- ``gyroplane`` (hyperbolic-gyro): the K = 8 posterior samples of one patch are laid out as a 2x2x2
  grid, sample n at ``(n // 4, (n // 2) % 2, n % 2)``; at every grid position a
  :class:`~hypseg.layers.ReleasedGyroplaneLinear` maps the point to 300 signed distances (ReLU), and a
  1x1x1 transposed convolution 300 -> 1 (ReLU) gives a one-channel 2^3 map: one reconstruction per patch;
- ``linear`` (hyperbolic without gyroplane: after ``log_0``; Euclidean: directly): every sample on its
  own, a linear map d -> 8 (ReLU) reshaped to 1 x 2^3: one reconstruction per sample.

Both continue with transposed convolutions of kernel 5, 1 -> 64 (padding 2), 64 -> 32 (padding 1),
32 -> 16 (padding 1), 16 -> 1 (padding 0), sides 2 -> 2 -> 4 -> 6 -> 10, with a ReLU after each,
the output's included (so a reconstruction is never negative).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hypseg.geometry import PoincareBall
from hypseg.layers import ReleasedGyroplaneLinear

#: Posterior samples in the gyroplane grid, its side, and the planes per grid position.
GRID_SAMPLES, GRID_SIDE, GRID_PLANES = 8, 2, 300
#: (in, out, padding) of the transposed convolutions of kernel 5.
_STACK = ((1, 64, 2), (64, 32, 1), (32, 16, 1), (16, 1, 0))
#: Side of the reconstruction.
OUTPUT_SIDE = 10


def sample_grid(z: torch.Tensor) -> torch.Tensor:
    """Lay K = 8 samples (8, B, d) out as grids (B, d, 2, 2, 2), sample n at (n // 4, (n // 2) % 2, n % 2).

    >>> z = torch.arange(8.0).view(8, 1, 1)
    >>> sample_grid(z)[0, 0, 1, 0, 1].item()  # n = 4 * 1 + 2 * 0 + 1
    5.0
    """
    K, B, d = z.shape
    if K != GRID_SAMPLES:
        raise ValueError(f"the gyroplane grid decoder takes {GRID_SAMPLES} samples per patch, got {K}")
    return z.permute(1, 2, 0).reshape(B, d, GRID_SIDE, GRID_SIDE, GRID_SIDE)


class PaperDecoder(torch.nn.Module):
    """Samples (K, B, d) -> reconstructions (K', B, 1, 10, 10, 10): K' = 1 (gyroplane) or K (linear).

    Examples
    --------
    >>> dec = PaperDecoder(2, PoincareBall(), lift="gyroplane")
    >>> dec(torch.zeros(8, 3, 2)).shape
    torch.Size([1, 3, 1, 10, 10, 10])
    >>> PaperDecoder(2, None, lift="linear")(torch.zeros(8, 3, 2)).shape
    torch.Size([8, 3, 1, 10, 10, 10])
    """

    def __init__(self, latent_dim: int, ball: PoincareBall | None, *, lift: str):
        super().__init__()
        self.ball, self.lift_kind = ball, lift
        if lift == "gyroplane":
            if ball is None:
                raise ValueError("a gyroplane decoder needs a hyperbolic latent space")
            self.planes = ReleasedGyroplaneLinear(latent_dim, GRID_PLANES, ball)
            self.mix = torch.nn.ConvTranspose3d(GRID_PLANES, 1, 1)
        elif lift == "linear":
            self.linear = torch.nn.Linear(latent_dim, GRID_SIDE**3)
        else:
            raise ValueError(f"unknown decoder lift {lift!r}; choose 'gyroplane' or 'linear'")
        self.deconvs = torch.nn.ModuleList(torch.nn.ConvTranspose3d(i, o, 5, padding=p) for i, o, p in _STACK)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        K, B, d = z.shape
        g = GRID_SIDE
        if self.lift_kind == "gyroplane":
            grid = sample_grid(z)  # (B, d, 2, 2, 2)
            h = F.relu(self.planes(grid.movedim(1, -1))).movedim(-1, 1)  # (B, 300, 2, 2, 2)
            h = F.relu(self.mix(h))  # (B, 1, 2, 2, 2)
            copies = 1
        else:
            flat = z.reshape(K * B, d)
            if self.ball is not None:
                flat = self.ball.logmap0(flat)
            h = F.relu(self.linear(flat)).view(K * B, 1, g, g, g)
            copies = K
        for deconv in self.deconvs:
            h = F.relu(deconv(h))
        return h.view(copies, B, *h.shape[1:])  # (K', B, 1, 10, 10, 10)
