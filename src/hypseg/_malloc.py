"""Keep freed memory in the process instead of handing it back to the system at every free.

glibc's ``malloc`` serves a block above its mmap threshold (dynamic, at most 32 MiB) with a fresh ``mmap`` and
returns it with ``munmap`` when it is freed, and it trims the heap's free top above 128 KiB. A patch encoder's
activations on a tile are such blocks, allocated and freed layer after layer, tile after tile: each comes back from the
kernel as new pages, every page faulted in and zeroed on first touch, which makes segmentation spend much of its time
in the kernel (``benchmarks/results/malloc.md``).

:func:`keep_freed_memory` raises both thresholds: freed blocks up to that size stay in the heap for the next
allocation, and the process may keep up to that many freed bytes at the heap's top. The command line calls it once at
start, and :func:`hypseg.train` and :func:`hypseg.segment` before their work. It acts on the main thread's heap: another
thread (a napari worker) allocates from an arena of its own, whose heaps hold at most 64 MiB, so larger blocks there are
still mmapped (napari's plugin therefore segments a large image in a process of its own). Elsewhere than Linux with
glibc (macOS, musl) it does nothing.

A Dask worker runs its tasks on a thread, and Dask's nanny starts it with a trim threshold of 64 KiB (so that its memory
monitor sees freed memory go). :func:`worker_environment` gives the environment a local cluster's workers start with
instead: the same thresholds, capped at an eighth of a worker's memory limit, and one arena for every thread, so that
the task thread's blocks come from the heap the thresholds keep.
"""

from __future__ import annotations

import ctypes
import os
import sys

__all__ = ["keep_freed_memory", "can_keep_freed_memory", "worker_environment", "OPT_OUT", "LIMIT"]

#: mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: setting this environment variable to anything but "" or "0" leaves malloc as the system set it
OPT_OUT = "HYPSEG_SYSTEM_MALLOC"

#: bytes: both thresholds, where glibc accepts them
LIMIT = 1 << 30


def _glibc_mallopt():
    """glibc's ``mallopt``, or None where :data:`OPT_OUT` is set or the C library is not glibc."""
    if os.environ.get(OPT_OUT, "") not in ("", "0") or not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)  # the C library this process runs on
        libc.gnu_get_libc_version  # only glibc has it (and these mallopt parameters)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt


def _check(limit: int) -> None:
    if not 0 < limit < 2 ** 31:
        raise ValueError(f"limit must lie in [1, 2^31 - 1] bytes, got {limit}")


def keep_freed_memory(limit: int = LIMIT) -> int:
    """Raise glibc malloc's mmap and trim thresholds to ``limit`` bytes; ``limit``, or 0 where nothing was changed.

    Nothing is changed where :data:`OPT_OUT` is set, where the C library is not glibc, or where it refuses so high an
    mmap threshold (an older glibc may). ``limit`` must be a positive C ``int``. Calling it again sets the same values.
    """
    _check(limit)
    mallopt = _glibc_mallopt()
    if mallopt is None or not mallopt(_M_MMAP_THRESHOLD, limit):
        return 0
    mallopt(_M_TRIM_THRESHOLD, limit)  # glibc takes any trim threshold
    return limit


def can_keep_freed_memory() -> bool:
    """Whether :func:`keep_freed_memory` would act in this process (glibc, and :data:`OPT_OUT` not set), without acting.

    An older glibc may still refuse the threshold when it is asked.
    """
    return _glibc_mallopt() is not None


def worker_environment(memory_limit: int | None = None, limit: int = LIMIT) -> dict[str, str]:
    """The environment variables that start a process (a Dask worker) keeping freed memory; {} where this one may not.

    Both thresholds are ``limit`` bytes, or an eighth of ``memory_limit`` where that is less: the largest block kept
    and the free memory kept at the heap's top stay well below a worker's limit (Dask pauses a worker at 80% of it),
    though free blocks below the top are kept whatever the thresholds. ``MALLOC_ARENA_MAX=1`` makes every thread
    allocate from the main heap, which the thresholds govern (a thread's own arena maps any block above its 64 MiB
    heaps); hypseg's local workers run one task thread each, so little contends for that heap. {} where
    :data:`OPT_OUT` is set or the C library is not glibc: the worker then starts with what its launcher gives it.
    """
    _check(limit)
    if memory_limit is not None:
        limit = max(1, min(limit, memory_limit // 8))
    if not can_keep_freed_memory():
        return {}
    return {"MALLOC_MMAP_THRESHOLD_": str(limit), "MALLOC_TRIM_THRESHOLD_": str(limit), "MALLOC_ARENA_MAX": "1"}
