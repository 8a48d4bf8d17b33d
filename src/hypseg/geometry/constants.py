"""Numerical constants of the Poincare-ball geometry, in one place.

Every epsilon depends on the floating-point dtype: float32 cannot represent points closer to the
boundary than about ``4e-3`` (in units of the ball radius ``1/sqrt(c)``) without ``artanh`` and the
conformal factor losing all precision, while float64 can go to ``1e-5``.
"""

from __future__ import annotations

import torch

#: Relative distance from the boundary that projected points keep: ``|x| <= (1 - eps) / sqrt(c)``.
BALL_EPS: dict[torch.dtype, float] = {torch.float16: 1e-2, torch.bfloat16: 1e-2, torch.float32: 4e-3, torch.float64: 1e-5}

#: Smallest norm used as a divisor (keeps ``x / |x|`` and its gradient finite at the origin).
MIN_NORM: dict[torch.dtype, float] = {torch.float16: 1e-4, torch.bfloat16: 1e-4, torch.float32: 1e-15, torch.float64: 1e-15}

#: Largest value of ``sqrt(c) * |v|`` allowed for a tangent vector before ``expmap0``.
#:
#: ``expmap0(v)`` lies at relative distance ``1 - tanh(sqrt(c)|v|)`` from the boundary; at 3.0 that is
#: ``4.9e-3``, just inside the float32 projection radius, so ``logmap0(expmap0(v)) == v`` still holds
#: in float32 for every clipped ``v``. The hyperbolic distance from the origin is then at most
#: ``2 * 3.0 / sqrt(c)``.
TANGENT_CLIP: float = 3.0


def ball_eps(dtype: torch.dtype) -> float:
    """Relative margin from the boundary for points of ``dtype`` (see :data:`BALL_EPS`).

    >>> ball_eps(torch.float64)
    1e-05
    """
    return BALL_EPS.get(dtype, BALL_EPS[torch.float32])


def min_norm(dtype: torch.dtype) -> float:
    """Smallest divisor norm for ``dtype`` (see :data:`MIN_NORM`)."""
    return MIN_NORM.get(dtype, MIN_NORM[torch.float32])
