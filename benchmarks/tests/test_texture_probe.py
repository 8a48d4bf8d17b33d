"""The texture probe's per-supervoxel statistics."""

import numpy as np
from scipy import ndimage

from benchmarks.texture_probe import supervoxel_features


def _slab_pair(edge: float) -> tuple[np.ndarray, np.ndarray]:
    """A 12x12x24 noise image cut into two supervoxels (halves along x); ``edge`` is a step up at x = 10, inside the
    first, whose high-pass response reaches about a quarter of that supervoxel's voxels."""
    image = np.random.default_rng(0).normal(size=(12, 12, 24)).astype(np.float32) * 0.2
    image[:, :, 10:] += edge
    segments = np.zeros(image.shape, np.int64)
    segments[:, :, 12:] = 1
    return image, segments


def test_the_energies_equal_a_per_supervoxel_reference():
    image, segments = _slab_pair(1.0)
    high = image - ndimage.gaussian_filter(image, 1.0)
    for median, reduce in ((False, np.mean), (True, np.median)):
        features, counts = supervoxel_features(image, segments, 1.0, median=median)
        for s in (0, 1):
            assert np.isclose(features[s, 1], np.log(reduce(high[segments == s] ** 2)), rtol=1e-5)
            assert np.isclose(features[s, 0], image[segments == s].mean(), rtol=1e-5)
        assert counts.tolist() == [1728, 1728]


def test_an_edge_inside_a_supervoxel_moves_the_median_energy_less_than_the_mean():
    (flat, segments), (edged, _) = _slab_pair(0.0), _slab_pair(3.0)
    rise = {median: supervoxel_features(edged, segments, 1.0, median=median)[0][0, 1]
            - supervoxel_features(flat, segments, 1.0, median=median)[0][0, 1] for median in (False, True)}
    assert rise[False] > 1.0 and rise[True] < 0.5 * rise[False]
