"""The npe2 manifest: valid, registered by the package's entry point, every command importable."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import hypseg


def test_npe2_validates_the_manifest_and_imports_its_commands():
    npe2 = shutil.which("npe2", path=str(Path(sys.executable).parent))
    if npe2 is None:
        pytest.skip("the npe2 command is not installed beside this Python")
    result = subprocess.run([npe2, "validate", "hypseg", "--imports"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Manifest for 'hypseg' valid!" in result.stdout


def test_the_entry_point_registers_every_contribution(napari_plugins):
    manifest = napari_plugins.get_manifest("hypseg")
    assert Path(manifest.package_metadata.name) == Path("hypseg")
    contributions = manifest.contributions
    assert [r.command for r in contributions.readers] == ["hypseg.get_reader"]
    assert contributions.readers[0].accepts_directories
    assert [w.command for w in contributions.writers] == ["hypseg.write_labels"]
    assert set(contributions.writers[0].filename_extensions) >= {".nii.gz", ".mrc", ".tif", ".npy", ".zarr"}
    assert [(s.key, s.command) for s in contributions.sample_data] == [("synthetic", "hypseg.synthetic_sample")]
    assert [w.command for w in contributions.widgets] == ["hypseg.widget"]


def test_importing_the_plugin_package_loads_neither_napari_nor_torch():
    probe = "import sys, hypseg.napari; print(sorted(m for m in ('napari', 'torch', 'qtpy') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert Path(hypseg.__file__).parent.joinpath("napari", "napari.yaml").is_file()
