"""The :class:`Config` mixin and the dict / TOML round trips that every config dataclass shares.

The helpers work for *any* frozen dataclass, including ones nested inside another (they become TOML
tables): :func:`to_dict` / :func:`from_dict` convert to a plain ``dict`` of TOML-compatible values and
back, checking keys and value types; :func:`save_toml` / :func:`load_toml` round-trip a file (reading
with :mod:`tomllib`, writing with ``tomli_w``, replacing the target atomically).

``None`` has no TOML spelling: a field whose value is ``None`` is left out of the file and comes back as
its default, so only fields whose default is ``None`` may hold ``None`` when saved.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from hypseg.errors import UserError

C = TypeVar("C", bound="Config")

class Config:
    """Mixin giving a config dataclass ``to_dict``, ``from_dict``, ``save_toml`` and ``load_toml``."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of this config (see :func:`to_dict`)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls: type[C], data: typing.Mapping[str, Any], *, defaults: C | None = None) -> C:
        """Build from a plain dict (see :func:`from_dict`)."""
        return from_dict(cls, data, defaults=defaults)

    def save_toml(self, path: str | os.PathLike) -> None:
        """Write this config to a TOML file atomically (see :func:`save_toml`)."""
        save_toml(self, path)

    @classmethod
    def load_toml(cls: type[C], path: str | os.PathLike) -> C:
        """Read a config from a TOML file (see :func:`load_toml`)."""
        return load_toml(cls, path)



# ----------------------------------------------------------------------------------------- dict helpers
def to_dict(config: Any) -> dict[str, Any]:
    """Plain dict of a config dataclass: nested dataclasses become dicts, tuples become lists.

    Parameters
    ----------
    config : dataclass instance

    Returns
    -------
    dict
        Field name -> value, in field order.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"to_dict expects a dataclass instance, got {type(config).__name__}")
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def from_dict(cls: type[C], data: typing.Mapping[str, Any], *, defaults: C | None = None) -> C:
    """Build the config dataclass ``cls`` from a plain dict, checking keys and value types.

    Parameters
    ----------
    cls : dataclass type
    data : mapping
        Field name -> value; missing fields take their default.
    defaults : cls instance, optional
        Where missing fields take their values instead of the dataclass defaults (a named recipe); a
        nested table's missing keys take those of the matching nested config.

    Returns
    -------
    cls instance

    Raises
    ------
    UserError
        On an unknown key or a missing required one (the message names it and ``cls``), a value of the
        wrong type, or a value rejected by the class's own checks.
    """
    return _from_dict(cls, data, prefix="", defaults=defaults)


def _from_dict(cls: type, data: typing.Mapping[str, Any], *, prefix: str, defaults: Any = None) -> Any:
    if not isinstance(data, typing.Mapping):
        raise UserError(f"{cls.__name__}: {prefix.rstrip('.') or 'value'} must be a table, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise UserError(f"{cls.__name__}: unknown key '{prefix}{key}'")
        if defaults is not None and dataclasses.is_dataclass(hints[key]):
            kwargs[key] = _from_dict(hints[key], value, prefix=f"{prefix}{key}.", defaults=getattr(defaults, key))
        else:
            kwargs[key] = _coerce(value, hints[key], name=f"{prefix}{key}", owner=cls.__name__)
    for name, field in fields.items():
        if not field.init or name in kwargs:
            continue
        if defaults is not None:
            kwargs[name] = getattr(defaults, name)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise UserError(f"{cls.__name__}: missing key '{prefix}{name}'")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, *, name: str, owner: str) -> Any:
    """Check ``value`` against the type hint ``hint``, converting lists to tuples and ints to floats."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    bad = ValueError(f"{owner}: key '{name}' must be {_hint_name(hint)}, got {value!r}")
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, name=name, owner=owner)
            except ValueError:
                pass
        raise bad
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, prefix=f"{name}.")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], name=name, owner=owner) for v in value)
        if len(value) != len(args):
            raise bad
        return tuple(_coerce(v, a, name=name, owner=owner) for v, a in zip(value, args))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad
        return [_coerce(v, args[0], name=name, owner=owner) for v in value] if args else list(value)
    if origin is dict:
        if not isinstance(value, typing.Mapping):
            raise bad
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(hint, type) and not isinstance(value, hint):
        raise bad
    return value


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


# ----------------------------------------------------------------------------------------- TOML
def save_toml(config: Any, path: str | os.PathLike) -> None:
    """Write a config dataclass to ``path`` as TOML, atomically (temporary file, then rename).

    Parameters
    ----------
    config : dataclass instance
    path : path-like
    """
    text = dumps_toml(to_dict(config))
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_toml(cls: type[C], path: str | os.PathLike) -> C:
    """Read a config dataclass of type ``cls`` from a TOML file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UserError
        If the file is not valid TOML, holds unknown keys or lacks a required one (the message names the file).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: not valid TOML: {err}") from None
    try:
        return from_dict(cls, data)
    except ValueError as err:
        raise UserError(f"{path}: {err}") from None



def dumps_toml(data: typing.Mapping[str, Any]) -> str:
    """Serialise a dict of scalars, lists of scalars and nested dicts as TOML text (``None`` left out).

    >>> print(dumps_toml({"a": 1, "b": "x", "n": None, "t": {"c": True}}), end="")
    a = 1
    b = "x"
    <BLANKLINE>
    [t]
    c = true
    """
    return tomli_w.dumps(_without_none(data))


def _without_none(value: Any) -> Any:
    if isinstance(value, typing.Mapping):
        return {str(k): _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_without_none(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value
