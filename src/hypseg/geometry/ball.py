"""``PoincareBall``: a thin module that holds the curvature and delegates to :mod:`hypseg.geometry.math`.

The curvature lives in a geoopt ``PoincareBall`` (``self.manifold``), so that a learnable curvature
is an ordinary parameter and ``geoopt.ManifoldParameter`` / ``RiemannianAdam`` can use the same
manifold object. The methods call the private twins of the math functions: they are the hot path of
layers and models and do not validate points (use :meth:`PoincareBall.check_points` at boundaries).
"""

from __future__ import annotations

import warnings

import torch

from hypseg.geometry import math as pm
from hypseg.geometry.constants import TANGENT_CLIP, ball_eps


def _geoopt_ball(c: float, learnable: bool):
    with warnings.catch_warnings():
        # geoopt decorates functions with torch.jit.script at import, which torch deprecates.
        warnings.filterwarnings("ignore", message=".torch.jit.script. is deprecated", category=DeprecationWarning)
        import geoopt

    return geoopt.PoincareBall(c=c, learnable=learnable)


class PoincareBall(torch.nn.Module):
    """The Poincare ball of curvature ``-c``.

    Parameters
    ----------
    c : float
        Curvature magnitude, ``c > 0``.
    learnable : bool
        Make ``c`` a trainable parameter.

    Examples
    --------
    >>> ball = PoincareBall(c=2.0)
    >>> x = ball.expmap0(torch.tensor([0.3, -0.1]))
    >>> torch.allclose(ball.logmap0(x), torch.tensor([0.3, -0.1]))
    True
    """

    def __init__(self, c: float = 1.0, learnable: bool = False):
        super().__init__()
        pm.check_curvature(c)
        self.manifold = _geoopt_ball(float(c), learnable)
        self.learnable = learnable
        self._c = float(c)

    @property
    def c(self) -> float | torch.Tensor:
        """Curvature magnitude: a Python float (exact in every dtype), or the geoopt parameter when learnable."""
        return self.manifold.c if self.learnable else self._c

    def extra_repr(self) -> str:
        return f"c={float(self.c):.4g}, learnable={self.learnable}"

    def eps(self, dtype: torch.dtype) -> float:
        """Relative projection margin for ``dtype``."""
        return ball_eps(dtype)

    def check_points(self, x: torch.Tensor, name: str = "x") -> None:
        """Raise ``ValueError`` unless ``x`` is finite and strictly inside this ball."""
        pm.check_points(x, name, c=self.c)

    def lambda_x(self, x: torch.Tensor, keepdim: bool = True) -> torch.Tensor:
        return pm._lambda_x(x, self.c, keepdim=keepdim)

    def mobius_add(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mobius addition, projected into the ball."""
        return pm._project(pm._mobius_add(x, y, self.c), self.c)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        return pm._project(x, self.c)

    def expmap0(self, u: torch.Tensor) -> torch.Tensor:
        return pm._expmap0(u, self.c)

    def logmap0(self, y: torch.Tensor) -> torch.Tensor:
        return pm._logmap0(y, self.c)

    def expmap(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return pm._expmap(x, u, self.c)

    def logmap(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return pm._logmap(x, y, self.c)

    def dist(self, x: torch.Tensor, y: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
        return pm._dist(x, y, self.c, keepdim=keepdim)

    def dist0(self, x: torch.Tensor, keepdim: bool = False) -> torch.Tensor:
        return pm._dist0(x, self.c, keepdim=keepdim)

    def cdist(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return pm._cdist(x, y, self.c)

    def transp0(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return pm._transp0(x, u, self.c)

    def transp0back(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return pm._transp0back(x, u, self.c)

    def clip_tangent(self, u: torch.Tensor, max_norm: float = TANGENT_CLIP) -> torch.Tensor:
        return pm._clip_tangent(u, self.c, max_norm)

    def expmap0_clipped(self, u: torch.Tensor) -> torch.Tensor:
        """``expmap0(clip_tangent(u))``: how encoders map their tangent output onto the ball."""
        return pm._expmap0(pm._clip_tangent(u, self.c), self.c)

    def gyroplane(self, x: torch.Tensor, p: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return pm._gyroplane(x, p, a, self.c)
