"""Fixtures of the napari plugin's tests: Qt without a screen, a tiny model and segmentation folders.

This folder is ``tests/napari_plugin`` rather than ``tests/napari``: with ``tests`` on ``sys.path``
(pyproject's ``pythonpath``), a folder called ``napari`` would answer ``import napari`` where napari
is not installed, and hide the skip below.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before any QApplication exists

import numpy as np  # noqa: E402
import pytest  # noqa: E402

for _module in ("napari", "npe2", "magicgui", "pytestqt"):
    pytest.importorskip(_module, reason="the napari extra is not installed: pip install -e '.[napari]'")

from hypseg.data import SyntheticConfig, generate_volume  # noqa: E402


@pytest.fixture(scope="session")
def synthetic_image() -> np.ndarray:
    """A 32^3 synthetic hierarchical volume (float32)."""
    return generate_volume(np.random.default_rng(0), config=SyntheticConfig.scaled(32)).image.astype(np.float32)


@pytest.fixture(scope="session")
def small_image(synthetic_image) -> np.ndarray:
    """The middle 16^3 of :func:`synthetic_image`: enough to segment, fast to cluster voxel by voxel."""
    return np.ascontiguousarray(synthetic_image[8:24, 8:24, 8:24])


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """The run folder of a model of m = 10 trained 2 steps (the presets' patch sides 5 and 10 fit it)."""
    from helpers import train_tiny_model

    volume = np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32)
    return train_tiny_model(tmp_path_factory.mktemp("run"), volume)


@pytest.fixture(scope="session", autouse=True)
def napari_plugins():
    """npe2's plugin registry with the installed plugins (hypseg among them), as napari's app builds it."""
    import npe2

    manager = npe2.PluginManager.instance()
    manager.discover(include_npe1=False)
    return manager


@pytest.fixture
def one_torch_thread():
    """torch at one thread while the test runs (a segmentation in a process of its own takes this process's count).

    At two threads, a segmentation's embeddings may differ between two processes by float rounding (about 1e-5, seen
    from time to time, cause not found: ``benchmarks/results/repeatability.md``), enough to move a few hundred voxels of
    a two-step model between clusters; at one thread that was not seen, and the tests still allow rounding's share."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
