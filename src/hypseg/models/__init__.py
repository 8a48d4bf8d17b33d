"""The VAE: fully convolutional encoder, gyroplane or linear decoder, variants of the paper's Table 2."""

from hypseg.models.decoder import Decoder
from hypseg.models.encoder import Encoder, Encoding
from hypseg.models.vae import HVAE, VARIANT_SPECS, VAEOutput

__all__ = ["HVAE", "VAEOutput", "VARIANT_SPECS", "Encoder", "Encoding", "Decoder"]
