"""Run directories: ``config.toml`` (enough to rebuild the model), a tensors-only ``model.pt``, the
training log ``log.jsonl`` (one JSON object per line) and ``data.json``, a fingerprint of the volumes the
run trains on, so that a resumed run goes on with the same data.

``model.pt`` holds a dict of tensors and plain values (``model``, ``optimiser``, ``step``,
``rng_torch``, ``format_version``) and is read with ``torch.load(weights_only=True)``: nothing in a
checkpoint is unpickled as an arbitrary object. Both files are written under a temporary name and
renamed, so an interrupted write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from hypseg.config import RunConfig, dumps_toml, from_dict, to_dict
from hypseg._words import count
from hypseg.errors import UserError
from hypseg.io._atomic import atomic_path

#: Bumped whenever the layout of a run directory or the meaning of a saved tensor changes.
FORMAT_VERSION = 1
CONFIG_NAME = "config.toml"
WEIGHTS_NAME = "model.pt"
LOG_NAME = "log.jsonl"
DATA_NAME = "data.json"
#: Where training moves a collapsed run's files in its run directory before it trains again.
COLLAPSED_FOLDER = "collapsed-seed{seed}"


def set_aside_runs(run_dir: str | Path) -> list[Path]:
    """The collapsed runs that training set aside in ``run_dir`` (:meth:`hypseg.training.Trainer.fit`), oldest
    first: by seed (each retry's is 1000 above the last), then the ``-2``, ``-3`` ... that keeps an earlier
    folder of the same seed."""
    found = []
    for path in Path(run_dir).glob(COLLAPSED_FOLDER.format(seed="*")):
        named = re.fullmatch(COLLAPSED_FOLDER.format(seed=r"(\d+)") + r"(?:-(\d+))?", path.name)
        if named and path.is_dir():
            found.append(((int(named[1]), int(named[2] or 1)), path))
    return [path for _, path in sorted(found)]


def set_aside_seeds(run_dir: str | Path) -> tuple[int, ...]:
    """The seeds of the runs set aside in ``run_dir`` (:func:`set_aside_runs`), in the order they were; a
    folder that holds no readable run config (one the user made or emptied) is not a set-aside run."""
    seeds = []
    for run in set_aside_runs(run_dir):
        try:
            seeds.append(load_run_config(run).train.seed)
        except (FileNotFoundError, UserError):
            continue
    return tuple(seeds)


def data_fingerprint(training: Sequence[np.ndarray], validation: Sequence[np.ndarray] | None = None) -> dict:
    """Each volume's shape and a digest of its voxels (BLAKE2b of its float32 bytes, C order), in order:
    what a resumed run must be given again for its batches to be the ones it would have drawn.

    >>> volume = np.zeros((2, 3, 4))
    >>> data_fingerprint([volume])["training"][0]["shape"]
    [2, 3, 4]
    >>> data_fingerprint([volume]) == data_fingerprint([volume.astype(np.float32)])
    True
    """

    def one(volume: np.ndarray) -> dict:
        voxels = np.ascontiguousarray(volume, dtype=np.float32)
        return {"shape": list(voxels.shape), "blake2b": hashlib.blake2b(memoryview(voxels).cast("B"), digest_size=16).hexdigest()}

    # no validation volumes, given as None or as an empty list, mean the same: validate on the training volumes
    return {"training": [one(v) for v in training], "validation": [one(v) for v in validation] if validation else None}


def save_data_fingerprint(run_dir: str | Path, fingerprint: dict) -> Path:
    """Write ``data.json`` (:func:`data_fingerprint`) into ``run_dir``."""
    path = Path(run_dir) / DATA_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(fingerprint, indent=1), encoding="utf-8")
    return path


def read_data_fingerprint(run_dir: str | Path) -> dict | None:
    """The ``training`` and ``validation`` groups ``data.json`` records (None for a run without it, written before
    hypseg recorded it); a file that is not such a record is a :class:`UserError`."""
    path = Path(run_dir) / DATA_NAME
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        groups = {group: saved[group] for group in ("training", "validation")}
        for group, entries in groups.items():
            if not (entries is None or (isinstance(entries, list) and all(
                    isinstance(e, dict) and isinstance(e.get("shape"), list) and isinstance(e.get("blake2b"), str) for e in entries))):
                raise TypeError(f"{group!r} is not a list of volumes with a shape and a digest")
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as err:
        raise UserError(f"{path}: not a data fingerprint ({err}); remove it to resume without the check") from None
    return groups


def recorded_shapes(run_dir: str | Path) -> list[tuple[int, ...]]:
    """The shapes of the training and validation volumes ``data.json`` records (none for a run without it)."""
    groups = read_data_fingerprint(run_dir) or {}
    return [tuple(int(n) for n in entry["shape"]) for entries in groups.values() for entry in entries or ()]


def check_data_fingerprint(run_dir: str | Path, fingerprint: dict) -> None:
    """Refuse to resume ``run_dir`` on other volumes than its ``data.json`` records, in one line naming the first
    difference. A run without ``data.json`` (written before hypseg recorded it) is not checked."""
    groups = read_data_fingerprint(run_dir)
    if groups is None:
        return
    way_out = "resume it with the volumes it started with, or start a new run in another folder"
    for group, was in groups.items():
        now = fingerprint[group]
        was = was or None  # a file written when an empty list meant no validation volumes
        if was is None or now is None:
            if was is not None:
                raise UserError(f"{run_dir} was validated on {count(len(was), 'separate volume')}; give them "
                                f"again: {way_out}")
            if now is not None:
                raise UserError(f"{run_dir} was validated on its training volumes, not on separate ones; {way_out}")
            continue
        if len(was) != len(now):
            done = "trained on" if group == "training" else "validated on"
            raise UserError(f"{run_dir} was {done} {count(len(was), 'volume')}, not {len(now)}; "
                            f"{way_out}")
        for i, (a, b) in enumerate(zip(was, now)):
            if a.get("shape") != b["shape"]:
                raise UserError(f"{run_dir}: {group} volume {i} has shape {tuple(b['shape'])}, the one it was trained on "
                                f"{tuple(a.get('shape') or ())}; {way_out}")
            if a != b:
                raise UserError(f"{run_dir}: {group} volume {i} is not the one it was trained on (its voxels differ); {way_out}")


def _load_failure(err: Exception) -> str:
    """What went wrong in ``torch.load``, in a few words: for a file its safe loader refused, the refusal itself
    (``Unsupported operand 17``) rather than torch's advice to load it unsafely; for a bare key or number (what the
    legacy reader raises on bytes it cannot parse) that the bytes are not torch.save's; else the error's first line."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "WeightsUnpickler error:" in line:  # the refusal follows, on this line or the next
            said = line.split("WeightsUnpickler error:", 1)[1].strip() or (lines[i + 1] if i + 1 < len(lines) else "")
            return f"refused by the safe loader: {said.split('. Please use')[0]}"[:160]
    if lines and lines[0].startswith("Weights only load failed"):  # the refusal lies among torch's advice
        said = [line for line in lines[1:] if "weights_only" not in line and not line.startswith(("Check the documentation", "("))]
        if said:
            return f"refused by the safe loader: {said[0]}"[:160]
    if not lines or not any(c.isalpha() for c in lines[0]) or isinstance(err, KeyError):  # a bare key or number says nothing
        return "its bytes are not a file torch.save wrote"
    return lines[0][:160]


