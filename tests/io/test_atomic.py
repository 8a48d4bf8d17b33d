"""Writing under a temporary name: the target is whole, old or new, whatever stops the write."""

from __future__ import annotations

import shutil

import pytest

from hypseg.io._atomic import atomic_path


def _folder(path, text):
    path.mkdir()
    (path / "file.txt").write_text(text)


def test_a_folder_replaces_the_old_one_and_an_error_keeps_the_old_one(tmp_path):
    _folder(tmp_path / "out", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "out") as tmp:
            _folder(tmp, "new")
            raise RuntimeError("stopped")
    assert (tmp_path / "out" / "file.txt").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out"]
    with atomic_path(tmp_path / "out") as tmp:
        _folder(tmp, "new")
    assert (tmp_path / "out" / "file.txt").read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_interrupt_while_the_old_folder_is_removed_keeps_the_new_one(tmp_path, monkeypatch):
    _folder(tmp_path / "out", "old")
    removed = shutil.rmtree

    def interrupted(path, *args, **kwargs):
        if ".old-" in str(path):
            raise KeyboardInterrupt
        return removed(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "out") as tmp:
            _folder(tmp, "new")
    assert (tmp_path / "out" / "file.txt").read_text() == "new"
    assert sorted(p.name.split("-")[0] for p in tmp_path.iterdir()) == [".out.old", "out"]  # the old one, aside


def test_an_interrupt_while_the_new_folder_is_moved_in_puts_the_old_one_back(tmp_path, monkeypatch):
    import os

    _folder(tmp_path / "out", "old")
    moved = os.replace

    def interrupted(source, target):
        if ".tmp-" in str(source):
            raise KeyboardInterrupt
        return moved(source, target)

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "out") as tmp:
            _folder(tmp, "new")
    assert (tmp_path / "out" / "file.txt").read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_link_to_a_folder_is_replaced_and_its_target_kept(tmp_path):
    _folder(tmp_path / "real", "mine")
    (tmp_path / "out").symlink_to(tmp_path / "real")
    with atomic_path(tmp_path / "out") as tmp:
        _folder(tmp, "new")
    assert not (tmp_path / "out").is_symlink() and (tmp_path / "out" / "file.txt").read_text() == "new"
    assert (tmp_path / "real" / "file.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "real"]


def test_an_os_error_about_the_temporary_name_names_the_path_asked_for(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(FileNotFoundError) as caught:
        with atomic_path(target) as tmp:
            (tmp / "inside").mkdir()  # its parent, the temporary folder, was never made
    assert caught.value.filename == str(tmp / "inside")  # about another path: unchanged
    with pytest.raises(PermissionError) as caught:
        with atomic_path(target) as tmp:
            raise PermissionError(13, "Permission denied", str(tmp))
    assert caught.value.filename == str(target) and caught.value.errno == 13
    assert str(caught.value) == f"[Errno 13] Permission denied: '{target}'"
    assert list(tmp_path.iterdir()) == []
