"""Resumable benchmark runs: finished parts saved beside the output, read back by a rerun of the same run.

A long benchmark (the quality run takes over half an hour) writes each finished part, e.g. one test set's
scores, to ``<out>.partial.json`` as soon as it is done. The file holds a fingerprint of the run's
settings and of the code (:func:`code_digest` of the installed package); a rerun with the same settings,
code and output skips the parts already there, and one with other settings or an edited package starts
anew, so that one table never mixes parts scored by different code. The run deletes the file once it
has written its output. Writes are atomic (a temporary file renamed over the old one), so an
interrupted write leaves the previous parts intact.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

import hypseg

__all__ = ["code_digest", "fingerprint", "partial_path", "read_parts", "write_parts"]

_PACKAGE = Path(hypseg.__file__).resolve().parent  # the product package, src/hypseg


def partial_path(out: str | os.PathLike) -> Path:
    """Where the finished parts of a run writing ``out`` are kept: ``<out>.partial.json``."""
    out = Path(out)
    return out.with_name(out.name + ".partial.json")


def fingerprint(settings: Mapping[str, Any]) -> str:
    """A canonical string of a run's settings (JSON, sorted keys; what JSON cannot hold is written by ``repr``)."""
    return json.dumps(settings, sort_keys=True, default=repr)


def code_digest(package: str | os.PathLike = _PACKAGE) -> str:
    """SHA-256 of every Python source file under ``package`` (default: the installed hypseg), by its
    path relative to ``package`` and its bytes; any edit, addition or removal of a ``.py`` file changes it."""
    package = Path(package)
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def read_parts(path: Path, key: str) -> tuple[dict[str, Any], str | None]:
    """The parts saved at ``path`` by a run of fingerprint ``key``, and a one-line note when the file is
    there but cannot be used (other settings or code, or unreadable): the run then starts anew."""
    if not path.exists():
        return {}, None
    try:
        saved = json.loads(path.read_text())
        parts, saved_key = dict(saved["parts"]), saved["fingerprint"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return {}, f"ignoring {path}: it cannot be read ({type(error).__name__}: {error})"
    if saved_key != key:
        return {}, f"ignoring {path}: it was written by a run with other settings or other code"
    return parts, None


def write_parts(path: Path, key: str, parts: Mapping[str, Any]) -> None:
    """Save ``parts`` (JSON-serialisable) with the run's fingerprint, atomically."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"fingerprint": key, "parts": parts}))
    os.replace(temporary, path)
