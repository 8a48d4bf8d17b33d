"""The level-1 object and the levels inside it: which cluster is outside, filled holes, the labels' layout."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from hypseg.inference import segment_volumes
from hypseg.inference.hierarchy import (FIELD_RATIO, NoFieldWarning, face_counts, field_ratio, level1_object,
                                       restrict_supervoxels, segment_inside, warn_if_no_field)


def _ball(shape, centre, radius):
    z, y, x = np.indices(shape)
    return (z - centre[0]) ** 2 + (y - centre[1]) ** 2 + (x - centre[2]) ** 2 <= radius ** 2


@pytest.mark.parametrize("ids", [(0, 1), (1, 0), (7, -3)])
def test_the_outside_is_the_cluster_on_the_faces_whatever_its_id(ids):
    cell = _ball((20, 20, 20), (10, 10, 10), 7)
    labels = np.where(cell, ids[1], ids[0])
    np.testing.assert_array_equal(level1_object(labels), cell)


def test_whatever_the_object_encloses_is_filled_and_what_touches_the_outside_is_not():
    cell = _ball((24, 24, 24), (12, 12, 12), 9)
    organelle = _ball((24, 24, 24), (12, 12, 10), 3)  # enclosed: a hole, like a dark vesicle
    notch = np.zeros_like(cell)
    notch[10:14, 10:14, 18:] = True  # a tunnel from the outside into the cell: not a hole
    labels = (cell & ~organelle & ~notch).astype(int)
    obj = level1_object(labels)
    assert obj[organelle].all()
    np.testing.assert_array_equal(obj, cell & ~notch)


def test_a_field_that_fills_the_faces_makes_the_other_cluster_the_object_even_when_larger():
    """The object may be most of the volume (a cell clipped by the box): the faces decide, not the size."""
    labels = np.ones((16, 16, 16), dtype=int)
    labels[0] = labels[-1] = 0
    labels[:, 0] = labels[:, -1] = 0
    labels[:, :, 0] = labels[:, :, -1] = 0
    obj = level1_object(labels)
    assert obj.sum() == 14 ** 3 and not obj[0].any()


@pytest.mark.parametrize("labels, message", [
    (np.zeros((4, 4)), "a level-1 map must be (Z, Y, X), got shape (4, 4)"),
    (np.arange(27).reshape(3, 3, 3) % 3, "a level-1 map must hold exactly two clusters, got 3"),
])
def test_bad_level1_maps_are_refused(labels, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        level1_object(labels)


def test_restricted_supervoxels_keep_the_pieces_inside_renumbered():
    segments = np.array([[[0, 0, 1, 1, 2, 2, 3, 3]]])
    mask = np.array([[[False, False, True, False, True, True, False, False]]])
    np.testing.assert_array_equal(restrict_supervoxels(segments, mask), [[[-1, -1, 0, -1, 1, 1, -1, -1]]])


def test_levels_inside_keep_the_outside_at_zero_and_equal_clustering_the_object_alone():
    rng = np.random.default_rng(0)
    shape = (16, 16, 16)
    cell = _ball(shape, (8, 8, 8), 6)
    parts = cell & (np.indices(shape)[2] >= 8)  # two halves of the cell, told apart by the embedding
    embeddings = []
    for _ in range(2):
        e = np.where(cell[..., None], np.where(parts[..., None], [0.3, 0.0], [-0.3, 0.0]), [0.0, 0.5])
        embeddings.append((e + rng.normal(0, 0.02, shape + (2,))).astype(np.float32))
    objects = [cell, cell]
    z, y, x = np.indices(shape) // 2
    segments = [z * 64 + y * 8 + x] * 2
    for segs in (None, segments):
        inside = segment_inside(embeddings, objects, clusters=(3,), segments=segs, pooled=True)
        alone = segment_volumes(embeddings, clusters=(2,), masks=objects, pooled=True,
                                segments=None if segs is None else [restrict_supervoxels(s, cell) for s in segs])
        for got, want in zip(inside, alone):
            assert set(got.labels) == {3}
            np.testing.assert_array_equal(got.labels[3], want.labels[2])  # 0 outside, 1..2 inside
            assert (got.labels[3][~cell] == 0).all() and set(np.unique(got.labels[3][cell])) == {1, 2}


@pytest.mark.parametrize("objects, clusters, message", [
    ([np.ones((4, 4, 4), bool)], (2,), "levels inside the level-1 object need at least 3 clusters (2 inside, the outside), got [2]"),
    ([np.zeros((4, 4, 4), bool)], (4,), "volume 0: the level-1 object is empty, so nothing lies inside it to segment"),
    ([np.ones((4, 4, 4), bool)] * 2, (4,), "got 2 objects for 1 volumes"),
])
def test_bad_levels_inside_are_refused(objects, clusters, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        segment_inside([np.zeros((4, 4, 4, 2), np.float32)], objects, clusters=clusters)


def test_the_field_ratio_is_zero_for_an_object_in_a_field_and_one_for_halves():
    cube = np.zeros((8, 8, 8), dtype=int)
    cube[2:6, 2:6, 2:6] = 1
    halves = np.zeros((8, 8, 8), dtype=int)
    halves[:, :, 4:] = 1  # each half covers half of the faces and half of the volume
    ids = np.arange(2)
    for labels, outside, ratio in ((cube, 0, 0.0), (halves, 0, 1.0), (halves, 1, 1.0), (1 - cube, 1, 0.0)):
        voxels = np.bincount(labels.ravel(), minlength=2)
        assert field_ratio(face_counts(labels, ids), voxels, outside) == pytest.approx(ratio)
    # the object's share of the faces over its share of the volume: 3 of 10 face voxels, 2 of 10 voxels
    assert field_ratio(np.array([7, 3]), np.array([8, 2]), 0) == pytest.approx(1.5)
    assert field_ratio(np.array([10, 0]), np.array([10, 0]), 0) == 0.0  # no object at all


def test_a_volume_with_no_object_in_a_field_is_warned_about_in_one_line():
    halves = np.zeros((8, 8, 8), dtype=int)
    halves[:, :, 5:] = 1
    voxels = np.bincount(halves.ravel(), minlength=2)
    with pytest.warns(NoFieldWarning) as caught:
        assert warn_if_no_field(face_counts(halves, np.arange(2)), voxels, 0, volume=3)
    assert len(caught) == 1 and str(caught[0].message) == (
        "volume 3: level 1's object meets the volume's faces as much as its size predicts (1.08 times its share of "
        "the volume, 0.38): the volume shows no object in a field of view, and the object is merely the cluster on "
        "fewer faces; --no-containment clusters every level over the whole volume")
    cube = np.zeros((8, 8, 8), dtype=int)
    cube[1:7, 1:7, 0:4] = 1  # an object cut by one face: below the ratio, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ratio = field_ratio(face_counts(cube, np.arange(2)), np.bincount(cube.ravel(), minlength=2), 0)
        assert 0 < ratio < FIELD_RATIO
        assert not warn_if_no_field(face_counts(cube, np.arange(2)), np.bincount(cube.ravel(), minlength=2), 0, volume=0)


def test_the_cluster_least_on_the_faces_is_each_cluster_against_the_others_together():
    from hypseg.inference.hierarchy import least_on_faces

    labels = np.zeros((8, 8, 8), dtype=int)
    labels[:, :, 4:] = 1  # two halves of the field
    labels[2:6, 2:6, 2:6] = 2  # and a cube inside, off every face
    faces, voxels = face_counts(labels, np.arange(3)), np.bincount(labels.ravel(), minlength=3)
    assert least_on_faces(faces, voxels) == (2, 0.0)
    halves = labels.copy()
    halves[halves == 2] = 0  # each half against the other: on its share of the faces
    cluster, ratio = least_on_faces(face_counts(halves, np.arange(2)), np.bincount(halves.ravel(), minlength=2))
    assert ratio == pytest.approx(field_ratio(face_counts(halves, np.arange(2)), np.bincount(halves.ravel()), 1 - cluster))
    assert ratio >= FIELD_RATIO


def test_the_warning_names_a_second_try_that_found_no_object_either():
    halves = np.zeros((8, 8, 8), dtype=int)
    halves[:, :, 5:] = 1
    with pytest.warns(NoFieldWarning) as caught:
        warn_if_no_field(face_counts(halves, np.arange(2)), np.bincount(halves.ravel(), minlength=2), 0, volume=3, tried=3)
    assert str(caught[0].message).startswith(
        "volume 3: level 1's object meets the volume's faces as much as its size predicts (1.08 times its share of "
        "the volume, 0.38), nor does any of 3 clusters: the volume shows no object in a field of view")


def _least(labels: np.ndarray, clusters: int):
    from hypseg.inference.hierarchy import least_on_faces

    return least_on_faces(face_counts(labels, np.arange(clusters)), np.bincount(labels.ravel(), minlength=clusters))


def test_clusters_spread_through_the_volume_show_no_object_in_a_field():
    labels = np.random.default_rng(0).integers(0, 3, size=(20, 20, 20))  # each cluster everywhere, as in a tomogram
    _, ratio = _least(labels, 3)
    assert FIELD_RATIO <= ratio < 1.1


def test_a_middle_slab_counts_as_an_object_in_a_field():
    """Three slabs across the volume: the middle one meets the faces less than its size predicts (the x faces are
    the others'), so it is taken as an object; the rule knows faces, not shapes."""
    labels = np.repeat(np.arange(3), [4, 3, 3])[None, None, :] * np.ones((10, 10, 1), dtype=int)
    cluster, ratio = _least(labels, 3)
    assert cluster == 1 and ratio < FIELD_RATIO


def test_a_cluster_of_a_few_voxels_off_the_faces_is_no_object():
    from hypseg.inference.hierarchy import MIN_OBJECT_SHARE, least_on_faces

    labels = np.zeros((20, 20, 20), dtype=int)
    labels[:, :, 10:] = 1  # two halves of the field
    labels[9:11, 9:11, 9:11] = 2  # and an outlier's cluster inside, 0.1% of the volume
    voxels = np.bincount(labels.ravel(), minlength=3)
    assert voxels[2] < MIN_OBJECT_SHARE * voxels.sum()
    cluster, ratio = least_on_faces(face_counts(labels, np.arange(3)), voxels)
    assert cluster != 2 and ratio >= FIELD_RATIO
    labels[5:15, 5:15, 5:15] = 2  # an object of an eighth of the volume is one
    assert least_on_faces(face_counts(labels, np.arange(3)), np.bincount(labels.ravel(), minlength=3)) == (2, 0.0)


def test_a_second_try_names_the_object_off_the_faces_or_nothing():
    from hypseg.inference.hierarchy import second_try

    labels = np.zeros((10, 10, 10), dtype=int)
    labels[:, :, 5:] = 1
    labels[3:7, 3:7, 3:7] = 2  # a cube off every face
    faces, voxels = face_counts(labels, np.arange(3)), np.bincount(labels.ravel(), minlength=3)
    tried = second_try(faces, voxels, np.array([[0.0], [1.0], [0.5]]))
    assert tried.cluster == 2 and tried.merge.tolist() == [0, 0, 1]
    np.testing.assert_array_equal(tried.merge[labels] == 1, labels == 2)  # the object map: the cube against the halves
    speckle = np.random.default_rng(0).integers(0, 3, size=(10, 10, 10))  # every cluster on the faces
    assert second_try(face_counts(speckle, np.arange(3)), np.bincount(speckle.ravel(), minlength=3), np.zeros((3, 1))) is None


def test_a_grown_object_gains_its_six_neighbours_per_voxel_of_growth_and_fills_what_it_encloses():
    labels = np.zeros((9, 9, 9), dtype=int)
    labels[4, 4, 4] = 1
    assert level1_object(labels, outside=0, grow=1).sum() == 7  # the voxel and its six neighbours
    assert level1_object(labels, outside=0, grow=2).sum() == 25  # the voxels within two 6-connected steps
    shell = np.zeros((11, 11, 11), dtype=int)
    shell[2:9, 2:9, 2:9] = 1
    shell[3:8, 3:8, 3:8] = 0
    shell[2, 5, 5] = 0  # a hollow cube open by one voxel: its cavity reaches the outside
    assert not level1_object(shell, outside=0)[5, 5, 5]
    assert level1_object(shell, outside=0, grow=1)[5, 5, 5]  # grown, the opening closes and the cavity is filled
