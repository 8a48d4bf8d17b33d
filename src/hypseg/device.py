"""Which torch device a command runs on: ``auto`` picks CUDA where there is one."""

from __future__ import annotations

from hypseg._words import count
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
        index, devices = name.removeprefix("cuda:"), torch.cuda.device_count()
        if not index.isdigit() or int(index) >= devices:
            held = "cuda:0" if devices == 1 else f"cuda:0 to cuda:{devices - 1}"
            raise UserError(f"device {name!r} was requested; this machine has {count(devices, 'CUDA device')}: {held}")
    return name
