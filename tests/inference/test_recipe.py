"""The recipe runner: the same label maps as the clustering functions it composes; containment.

(That the CLI without options gives exactly what the quality benchmark scores is checked in
``benchmarks/tests/test_segment_agreement.py``.)"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hypseg.config import LevelConfig, SegmentConfig, segment_preset, smoke_recipe
from hypseg.inference.hierarchy import level1_object, outside_cluster, segment_inside
from hypseg.inference.pooling import purity_weights
from hypseg.inference.recipe import cluster_embeddings
from hypseg.inference.segment import segment_volumes
from hypseg.inference.tangent import to_ball, to_tangent


def _embeddings(volumes=3, shape=(12, 12, 12), seed=0):
    rng = np.random.default_rng(seed)
    truth = np.zeros(shape, dtype=np.uint8)
    truth[2:10, 2:10, 2:10] = 1
    truth[4:8, 4:8, 4:8] = 2
    return truth, [(np.stack([truth * 0.3, (truth == 2) * 0.3], axis=-1) - 0.2
                    + rng.normal(0, 0.05, shape + (2,))).astype(np.float32) for _ in range(volumes)]


def test_levels_of_equal_settings_are_one_segment_volumes_call():
    _, embeddings = _embeddings()
    config = segment_preset("paper").with_levels(patch_sides=(4,))
    found = cluster_embeddings({(4,): embeddings}, config, geometry=smoke_recipe().model)
    expected = segment_volumes(embeddings, clusters=(2, 4, 8), pooled=False, random_state=0)
    for got, want in zip(found, expected):
        assert got.labels.keys() == want.labels.keys() == {2, 4, 8} and got.object is None
        for k in (2, 4, 8):
            np.testing.assert_array_equal(got.labels[k], want.labels[k])
            np.testing.assert_array_equal(got.centers[k], want.centers[k])


def test_containment_reports_the_object_and_clusters_inside_it_as_the_hierarchy_functions_do():
    _, embeddings = _embeddings()
    z, y, x = np.indices((12, 12, 12)) // 2
    segments = [z * 36 + y * 6 + x] * 3
    config = SegmentConfig(levels=(LevelConfig(2, (4,), 8, pooled=False, in_object=True),
                                   LevelConfig(3, (4,), 8, purity_power=8.0, pooled=True, in_object=True)), seed=1)
    found = cluster_embeddings({(4,): embeddings}, config, geometry=smoke_recipe().model, segments={8: segments})
    level1 = segment_volumes(embeddings, clusters=(2,), pooled=False, segments=segments, random_state=1)
    objects = [level1_object(s.labels[2]) for s in level1]
    inside = segment_inside(embeddings, objects, clusters=(3,), pooled=True, segments=segments, random_state=1,
                            voxel_weights=[purity_weights(s, (4,), 8.0) for s in segments])
    for got, obj, want in zip(found, objects, inside):
        np.testing.assert_array_equal(got.object, obj)
        np.testing.assert_array_equal(got.labels[2], obj.astype(np.int32))
        np.testing.assert_array_equal(got.labels[3], want.labels[3])


def test_missing_embeddings_are_named():
    _, embeddings = _embeddings(volumes=1)
    with pytest.raises(ValueError, match=r"no embeddings at patch sides \(5,\) for level k = 2"):
        cluster_embeddings({(4,): embeddings}, segment_preset("paper"), geometry=smoke_recipe().model)


@pytest.mark.parametrize("seed", range(4))
def test_level_ones_centres_follow_its_object_maps_labels(seed):
    """Row 0 of level 1's centres is the outside's, row 1 the object's, whichever cluster k-means numbered first."""
    truth, embeddings = _embeddings(volumes=2, seed=seed)
    flipped = [e if i % 2 else -e for i, e in enumerate(embeddings)]  # the object above, then below, the outside
    config = SegmentConfig(levels=(LevelConfig(2, (4,), None, pooled=False, in_object=True),), seed=seed)
    for found, embedding in zip(cluster_embeddings({(4,): flipped}, config, geometry=smoke_recipe().model), flipped):
        means = np.stack([embedding[found.labels[2] == label].mean(axis=0) for label in (0, 1)])
        distances = np.linalg.norm(means[:, None, :] - found.centers[2][None, :, :], axis=-1)
        assert distances.argmin(axis=1).tolist() == [0, 1]


def _slow_voxels_decide(level1, points, centres, *, outside, width, hyperbolic, factors, c):
    """voxels_decide voxel by voxel: a voxel is in the zone when a voxel of the other side (beyond the faces: the
    outside) lies within ``width`` 6-connected steps, i.e. within city-block distance ``width``. Independent of the
    implementation in the zone's search and the nearest centre; it shares the faces' convention and the Poincare
    distance (hypseg.geometry.math) with it."""
    import torch

    from hypseg.geometry.math import dist

    inside = np.pad(level1 != outside, width, constant_values=False)
    out = level1.copy()
    offsets = [o for o in np.ndindex(*(2 * width + 1,) * 3) if sum(abs(a - width) for a in o) <= width]
    for z, y, x in np.ndindex(level1.shape):
        mine = inside[z + width, y + width, x + width]
        if not any(inside[z + a, y + b, x + e] != mine for a, b, e in offsets):
            continue
        p = points[z, y, x].astype(np.float64)
        if hyperbolic:
            d = [sum(float(dist(torch.as_tensor(f), torch.as_tensor(g), c=c)) ** 2
                     for f, g in zip(np.split(p, factors), np.split(centre, factors))) for centre in centres]
        else:
            d = [float(np.sum((p - centre) ** 2)) for centre in centres]
        out[z, y, x] = int(np.argmin(d))
    return out


