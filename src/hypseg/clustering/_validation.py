"""Input checks shared by the clustering functions and estimators (exact messages are tested)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from hypseg.errors import UserError

__all__: list[str] = []


def check_curvature(c: object) -> float:
    """Return ``c`` as a float after checking that it is a positive finite number."""
    try:
        value = float(c)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UserError(f"c must be a positive finite number, got {c!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise UserError(f"c must be a positive finite number, got {c!r}")
    return value


def as_tensor(x: Any, *, name: str, device: torch.device | str | None = None) -> torch.Tensor:
    """Convert numpy arrays, tensors or nested sequences to a floating tensor (no copy if possible).

    Floating dtypes of 32 or 64 bits are kept; half precision becomes float32 and anything else
    (integers, lists of Python floats) float64. ``device`` None keeps a tensor's device (CPU for
    everything else).
    """
    if isinstance(x, torch.Tensor):
        t = x.detach()
    else:
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
            raise UserError(f"{name} must be a numeric array, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_complex():
        raise UserError(f"{name} must be real, got dtype {t.dtype}")
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    elif t.dtype not in (torch.float32, torch.float64):
        t = t.to(torch.float64)
    if device is not None:
        t = t.to(device)
    return t


def check_points_2d(x: torch.Tensor, *, name: str, c: float | None) -> None:
    """Check a (n_samples, n_features) array: non-empty, finite and (if ``c``) inside the ball."""
    if x.dim() != 2:
        raise UserError(f"{name} must be a 2-D array (n_samples, n_features), got shape {tuple(x.shape)}")
    check_points(x, name=name, c=c)


def check_points(x: torch.Tensor, *, name: str, c: float | None) -> None:
    """Check points (..., n_features): non-empty, finite and (if ``c``) strictly inside the ball."""
    if x.numel() == 0:
        raise UserError(f"{name} is empty: got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise UserError(f"{name} contains NaN or infinity")
    if c is not None:
        radius = float(x.to(torch.float64).pow(2).sum(dim=-1).max().sqrt()) * math.sqrt(c)
        if radius >= 1.0:
            raise UserError(
                f"{name} has points outside the Poincare ball of curvature -{c:g}: "
                f"max sqrt(c)*|x| = {radius:.6g} >= 1"
            )


def check_weights(w: Any, *, shape: tuple[int, ...], like: torch.Tensor, name: str = "sample_weight") -> torch.Tensor:
    """Return non-negative finite weights of ``shape`` as a tensor of ``like``'s dtype and device."""
    t = as_tensor(w, name=name).to(device=like.device, dtype=like.dtype)
    if tuple(t.shape) != shape:
        raise UserError(f"{name} must have shape {shape}, got {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise UserError(f"{name} contains NaN or infinity")
    if bool((t < 0).any()):
        raise UserError(f"{name} must be non-negative")
    return t
