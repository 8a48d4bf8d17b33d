"""Training objectives: the negative ELBO and the hierarchical triplet loss (tensors in, tensors out)."""

from hypseg.losses.elbo import ELBOTerms, centre_precision, negative_elbo
from hypseg.losses.triplet import triplet_loss

__all__ = ["ELBOTerms", "centre_precision", "negative_elbo", "triplet_loss"]