@pytest.mark.parametrize("width, hyperbolic, outside", [(1, False, 0), (2, False, 1), (2, True, 0)])
def test_voxels_decide_agrees_with_a_voxel_by_voxel_reference(width, hyperbolic, outside):
    from hypseg.inference.recipe import voxels_decide

    rng = np.random.default_rng(width)
    level1 = np.full((7, 8, 9), outside, dtype=np.int32)
    level1[2:6, 1:5, 3:8] = 1 - outside
    level1[3, 2, 4] = outside  # a hole: its voxels and their neighbours are in the zone too
    points = rng.uniform(-0.3, 0.3, level1.shape + (4,))  # two factors of a two-dimensional ball
    centres = rng.uniform(-0.3, 0.3, (2, 4))
    got = voxels_decide(level1, points, centres, outside=outside, width=width, hyperbolic=hyperbolic, factors=2, c=1.0)
    want = _slow_voxels_decide(level1, points, centres, outside=outside, width=width, hyperbolic=hyperbolic, factors=2, c=1.0)
    np.testing.assert_array_equal(got, want)
    assert got.dtype == level1.dtype and (got != level1).any()


def test_voxels_decide_on_a_block_read_with_a_halo_of_its_width_gives_the_whole_volumes_interior():
    from hypseg.inference.recipe import voxels_decide

    rng = np.random.default_rng(3)
    level1 = (rng.uniform(size=(16, 16, 16)) < 0.5).astype(np.int32)
    level1 = (np.cumsum(level1, axis=2) % 5 < 3).astype(np.int32)  # runs along x: boundaries everywhere
    points = rng.normal(size=level1.shape + (2,))
    centres = np.array([[0.0, 0.0], [1.0, 1.0]])
    whole = voxels_decide(level1, points, centres, outside=0, width=2, hyperbolic=False)
    block = (slice(3, 11), slice(5, 13), slice(4, 12))
    halo = tuple(slice(s.start - 2, s.stop + 2) for s in block)
    part = voxels_decide(level1[halo], points[halo], centres, outside=0, width=2, hyperbolic=False)
    np.testing.assert_array_equal(part[2:-2, 2:-2, 2:-2], whole[block])


@pytest.mark.parametrize("space, members", [("ball", 1), ("tangent", 1), ("tangent", 2), ("ball", 2)])
def test_a_voxel_band_relabels_level_one_before_its_object_is_taken_and_nothing_on_voxels(space, members):
    """The recipe's band is voxels_decide on level 1's k-means map, with the points and centres of the space it
    clustered in (the tangent space's log-mapped points; a product of balls for an ensemble); level 1's own map
    keeps k-means' labels where level 1 is not the object."""
    from hypseg.inference.recipe import voxels_decide
    from hypseg.inference.tangent import to_tangent

    _, embeddings = _embeddings()
    if members == 2:  # two models side by side
        embeddings = [np.concatenate([e, 0.8 * e[..., ::-1]], axis=-1) for e in embeddings]
    z, y, x = np.indices((12, 12, 12)) // 3  # supervoxels of 27 voxels straddle the object's edge at 2 and 10
    segments = [z * 16 + y * 4 + x] * 3
    levels = (LevelConfig(2, (4,), 27, pooled=False, in_object=True), LevelConfig(3, (4,), 27, pooled=False, in_object=True))
    geometry = smoke_recipe().model
    assert geometry.hyperbolic
    run = lambda levels, band, **kw: cluster_embeddings(  # noqa: E731
        {(4,): embeddings}, SegmentConfig(levels=levels, seed=1, voxel_band=band, space=space), geometry=geometry,
        members=members, **kw)
    plain, banded = (run(levels, band, segments={27: segments}) for band in (0, 1))
    flat = space == "tangent"
    points = [to_tangent(e, factors=members, c=geometry.curvature) for e in embeddings] if flat else embeddings
    level1 = segment_volumes(points, clusters=(2,), pooled=False, segments=segments, random_state=1, factors=members,
                             hyperbolic=not flat, c=geometry.curvature, n_init=3)
    moved = 0
    for got, before, seg, point in zip(banded, plain, level1, points):
        decided = voxels_decide(seg.labels[2], point, seg.centers[2], outside=outside_cluster(seg.labels[2]), width=1,
                                hyperbolic=not flat, factors=members, c=geometry.curvature)
        np.testing.assert_array_equal(got.object, level1_object(decided))
        moved += int((got.object != before.object).sum())
    assert moved > 0
    alone = (dataclasses.replace(levels[0], in_object=False), levels[1])  # level 1's map is k-means', the object banded
    for got, before in zip(run(alone, 1, segments={27: segments}), run(alone, 0, segments={27: segments})):
        np.testing.assert_array_equal(got.labels[2], before.labels[2])
    voxelwise = tuple(LevelConfig(level.clusters, (4,), None, pooled=False, in_object=True) for level in levels)
    for a, b in zip(run(voxelwise, 0), run(voxelwise, 2)):
        np.testing.assert_array_equal(a.object, b.object)


