"""benchmarks/paper_scale.py: the runs side by side, at the steps a probe says fit a time budget."""

from __future__ import annotations

import argparse
import json
import sys

import pytest

from benchmarks import paper_scale


def arguments(tmp_path):
    """paper_scale's arguments with three runs, the second of which its change leaves as it was."""
    return argparse.Namespace(run=["none/full", "ball-rate/full", "ball-rate/euclidean triplet"], device="cpu", split="val", seeds=1,
                              dataset_size=120, workdir=tmp_path, pair=[], out=None)


class FakeProcess:
    """A process that ends at once with ``code``, its command and environment kept."""

    started: list = []

    def __init__(self, command, *, stdout, stderr, env, code=0):
        stdout.write("last line of the run\n")
        self.command, self.env, self.code = command, env, code
        FakeProcess.started.append(self)

    def wait(self):
        return self.code


def test_every_distinct_run_is_one_process_sharing_the_cores(tmp_path, monkeypatch):
    FakeProcess.started = []
    monkeypatch.setattr(paper_scale.subprocess, "Popen", FakeProcess)
    monkeypatch.setattr(paper_scale.os, "cpu_count", lambda: 16)
    distinct = paper_scale.run_all(arguments(tmp_path), steps=40, volumes=3)
    # ball-rate leaves the full model as it was: its run is the unchanged one, started once
    assert distinct == {"paper-none-full-0-val-3-40": "none/full", "paper-ball-rate-euclidean_triplet-0-val-3-40": "ball-rate/euclidean triplet"}
    assert [p.command[p.command.index("--run") + 1] for p in FakeProcess.started] == ["none/full", "ball-rate/euclidean triplet"]
    first = FakeProcess.started[0]
    assert first.command[:3] == [sys.executable, "-m", "benchmarks.paper_protocol"]
    assert first.command[first.command.index("--steps") + 1] == "40" and first.command[first.command.index("--device") + 1] == "cpu"
    assert first.env["OMP_NUM_THREADS"] == "8"
    assert (tmp_path / "paper-none-full-0-val-3-40.log").read_text() == "last line of the run\n"


def test_a_failed_run_stops_the_benchmark_with_the_end_of_its_log(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paper_scale.subprocess, "Popen", lambda *a, **k: FakeProcess(*a, **k, code=1))
    with pytest.raises(SystemExit) as exit_:
        paper_scale.run_all(arguments(tmp_path), steps=40, volumes=3)
    assert exit_.value.code == 1
    assert f"paper-none-full-0-val-3-40 failed; the end of {tmp_path / 'paper-none-full-0-val-3-40.log'}:\nlast line of the run" in capsys.readouterr().err


def test_the_probe_rate_is_the_median_logged_throughput_after_the_warm_up_in_steps(tmp_path):
    rates = [1.0, 2.0, 256.0, 384.0, 1280.0]  # triplets per second; 128 per step
    lines = [{"step": 10 * (i + 1), "split": "train", "triplets_per_s": r} for i, r in enumerate(rates)]
    lines.insert(3, {"step": 30, "split": "validation", "loss": 1.0})
    (tmp_path / "log.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n")
    assert paper_scale.steps_per_second(tmp_path) == 3.0


def test_a_bad_run_is_a_usage_error_before_anything_is_written(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        paper_scale.main(["--run", "none/full", "--pair", "none/full", "none/euclidean base", "--device", "cpu", "--workdir", str(tmp_path / "w")])
    assert exit_.value.code == 2
    assert "--pair 'none/euclidean base' is not a CHANGE/ROW of this run: runs none/full" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
