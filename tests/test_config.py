"""Config dataclasses: dict and TOML round trips, key and type checking."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from hypseg.config import (
    Config,
    DataConfig,
    dumps_toml,
    from_dict,
    load_toml,
    save_toml,
    to_dict,
)
from hypseg.data.synthetic_config import SyntheticConfig


@dataclasses.dataclass(frozen=True)
class _Inner(Config):
    width: int = 3
    name: str = "a\"b\\c\n"


@dataclasses.dataclass(frozen=True)
class _Outer(Config):
    rate: float = 0.5
    sizes: tuple[int, ...] = (1, 2)
    inner: _Inner = dataclasses.field(default_factory=_Inner)
    maybe: int | None = None
    flag: bool = False


@pytest.mark.parametrize(
    "cfg",
    [
        DataConfig(),
        DataConfig(patch_distribution="log-uniform", patch_min=4.0, patch_max=40.0, clip=True),
        SyntheticConfig(),
        SyntheticConfig(vesicles=(2, 2), texture_sigma=(1.0, 1.5)),
        _Outer(rate=1e-7, sizes=(4, 5, 6), inner=_Inner(width=9), maybe=7, flag=True),
        _Outer(),
    ],
)
def test_dict_and_toml_round_trip(cfg, tmp_path):
    assert from_dict(type(cfg), to_dict(cfg)) == cfg
    path = tmp_path / "cfg.toml"
    save_toml(cfg, path)
    assert load_toml(type(cfg), path) == cfg
    # the text we write is what tomllib reads
    assert tomllib.loads(path.read_text()) == {k: v for k, v in to_dict(cfg).items() if v is not None}
    # the methods delegate to the functions
    cfg.save_toml(tmp_path / "m.toml")
    assert type(cfg).load_toml(tmp_path / "m.toml") == cfg
    assert type(cfg).from_dict(cfg.to_dict()) == cfg


def test_nested_dataclass_becomes_a_table():
    text = dumps_toml(to_dict(_Outer()))
    assert "[inner]" in text
    assert tomllib.loads(text)["inner"] == {"width": 3, "name": "a\"b\\c\n"}


def test_unknown_key_is_named():
    with pytest.raises(ValueError, match=r"^DataConfig: unknown key 'patch_sise'$"):
        from_dict(DataConfig, {"patch_sise": 3})
    with pytest.raises(ValueError, match=r"^_Inner: unknown key 'inner.depth'$"):
        from_dict(_Outer, {"inner": {"depth": 1}})


def test_unknown_key_in_file_names_file_and_key(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("patch_min = 5.0\nbogus = 1\n")
    with pytest.raises(ValueError, match=r"c\.toml: DataConfig: unknown key 'bogus'$"):
        load_toml(DataConfig, path)


@pytest.mark.parametrize(
    "data, key",
    [
        ({"patch_resize": 2.5}, "patch_resize"),
        ({"patch_resize": True}, "patch_resize"),
        ({"clip": 1}, "clip"),
        ({"patch_distribution": 3}, "patch_distribution"),
    ],
)
def test_wrong_type_is_named(data, key):
    with pytest.raises(ValueError, match=rf"DataConfig: key '{key}' must be"):
        from_dict(DataConfig, data)


def test_int_accepted_for_float_and_list_for_tuple():
    cfg = from_dict(DataConfig, {"patch_min": 6, "patch_max": 30})
    assert isinstance(cfg.patch_min, float) and cfg.patch_min == 6.0
    syn = from_dict(SyntheticConfig, {"vesicles": [2, 4]})
    assert syn.vesicles == (2, 4)
    with pytest.raises(ValueError, match="key 'vesicles' must be"):
        from_dict(SyntheticConfig, {"vesicles": [2, 4, 5]})


def test_missing_keys_take_defaults():
    assert from_dict(DataConfig, {}) == DataConfig()


def test_missing_keys_take_those_of_the_given_defaults_nested_tables_too():
    base = _Outer(rate=0.1, sizes=(7,), inner=_Inner(width=9, name="z"))
    assert from_dict(_Outer, {}, defaults=base) == base
    assert from_dict(_Outer, {"inner": {"width": 5}, "flag": True}, defaults=base) == dataclasses.replace(
        base, inner=_Inner(width=5, name="z"), flag=True)
    assert from_dict(_Outer, to_dict(_Outer()), defaults=base) == _Outer()  # a whole dict is itself
    with pytest.raises(ValueError, match=r"^_Inner: unknown key 'inner.depth'$"):
        from_dict(_Outer, {"inner": {"depth": 1}}, defaults=base)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"patch_distribution": "normal"}, "patch_distribution must be one of"),
        ({"normalisation": "minmax"}, "normalisation must be one of"),
        ({"patch_min": 3.0}, "a parent must hold a child"),
        ({"patch_min": 10.0, "patch_max": 9.0}, "a parent must hold a child"),
        ({"percentile_low": 50.0, "percentile_high": 40.0}, "percentile_low < percentile_high"),
        ({"patch_resize": 1}, "patch_resize must be >= 2"),
    ],
)
def test_invalid_values_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataConfig(**kwargs)


def test_missing_and_corrupt_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such config file"):
        load_toml(DataConfig, tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("patch_min = = 3\n")
    with pytest.raises(ValueError, match=r"bad\.toml: not valid TOML"):
        load_toml(DataConfig, bad)


def test_save_is_atomic_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("old")
    save_toml(DataConfig(), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]
    assert load_toml(DataConfig, path) == DataConfig()


def test_special_floats_and_keys_round_trip():
    text = dumps_toml({"a b": float("inf"), "n": -float("inf"), "x": 1e-300})
    back = tomllib.loads(text)
    assert back == {"a b": float("inf"), "n": -float("inf"), "x": 1e-300}