def test_voxels_decide_leaves_a_map_without_a_boundary_as_it_is():
    from hypseg.inference.recipe import voxels_decide

    level1 = np.zeros((6, 6, 6), dtype=np.int32)  # all outside: no zone, in the ball as in the flat space
    for hyperbolic in (True, False):
        got = voxels_decide(level1, np.zeros((6, 6, 6, 2)), np.array([[0.0, 0.0], [0.1, 0.1]]), outside=0, width=2,
                            hyperbolic=hyperbolic)
        np.testing.assert_array_equal(got, level1)


def test_containment_warns_about_each_volume_whose_level_1_lies_in_no_field_of_view():
    from hypseg.inference.hierarchy import NoFieldWarning

    _, (cell, _, _) = _embeddings()
    rng = np.random.default_rng(1)
    halves = np.zeros((12, 12, 12), dtype=np.float32)
    halves[:, :, 6:] = 0.3  # two slabs, each on its share of the faces: no object in a field of view
    field = (np.stack([halves, np.zeros_like(halves)], axis=-1) - 0.2 + rng.normal(0, 0.05, (12, 12, 12, 2))).astype(np.float32)
    config = SegmentConfig(levels=(LevelConfig(2, (4,), None, pooled=False, in_object=True),
                                   LevelConfig(3, (4,), None, pooled=False, in_object=True)), seed=0, refine=0, voxel_band=0)
    with pytest.warns(NoFieldWarning) as caught:
        found = cluster_embeddings({(4,): [cell, field]}, config, geometry=smoke_recipe().model)
    assert [str(w.message).split(":")[0] for w in caught] == ["volume 1"]  # the cell in its field is not warned about
    assert found[1].object.mean() == pytest.approx(0.5, abs=0.01)  # still contained: the warning changes nothing
    assert [volume.no_field for volume in found] == [False, True]  # and each volume's result says so
    flat = dataclasses.replace(config, levels=tuple(dataclasses.replace(level, in_object=False) for level in config.levels))
    assert not any(volume.no_field for volume in cluster_embeddings({(4,): [cell, field]}, flat, geometry=smoke_recipe().model))


def test_cluster_means_agree_with_a_mask_by_mask_mean_fill_an_empty_cluster_and_add_up_by_parts():
    from hypseg.inference.recipe import cluster_sums, means_of

    rng = np.random.default_rng(4)
    points = rng.normal(size=(5, 6, 7, 3))
    labels = rng.integers(0, 2, size=(5, 6, 7))
    sums = cluster_sums(points, labels, 3)
    got = means_of(sums)  # cluster 2 has no voxel: the mean of all
    want = [points[labels == j].mean(0) for j in (0, 1)] + [points.reshape(-1, 3).mean(0)]
    np.testing.assert_allclose(got, np.stack(want), rtol=1e-12)
    np.testing.assert_array_equal(sums[:, -1], [np.sum(labels == j) for j in range(3)])
    parts = cluster_sums(points[:2], labels[:2], 3) + cluster_sums(points[2:], labels[2:], 3)  # as chunks add up
    np.testing.assert_allclose(parts, sums, rtol=1e-12)


