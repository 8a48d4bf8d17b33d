"""Run directories: round trip, and clear errors for missing, corrupt, unsafe or foreign checkpoints."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from hypseg.config import ModelConfig, RunConfig
from hypseg.io.checkpoint import load_checkpoint, load_run_config, save_checkpoint, save_run_config
from hypseg.models import HVAE


class _Payload:
    """Unpickling this would create a file: the proof that a loader ran arbitrary code."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_round_trip_keeps_config_and_tensors(tmp_path):
    config = RunConfig(model=ModelConfig(channels=(4, 4, 4), hidden=8))
    model = HVAE(config.model)
    save_run_config(tmp_path, config)
    save_checkpoint(tmp_path, {"model": model.state_dict(), "step": 7, "rng_torch": torch.get_rng_state()})
    assert load_run_config(tmp_path) == config
    state = load_checkpoint(tmp_path)
    assert state["step"] == 7
    for name, tensor in model.state_dict().items():
        torch.testing.assert_close(state["model"][name], tensor)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml", "model.pt"]  # no temporaries left


def test_truncated_and_garbage_checkpoints_give_a_clear_error(tmp_path):
    save_checkpoint(tmp_path, {"model": HVAE(ModelConfig(channels=(4, 4, 4), hidden=8)).state_dict(), "step": 1})
    data = (tmp_path / "model.pt").read_bytes()
    (tmp_path / "model.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"model.pt: corrupt or unsafe checkpoint"):
        load_checkpoint(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match=r"model.pt: corrupt or unsafe checkpoint"):
        load_checkpoint(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"hello world junk")  # torch's legacy reader fails on it with KeyError('101')
    with pytest.raises(ValueError, match=r"model.pt: corrupt or unsafe checkpoint \(its bytes are not a file torch.save wrote\)$"):
        load_checkpoint(tmp_path)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")  # torch's, before it refuses the file
@pytest.mark.parametrize("protocol", [pickle.DEFAULT_PROTOCOL, 2])  # 2 is torch.save's own
def test_a_pickled_object_is_never_executed(tmp_path, protocol):
    marker = tmp_path / "code-ran"
    torch.save({"model": {}, "format_version": 1, "evil": _Payload(marker)}, tmp_path / "model.pt", pickle_protocol=protocol)
    with pytest.raises(ValueError) as caught:
        load_checkpoint(tmp_path)
    assert not marker.exists()
    message = str(caught.value)  # the refusal, whole, and not torch's advice to load the file unsafely
    assert message.startswith(f"{tmp_path / 'model.pt'}: corrupt or unsafe checkpoint (refused by the safe loader: ")
    assert message.endswith(")") and "weights_only" not in message and "\n" not in message


def test_foreign_versions_and_missing_pieces_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model directory .*nowhere does not exist"):
        load_run_config(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match=r"is not a hypseg run: config.toml is missing"):
        load_run_config(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"holds no checkpoint: model.pt is missing"):
        load_checkpoint(tmp_path)
    (tmp_path / "config.toml").write_text("format_version = 99\n")
    with pytest.raises(ValueError, match=r"config.toml: written by run format version 99; this hypseg reads version 1"):
        load_run_config(tmp_path)
    (tmp_path / "config.toml").write_text("[model\n")
    with pytest.raises(ValueError, match=r"config.toml: not valid TOML"):
        load_run_config(tmp_path)
    torch.save({"model": {}, "format_version": 0}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match=r"written by checkpoint format version 0; this hypseg reads version 1"):
        load_checkpoint(tmp_path)
    torch.save({"weights": torch.zeros(1)}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match=r"not a hypseg checkpoint \(no model weights inside\)"):
        load_checkpoint(tmp_path)


def test_read_log_returns_the_records_and_names_a_bad_line(tmp_path):
    from hypseg.errors import UserError
    from hypseg.io.checkpoint import LOG_NAME, read_log

    with pytest.raises(FileNotFoundError, match=f"has no {LOG_NAME}$"):
        read_log(tmp_path)
    (tmp_path / LOG_NAME).write_text('{"step": 1, "split": "train", "loss": 2.5}\n\n{"step": 2, "split": "val"}\n')
    assert read_log(tmp_path) == [{"step": 1, "split": "train", "loss": 2.5}, {"step": 2, "split": "val"}]
    (tmp_path / LOG_NAME).write_text('{"step": 1}\n[1, 2]\n')
    with pytest.raises(UserError, match=rf"{LOG_NAME}:2: is not a JSON object$"):
        read_log(tmp_path)
    (tmp_path / LOG_NAME).write_text('{"step": 1\n{"step": 2}\n')  # a broken line before the last
    with pytest.raises(UserError, match=rf"{LOG_NAME}:1: is not JSON \("):
        read_log(tmp_path)
    (tmp_path / LOG_NAME).write_text('{"step": 1}\n{"step": 2, "spl\n')  # the last line torn: left out, said
    with pytest.warns(UserWarning, match=rf"{LOG_NAME}:2: an unfinished last line"):
        assert read_log(tmp_path) == [{"step": 1}]


def test_set_aside_runs_are_ordered_by_seed_and_copy_and_unreadable_folders_name_no_seed(tmp_path):
    import dataclasses
    import os

    from hypseg.io.checkpoint import set_aside_runs, set_aside_seeds

    config = RunConfig()
    names = ["collapsed-seed10000", "collapsed-seed2000", "collapsed-seed2000-2", "collapsed-seed1000"]
    for name in names:  # one mtime for all: only the names can order them
        seed = int(name.removeprefix("collapsed-seed").split("-")[0])
        save_run_config(tmp_path / name, dataclasses.replace(config, train=dataclasses.replace(config.train, seed=seed)))
        os.utime(tmp_path / name, (1e9, 1e9))
    (tmp_path / "collapsed-seed5").mkdir()  # made by hand, no config
    (tmp_path / "collapsed-seed7").write_text("a file")  # not a folder
    (tmp_path / "collapsed-seedx").mkdir()  # not a seed
    assert [p.name for p in set_aside_runs(tmp_path)] == [
        "collapsed-seed5", "collapsed-seed1000", "collapsed-seed2000", "collapsed-seed2000-2", "collapsed-seed10000"]
    assert set_aside_seeds(tmp_path) == (1000, 2000, 2000, 10000)
