"""A user error is one line and exit status 2; any other exception is a bug and keeps its traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import hypseg.data.synthetic_dataset as synthetic_dataset
from hypseg.cli._errors import USER_ERRORS
from hypseg.cli.app import app
from hypseg.errors import UserError

runner = CliRunner()


def _synth_raising(monkeypatch, tmp_path, error):
    def write_synthetic_dataset(*args, **kwargs):
        raise error

    monkeypatch.setattr(synthetic_dataset, "write_synthetic_dataset", write_synthetic_dataset)
    return runner.invoke(app, ["synth", str(tmp_path / "out"), "--n", "1"])


def test_a_user_error_is_one_line_and_exit_2(monkeypatch, tmp_path):
    result = _synth_raising(monkeypatch, tmp_path, UserError("data/x.mrc: is a 2-D image\nsecond line"))
    assert result.exit_code == 2
    assert "hypseg: error: data/x.mrc: is a 2-D image\n" in result.output
    assert "second line" not in result.output and "Traceback" not in result.output


def test_a_plain_value_error_is_a_bug_that_keeps_its_traceback(monkeypatch, tmp_path):
    bug = ValueError("operands could not be broadcast together with shapes (3,) (4,)")
    result = _synth_raising(monkeypatch, tmp_path, bug)
    assert result.exit_code not in (0, 2)
    assert result.exception is bug
    assert "hypseg: error" not in result.output


@pytest.mark.parametrize("error", [FileNotFoundError("no such file: a.nii"), PermissionError("read-only: out/")])
def test_user_facing_os_errors_exit_2(monkeypatch, tmp_path, error):
    result = _synth_raising(monkeypatch, tmp_path, error)
    assert result.exit_code == 2
    assert f"hypseg: error: {error}" in result.output


def test_the_user_errors_are_exactly_these():
    assert USER_ERRORS == (UserError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError, PermissionError)
    assert not issubclass(ValueError, USER_ERRORS)


def test_a_bad_input_file_raises_a_user_error(tmp_path):
    from hypseg.io import load_volume

    path = tmp_path / "v.xyz"
    path.write_bytes(b"")
    with pytest.raises(UserError, match=r"v\.xyz: unknown volume format '\.xyz'"):
        load_volume(path)
