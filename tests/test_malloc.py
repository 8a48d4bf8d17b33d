"""hypseg._malloc: freed blocks stay in the process where it is glibc; nothing changes where the user opts out."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest

from hypseg import _malloc

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "gnu_get_libc_version"),
                           reason="glibc only")

# One 64 MiB block allocated, touched whole and freed 100 times, after a first one (which faults in either way). With
# glibc's own thresholds every block is a fresh mmap whose pages fault in again: at least its 32 2-MiB pages, even
# where the kernel backs it with huge pages; with the raised ones the heap block the first left is served again.
# numpy's own huge-page hint is off (NUMPY_MADVISE_HUGEPAGE=0) so that its faults are the kernel's choice alone.
_CHURN = """
import resource
from hypseg._malloc import keep_freed_memory
print(keep_freed_memory())
import numpy as np
faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
block = np.ones(8 << 20)
del block
before = faults()
for _ in range(100):
    block = np.ones(8 << 20)
    del block
print(faults() - before)
"""


def _churn(opt_out: str) -> tuple[int, int]:
    """What ``keep_freed_memory`` returned in a fresh process, and the minor page faults of its churn."""
    env = {**os.environ, _malloc.OPT_OUT: opt_out, "NUMPY_MADVISE_HUGEPAGE": "0"}
    done = subprocess.run([sys.executable, "-c", _CHURN], capture_output=True, text=True, check=True, env=env)
    kept, faults = done.stdout.split()
    return int(kept), int(faults)


@glibc
def test_freed_blocks_stay_in_the_process_so_their_pages_do_not_fault_in_again():
    threshold, kept = _churn("")
    nothing, system = _churn("1")
    assert threshold == _malloc.LIMIT and nothing == 0  # the opt-out changes nothing
    assert system >= 100 * 32  # every block faulted its pages in again
    assert kept < system / 10


@pytest.mark.parametrize("limit", [0, -1, 2 ** 31])
def test_a_limit_outside_a_c_int_is_refused(limit):
    with pytest.raises(ValueError, match=r"^limit must lie in \[1, 2\^31 - 1\] bytes, got -?\d+$"):
        _malloc.keep_freed_memory(limit)
