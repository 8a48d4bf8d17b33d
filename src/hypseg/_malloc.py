"""Keep freed memory in the process instead of handing it back to the system at every free.

glibc's ``malloc`` serves a block above its mmap threshold (at most 32 MB, raised as large blocks are freed) with a
fresh ``mmap`` and returns it with ``munmap`` when it is freed, and it trims the heap's free top above 128 kB. A patch
encoder's activations on a tile are such blocks, allocated and freed layer after layer, tile after tile: every one
comes back from the kernel as new pages, each faulted in and zeroed on first touch. On a 60x256x256 stack
``hypseg segment`` spent about a third of its wall time in the kernel that way (``benchmarks/results/malloc.md``).

:func:`keep_freed_memory` raises both thresholds to ``limit``: freed blocks up to that size stay in the heap for the
next allocation. The process may then hold up to ``limit`` bytes it has freed. The command line calls it once at
start, and so do the workers of a local Dask cluster that ``--workers`` starts; a Python program can call it
itself. Elsewhere than Linux with glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["keep_freed_memory", "OPT_OUT"]

#: mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: setting this environment variable to anything but "" or "0" leaves malloc as the system set it
OPT_OUT = "HYPSEG_SYSTEM_MALLOC"

#: bytes of freed memory the process may keep (both thresholds)
LIMIT = 1 << 30


def keep_freed_memory(limit: int = LIMIT) -> bool:
    """Raise glibc malloc's mmap and trim thresholds to ``limit`` bytes; True where both were set.

    False, with nothing changed, where :data:`OPT_OUT` is set, where the C library is not glibc, or where glibc
    refuses the value. ``limit`` must be a positive C ``int``.
    """
    if not 0 < limit < 2 ** 31:
        raise ValueError(f"limit must lie in [1, 2^31 - 1] bytes, got {limit}")
    if os.environ.get(OPT_OUT, "") not in ("", "0") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process runs on
        libc.gnu_get_libc_version  # only glibc has it (and these mallopt parameters)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, limit)) and bool(mallopt(_M_TRIM_THRESHOLD, limit))
