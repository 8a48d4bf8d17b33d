"""hypseg._malloc: glibc's thresholds raised where it is glibc, nothing changed where the user opts out."""

from __future__ import annotations

import ctypes
import subprocess
import sys

import pytest

from hypseg import _malloc

glibc = pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "gnu_get_libc_version"),
                           reason="glibc only")


def _faults_of(code: str, **env) -> int:
    """Minor page faults of a fresh process that runs ``code`` (its own count, read from getrusage at its end)."""
    import os

    probe = code + "\nimport resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          env={**os.environ, **env})
    return int(done.stdout.split()[-1])


# 200 allocations of a 64 MB block, each touched whole and freed: with the system's thresholds each is a fresh
# mmap whose pages fault in again; with the raised ones the same heap block serves every allocation
_CHURN = """
from hypseg._malloc import keep_freed_memory
print(keep_freed_memory())
import numpy as np
for _ in range(200):
    a = np.ones(8 << 20)
    del a
"""


@glibc
def test_freed_blocks_are_kept_so_their_pages_fault_in_once():
    kept = _faults_of(_CHURN, **{_malloc.OPT_OUT: ""})
    system = _faults_of(_CHURN, **{_malloc.OPT_OUT: "1"})
    # numpy asks for huge pages on large blocks, so one allocation faults in as 32 2-MB pages or 16,384 small ones
    assert system > 200 * 32  # every allocation faulted its pages in again
    assert kept < system / 10  # one allocation's worth, plus the interpreter's own


@glibc
def test_it_reports_what_it_did():
    assert _malloc.keep_freed_memory() is True


def test_the_opt_out_changes_nothing(monkeypatch):
    monkeypatch.setenv(_malloc.OPT_OUT, "1")
    assert _malloc.keep_freed_memory() is False


@pytest.mark.parametrize("limit", [0, -1, 2 ** 31])
def test_a_limit_outside_a_c_int_is_refused(limit):
    with pytest.raises(ValueError, match=r"limit must lie in \[1, 2\^31 - 1\] bytes"):
        _malloc.keep_freed_memory(limit)