@pytest.mark.parametrize("space", ["tangent", "ball"])
def test_a_band_at_other_sides_decides_by_their_embedding_against_the_clusters_means_there(space):
    """Level 1 clusters the side-4 embedding; the band's voxels decide by the side-2 embedding, whose centres are the
    means of level 1's clusters there (in the tangent space); in the ball that is refused."""
    from hypseg.errors import UserError
    from hypseg.inference.recipe import BAND_SIDES_NEED_FLAT, cluster_sums, means_of, voxels_decide
    from hypseg.inference.tangent import to_tangent

    _, embeddings = _embeddings()
    rng = np.random.default_rng(5)
    finer = [np.clip(e + rng.normal(0, 0.1, e.shape), -0.6, 0.6).astype(np.float32) for e in embeddings]
    z, y, x = np.indices((12, 12, 12)) // 3
    segments = {27: [z * 16 + y * 4 + x] * 3}
    levels = (LevelConfig(2, (4,), 27, pooled=False, in_object=True), LevelConfig(3, (4,), 27, pooled=False, in_object=True))
    geometry = smoke_recipe().model
    config = SegmentConfig(levels=levels, seed=1, voxel_band=1, band_sides=(2,), space=space)
    if space == "ball":
        with pytest.raises(UserError, match="^" + BAND_SIDES_NEED_FLAT.replace("(", r"\(").replace(")", r"\)") + "$"):
            cluster_embeddings({(4,): embeddings, (2,): finer}, config, geometry=geometry, segments=segments)
        return
    with pytest.raises(ValueError, match=r"no embeddings at patch sides \(2,\) for level 1's voxel band"):
        cluster_embeddings({(4,): embeddings}, config, geometry=geometry, segments=segments)
    got = cluster_embeddings({(4,): embeddings, (2,): finer}, config, geometry=geometry, segments=segments)
    own = cluster_embeddings({(4,): embeddings, (2,): finer}, dataclasses.replace(config, band_sides=(4,)),
                             geometry=geometry, segments=segments)
    level1 = segment_volumes([to_tangent(e, c=geometry.curvature) for e in embeddings], clusters=(2,), pooled=False,
                             segments=segments[27], random_state=1, hyperbolic=False, c=geometry.curvature, n_init=3)
    differs = 0
    for found, mine, seg, point in zip(got, own, level1, finer):
        flat = to_tangent(point, c=geometry.curvature)
        decided = voxels_decide(seg.labels[2], flat, means_of(cluster_sums(flat, seg.labels[2], 2)),
                                outside=outside_cluster(seg.labels[2]), width=1, hyperbolic=False)
        np.testing.assert_array_equal(found.object, level1_object(decided))
        differs += int((found.object != mine.object).sum())
    assert differs > 0  # another side's embedding decides otherwise than level 1's own


@pytest.mark.parametrize("space", ["tangent", "ball"])
def test_a_band_on_intensity_decides_by_the_box_mean_against_the_clusters_mean_box_intensities(space):
    """Level 1 clusters the embedding; the band's voxels decide by the volume's box mean at the band's side (level 1's
    own where none is given), against the means of level 1's clusters there, in the ball as in the tangent space."""
    from hypseg.inference.recipe import band_points, box_mean, cluster_sums, means_of, voxels_decide

    truth, embeddings = _embeddings()
    rng = np.random.default_rng(6)
    volumes = [(truth > 0) + rng.normal(0, 0.3, truth.shape) for _ in embeddings]
    z, y, x = np.indices((12, 12, 12)) // 3
    segments = {27: [z * 16 + y * 4 + x] * 3}
    levels = (LevelConfig(2, (4,), 27, pooled=False, in_object=True), LevelConfig(3, (4,), 27, pooled=False, in_object=True))
    geometry = smoke_recipe().model
    config = SegmentConfig(levels=levels, seed=1, voxel_band=1, band_feature="intensity", space=space)
    with pytest.raises(ValueError, match="^level 1's voxel band on intensity needs the volumes$"):
        cluster_embeddings({(4,): embeddings}, config, geometry=geometry, segments=segments)
    level1 = segment_volumes([to_tangent(e, c=geometry.curvature) if space == "tangent" else e for e in embeddings],
                             clusters=(2,), pooled=False, segments=segments[27], random_state=1,
                             hyperbolic=space == "ball", c=geometry.curvature, n_init=3)
    by_side = {}
    for side in (None, 2):
        mine = config if side is None else dataclasses.replace(config, band_sides=(side,))
        got = cluster_embeddings({(4,): embeddings}, mine, geometry=geometry, segments=segments, volumes=volumes)
        by_side[side] = [found.object for found in got]
        for found, seg, volume in zip(got, level1, volumes):
            points = band_points(volume, side or 4)
            np.testing.assert_array_equal(points[..., 0], box_mean(volume, side or 4).astype(np.float32))
            decided = voxels_decide(seg.labels[2], points, means_of(cluster_sums(points, seg.labels[2], 2)),
                                    outside=outside_cluster(seg.labels[2]), width=1, hyperbolic=False)
            np.testing.assert_array_equal(found.object, level1_object(decided))
    assert any((a != b).any() for a, b in zip(by_side[None], by_side[2]))  # the box's side matters


