"""Dense per-voxel embedding: agreement with the naive per-voxel encoder, and tiling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hypseg.config import ModelConfig
from hypseg.inference import embed_volume, embed_voxels_naive, read_slab
from hypseg.models import HVAE

#: Max abs difference allowed between dense and naive embeddings when p != m: the naive path resizes
#: each crop alone (edge-clamped at the crop's faces), the dense path resamples the whole volume.
RESAMPLING_TOLERANCE = 2e-2


def _model(variant="hyperbolic-gyro", m=10, seed=0):
    torch.manual_seed(seed)
    return HVAE(ModelConfig(variant=variant, patch_size=m, channels=(4, 6, 8), hidden=12))


def _all_voxels(shape):
    return np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1).reshape(-1, 3)


@pytest.mark.parametrize("variant", ("hyperbolic-gyro", "euclidean"))
def test_dense_equals_naive_when_the_patch_is_m(variant):
    model = _model(variant)
    volume = np.random.default_rng(0).normal(size=(14, 12, 11)).astype(np.float32)
    dense = embed_volume(model, volume, tile=None)
    naive = embed_voxels_naive(model, volume, voxels=_all_voxels(volume.shape))
    assert dense.shape == (14, 12, 11, 2) and dense.dtype == np.float32
    np.testing.assert_allclose(dense.reshape(-1, 2), naive, rtol=0, atol=1e-4)


@pytest.mark.parametrize("patch_size", (20, 30))
def test_polyphase_dense_equals_naive_for_a_larger_patch(patch_size):
    """p = q m: every sample point lies inside the patch, so downsampling the shifted volume is exact."""
    model = _model()
    volume = np.random.default_rng(5).normal(size=(9, 8, 7)).astype(np.float32)
    dense = embed_volume(model, volume, patch_size=patch_size, tile=4)
    naive = embed_voxels_naive(model, volume, voxels=_all_voxels(volume.shape), patch_size=patch_size)
    np.testing.assert_allclose(dense.reshape(-1, 2), naive, rtol=0, atol=1e-5)


def test_dense_is_close_to_naive_for_a_smaller_patch():
    model = _model()
    volume = np.random.default_rng(1).normal(size=(12, 11, 10)).astype(np.float32)
    dense = embed_volume(model, volume, patch_size=5, tile=None).reshape(-1, 2)
    naive = embed_voxels_naive(model, volume, voxels=_all_voxels(volume.shape), patch_size=5)
    assert np.abs(dense - naive).max() < RESAMPLING_TOLERANCE
    # the difference comes from the patch faces only: it is far below the spread of the embeddings
    assert np.abs(dense - naive).mean() < 0.05 * naive.std()


@pytest.mark.parametrize("patch_size", (10, 5, 20))
@pytest.mark.parametrize("tile", (3, 7, 16))
def test_tiled_equals_untiled(patch_size, tile):
    model = _model()
    volume = np.random.default_rng(2).normal(size=(13, 9, 11)).astype(np.float32)
    whole = embed_volume(model, volume, patch_size=patch_size, tile=None)
    tiled = embed_volume(model, volume, patch_size=patch_size, tile=tile)
    # Equal up to the float32 rounding of convolutions evaluated over differently sized inputs.
    np.testing.assert_allclose(tiled, whole, rtol=0, atol=1e-6)


@pytest.mark.parametrize("patch_size", (1, 2, 5))
def test_upsampled_slabs_stay_within_the_cap_and_tiles_agree(monkeypatch, patch_size):
    """p < m: the tile shrinks so that (tile + p + 1) s <= MAX_UPSAMPLED_SIDE, and the result is unchanged."""
    import hypseg.inference.embed as embed

    monkeypatch.setattr(embed, "MAX_UPSAMPLED_SIDE", 60)
    s = 10 // patch_size
    side = embed.tile_side(48, patch_size, s)
    assert (side + patch_size + 1) * s <= 60 < (side + 1 + patch_size + 1) * s
    assert embed.tile_side(48, 20, 1) == 48  # no upsampling, no cap
    model = _model()
    volume = np.random.default_rng(4).normal(size=(7, 6, 5)).astype(np.float32)
    capped = embed_volume(model, volume, patch_size=patch_size, tile=48)
    np.testing.assert_allclose(capped, embed_volume(model, volume, patch_size=patch_size, tile=None), rtol=0, atol=1e-6)


def test_memory_mapped_volumes_are_read_by_slab(tmp_path):
    model = _model()
    volume = np.random.default_rng(3).normal(size=(12, 12, 12)).astype(np.float32)
    np.save(tmp_path / "v.npy", volume)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="r")
    np.testing.assert_array_equal(embed_volume(model, mapped, tile=5), embed_volume(model, volume, tile=5))


def test_read_slab_replicates_the_faces():
    a = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    slab = read_slab(a, (-2, 1, 4), (3, 4, 8))
    expected = a[np.ix_(np.clip(np.arange(-2, 3), 0, 3), np.arange(1, 4), np.clip(np.arange(4, 8), 0, 5))]
    np.testing.assert_array_equal(slab, expected)
    far = read_slab(a, (10, 0, 0), (12, 2, 2))  # entirely outside: the nearest face repeated
    np.testing.assert_array_equal(far, a[np.ix_([3, 3], [0, 1], [0, 1])])


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda m: embed_volume(m, np.zeros((4, 4))), r"volume must be 3-D \(Z, Y, X\), got shape \(4, 4\)"),
        (lambda m: embed_volume(m, np.zeros((4, 4, 4)), patch_size=3), r"patch_size 3 must divide or be a multiple of the model's patch size m = 10"),
        (lambda m: embed_volume(m, np.zeros((4, 4, 4)), tile=0), r"tile must be >= 1, got 0"),
    ],
)
def test_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(_model())


def test_multiscale_embedding_stacks_one_ball_per_patch_side():
    from hypseg.inference import embed_volume_multiscale

    model = _model()
    volume = np.random.default_rng(4).normal(size=(11, 10, 9)).astype(np.float32)
    both = embed_volume_multiscale(model, volume, patch_sizes=(5, 10), tile=None)
    assert both.shape == (11, 10, 9, 4)
    np.testing.assert_array_equal(both[..., :2], embed_volume(model, volume, patch_size=5, tile=None))
    np.testing.assert_array_equal(both[..., 2:], embed_volume(model, volume, patch_size=10, tile=None))


def test_a_padded_encoder_embeds_every_voxel_by_its_own_patch():
    import dataclasses

    from hypseg.config import paper_recipe
    from hypseg.inference.embed import embed_volume, embed_volume_patches, embed_voxels_naive
    from hypseg.models import HVAE

    torch.manual_seed(0)
    config = dataclasses.replace(paper_recipe().model, channels=(2, 2, 2, 2), hidden=8)
    model = HVAE(config).eval()
    volume = np.random.default_rng(0).normal(size=(6, 7, 5)).astype(np.float32)
    dense = embed_volume(model, volume, patch_size=5)  # routed to the per-patch path
    voxels = np.array([[0, 0, 0], [3, 4, 2], [5, 6, 4]])
    np.testing.assert_allclose(dense[tuple(voxels.T)], embed_voxels_naive(model, volume, voxels=voxels, patch_size=5), rtol=1e-5, atol=1e-6)
    zero = embed_volume_patches(model, volume, patch_size=5, padding="zero")
    np.testing.assert_allclose(zero[3, 3, 2], dense[3, 3, 2], rtol=1e-5, atol=1e-6)  # an inner voxel: no padding read
    padded = np.pad(volume, 2)
    crop = torch.from_numpy(padded[None, None, 0:5, 0:5, 0:5].copy())
    expected = model.encode_mean(torch.nn.functional.interpolate(crop, size=(10, 10, 10), mode="trilinear", align_corners=False))
    np.testing.assert_allclose(zero[0, 0, 0], expected[0].detach().numpy(), rtol=1e-5, atol=1e-6)


def test_embedding_spread_is_the_mean_coordinate_std_and_samples_large_embeddings_evenly():
    from hypseg.inference.embed import COLLAPSED_SPREAD, embedding_spread

    rng = np.random.default_rng(0)
    assert embedding_spread(np.full((4, 4, 4, 2), 0.3, dtype=np.float32)) == 0.0
    spread = rng.normal(0.0, [0.1, 0.3], size=(20, 20, 20, 2))
    assert embedding_spread(spread) == pytest.approx(spread.reshape(-1, 2).std(axis=0).mean(), rel=1e-12)
    # a strided sample of a large embedding keeps its spread
    assert embedding_spread(spread, max_points=1000) == pytest.approx(embedding_spread(spread), rel=0.1)
    collapsed = 0.5 + 3e-6 * rng.standard_normal((10, 10, 10, 2))  # a collapsed run: 3e-6, below the bar
    assert embedding_spread(collapsed) < COLLAPSED_SPREAD < embedding_spread(spread)


def _inverted_by_hand(model, volume, voxels, patch_size):
    """Each voxel's code and its crop's code with every axis reversed, averaged in the tangent space at the origin
    (a Euclidean model's: as they are) and mapped back, one crop at a time."""
    from hypseg.geometry import expmap0, logmap0

    p = patch_size
    padded = np.pad(volume, [(p // 2, p - 1 - p // 2)] * 3, mode="edge")
    rows = []
    for z, y, x in voxels:
        crop = torch.from_numpy(padded[z:z + p, y:y + p, x:x + p].copy())[None, None]
        if p != model.config.patch_size:
            m = model.config.patch_size
            crop = torch.nn.functional.interpolate(crop, size=(m, m, m), mode="trilinear", align_corners=False)
        a, b = (model.encode_mean(c).double() for c in (crop, torch.flip(crop, (2, 3, 4))))
        if model.config.hyperbolic:
            rows.append(expmap0((logmap0(a, c=1.0) + logmap0(b, c=1.0)) / 2, c=1.0)[0].detach().numpy())
        else:
            rows.append(((a + b) / 2)[0].detach().numpy())
    return np.array(rows)


@pytest.mark.parametrize("variant", ("hyperbolic-gyro", "euclidean"))
@pytest.mark.parametrize("patch_size", (10, 5, 20))
def test_inversion_averages_each_code_with_its_reversed_patch_on_every_path(variant, patch_size):
    """p = m (dense), p < m (upsampled), p > m (polyphase) and the naive path all agree with a crop-by-crop reference."""
    model = _model(variant).eval()
    volume = np.random.default_rng(3).normal(size=(9, 8, 7)).astype(np.float32)
    voxels = np.array([[0, 0, 0], [4, 3, 5], [8, 7, 6], [2, 6, 1]])
    expected = _inverted_by_hand(model, volume, voxels, patch_size)
    naive = embed_voxels_naive(model, volume, voxels=voxels, patch_size=patch_size, inversion=True)
    np.testing.assert_allclose(naive, expected, rtol=0, atol=1e-5)
    dense = embed_volume(model, volume, patch_size=patch_size, tile=4, inversion=True)[tuple(voxels.T)]
    atol = RESAMPLING_TOLERANCE if patch_size < model.config.patch_size else 1e-5  # the upsampled path resamples the volume
    np.testing.assert_allclose(dense, expected, rtol=0, atol=atol)
    plain = embed_voxels_naive(model, volume, voxels=voxels, patch_size=patch_size)
    assert np.abs(naive - plain).max() > 1e-3  # a random encoder is not symmetric: the average moved the codes


@pytest.mark.parametrize("patch_size", (5, 10))
def test_with_inversion_a_reversed_volume_embeds_as_the_volume_reversed(patch_size):
    """The law inversion buys: reversing the volume on every axis reverses its embedding (for an even side the
    patches start one voxel off, so the reversed volume's embedding is the reversed one shifted by a voxel)."""
    model = _model().eval()
    volume = np.random.default_rng(4).normal(size=(10, 9, 8)).astype(np.float32)
    reversed_volume = np.ascontiguousarray(volume[::-1, ::-1, ::-1])
    for inversion, holds in ((True, True), (False, False)):
        ours = embed_volume(model, volume, patch_size=patch_size, tile=None, inversion=inversion)[::-1, ::-1, ::-1]
        theirs = embed_volume(model, reversed_volume, patch_size=patch_size, tile=None, inversion=inversion)
        if patch_size % 2 == 0:
            ours, theirs = ours[:-1, :-1, :-1], theirs[1:, 1:, 1:]
        assert np.allclose(theirs, ours, rtol=0, atol=1e-5) is holds


def test_inversion_tiled_and_in_a_region_equal_the_whole_volume():
    model = _model().eval()
    volume = np.random.default_rng(6).normal(size=(12, 10, 9)).astype(np.float32)
    whole = embed_volume(model, volume, patch_size=5, tile=None, inversion=True)
    np.testing.assert_allclose(embed_volume(model, volume, patch_size=5, tile=3, inversion=True), whole, rtol=0, atol=1e-6)
    box = (slice(2, 9), slice(1, 6), slice(3, 9))
    np.testing.assert_allclose(embed_volume(model, volume, patch_size=5, tile=4, inversion=True, region=box), whole[box],
                               rtol=0, atol=1e-6)


def test_codes_are_averaged_in_the_tangent_space_and_mapped_back_into_the_ball():
    """Far from the origin the tangent-space mean differs from the coordinates' mean: the average is the former."""
    from hypseg.geometry import expmap0, logmap0
    from hypseg.inference.embed import average_inverted

    codes, inverted = np.array([[0.9, 0.0], [0.5, 0.5]]), np.array([[0.0, 0.9], [0.5, -0.5]])
    ball = average_inverted(_model(), codes, inverted)
    t = lambda a: logmap0(torch.from_numpy(a), c=1.0)  # noqa: E731
    expected = expmap0((t(codes) + t(inverted)) / 2, c=1.0).numpy()
    np.testing.assert_allclose(ball, expected, rtol=0, atol=1e-6)
    assert np.abs(ball - (codes + inverted) / 2).max() > 0.05 and (np.linalg.norm(ball, axis=1) < 1).all()
    flat = average_inverted(_model("euclidean"), codes, inverted)  # a Euclidean model's codes: their plain mean
    np.testing.assert_allclose(flat, (codes + inverted) / 2, rtol=0, atol=1e-7)
