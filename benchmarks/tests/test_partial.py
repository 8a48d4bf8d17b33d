"""Resumable quality runs: the finished sets of an interrupted run are kept and read back by a rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import hypseg
from benchmarks import quality
from benchmarks.partial import code_digest, fingerprint, partial_path, read_parts, write_parts
from benchmarks.quality import FULL, MethodScore, run


def _scores(name):
    """Scores as ``score_set`` returns them, different per set (no training)."""
    shift = {"regular": 0.0, "irregular": 0.01, "shepp-logan": 0.02}[name]
    levels = quality.SETS[name].levels
    full = MethodScore(FULL, {level: [0.8 - 0.1 * level + shift, 0.81 - 0.1 * level] for level in levels}, 0.5, 1.25,
                       {level: (0.7 + shift, 0.9 - 0.1 * level, 1 / 3) for level in levels})
    peer = MethodScore("baseline: kmeans", {level: [0.7 - 0.1 * level] for level in levels}, 0.0, 0.2,
                       {level: (0.6, 0.7, 0.8) for level in levels})
    return [full, peer]


class _Interrupted(Exception):
    pass


def _fake_score_set(monkeypatch, calls, *, interrupt_at=None):
    def score_set(name, **_):
        calls.append(name)
        if name == interrupt_at:
            raise _Interrupted(name)
        return _scores(name)

    monkeypatch.setattr(quality, "score_set", score_set)


def test_method_scores_survive_the_json_round_trip_exactly():
    for score in _scores("regular") + [MethodScore("x", {1: [0.5]}, 0.0, 0.1)]:
        assert MethodScore.from_json(json.loads(json.dumps(score.to_json()))) == score


def test_an_interrupted_run_resumes_with_the_sets_it_had_finished(monkeypatch, tmp_path, capsys):
    out = tmp_path / "quality.md"
    calls = []
    _fake_score_set(monkeypatch, calls, interrupt_at="irregular")
    with pytest.raises(_Interrupted):
        run(repeats=2, out=out, sets=("regular", "irregular", "shepp-logan"))
    assert calls == ["regular", "irregular"] and not out.exists() and partial_path(out).exists()
    first = capsys.readouterr().out
    calls.clear()
    _fake_score_set(monkeypatch, calls)
    run(repeats=2, out=out, sets=("regular", "irregular", "shepp-logan"))
    assert calls == ["irregular", "shepp-logan"]  # regular came from the file
    printed = capsys.readouterr().out
    assert f"set 'regular': scored by an earlier run, read from {partial_path(out)}" in printed
    regular_table = first.split("Set 'regular'")[1].split("\n\n\n")[0]
    assert regular_table in out.read_text()  # the same table as the interrupted run printed
    assert not partial_path(out).exists()
    # the same result as a run never interrupted
    calls.clear()
    straight = tmp_path / "straight.md"
    run(repeats=2, out=straight, sets=("regular", "irregular", "shepp-logan"))
    assert straight.read_text() == out.read_text() and calls == ["regular", "irregular", "shepp-logan"]


def test_a_run_with_other_settings_starts_anew(monkeypatch, tmp_path, capsys):
    out = tmp_path / "quality.md"
    calls = []
    _fake_score_set(monkeypatch, calls, interrupt_at="irregular")
    with pytest.raises(_Interrupted):
        run(repeats=2, out=out, sets=("regular", "irregular"))
    calls.clear()
    _fake_score_set(monkeypatch, calls)
    run(repeats=3, out=out, sets=("regular", "irregular"))
    assert calls == ["regular", "irregular"]
    assert f"ignoring {partial_path(out)}: it was written by a run with other settings or other code" in capsys.readouterr().out


def test_a_run_of_edited_code_starts_anew(monkeypatch, tmp_path, capsys):
    out = tmp_path / "quality.md"
    calls = []
    _fake_score_set(monkeypatch, calls, interrupt_at="irregular")
    monkeypatch.setattr(quality, "code_digest", lambda: "before the edit")
    with pytest.raises(_Interrupted):
        run(repeats=2, out=out, sets=("regular", "irregular"))
    calls.clear()
    _fake_score_set(monkeypatch, calls)
    monkeypatch.setattr(quality, "code_digest", lambda: "after the edit")
    run(repeats=2, out=out, sets=("regular", "irregular"))
    assert calls == ["regular", "irregular"]  # nothing read back: the same settings, other code
    assert f"ignoring {partial_path(out)}: it was written by a run with other settings or other code" in capsys.readouterr().out


def test_the_code_digest_follows_every_python_source_and_nothing_else(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.py").write_text("y = 2\n")
    first = code_digest(package)
    assert code_digest(package) == first and len(first) == 64
    (package / "notes.txt").write_text("not code")
    assert code_digest(package) == first
    (package / "sub" / "b.py").write_text("y = 3\n")
    edited = code_digest(package)
    assert edited != first
    (package / "sub" / "b.py").rename(package / "b.py")  # the same bytes under another path
    assert code_digest(package) not in (first, edited)
    (package / "b.py").unlink()
    assert code_digest(package) not in (first, edited)
    assert code_digest() == code_digest(Path(hypseg.__file__).parent)  # by default, the package that runs


def test_an_unreadable_partial_file_is_ignored_with_a_note(tmp_path):
    path = tmp_path / "q.md.partial.json"
    path.write_text("{not json")
    parts, note = read_parts(path, "key")
    assert parts == {} and note.startswith(f"ignoring {path}: it cannot be read (JSONDecodeError")
    assert read_parts(tmp_path / "absent.json", "key") == ({}, None)
    path.write_text('{"fingerprint": "key", "parts": [1, 2]}')  # valid JSON, not parts
    parts, note = read_parts(path, "key")
    assert parts == {} and note.startswith(f"ignoring {path}: it cannot be read (TypeError")


def test_parts_round_trip_under_their_fingerprint_only(tmp_path):
    path = tmp_path / "p.json"
    key = fingerprint({"b": 1, "a": (2, 3), "path": tmp_path})
    assert key == fingerprint({"path": tmp_path, "a": (2, 3), "b": 1})  # key order does not matter
    write_parts(path, key, {"regular": [1, 2]})
    assert read_parts(path, key) == ({"regular": [1, 2]}, None)
    assert read_parts(path, fingerprint({"b": 2}))[0] == {}
    assert not path.with_name(path.name + ".tmp").exists()
