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
    """A process that has ended with ``code`` (None: still running until terminated), its command and environment kept."""

    started: list = []

    def __init__(self, command, *, stdout, stderr, env, code=0):
        stdout.write("last line of the run\n")
        self.command, self.env, self.code, self.terminated = command, env, code, False
        FakeProcess.started.append(self)

    def poll(self):
        return self.code

    def terminate(self):
        self.terminated = True

    def wait(self):
        return self.code


@pytest.fixture
def started(monkeypatch):
    FakeProcess.started = []
    monkeypatch.setattr(paper_scale, "available_cpus", lambda: 16)
    return FakeProcess.started


def test_every_distinct_run_is_one_process_sharing_the_cores(tmp_path, monkeypatch, started):
    monkeypatch.setattr(paper_scale.subprocess, "Popen", FakeProcess)
    (tmp_path / "paper-none-full-0-val-3-40.log").write_text("an earlier attempt\n")
    distinct = paper_scale.run_all(arguments(tmp_path), steps=40, volumes=3)
    # ball-rate leaves the full model as it was: its run is the unchanged one, started once
    assert distinct == {"paper-none-full-0-val-3-40": "none/full", "paper-ball-rate-euclidean_triplet-0-val-3-40": "ball-rate/euclidean triplet"}
    assert [p.command[p.command.index("--run") + 1] for p in started] == ["none/full", "ball-rate/euclidean triplet"]
    first = started[0]
    assert first.command[:3] == [sys.executable, "-m", "benchmarks.paper_protocol"]
    assert first.command[first.command.index("--steps") + 1] == "40" and first.command[first.command.index("--device") + 1] == "cpu"
    assert first.env["OMP_NUM_THREADS"] == "8"
    assert (tmp_path / "paper-none-full-0-val-3-40.log").read_text() == "an earlier attempt\nlast line of the run\n"


def test_every_seed_of_a_run_is_its_own_process(tmp_path, monkeypatch, started):
    monkeypatch.setattr(paper_scale.subprocess, "Popen", FakeProcess)
    args = arguments(tmp_path)
    args.seeds = 2
    distinct = paper_scale.run_all(args, steps=40, volumes=3)
    assert list(distinct.values()) == ["none/full", "ball-rate/euclidean triplet"]
    launched = [(p.command[p.command.index("--run") + 1], p.command[p.command.index("--only-seed") + 1],
                 p.command[p.command.index("--seeds") + 1]) for p in started]
    assert launched == [("none/full", "0", "2"), ("none/full", "1", "2"),
                        ("ball-rate/euclidean triplet", "0", "2"), ("ball-rate/euclidean triplet", "1", "2")]
    assert {p.env["OMP_NUM_THREADS"] for p in started} == {"4"}
    assert (tmp_path / "paper-none-full-1-val-3-40.log").read_text() == "last line of the run\n"


def test_a_failed_run_stops_the_others_and_the_benchmark_with_the_end_of_its_log(tmp_path, monkeypatch, capsys, started):
    codes = iter([None, 3])  # the first run is still going when the second fails
    monkeypatch.setattr(paper_scale.subprocess, "Popen", lambda *a, **k: FakeProcess(*a, **k, code=next(codes)))
    with pytest.raises(SystemExit) as exit_:
        paper_scale.run_all(arguments(tmp_path), steps=40, volumes=3)
    assert exit_.value.code == 1
    log = tmp_path / "paper-ball-rate-euclidean_triplet-0-val-3-40.log"
    assert f"paper-ball-rate-euclidean_triplet-0-val-3-40 failed (exit 3); the end of {log}:\nlast line of the run" in capsys.readouterr().err
    assert [p.terminated for p in started] == [True, False]


def test_the_probe_rate_is_the_median_logged_throughput_after_the_warm_up_in_steps(tmp_path):
    rates = [1.0, 2.0, 256.0, 384.0, 1280.0]  # triplets per second
    lines = [{"step": 10 * (i + 1), "split": "train", "triplets_per_s": r} for i, r in enumerate(rates)]
    lines.insert(3, {"step": 30, "split": "validation", "loss": 1.0})
    (tmp_path / "log.jsonl").write_text("\n".join(map(json.dumps, lines)) + "\n")
    assert paper_scale.steps_per_second(tmp_path, batch=128) == 3.0
    (tmp_path / "log.jsonl").write_text(json.dumps(lines[3]) + "\n")
    with pytest.raises(SystemExit, match="log.jsonl logs no training throughput: give --probe-steps several times the log interval"):
        paper_scale.steps_per_second(tmp_path, batch=128)


def test_the_probe_chooses_the_steps_the_slowest_run_trains_in_the_budget(tmp_path, monkeypatch):
    calls, rendered = [], []

    def run_all(args, *, steps, volumes):
        calls.append((steps, volumes))
        return {paper_scale.tag_of(args, run, steps=steps, volumes=volumes): run for run in args.run}

    monkeypatch.setattr(paper_scale, "run_all", run_all)
    monkeypatch.setattr(paper_scale, "steps_per_second", lambda run_dir, *, batch: 9.0 if "full" in run_dir.name else 4.2)
    monkeypatch.setattr(paper_scale.paper_protocol, "main", rendered.append)
    paper_scale.main(["--run", "none/full", "--run", "none/euclidean base", "--device", "cpu", "--train-seconds", "100",
                      "--probe-steps", "30", "--round", "100", "--volumes", "5", "--dataset-size", "12", "--workdir", str(tmp_path)])
    # 4.2 steps/s for 100 s: 420 steps, 400 as a multiple of 100; the val split of 12 volumes holds 2
    assert calls == [(30, 1), (400, 2)]
    assert rendered[0][rendered[0].index("--steps") + 1] == "400" and rendered[0].count("--run") == 2
    calls.clear()
    paper_scale.main(["--run", "none/full", "--device", "cpu", "--steps", "700", "--dataset-size", "12", "--workdir", str(tmp_path)])
    assert calls == [(700, 2)]  # given steps: no probe


@pytest.mark.parametrize("argv, message", [
    (["--pair", "none/full", "none/euclidean base"], "--pair 'none/euclidean base' is not a CHANGE/ROW of this run: runs none/full"),
    (["--round", "0"], "argument --round: must be at least 1, got 0"),
    (["--train-seconds", "-5"], "argument --train-seconds: must be above 0 seconds, got -5"),
    (["--max-steps", "700"], "--max-steps 700 is not a multiple of --round 500"),
])
def test_bad_arguments_are_usage_errors_before_anything_is_written(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        paper_scale.main(["--run", "none/full", *argv, "--device", "cpu", "--workdir", str(tmp_path / "w")])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