def save_run_config(run_dir: str | Path, config: RunConfig) -> Path:
    """Write ``config.toml`` (with the format version) into ``run_dir``, creating the folder."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CONFIG_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(dumps_toml({"format_version": FORMAT_VERSION, **to_dict(config)}), encoding="utf-8")
    return path


def load_run_config(run_dir: str | Path) -> RunConfig:
    """Read ``config.toml`` of a run directory, checking its format version."""
    run_dir = Path(run_dir)
    if run_dir.is_file():
        raise NotADirectoryError(f"{run_dir} is a file; a model is the folder hypseg train wrote")
    if not run_dir.is_dir():
        raise FileNotFoundError(f"model directory {run_dir} does not exist")
    path = run_dir / CONFIG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a hypseg run: {CONFIG_NAME} is missing")
    return _read_config(path, run=True)


def load_config_file(path: str | Path, *, defaults: RunConfig | None = None) -> RunConfig:
    """Read a :class:`~hypseg.config.RunConfig` from a TOML file with ``[model]``, ``[data]`` and
    ``[train]`` tables: one written by hand, or a run's own ``config.toml`` copied and edited.

    A ``format_version`` key (a run's ``config.toml`` carries one) must name this hypseg's format;
    a file without it is read as the current format. Missing keys take their values in ``defaults``
    (a recipe), or the dataclasses' defaults without it.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    UserError
        The file is not valid TOML, holds an unknown key or value, or names another format version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    return _read_config(path, run=False, defaults=defaults)


def _read_config(path: Path, *, run: bool, defaults: RunConfig | None = None) -> RunConfig:
    """``path`` as a RunConfig; ``run``: the file must carry this hypseg's ``format_version``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid TOML ({err})") from None
    version = data.pop("format_version", None if run else FORMAT_VERSION)
    if version is None:
        raise UserError(f"{path}: not a run's config (it has no format_version)")
    if version != FORMAT_VERSION:
        raise UserError(f"{path}: written by run format version {version}; this hypseg reads version {FORMAT_VERSION}")
    try:
        return from_dict(RunConfig, data, defaults=defaults)
    except ValueError as err:
        raise UserError(f"{path}: {err}") from None


def save_checkpoint(run_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``model.pt`` atomically. ``state`` must hold only tensors and plain Python values."""
    path = Path(run_dir) / WEIGHTS_NAME
    with atomic_path(path) as tmp:
        torch.save({"format_version": FORMAT_VERSION, **state}, tmp)
    return path


def load_checkpoint(run_dir: str | Path, *, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read ``model.pt`` safely (``weights_only=True``); a clear ``ValueError`` if corrupt or foreign."""
    path = Path(run_dir) / WEIGHTS_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{Path(run_dir)} holds no checkpoint: {WEIGHTS_NAME} is missing")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for truncated, corrupt or unsafe files
        raise UserError(f"{path}: corrupt or unsafe checkpoint ({_load_failure(err)})") from None
    if not isinstance(state, dict) or "model" not in state:
        raise UserError(f"{path}: not a hypseg checkpoint (no model weights inside)")
    if state.get("format_version") != FORMAT_VERSION:
        raise UserError(
            f"{path}: written by checkpoint format version {state.get('format_version')}; this hypseg reads version {FORMAT_VERSION}"
        )
    return state


def read_log(run_dir: str | Path) -> list[dict]:
    """The records of a run's ``log.jsonl``, in file order (training and validation lines).

    Each record is a dict with at least ``step`` and ``split`` (``"train"`` or ``"val"``) and the loss
    terms of that step. Blank lines are skipped.

    Raises
    ------
    FileNotFoundError
        ``run_dir`` has no ``log.jsonl``.
    UserError
        A line is not a JSON object; the message names the file and line number. An unfinished last line
        (:func:`log_lines`) is skipped with a warning instead.
    """
    path = Path(run_dir) / LOG_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} has no {LOG_NAME}")
    entries, torn = log_lines(path)
    if torn is not None:
        warnings.warn(f"{path}:{torn}: an unfinished last line (being written, or cut by a stopped run) is skipped",
                      stacklevel=2)
    records = []
    for number, _, record in entries:
        if not isinstance(record, dict):
            raise UserError(f"{path}:{number}: is not a JSON object")
        records.append(record)
    return records


def log_lines(path: Path) -> tuple[list[tuple[int, str, Any]], int | None]:
    """Each non-blank line of a run's log as (line number, text, its JSON value), and the number of a torn last line
    (None if there is none): the last line, where it does not parse, is one a run was writing when it stopped (or
    is writing now), and is left out; any other line that does not parse is a :class:`UserError` naming it."""
    numbered = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if line.strip()]
    entries = []
    for number, line in numbered:
        try:
            entries.append((number, line, json.loads(line)))
        except json.JSONDecodeError as err:
            if number == numbered[-1][0]:
                return entries, number
            raise UserError(f"{path}:{number}: is not JSON ({err.msg})") from None
    return entries, None
