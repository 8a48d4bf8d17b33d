"""Who this process is under ``torchrun`` (DistributedDataParallel), and the process group."""

from __future__ import annotations

import dataclasses
import os

import torch
import torch.distributed as dist

from hypseg.errors import UserError


@dataclasses.dataclass(frozen=True)
class DistributedContext:
    """Rank and world size; a single process is rank 0 of a world of 1."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Only the main process writes logs and checkpoints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def context_from_env() -> DistributedContext:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` as set by torchrun (defaults: one process)."""
    try:
        return DistributedContext(
            rank=int(os.environ.get("RANK", 0)),
            world_size=int(os.environ.get("WORLD_SIZE", 1)),
            local_rank=int(os.environ.get("LOCAL_RANK", 0)),
        )
    except ValueError:
        raise UserError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (as torchrun sets them)") from None


def init_process_group(context: DistributedContext, device: torch.device) -> None:
    """Join the process group (gloo on CPU, NCCL on CUDA) unless alone or already joined.

    The rendezvous is torch's ``env://`` (MASTER_ADDR, MASTER_PORT), which torchrun provides.
    """
    if context.active and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=context.rank, world_size=context.world_size)
