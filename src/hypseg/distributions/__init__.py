"""Distributions on the latent space: the wrapped normal on the ball and its Euclidean counterpart."""

from hypseg.distributions.wrapped_normal import EuclideanNormal, WrappedNormal, log_sinhc

__all__ = ["WrappedNormal", "EuclideanNormal", "log_sinhc"]
