"""The training batches: a deterministic function of (seed, step, shard), sharded over processes.

A step's batch of G triplets is made of G / shard_size shards; shard j of step s, with its posterior
noise, is drawn from ``numpy.random.default_rng(SeedSequence([seed, s, j, stream]))``. Process r of
W takes the r-th contiguous block of shards. Hence

- a run resumed at step s sees exactly the batches of an uninterrupted run (no RNG state to restore);
- W DDP processes together see exactly the batch of a single process, noise included.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from hypseg.data import PaperTripletSampler, TripletSampler
from hypseg.errors import UserError

TRAIN, VALIDATION = 0, 1  # stream ids


class StepBatch(NamedTuple):
    """B triplets as one stack of 3B patches, with standard-normal noise for the K samples."""

    patches: torch.Tensor  # (3B, 1, m, m, m): anchors, then positives, then negatives
    noise: torch.Tensor  # (K, 3B, d)

    def to(self, device: torch.device) -> "StepBatch":
        return StepBatch(self.patches.to(device, non_blocking=True), self.noise.to(device, non_blocking=True))


class TripletStream:
    """Batches for a step and a block of shards (see the module docstring)."""

    def __init__(self, sampler: TripletSampler | PaperTripletSampler, *, seed: int, shard_size: int, samples: int, latent_dim: int):
        self.sampler, self.seed, self.shard_size = sampler, seed, shard_size
        self.samples, self.latent_dim = samples, latent_dim

    def shards_of(self, rank: int, world_size: int, batch_size: int) -> range:
        """The block of shard indices that process ``rank`` of ``world_size`` draws."""
        n_shards = batch_size // self.shard_size
        if n_shards % world_size:
            raise UserError(
                f"{n_shards} shards of {self.shard_size} triplets per step cannot be split evenly over {world_size} processes"
            )
        per = n_shards // world_size
        return range(rank * per, (rank + 1) * per)

    def batch(self, step: int, shards: range, *, stream: int = TRAIN) -> StepBatch:
        parts, noises = [], []
        for shard in shards:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, step, shard, stream]))
            triplets = self.sampler.sample_shard(rng, self.shard_size, step=step, shard=shard)
            parts.append((triplets.anchor, triplets.positive, triplets.negative))
            noises.append(rng.standard_normal((self.samples, 3, self.shard_size, self.latent_dim), dtype=np.float32))
        patches = torch.cat([torch.cat(role) for role in zip(*parts)])  # (3B, 1, m, m, m)
        noise = torch.from_numpy(np.concatenate(noises, axis=2)).flatten(1, 2)  # (K, 3B, d)
        return StepBatch(patches, noise)
