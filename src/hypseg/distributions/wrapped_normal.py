r"""The wrapped normal distribution on the Poincare ball (method.md section 3).

Push-forward of a Euclidean normal :math:`\mathcal N(0, \operatorname{diag}\sigma^2)` on the tangent
space at the origin, carried to the mean :math:`\mu` by parallel transport and the exponential map
(Nagano et al. 2019; Mathieu et al. 2019, "Continuous hierarchical representations with Poincare
variational auto-encoders"):

.. math:: z = \exp_\mu\big(PT_{0\to\mu}(u/\lambda_0)\big)
            = \mu \oplus_c \Big(\tanh\big(\tfrac{\sqrt c|u|}{2}\big)\frac{u}{\sqrt c|u|}\Big)
            = \mu \oplus_c \exp_0(u/2), \qquad d_c(\mu, z) = |u|.

Its density with respect to the Riemannian volume :math:`\lambda_z^d\,dz` is

.. math:: \log q(z) = \log\mathcal N(u(z); 0, \operatorname{diag}\sigma^2)
                      - (d-1)\log\frac{\sinh(\sqrt c\,r)}{\sqrt c\,r},
          \qquad u(z) = 2\log_0\big((-\mu)\oplus_c z\big) = \lambda_\mu \log_\mu z,\ r = |u|.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Distribution

from hypseg.geometry import PoincareBall, check_points
from hypseg.geometry.constants import min_norm
from hypseg.geometry.math import check_tensor


def log_sinhc(x: torch.Tensor) -> torch.Tensor:
    r"""Stable :math:`\log(\sinh(x)/x)` for :math:`x \ge 0`, equal to 0 at :math:`x = 0`.

    Uses the series :math:`x^2/6 - x^4/180` below 1e-2 and :math:`x + \log(1 - e^{-2x}) - \log 2x`
    above, so neither branch overflows or divides by zero (``torch.where`` evaluates both).

    >>> round(log_sinhc(torch.tensor(2.0, dtype=torch.float64)).item(), 12) == round(math.log(math.sinh(2) / 2), 12)
    True
    """
    small = x < 1e-2
    safe = torch.where(small, torch.ones_like(x), x)
    large_branch = safe + torch.log1p(-torch.exp(-2 * safe)) - torch.log(2 * safe)
    x2 = x * x
    return torch.where(small, x2 / 6 - x2 * x2 / 180, large_branch)


#: above this ``sqrt(c) * |u|`` the distance from the origin is computed from ``log cosh`` (no overflow)
_LARGE = 30.0


def _check_loc_scale(loc: torch.Tensor, scale: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    check_tensor(loc, "loc")
    scale = torch.as_tensor(scale, dtype=loc.dtype, device=loc.device)
    if scale.dim() == 0:
        scale = scale.expand(loc.shape[-1:])
    if not bool(torch.all(torch.isfinite(scale) & (scale > 0))):
        raise ValueError(f"scale must be positive and finite, got min value {scale.detach().min().item():.6g}")
    try:
        shape = torch.broadcast_shapes(loc.shape, scale.shape)
    except RuntimeError:
        raise ValueError(
            f"loc and scale must broadcast, got shapes {tuple(loc.shape)} and {tuple(scale.shape)}"
        ) from None
    if shape[-1] != loc.shape[-1]:
        raise ValueError(f"scale's last axis {scale.shape[-1]} does not match loc's dimension {loc.shape[-1]}")
    return loc.expand(shape), scale.expand(shape)


class WrappedNormal(Distribution):
    """Wrapped normal on the Poincare ball with diagonal tangent scale.

    Parameters
    ----------
    loc : (..., d) tensor
        Mean, a point strictly inside ``ball``.
    scale : (..., d) or (..., 1) tensor, or a float
        Standard deviations of the tangent normal, positive.
    ball : PoincareBall

    Examples
    --------
    >>> q = WrappedNormal(torch.zeros(3, 2), torch.ones(3, 2), PoincareBall())
    >>> q.batch_shape, q.event_shape, q.rsample((5,)).shape
    (torch.Size([3]), torch.Size([2]), torch.Size([5, 3, 2]))
    """

    arg_constraints: dict = {}  # validated in __init__ with messages that name the argument
    has_rsample = True

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor | float, ball: PoincareBall):
        loc, scale = _check_loc_scale(loc, scale)
        check_points(loc, "loc", c=ball.c)
        self.loc, self.scale, self.ball = loc, scale, ball
        super().__init__(batch_shape=loc.shape[:-1], event_shape=loc.shape[-1:], validate_args=False)

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        """Reparameterised sample ``mu (+) exp_0(u / 2)``, ``u = scale * eps``; shape ``sample_shape + batch + (d,)``."""
        shape = self._extended_shape(torch.Size(sample_shape))
        return self.reparameterise(torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device))

    def reparameterise(self, eps: torch.Tensor) -> torch.Tensor:
        """The sample for standard-normal noise ``eps`` (shaped ``sample_shape + batch + (d,)``)."""
        u = eps * self.scale
        return self.ball.mobius_add(self.loc.expand(u.shape), self.ball.expmap0(u / 2))

    def tangent(self, z: torch.Tensor) -> torch.Tensor:
        """The tangent normal's coordinates ``u(z) = 2 log_0((-mu) (+) z)`` of points ``z``."""
        return 2 * self.ball.logmap0(self.ball.mobius_add(-self.loc, z))

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density w.r.t. the Riemannian volume; ``z`` broadcasts against ``batch + (d,)``."""
        return self._log_density(self.tangent(z))

    def log_prob_noise(self, eps: torch.Tensor) -> torch.Tensor:
        """Log-density at the sample ``reparameterise(eps)``, computed from the noise itself.

        Equal to ``log_prob(reparameterise(eps))`` in exact arithmetic, since that sample's tangent
        coordinates are ``eps * scale``. Recovered from the sample, they are wrong wherever the sample
        was projected back inside the ball (a wide scale, or a mean near the edge), and the density is
        then far below the true one.
        """
        return self._log_density(eps * self.scale)

    def origin_distance(self, eps: torch.Tensor) -> torch.Tensor:
        r"""Distance from the origin of the sample ``reparameterise(eps)``, exact where the sample is not.

        The sample lies at distance :math:`r = |u|`, :math:`u = \epsilon\sigma`, from the mean, at the
        angle :math:`\theta` from the geodesic towards the origin with :math:`\cos\theta = -\langle u,
        \mu\rangle / (|u||\mu|)` (the gyrotranslation by :math:`\mu` is an isometry that carries the origin
        to :math:`\mu` and :math:`-\mu` to the origin). The hyperbolic law of cosines then gives

        .. math:: \cosh(\sqrt c\,r_0) = \cosh x\cosh y - \cos\theta\,\sinh x\sinh y,
                  \qquad x = \sqrt c\,d(0, \mu),\ y = \sqrt c\,r,

        written with :math:`t = \sqrt c|\mu|` as :math:`\cosh x = (1 + t^2)/(1 - t^2)` and
        :math:`\cos\theta\sinh x\sinh y = -2c\langle u, \mu\rangle\,\mathrm{sinhc}(y)/(1 - t^2)`, which
        are smooth at :math:`\mu = 0` and :math:`u = 0`. It is evaluated in float64: :math:`\cosh(\sqrt
        c\,r_0) - 1` from half-angle terms for moderate :math:`y`; for large :math:`y` its logarithm,
        :math:`y - \log 2 + \log\big(|\hat u + \sqrt c\mu|^2 + e^{-2y}|\hat u - \sqrt c\mu|^2\big) -
        \log(1 - t^2)`, which neither overflows nor cancels. The sample itself is projected back inside
        the ball, so ``dist(0, z)`` saturates near 6 in float32 (12 in float64) however far the noise
        carries it; a KL estimate that used it would reward a wide posterior at the ball's edge.
        """
        k = self.ball.c**0.5
        loc = self.loc.to(torch.float64)
        u = (eps * self.scale).to(torch.float64)
        t2 = self.ball.c * (loc * loc).sum(-1)
        room = 1 - t2  # positive: loc lies inside the ball
        y = k * u.norm(dim=-1)
        large = y > _LARGE
        # moderate y: cosh(k r0) - 1 = [2 t^2 cosh y + 2 (1 - t^2) sinh^2(y/2) + 2 c <u, mu> sinhc y] / (1 - t^2)
        ys = torch.where(large, torch.zeros_like(y), y)
        tiny = ys < 1e-4
        ys_safe = torch.where(tiny, torch.ones_like(ys), ys)
        sinhc = torch.where(tiny, 1 + ys * ys / 6, torch.sinh(ys_safe) / ys_safe)
        excess = ((2 * t2 * torch.cosh(ys) + 2 * room * torch.sinh(ys / 2) ** 2
                   + 2 * self.ball.c * (u * loc).sum(-1) * sinhc) / room).clamp_min(1e-300)
        moderate = torch.log1p(excess + torch.sqrt(excess * (excess + 2)))
        # large y: log cosh(k r0) = y - log 2 + log(|u^ + k mu|^2 + e^(-2y) |u^ - k mu|^2) - log(1 - t^2)
        far_u = torch.where(large.unsqueeze(-1), u, torch.ones_like(u))
        unit = far_u / far_u.norm(dim=-1, keepdim=True)
        yl = torch.where(large, y, torch.full_like(y, _LARGE))
        towards = (unit + k * loc).pow(2).sum(-1)
        away = (unit - k * loc).pow(2).sum(-1)
        log_cosh = (yl - math.log(2) + torch.log(towards + torch.exp(-2 * yl) * away) - torch.log(room)).clamp_min(1e-150)
        far = log_cosh + torch.log1p(torch.sqrt(-torch.expm1(-2 * log_cosh)))
        return (torch.where(large, far, moderate) / k).to(self.loc.dtype)

    def kl_sample(self, eps: torch.Tensor, prior: "WrappedNormal") -> torch.Tensor:
        """``log q(z) - log p(z)`` at the sample ``z = reparameterise(eps)``: one Monte Carlo KL term.

        ``prior`` is a wrapped normal centred at the origin (the VAE's prior; its ``loc`` is not read).
        Both densities come from the noise, so the estimate stays exact where ``z`` was projected back
        into the ball: ``log q`` as :meth:`log_prob_noise`; ``log p`` at the tangent coordinates
        ``origin_distance(eps)`` times the direction of ``z`` (a projection moves a point towards the
        origin along its direction, so the direction survives it).
        """
        z = self.reparameterise(eps)
        direction = z / z.norm(dim=-1, keepdim=True).clamp_min(min_norm(z.dtype))
        return self.log_prob_noise(eps) - prior._log_density(self.origin_distance(eps).unsqueeze(-1) * direction)

    def _log_density(self, u: torch.Tensor) -> torch.Tensor:
        """Log-density at the point whose tangent coordinates are ``u``."""
        d = self.loc.shape[-1]
        log_normal = (-0.5 * (u / self.scale) ** 2 - self.scale.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
        r = u.norm(dim=-1)
        return log_normal - (d - 1) * log_sinhc(self.ball.c**0.5 * r)


class EuclideanNormal(Distribution):
    """Diagonal normal in R^d with the interface of :class:`WrappedNormal` (for the Euclidean ablation).

    ``log_prob`` sums over the last axis, like ``Independent(Normal(loc, scale), 1)``.
    The ``ball`` argument is accepted and ignored, so that models can build either family alike.
    """

    arg_constraints: dict = {}
    has_rsample = True

    def __init__(self, loc: torch.Tensor, scale: torch.Tensor | float, ball: PoincareBall | None = None):
        loc, scale = _check_loc_scale(loc, scale)
        if not bool(torch.all(torch.isfinite(loc))):
            raise ValueError("loc contains NaN or Inf")
        self.loc, self.scale = loc, scale
        super().__init__(batch_shape=loc.shape[:-1], event_shape=loc.shape[-1:], validate_args=False)

    def rsample(self, sample_shape: torch.Size = torch.Size()) -> torch.Tensor:
        shape = self._extended_shape(torch.Size(sample_shape))
        return self.reparameterise(torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device))

    def reparameterise(self, eps: torch.Tensor) -> torch.Tensor:
        """The sample ``loc + scale * eps`` for standard-normal noise ``eps``."""
        return self.loc + self.scale * eps

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        return self.log_prob_noise((z - self.loc) / self.scale)

    def log_prob_noise(self, eps: torch.Tensor) -> torch.Tensor:
        """Log-density at the sample ``reparameterise(eps)``, from the noise (as :class:`WrappedNormal`)."""
        return (-0.5 * eps**2 - self.scale.log() - 0.5 * math.log(2 * math.pi)).sum(-1)

    def kl_sample(self, eps: torch.Tensor, prior: "EuclideanNormal") -> torch.Tensor:
        """``log q(z) - log p(z)`` at ``z = reparameterise(eps)`` (exact in R^d; as :class:`WrappedNormal`)."""
        return self.log_prob_noise(eps) - prior.log_prob(self.reparameterise(eps))
