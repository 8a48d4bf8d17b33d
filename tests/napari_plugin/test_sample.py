"""The sample data: a synthetic hierarchical volume with its three levels of truth."""

from __future__ import annotations

import numpy as np

from hypseg.data import SyntheticConfig, generate_volume
from hypseg.napari._sample import SAMPLE_SEED, synthetic_sample


def test_the_sample_is_the_synthetic_volume_and_its_truth_per_level():
    layers = synthetic_sample()
    assert [(kwargs["name"], kind) for _, kwargs, kind in layers] == [
        ("synthetic", "image"), ("truth level 1", "labels"), ("truth level 2", "labels"), ("truth level 3", "labels")]
    expected = generate_volume(np.random.default_rng(SAMPLE_SEED), config=SyntheticConfig())
    np.testing.assert_array_equal(layers[0][0], expected.image)
    for level in (1, 2, 3):
        np.testing.assert_array_equal(layers[level][0], expected.labels[level])
    assert [len(np.unique(data)) for data, _, _ in layers[1:]] == [2, 4, 6]
    # the hierarchy: every class of a level lies inside one class of the level above
    for fine, coarse in ((layers[3][0], layers[2][0]), (layers[2][0], layers[1][0])):
        for c in np.unique(fine):
            assert len(np.unique(coarse[fine == c])) == 1


def test_napari_lists_and_opens_the_sample(napari_plugins):
    from napari.components import ViewerModel

    viewer = ViewerModel()
    viewer.open_sample("hypseg", "synthetic")
    assert [layer.name for layer in viewer.layers] == ["synthetic", "truth level 1", "truth level 2", "truth level 3"]
    assert viewer.layers["truth level 3"].data.shape == (50, 50, 50)
