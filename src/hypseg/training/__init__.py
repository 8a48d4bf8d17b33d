"""Training: the Trainer (single process or DDP under torchrun), its batch stream, optimiser factory."""

from hypseg.training.distributed import DistributedContext, context_from_env
from hypseg.training.stream import StepBatch, TripletStream
from hypseg.training.trainer import LOG_NAME, StepLosses, Trainer, TrainResult, compute_losses, read_log, smoothed

__all__ = [
    "DistributedContext",
    "context_from_env",
    "StepBatch",
    "TripletStream",
    "Trainer",
    "TrainResult",
    "StepLosses",
    "compute_losses",
    "read_log",
    "smoothed",
    "LOG_NAME",
]