def _split_field(seed=0, n=16):
    """A cube off every face inside a field whose two halves differ more than the cube differs from either: level 1's
    two clusters are the halves (in no field of view), three find the cube."""
    rng = np.random.default_rng(seed)
    e = np.zeros((n, n, n, 2), np.float32)
    e[:, :, n // 2:, 0] = 0.5
    cube = np.zeros((n, n, n), dtype=bool)
    cube[5:11, 5:11, 5:11] = True
    e[cube] = (0.25, 0.3)
    return cube, (e - 0.2 + rng.normal(0, 0.03, e.shape)).astype(np.float32)


@pytest.mark.parametrize("band", [0, 1])
def test_a_second_try_with_three_clusters_finds_the_object_level_1_split_across_its_field(band):
    import warnings

    from hypseg.inference.hierarchy import NoFieldWarning

    cube, field = _split_field()
    _, (cell, _, _) = _embeddings(shape=(16, 16, 16))
    levels = (LevelConfig(2, (4,), None, pooled=False, in_object=True), LevelConfig(3, (4,), None, pooled=False, in_object=True))
    plain = SegmentConfig(levels=levels, seed=0, voxel_band=band)
    retry = dataclasses.replace(plain, field_retry=3)
    geometry = smoke_recipe().model
    with pytest.warns(NoFieldWarning):
        before = cluster_embeddings({(4,): [cell, field]}, plain, geometry=geometry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second try found an object in a field: nothing to warn about
        after = cluster_embeddings({(4,): [cell, field]}, retry, geometry=geometry)
    assert [v.retried for v in after] == [False, True] and not any(v.no_field for v in after)
    for k in (2, 3):  # a volume whose level 1 lies in a field is untouched
        np.testing.assert_array_equal(after[0].labels[k], before[0].labels[k])
        np.testing.assert_array_equal(after[0].centers[k], before[0].centers[k])
    assert before[1].object.mean() > 0.4  # the first try's object: a half of the field
    np.testing.assert_array_equal(after[1].object, cube)
    np.testing.assert_array_equal(after[1].labels[2], cube.astype(np.int32))
    assert (after[1].labels[3][~cube] == 0).all() and set(np.unique(after[1].labels[3][cube])) == {1, 2}
    # as the hierarchy functions give it: three clusters of the volume alone, the one off the faces filled
    three = segment_volumes([field], clusters=(3,), pooled=False, random_state=0)[0]
    found = three.labels[3][cube][0]
    np.testing.assert_array_equal(after[1].object, level1_object((three.labels[3] == found).astype(int), outside=0))
    rest = [j for j in range(3) if j != found]
    weights = [np.sum(three.labels[3] == j) for j in rest]
    np.testing.assert_allclose(after[1].centers[2], np.stack([np.average(three.centers[3][rest], axis=0, weights=weights),
                                                              three.centers[3][found]]), rtol=1e-6)


def test_a_second_try_that_finds_no_object_in_a_field_either_leaves_level_1_and_says_so():
    from hypseg.inference.hierarchy import NoFieldWarning

    field = np.random.default_rng(1).uniform(-0.3, 0.3, (12, 12, 12, 2)).astype(np.float32)  # speckle: every cluster on the faces
    levels = (LevelConfig(2, (4,), None, pooled=False, in_object=True), LevelConfig(3, (4,), None, pooled=False, in_object=True))
    plain = SegmentConfig(levels=levels, seed=0)
    with pytest.warns(NoFieldWarning):
        before = cluster_embeddings({(4,): [field]}, plain, geometry=smoke_recipe().model)[0]
    with pytest.warns(NoFieldWarning, match="nor does any of 3 clusters"):
        after = cluster_embeddings({(4,): [field]}, dataclasses.replace(plain, field_retry=3), geometry=smoke_recipe().model)[0]
    assert after.no_field and not after.retried
    for k in (2, 3):
        np.testing.assert_array_equal(after.labels[k], before.labels[k])


def test_a_band_of_an_object_against_several_clusters_decides_among_all_their_centres():
    from hypseg.inference.recipe import voxels_decide

    level1 = np.zeros((1, 1, 6), dtype=np.int32)
    level1[..., 3:] = 1  # the object, against two clusters together
    points = np.array([0.0, 0.0, 2.1, 0.9, 1.0, 1.0]).reshape(1, 1, 6, 1)
    centres = np.array([[0.0], [1.0], [2.0]])  # rows 0 and 2 are the outside's clusters, row 1 the object's
    got = voxels_decide(level1, points, centres, outside=0, width=1, hyperbolic=False, merge=np.array([0, 1, 0]))
    # in the zone (voxels 2 and 3): 2.1 is nearest the outside's second centre, 0.9 the object's
    np.testing.assert_array_equal(got.ravel(), [0, 0, 0, 1, 1, 1])
    unmerged = voxels_decide(level1, points, centres, outside=0, width=1, hyperbolic=False)
    np.testing.assert_array_equal(unmerged.ravel(), [0, 0, 2, 1, 1, 1])  # without merge: the row itself


def _particles(n=20, seed=0):
    """(particles, fine, coarse): 2-D embeddings of an n^3 volume, a speckle shared by both sides (each voxel its own,
    so every cluster of it meets the faces as its size predicts) and a few small cubes 0.3 above it at the fine side
    and 0.05 at the coarse, which averages them away; no object lies in a field of view."""
    rng = np.random.default_rng(seed)
    particles = np.zeros((n, n, n), dtype=bool)
    for z, y, x in rng.integers(1, n - 3, size=(12, 3)):
        particles[z:z + 2, y:y + 2, x:x + 2] = True
    speckle = rng.uniform(-0.3, 0.3, (n, n, n, 2))
    fine, coarse = speckle.copy(), speckle.copy()
    fine[particles, 0] += 0.3
    coarse[particles, 0] += 0.05
    return particles, fine.astype(np.float32), coarse.astype(np.float32)


def test_level_1_by_local_contrast_finds_small_particles_where_no_try_finds_an_object_in_a_field():
    import warnings

    from hypseg.inference.hierarchy import NoFieldWarning
    from hypseg.inference.recipe import cluster_sums, contrast_object, contrast_split

    particles, fine, coarse = _particles()
    levels = (LevelConfig(2, (10,), None, pooled=False, in_object=True), LevelConfig(3, (5,), None, pooled=False, in_object=True))
    retry = SegmentConfig(levels=levels, seed=0, field_retry=3, voxel_band=1, space="tangent")
    geometry = smoke_recipe().model
    embeddings = {(10,): [coarse], (5,): [fine]}
    with pytest.warns(NoFieldWarning, match="nor does any of 3 clusters"):
        before = cluster_embeddings(embeddings, retry, geometry=geometry)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # local contrast found the particles: nothing to warn about
        after = cluster_embeddings(embeddings, dataclasses.replace(retry, contrast_sides=(5, 10)), geometry=geometry)[0]
    assert after.contrast and not after.retried and not after.no_field and not after.clustered_voxels
    assert not before.contrast and abs(before.object.mean() - 0.5) < 0.2  # a half of the ramp
    np.testing.assert_array_equal(after.object, particles)
    np.testing.assert_array_equal(after.labels[2], particles.astype(np.int32))
    assert (after.labels[3][~particles] == 0).all()
    # in the tangent space (the space clustered in): the mixture on the difference, as contrast_split gives it; centres:
    # the coarse side's mean over each
    tangent = [to_tangent(e) for e in (fine, coarse)]
    found = contrast_split(tangent[0] - tangent[1], components=2, subsample=50_000, n_init=3, seed=0)
    np.testing.assert_array_equal(contrast_object(cluster_sums(np.zeros(found.shape + (1,)), found, 2))[found], particles)
    means = np.stack([tangent[1][~particles].mean(0), tangent[1][particles].mean(0)])
    np.testing.assert_allclose(after.centers[2], to_ball(means), rtol=1e-5, atol=1e-7)


def test_a_rare_component_of_local_contrast_is_the_object_whatever_its_label():
    from hypseg.inference.recipe import cluster_sums, contrast_object, contrast_split

    def split(points, seed):
        found = contrast_split(points, components=2, subsample=5000, n_init=2, seed=seed)
        merge = contrast_object(cluster_sums(np.zeros(found.shape + (1,)), found, 2))
        return None if merge is None else merge[found]

    rng = np.random.default_rng(0)
    points = rng.normal(0, 0.1, (10, 10, 10, 2))
    rare = rng.random((10, 10, 10)) < 0.04
    points[rare] += (1.0, 0.0)
    labels = []
    for seed in (1, 5):  # the mixture numbers the rare component 1 with one seed, 0 with the other
        mixture = segment_volumes([points], clusters=[2], hyperbolic=False, pooled=False, subsample=5000, n_init=2,
                                  random_state=seed, clusterer="tied-mixture")[0]
        labels.append(mixture.labels[2][rare][0])
        for sign in (1, -1):  # a bright or a dark rare component
            np.testing.assert_array_equal(split(sign * points, seed), rare)
    assert sorted(labels) == [0, 1]
    # no contrast at all: the smaller component is empty, and there is no object
    from hypseg.clustering import EmptyClusterWarning

    with pytest.warns(EmptyClusterWarning):
        assert split(np.zeros((4, 4, 4, 2)), 0) is None


def _two_tails(n=24, seed=0):
    """Ten small cubes of strong contrast and five of weak contrast of the other polarity, apart on a grid: in the
    embedding's local contrast two tails of equal strength, the weak cubes the smaller; with the volume (fine, coarse,
    volume, strong cubes)."""
    rng = np.random.default_rng(seed)
    slots = rng.permutation([(z, y, x) for z in range(3, n - 3, 6) for y in range(3, n - 3, 6) for x in range(3, n - 3, 6)])
    strong, weak = np.zeros((2, n, n, n), dtype=bool)
    for i, (z, y, x) in enumerate(slots[:15]):
        (strong if i < 10 else weak)[z:z + 2, y:y + 2, x:x + 2] = True
    fine = rng.normal(0, 0.05, (n, n, n, 2))
    coarse = fine.copy()
    fine[strong, 0] += 0.5
    fine[weak, 0] -= 0.5
    volume = rng.normal(0, 0.1, (n, n, n)) + 3.0 * strong - 0.5 * weak
    return fine.astype(np.float32), coarse.astype(np.float32), volume.astype(np.float32), strong


@pytest.mark.parametrize("sign", [1, -1])
def test_of_three_components_of_local_contrast_the_volumes_intensity_picks_the_object(sign):
    from hypseg.inference.recipe import cluster_sums, contrast_object, contrast_split, local_contrast

    fine, coarse, volume, cubes = _two_tails()
    found = contrast_split(sign * (fine - coarse), components=3, subsample=50_000, n_init=2, seed=0)
    sizes = np.bincount(found.ravel(), minlength=3)
    assert sorted(sizes)[:2] == [cubes.sum() // 2, cubes.sum()]  # each kind of cube a tail, the weak the smaller
    contrast = local_contrast(sign * volume, (5, 10))
    merge = contrast_object(cluster_sums(contrast[..., None], found, 3))
    np.testing.assert_array_equal(merge[found], cubes)  # strong bright cubes among weak dark ones, or the reverse
    # the rule by hand: the components besides the largest, by their voxels' mean contrast, the strongest the object
    tails = [j for j in range(3) if j != np.argmax(sizes)]
    assert cubes[found == max(tails, key=lambda j: abs(contrast[found == j].mean()))].all()


def test_local_contrast_is_the_difference_of_two_box_means_with_the_edge_repeated():
    from hypseg.inference.recipe import local_contrast

    volume = np.random.default_rng(0).normal(size=(7, 8, 9))
    found = local_contrast(volume, (3, 5))
    padded = np.pad(volume, 2, mode="edge")
    z, y, x = 0, 4, 8  # a corner voxel: its boxes reach beyond two faces
    box = lambda h: padded[z + 2 - h:z + 3 + h, y + 2 - h:y + 3 + h, x + 2 - h:x + 3 + h].mean()
    assert found[z, y, x] == pytest.approx(box(1) - box(2))
    assert np.abs(local_contrast(np.full((5, 5, 5), 3.0), (3, 5))).max() < 1e-12
    found = local_contrast(volume, (2, 4))  # even sides: the box reaches s / 2 below, s / 2 - 1 above
    z, y, x = 3, 4, 5
    box = lambda s: volume[z - s // 2:z + s // 2, y - s // 2:y + s // 2, x - s // 2:x + s // 2].mean()
    assert found[z, y, x] == pytest.approx(box(2) - box(4))


def test_a_few_outlying_voxels_of_extreme_contrast_are_no_object(monkeypatch):
    from hypseg.inference import recipe

    fine, coarse, volume, cubes = _two_tails()
    outliers = np.zeros_like(cubes)
    outliers[0, 0, :int(np.ceil(recipe.MIN_CONTRAST_SHARE * cubes.size)) - 1] = True  # one voxel fewer than the floor
    volume = volume - 50.0 * outliers  # far darker than their surroundings: the strongest mean contrast of all
    split = (2 * cubes + outliers).astype(np.int32)  # the mixture's components: the bulk, the outliers, the cubes
    monkeypatch.setattr(recipe, "contrast_split", lambda points, **kw: split)
    levels = (LevelConfig(2, (10,), None, pooled=False, in_object=True), LevelConfig(3, (5,), None, pooled=False, in_object=True))
    config = SegmentConfig(levels=levels, seed=0, field_retry=3, space="tangent", contrast_sides=(5, 10), contrast_components=3)
    found = cluster_embeddings({(10,): [coarse], (5,): [fine]}, config, geometry=smoke_recipe().model, volumes=[volume])[0]
    assert found.contrast and np.array_equal(found.object, cubes)
    strength = np.abs(recipe.means_of(recipe.cluster_sums(recipe.local_contrast(volume, (5, 10))[..., None], split, 3)))[:, 0]
    assert strength[1] > strength[2]  # without the floor the outliers would be the object


def test_three_components_of_local_contrast_need_the_volumes():
    fine, coarse, volume, cubes = _two_tails()
    levels = (LevelConfig(2, (10,), None, pooled=False, in_object=True), LevelConfig(3, (5,), None, pooled=False, in_object=True))
    config = SegmentConfig(levels=levels, seed=0, field_retry=3, space="tangent", contrast_sides=(5, 10), contrast_components=3)
    embeddings = {(10,): [coarse], (5,): [fine]}
    with pytest.raises(ValueError, match="^local contrast's 3 components need the volumes' intensity to pick the object$"):
        cluster_embeddings(embeddings, config, geometry=smoke_recipe().model)
    found = cluster_embeddings(embeddings, config, geometry=smoke_recipe().model, volumes=[volume])[0]
    assert found.contrast and np.array_equal(found.object, cubes)


def test_local_contrast_on_intensity_fits_the_volumes_own_contrast_and_not_the_embedding():
    """With ``contrast_feature = "intensity"`` the mixture is fitted on the volume's local intensity contrast (float32,
    one value per voxel), the embedding at the finer side is neither read nor needed, and the object is the mixture's
    component :func:`contrast_object` names, as by hand."""
    from hypseg.inference.recipe import cluster_sums, contrast_object, contrast_split, local_contrast

    fine, coarse, volume, cubes = _two_tails()
    levels = (LevelConfig(2, (10,), None, pooled=False, in_object=True),)
    config = SegmentConfig(levels=levels, seed=0, field_retry=3, space="tangent", contrast_sides=(5, 10),
                           contrast_components=3, contrast_feature="intensity")
    with pytest.raises(ValueError, match="^local contrast on intensity needs the volumes$"):
        cluster_embeddings({(10,): [coarse]}, config, geometry=smoke_recipe().model)
    found = cluster_embeddings({(10,): [coarse]}, config, geometry=smoke_recipe().model, volumes=[volume])[0]
    contrast = local_contrast(volume, (5, 10))
    split = contrast_split(contrast[..., None].astype(np.float32), components=3, subsample=config.subsample,
                           n_init=config.n_init, seed=config.seed)
    assert found.contrast and np.array_equal(found.object, contrast_object(cluster_sums(contrast[..., None], split, 3))[split])
    weak = fine[..., 0] < -0.25  # the weak cubes of the other polarity
    assert weak.sum() == 5 * 8 and found.object[cubes].all() and not found.object[weak].any()
    # the embedding's own difference, however it reads, changes nothing
    again = cluster_embeddings({(10,): [coarse], (5,): [-fine]}, config, geometry=smoke_recipe().model, volumes=[volume])[0]
    assert np.array_equal(again.object, found.object)
    with pytest.raises(ValueError, match=r"^no embeddings at patch sides \(5,\) for level 1's local contrast$"):
        cluster_embeddings({(10,): [coarse]}, dataclasses.replace(config, contrast_feature="embedding"),
                           geometry=smoke_recipe().model, volumes=[volume])
    # both side by side: the mixture on the embedding's difference (in the tangent space) beside the intensity's
    both = dataclasses.replace(config, contrast_feature="both")
    found = cluster_embeddings({(10,): [coarse], (5,): [fine]}, both, geometry=smoke_recipe().model, volumes=[volume])[0]
    points = np.concatenate([to_tangent(fine) - to_tangent(coarse), contrast[..., None].astype(np.float32)], axis=-1)
    split = contrast_split(points, components=3, subsample=both.subsample, n_init=both.n_init, seed=both.seed)
    assert found.contrast and np.array_equal(found.object, contrast_object(cluster_sums(contrast[..., None], split, 3))[split])
    with pytest.raises(ValueError, match=r"^no embeddings at patch sides \(5,\) for level 1's local contrast$"):
        cluster_embeddings({(10,): [coarse]}, both, geometry=smoke_recipe().model, volumes=[volume])


def test_level_1_alone_embeds_at_local_contrasts_sides_only_the_volumes_that_reach_it(tmp_path, monkeypatch):
    from helpers import cell_image, speckle_image, train_tiny_model

    from hypseg.api import load_model
    from hypseg.inference import recipe

    model = load_model(train_tiny_model(tmp_path / "run", cell_image((16, 16, 16), seed=1), steps=40))
    embedded = []
    embed = recipe.embed_volume_multiscale
    monkeypatch.setattr(recipe, "embed_volume_multiscale",
                        lambda network, volume, *, patch_sizes, **kw: embedded.append(tuple(patch_sizes))
                        or embed(network, volume, patch_sizes=patch_sizes, **kw))
    volumes = [model.normalise(cell_image((20, 34, 28))), model.normalise(speckle_image())]
    on_embedding = dataclasses.replace(segment_preset("default"), contrast_feature="embedding", contrast_sides=(5, 10))
    result = recipe.segment(volumes, model, on_embedding.with_clusters([2]))
    assert [v.contrast for v in result.volumes] == [False, True]  # the cell lies in a field; the speckle reaches it
    assert embedded == [(10,), (10,), (5,)] and list(result.embeddings) == [(10,)]  # p = 5 for the speckle alone
    embedded.clear()
    config = segment_preset("default").with_clusters([2])  # on intensity
    again = recipe.segment(volumes, model, config)
    assert [v.contrast for v in again.volumes] == [False, True] and embedded == [(10,), (10,)]  # on intensity: no p = 5


def test_local_contrast_by_the_likelihood_is_the_fitted_mixtures_likeliest_component():
    """``contrast_split(likeliest=True)`` assigns each voxel the component of highest density under the mixture it
    fits (the same mixture as without it), so a rare, overlapping component holds more voxels than by the posterior."""
    from scipy.stats import multivariate_normal

    from hypseg.clustering import TiedGaussianMixture
    from hypseg.inference.recipe import contrast_split

    rng = np.random.default_rng(0)
    points = rng.normal(0, 0.3, (12, 12, 12, 2))
    rare = rng.random((12, 12, 12)) < 0.05
    points[rare] += (0.8, 0.0)  # overlapping the common component: the two rules disagree near the boundary
    flat = points.reshape(-1, 2)
    fit = TiedGaussianMixture(2, n_init=2, random_state=0).fit(flat)  # all voxels drawn: the split's own fit
    density = np.stack([multivariate_normal(mean, fit.covariance_).logpdf(flat) for mean in fit.cluster_centers_], 1)
    likely = contrast_split(points, components=2, subsample=flat.shape[0], n_init=2, seed=0, likeliest=True)
    probable = contrast_split(points, components=2, subsample=flat.shape[0], n_init=2, seed=0)
    np.testing.assert_array_equal(likely.ravel(), density.argmax(1))
    np.testing.assert_array_equal(probable.ravel(), (density + np.log(fit.weights_)).argmax(1))
    small = int(np.argmin(fit.weights_))
    assert (likely == small).sum() > (probable == small).sum()
