"""``ExpMap0`` and ``LogMap0``: the maps at the origin as modules, along any axis."""

from __future__ import annotations

import torch

from hypseg.geometry import PoincareBall


class ExpMap0(torch.nn.Module):
    """Map tangent vectors at the origin onto the ball, clipping their norm first (``clip=True``).

    ``axis`` is the axis holding the coordinates (``1`` for feature maps shaped (B, d, D, H, W)).
    """

    def __init__(self, ball: PoincareBall | None = None, *, axis: int = -1, clip: bool = True):
        super().__init__()
        self.ball = ball if ball is not None else PoincareBall()
        self.axis, self.clip = axis, clip

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        u = u.movedim(self.axis, -1)
        x = self.ball.expmap0_clipped(u) if self.clip else self.ball.expmap0(u)
        return x.movedim(-1, self.axis)


class LogMap0(torch.nn.Module):
    """Map points of the ball to the tangent space at the origin (``axis`` as in :class:`ExpMap0`)."""

    def __init__(self, ball: PoincareBall | None = None, *, axis: int = -1):
        super().__init__()
        self.ball = ball if ball is not None else PoincareBall()
        self.axis = axis

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ball.logmap0(x.movedim(self.axis, -1)).movedim(-1, self.axis)
