"""The released experiment's sampler: its size distributions, concentric positives, separated negatives."""

from __future__ import annotations

import numpy as np
import pytest

from hypseg.config import paper_recipe
from hypseg.data import PaperTripletSampler
from hypseg.data.paper_sampling import draw_anchor_table, draw_negative_centres


def _volume(seed: int, side: int = 50) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(side,) * 3).astype(np.float32)


def test_anchor_table_matches_the_stated_distributions():
    config = paper_recipe().data
    table = draw_anchor_table(np.array([[50, 50, 50]]), np.random.default_rng(0), config=config)
    assert table.volume.size == 46**3  # every centre in [2, 48)^3
    assert table.centre.min() == 2 and table.centre.max() == 47
    parent, child = 2 * table.half + 1, 2 * table.child_half + 1
    assert np.median(parent) == 11  # about 11, close to the 5^3 inference patch
    assert 5.5 < child.mean() < 6.5  # about 6
    assert parent.min() == 5 and parent.max() == 35  # 2 (r // 2) + 1 for r in 5..34
    assert child.min() == 3 and child.max() <= 15
    # the parent never crosses a face: r was shrunk to twice the distance to it
    assert np.all(table.centre - table.half[:, None] >= 0) and np.all(table.centre + table.half[:, None] <= 49)
    # rc ~ randint(3, min(15, r - 1)): the child is strictly smaller than its parent
    assert np.all(child < parent)


def test_sizes_are_fixed_per_anchor_and_the_positive_is_concentric():
    config = paper_recipe().data
    sampler = PaperTripletSampler([_volume(0, 30)], config=config, seed=3)
    first = sampler.sample_shard(np.random.default_rng(0), 16, step=1, shard=0)
    again = sampler.sample_shard(np.random.default_rng(1), 16, step=1, shard=0)
    np.testing.assert_array_equal(first.anchor_corner.numpy(), again.anchor_corner.numpy())
    np.testing.assert_array_equal(first.child_side.numpy(), again.child_side.numpy())
    centre_a = first.anchor_corner.numpy() + (first.anchor_side.numpy()[:, None] - 1) / 2
    centre_p = first.positive_corner.numpy() + (first.child_side.numpy()[:, None] - 1) / 2
    np.testing.assert_array_equal(centre_a, centre_p)  # concentric: offset 0
    # the same anchor in a later epoch keeps its sizes
    idx = sampler.anchors_of(1, 0, 16)
    later = sampler.steps_per_epoch + 1
    for step in range(later, later + sampler.steps_per_epoch):
        where = np.flatnonzero(np.isin(sampler.anchors_of(step, 0, config.triplets_per_batch), idx[:1]))
        if where.size:
            break
    assert sampler.table.half[idx[0]] == sampler.table.half[sampler.anchors_of(step, 0, config.triplets_per_batch)[where[0]]]


def test_negatives_are_outside_the_parent_on_all_three_axes():
    config = paper_recipe().data
    sampler = PaperTripletSampler([_volume(1)], config=config, seed=0)
    batch = sampler.sample_shard(np.random.default_rng(5), 512, step=7, shard=0)
    a0 = batch.anchor_corner.numpy()
    a1 = a0 + batch.anchor_side.numpy()[:, None] - 1  # last voxel of the parent
    centre_n = batch.negative_corner.numpy() + (batch.child_side.numpy()[:, None] - 1) / 2
    assert np.all((centre_n < a0) | (centre_n > a1))  # every axis, every triplet
    lo = batch.negative_corner.numpy()
    hi = lo + batch.child_side.numpy()[:, None] - 1
    assert lo.min() >= 0 and hi.max() <= 49  # inside the volume


def test_negative_centres_fall_back_to_the_whole_axis_when_the_parent_spans_it():
    rng = np.random.default_rng(0)
    shape = np.array([[12, 40, 40]] * 200)
    centre = np.array([[6, 10, 30]] * 200)
    got = draw_negative_centres(rng, shape=shape, centre=centre, half=np.full(200, 5), child_half=np.full(200, 1))
    assert set(np.unique(got[:, 0])) <= set(range(1, 11))  # no free position on z: {mc..S-1-mc}
    assert np.all((got[:, 1] < 5) | (got[:, 1] > 15)) and np.all((got[:, 2] < 25) | (got[:, 2] > 35))


def test_epochs_visit_every_anchor_once():
    config = paper_recipe().data
    sampler = PaperTripletSampler([_volume(2, 14)], config=config, seed=0)
    n = sampler.table.volume.size
    seen = np.concatenate([sampler.anchors_of(s, 0, config.triplets_per_batch) for s in range(1, sampler.steps_per_epoch + 1)])
    assert np.array_equal(np.sort(seen[:n]), np.arange(n))


def test_constant_parents_are_dropped():
    volume = np.zeros((30, 30, 30), np.float32)
    volume[:, :, 20:] = 1.0  # parents reaching x >= 20 hold two values
    sampler = PaperTripletSampler([volume], config=paper_recipe().data, seed=0)
    t = sampler.table
    assert np.all(t.centre[:, 2] + t.half >= 20)
    with pytest.raises(ValueError, match="the volumes are constant"):
        PaperTripletSampler([np.zeros((20, 20, 20), np.float32)], config=paper_recipe().data)
