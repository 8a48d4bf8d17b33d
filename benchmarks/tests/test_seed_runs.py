"""The per-seed diagnostics of the real-data runs: the last logged losses."""

from __future__ import annotations

import json

from benchmarks.seed_runs import last_losses


def test_last_losses_are_the_last_training_and_validation_records(tmp_path):
    log = tmp_path / "log.jsonl"
    records = [{"step": 10, "kl": 1.0}, {"step": 10, "split": "val", "kl": 2.0}, {"step": 20, "kl": 3.0}]
    log.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert last_losses(log) == ({"step": 20, "kl": 3.0}, {"step": 10, "split": "val", "kl": 2.0})
