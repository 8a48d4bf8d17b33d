"""hypseg._malloc: freed blocks stay in the process where it is glibc; nothing changes where the user opts out."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from helpers import glibc
from hypseg import _malloc

# One 64 MiB block allocated, touched whole and freed 100 times, after a first one (which faults in either way). With
# glibc's own thresholds every block is a fresh mmap whose pages fault in again: at least its 32 2-MiB pages, even
# where the kernel backs it with huge pages; with the raised ones the heap block the first left is served again.
# numpy's own huge-page hint is off (NUMPY_MADVISE_HUGEPAGE=0) so that its faults are the kernel's choice alone.
_COUNTED_CHURN = """
import resource
import numpy as np
def churn():
    faults = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(8 << 20)
    del block
    before = faults()
    for _ in range(100):
        block = np.ones(8 << 20)
        del block
    return faults() - before
"""
_CHURN = ("from hypseg._malloc import can_keep_freed_memory, keep_freed_memory\n"
          "print(int(can_keep_freed_memory()), keep_freed_memory())\n" + _COUNTED_CHURN + "print(churn())\n")


def _run(script: str, environment: dict) -> list[int]:
    """The numbers ``script`` prints, run in a fresh process whose environment has no malloc settings but
    ``environment`` (and numpy's huge-page hint off)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))}, **environment,
           "NUMPY_MADVISE_HUGEPAGE": "0"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    return [int(number) for number in done.stdout.split()]


@glibc
def test_freed_blocks_stay_in_the_process_so_their_pages_do_not_fault_in_again():
    can, threshold, kept = _run(_CHURN, {_malloc.OPT_OUT: ""})  # whether it would, what it did, the churn's faults
    cannot, nothing, system = _run(_CHURN, {_malloc.OPT_OUT: "1"})
    assert (can, threshold) == (1, _malloc.LIMIT) and (cannot, nothing) == (0, 0)  # the opt-out changes nothing
    assert system >= 100 * 32  # every block faulted its pages in again
    assert kept < system / 10


@pytest.mark.parametrize("limit", [0, -1, 2 ** 31])
@pytest.mark.parametrize("function", [_malloc.keep_freed_memory, _malloc.worker_environment])
def test_a_limit_outside_a_c_int_is_refused(function, limit):
    with pytest.raises(ValueError, match=r"^limit must lie in \[1, 2\^31 - 1\] bytes, got -?\d+$"):
        function(limit=limit)


# The same churn on a thread of a fresh process that sets nothing itself: what it keeps is the environment's doing.
_THREAD_CHURN = _COUNTED_CHURN + """
import threading
counted = []
thread = threading.Thread(target=lambda: counted.append(churn()))
thread.start()
thread.join()
print(counted[0])
"""


@glibc
def test_a_worker_started_with_its_environment_keeps_a_threads_freed_blocks(monkeypatch):
    monkeypatch.delenv(_malloc.OPT_OUT, raising=False)
    environment = _malloc.worker_environment()
    assert environment == {"MALLOC_MMAP_THRESHOLD_": str(_malloc.LIMIT), "MALLOC_TRIM_THRESHOLD_": str(_malloc.LIMIT),
                           "MALLOC_ARENA_MAX": "1"}
    thresholds_only = {k: v for k, v in environment.items() if k != "MALLOC_ARENA_MAX"}
    [system], [kept], [arena] = (_run(_THREAD_CHURN, env) for env in ({}, environment, thresholds_only))
    assert system >= 100 * 32  # every block faulted its pages in again
    assert kept < system / 10
    assert arena >= 100 * 32  # a thread's own arena maps a 64 MiB block whatever the thresholds: one arena it is


@glibc
def test_a_workers_thresholds_are_at_most_an_eighth_of_its_memory_limit(monkeypatch):
    monkeypatch.delenv(_malloc.OPT_OUT, raising=False)
    assert _malloc.worker_environment(memory_limit=2 << 30)["MALLOC_MMAP_THRESHOLD_"] == str(256 << 20)
    assert _malloc.worker_environment(memory_limit=64 << 30)["MALLOC_TRIM_THRESHOLD_"] == str(_malloc.LIMIT)
    assert _malloc.worker_environment(memory_limit=4)["MALLOC_MMAP_THRESHOLD_"] == "1"


def test_a_worker_starts_as_its_launcher_says_where_the_user_opts_out(monkeypatch):
    monkeypatch.setenv(_malloc.OPT_OUT, "1")
    assert _malloc.worker_environment() == {}
