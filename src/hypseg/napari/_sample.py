"""napari's sample data ``File > Open Sample > hypseg``: a synthetic hierarchical volume and its truth.

The volume is the first of ``hypseg synth``'s regular set (:func:`hypseg.data.generate_volume`,
seed 0, 50^3 voxels of side 1): a cell with vesicles and mitochondria, which hold smaller objects
in turn. Its truth is one labels layer per level, coloured like hypseg's label maps; level 1 has the
classes background and cell, level 2 adds vesicle and mitochondrion, level 3 the objects inside them
(:data:`hypseg.data.CLASSES`). Train and segment it with the widget to compare the levels found with
the truth.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hypseg.napari._layers import labels_colormap

#: the seed of the sample volume
SAMPLE_SEED = 0


def synthetic_sample(seed: int = SAMPLE_SEED, size: int = 50) -> list[tuple[Any, dict[str, Any], str]]:
    """The image layer ``synthetic`` and labels layers ``truth level 1..3`` of a synthetic volume.

    Parameters
    ----------
    seed : int
        Seed of the volume.
    size : int
        Side of the cube in voxels (50 is the synthetic sets' side; smaller cubes scale every object).

    Examples
    --------
    >>> layers = synthetic_sample(size=32)
    >>> [(kwargs["name"], kind, data.shape) for data, kwargs, kind in layers][:2]
    [('synthetic', 'image', (32, 32, 32)), ('truth level 1', 'labels', (32, 32, 32))]
    """
    from hypseg.data import SyntheticConfig, generate_volume

    volume = generate_volume(np.random.default_rng(seed), config=SyntheticConfig.scaled(size))
    layers: list[tuple[Any, dict[str, Any], str]] = [(volume.image.astype(np.float32), {"name": "synthetic"}, "image")]
    for level, truth in sorted(volume.labels.items()):
        classes = int(truth.max()) + 1
        layers.append((truth, {"name": f"truth level {level}", "colormap": labels_colormap(classes, outside=True),
                               "visible": level == max(volume.labels)}, "labels"))
    return layers
