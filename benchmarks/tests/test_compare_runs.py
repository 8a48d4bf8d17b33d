"""Pairing one method's per-volume scores across two saved quality runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.compare_runs import compare, main
from benchmarks.quality import FULL, MethodScore
from hypseg.metrics.paired import paired_interval


def _save(path, per_volume: dict[int, list[float]], name: str = FULL, set_name: str = "regular"):
    score = MethodScore(name, {level: [float(np.mean(v))] * 3 for level, v in per_volume.items()}, 0.4, 1.0,
                        {level: tuple(v) for level, v in per_volume.items()})
    path.write_text(json.dumps({"volumes": 120, "repeats": 3, "ensemble": True, "inference": {},
                                "sets": {set_name: [score.to_json()]}}))
    return path


def test_the_difference_is_the_second_run_minus_the_first_with_its_paired_interval(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.uniform(0.6, 0.9, 20)
    gain = base + 0.02 + rng.normal(0, 0.005, 20)  # a small gain on every volume: outside the noise
    first = _save(tmp_path / "a.json", {1: base.tolist(), 2: base.tolist()})
    second = _save(tmp_path / "b.json", {1: gain.tolist(), 2: base.tolist()})
    rows = compare(first, second)
    assert [r[:2] for r in rows] == [["regular", "L1 (k=2)"], ["regular", "L2 (k=4)"]]
    low, high = paired_interval(gain, base)
    assert rows[0][2:] == [f"{base.mean():.3f}", f"{gain.mean():.3f}", f"{(gain - base).mean():+.3f}", f"[{low:+.3f}, {high:+.3f}]"]
    assert rows[1][4:] == ["+0.000", "[+0.000, +0.000] (within noise)"]  # the same scores: no difference


def test_runs_without_the_method_or_with_other_volumes_are_refused(tmp_path, capsys):
    first = _save(tmp_path / "a.json", {1: [0.5, 0.6]})
    with pytest.raises(ValueError, match="no set holds 'euclidean base' in both"):
        compare(first, first, method="euclidean base")
    other = _save(tmp_path / "b.json", {1: [0.5, 0.6, 0.7]})
    with pytest.raises(ValueError, match="the two runs do not hold the same volumes' scores"):
        compare(first, other)
    with pytest.raises(SystemExit) as exit_:
        main([str(first), str(tmp_path / "missing.json")])
    assert exit_.value.code == 2 and "no saved scores at" in capsys.readouterr().err


def test_a_set_of_particles_pairs_its_object_f1_where_both_runs_hold_it(tmp_path):
    dice = {1: [0.5, 0.6, 0.7]}
    first = _save(tmp_path / "a.json", dice, set_name="crowded")
    with pytest.raises(ValueError, match="^set 'crowded': the two runs do not hold the same volumes' object_f1 scores"):
        compare(first, first, score="object_f1")  # a run saved before the score, or of a set without particles
    with_f1 = []
    for name, f1 in (("b.json", (0.1, 0.2, 0.3)), ("c.json", (0.2, 0.4, 0.3))):
        score = MethodScore(FULL, {1: [0.6]}, 0.4, 1.0, {1: tuple(dice[1])}, object_f1={1: f1})
        assert MethodScore.from_json(json.loads(json.dumps(score.to_json()))) == score  # kept exactly
        with_f1.append(tmp_path / name)
        with_f1[-1].write_text(json.dumps({"sets": {"crowded": [score.to_json()]}}))
    for path in with_f1:  # a run of several sets: those without particles are left out of the particles' score
        data = json.loads(path.read_text())
        data["sets"]["regular"] = [MethodScore(FULL, {1: [0.6]}, 0.4, 1.0, {1: tuple(dice[1])}).to_json()]
        path.write_text(json.dumps(data))
    rows = compare(*with_f1, score="object_f1")
    assert len(rows) == 1 and rows[0][:5] == ["crowded", "L1 (k=2)", "0.200", "0.300", "+0.100"]
    assert [row[0] for row in compare(*with_f1)] == ["crowded", "regular"]
    assert compare(*with_f1)[0][4] == "+0.000"  # their DICE is the same
