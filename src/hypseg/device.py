"""Which torch device a command runs on: ``auto`` picks CUDA where there is one."""

from __future__ import annotations

from hypseg.errors import UserError


def resolve_device(name: str) -> str:
    """``"auto"``: ``"cuda"`` when torch sees a CUDA device, else ``"cpu"``; ``cpu``, ``cuda`` and
    ``cuda:N`` are returned as given (CUDA must then be available).

    >>> resolve_device("cpu")
    'cpu'
    """
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not (name == "cpu" or name == "cuda" or name.startswith("cuda:")):
        raise UserError(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N")
    if name != "cpu" and not torch.cuda.is_available():
        raise UserError(f"device {name!r} was requested but CUDA is not available on this machine")
    if name.startswith("cuda:"):
        index, count = name.removeprefix("cuda:"), torch.cuda.device_count()
        if not index.isdigit() or int(index) >= count:
            raise UserError(f"device {name!r}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    return name
