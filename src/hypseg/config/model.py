"""The shape of the VAE: enough to rebuild a model from a checkpoint (method.md section 4)."""

from __future__ import annotations

import dataclasses

import math

from hypseg.config._base import Config
from hypseg.errors import UserError


#: The model variants of :mod:`hypseg.models` (the paper's Table 2 ablations).
VARIANTS = ("hyperbolic-gyro", "hyperbolic", "euclidean")
#: Decoders of :mod:`hypseg.models.decoder`.
DECODERS = ("mirror", "paper")
#: The encoder's nonlinearities (:attr:`ModelConfig.activation`).
ACTIVATIONS = ("relu", "leaky_relu")


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """Shape of the VAE (method.md section 4); enough to rebuild a model from a checkpoint.

    Parameters
    ----------
    variant : {"hyperbolic-gyro", "hyperbolic", "euclidean"}
        Latent space and decoder input: the Poincare ball with a gyroplane-convolution decoder (the
        paper's model), the ball with ``log_0`` then a linear layer, or R^d with normal distributions.
    latent_dim : int
        d, the dimension of the latent space (2 in the paper).
    curvature : float
        c > 0, the ball's curvature is -c (ignored by the Euclidean variant).
    patch_size : int
        m, the side of the (resized) input patches; must equal ``DataConfig.patch_resize``.
    channels : tuple of int
        Filters of the encoder's valid convolutions (the decoder mirrors them).
    kernel_size : int
        Kernel of those convolutions; the encoder's extent shrinks by ``kernel_size - 1`` per layer.
    paddings : tuple of int
        Zero padding of each encoder convolution (empty: none). A padded encoder is no longer fully
        convolutional over a volume, so every voxel's patch is then encoded on its own.
    hidden : int
        Width of the hidden layer, a convolution covering the remaining extent (300 in the paper).
    scale_floor : float
        Added to the softplus of the scale head so that posteriors never collapse to a point.
    decoder : {"mirror", "paper"}
        ``"mirror"``: one reconstruction per posterior sample, lifted to the encoder's final extent and
        decoded by transposed convolutions mirroring the encoder. ``"paper"``: the released
        experiment's decoder (a 2^3 grid of the K = 8 samples through kernel-1 gyroplanes for
        ``hyperbolic-gyro``, one reconstruction per patch; a linear map to 2^3 per sample otherwise),
        then transposed convolutions 1-64-32-16-1 of kernel 5 with ReLU after each, output included.
    activation : {"relu", "leaky_relu"}
        The encoder's nonlinearity after each convolution and the hidden layer: ReLU (the paper's) or
        leaky ReLU (slope 0.01 below zero), whose units cannot die: a ReLU unit negative on every input
        gets no gradient again.
    """

    variant: str = "hyperbolic-gyro"
    latent_dim: int = 2
    curvature: float = 1.0
    patch_size: int = 10
    channels: tuple[int, ...] = (16, 32, 64, 128)
    kernel_size: int = 3
    hidden: int = 300
    scale_floor: float = 1e-3
    paddings: tuple[int, ...] = ()
    decoder: str = "mirror"
    activation: str = "relu"

    @property
    def hyperbolic(self) -> bool:
        """Whether the latent space is the Poincare ball."""
        return self.variant != "euclidean"

    @property
    def final_extent(self) -> int:
        """Spatial side left after the valid convolutions; the hidden layer's kernel covers it."""
        pads = self.paddings or (0,) * len(self.channels)
        return self.patch_size + 2 * sum(pads) - len(self.channels) * (self.kernel_size - 1)

    @property
    def dense(self) -> bool:
        """Whether one convolutional pass over a volume encodes every window (no padding inside)."""
        return not any(self.paddings)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise UserError(f"unknown model variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.latent_dim < 1 or self.hidden < 1 or self.kernel_size < 1 or not self.channels:
            raise UserError("ModelConfig: latent_dim, hidden and kernel_size must be >= 1 and channels non-empty")
        if any(ch < 1 for ch in self.channels):
            raise UserError(f"ModelConfig: channels must be >= 1, got {self.channels}")
        if not (math.isfinite(self.curvature) and self.curvature > 0):
            raise UserError(f"ModelConfig: curvature must be positive, got {self.curvature}")
        if self.paddings and (len(self.paddings) != len(self.channels) or min(self.paddings) < 0):
            raise UserError(f"ModelConfig: paddings must give one value >= 0 per convolution, got {self.paddings}")
        if self.activation not in ACTIVATIONS:
            raise UserError(f"ModelConfig: unknown activation {self.activation!r}; choose one of {ACTIVATIONS}")
        if self.decoder not in DECODERS:
            raise UserError(f"ModelConfig: unknown decoder {self.decoder!r}; choose one of {DECODERS}")
        if self.final_extent < 1:
            raise UserError(
                f"ModelConfig: {len(self.channels)} valid convolutions of kernel {self.kernel_size} do not fit a "
                f"patch of side {self.patch_size} (extent left: {self.final_extent})"
            )
        if not self.scale_floor > 0:
            raise UserError(f"ModelConfig: scale_floor must be positive, got {self.scale_floor}")


