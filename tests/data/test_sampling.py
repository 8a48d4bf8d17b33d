"""TripletSampler: containment and separation from the recorded boxes, side bounds and distributions
(Kolmogorov-Smirnov), agreement with torch's trilinear resize, reproducibility, no constant anchors,
DataLoader workers with their own streams."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch
from scipy import stats

from hypseg.config import DataConfig
from hypseg.errors import UserError
from hypseg.data.sampling import PatchSource, TripletSampler, draw_boxes, extract_patches, random_orientations, side_bounds


def _volumes(n=3, shape=(32, 32, 32), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(np.float32) for _ in range(n)]


def _boxes(config, *, n=4000, shapes=((32, 32, 32),), seed=0):
    return draw_boxes(np.random.default_rng(seed), np.array(shapes), n, config=config)


CFG_U = DataConfig(patch_min=5.0, patch_max=20.0, child_min=3.0, child_gap=1.0)
CFG_L = DataConfig(patch_min=4.0, patch_max=30.0, patch_distribution="log-uniform")


@pytest.mark.parametrize("config", [CFG_U, CFG_L, DataConfig()])
def test_positive_inside_negative_outside_and_in_volume(config):
    shapes = ((32, 32, 32), (50, 40, 36), (20, 60, 24)) if config.patch_max <= 20 else ((50, 50, 50), (40, 44, 48))
    b = _boxes(config, shapes=shapes)
    S = np.array(shapes, dtype=float)[b.volume]
    r, s = b.anchor_side[:, None], b.child_side[:, None]
    a, p, q = b.anchor_corner, b.positive_corner, b.negative_corner
    for corner, side in ((a, r), (p, s), (q, s)):  # every cube inside its volume
        assert np.all(corner >= 0) and np.all(corner + side <= S + 1e-9)
    assert np.all(p >= a - 1e-12) and np.all(p + s <= a + r + 1e-9)  # positive inside its parent
    separated = (q + s <= a + 1e-12) | (q >= a + r - 1e-12)  # per axis
    assert np.all(separated.any(axis=1))  # negative shares no volume with the parent


@pytest.mark.parametrize("config", [CFG_U, CFG_L])
def test_side_bounds_and_distributions(config):
    b = _boxes(config)
    lo, hi = side_bounds((32, 32, 32), config=config)
    r, s = b.anchor_side, b.child_side
    assert np.all((r >= lo) & (r <= hi))
    s_hi = np.minimum(r - config.child_gap, 32 - r)
    assert np.all(s >= config.child_min) and np.all(s <= s_hi + 1e-12) and np.all(s <= r - config.child_gap + 1e-12)
    if config.patch_distribution == "uniform":
        target = stats.uniform(loc=lo, scale=hi - lo).cdf
        wrong = stats.loguniform(lo, hi).cdf
    else:
        target = stats.loguniform(lo, hi).cdf
        wrong = stats.uniform(loc=lo, scale=hi - lo).cdf
    assert stats.kstest(r, target).pvalue > 1e-3
    assert stats.kstest(r, wrong).pvalue < 1e-6  # the test can tell the two apart
    # child: uniform on [l_min, s_hi(r)] given r
    u = (s - config.child_min) / (s_hi - config.child_min)
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_untruncated_child_matches_paper_distribution():
    # when a negative always fits (2 r_max - r_gap <= S), s ~ U(l_min, r - r_gap) exactly
    b = _boxes(CFG_U, shapes=((48, 48, 48),))
    u = (b.child_side - 3.0) / (b.anchor_side - 1.0 - 3.0)
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_positions_uniform():
    b = _boxes(CFG_U, n=3000)
    rel = (b.positive_corner - b.anchor_corner) / (b.anchor_side - b.child_side)[:, None]
    for axis in range(3):
        assert stats.kstest(rel[:, axis], "uniform").pvalue > 1e-3


def test_extract_matches_torch_trilinear_on_integer_boxes():
    vols = _volumes(2, shape=(20, 24, 28))
    source = PatchSource(vols)
    rng = np.random.default_rng(5)
    n = 40
    volume = rng.integers(2, size=n)
    side = rng.integers(3, 19, size=n).astype(float)
    corner = np.stack([rng.integers(0, np.array(vols[0].shape[k]) - side + 1) for k in range(3)], axis=1).astype(float)
    got = extract_patches(source, volume=volume, corner=corner, side=side, size=10)
    for i in range(n):
        z, y, x = corner[i].astype(int)
        k = int(side[i])
        crop = torch.from_numpy(vols[volume[i]][z : z + k, y : y + k, x : x + k].copy())[None, None]
        ref = torch.nn.functional.interpolate(crop, size=(10, 10, 10), mode="trilinear", align_corners=False)[0, 0]
        np.testing.assert_allclose(got[i], ref.numpy(), rtol=1e-5, atol=1e-5)


def test_patch_of_linear_ramp_is_exact():
    # trilinear interpolation reproduces a linear function at the sample points
    z, y, x = np.meshgrid(*[np.arange(30.0)] * 3, indexing="ij")
    vol = (0.5 * z - 2.0 * y + 3.0 * x).astype(np.float32)
    source = PatchSource([vol])
    corner, side = np.array([[2.3, 4.7, 1.1]]), np.array([17.4])
    patch = extract_patches(source, volume=np.array([0]), corner=corner, side=side, size=10)[0]
    t = corner[0][:, None] + (np.arange(10) + 0.5) / 10 * side[0] - 0.5  # (3, m) voxel-centre coordinates
    expected = 0.5 * t[0][:, None, None] - 2.0 * t[1][None, :, None] + 3.0 * t[2][None, None, :]
    np.testing.assert_allclose(patch, expected, rtol=1e-5, atol=1e-4)


def test_reproducible_per_seed_and_new_sizes_each_epoch():
    cfg = DataConfig(patch_max=16.0, triplets_per_batch=16, batches_per_epoch=3)
    vols = _volumes(2)
    a = list(TripletSampler(vols, config=cfg, seed=3))
    b = list(TripletSampler(vols, config=cfg, seed=3))
    c = list(TripletSampler(vols, config=cfg, seed=4))
    for x, y in zip(a, b):
        for fx, fy in zip(x, y):
            assert torch.equal(fx, fy)
    assert not torch.equal(a[0].anchor_side, c[0].anchor_side)
    s = TripletSampler(vols, config=cfg, seed=3)
    s.set_epoch(1)
    d = list(s)
    assert not torch.equal(a[0].anchor_side, d[0].anchor_side)
    assert len(a) == len(s) == 3


def test_no_constant_anchors():
    vol = np.zeros((32, 32, 32), dtype=np.float32)
    vol[20:, 20:, 20:] = np.random.default_rng(0).normal(size=(12, 12, 12))  # mostly empty background
    cfg = DataConfig(patch_max=14.0, triplets_per_batch=64, batches_per_epoch=2)
    sampler = TripletSampler([vol], config=cfg, seed=0)
    boxes = draw_boxes(np.random.default_rng(0), np.array([vol.shape]), 2000, config=cfg)
    raw = extract_patches(sampler.source, volume=boxes.volume, corner=boxes.anchor_corner, side=boxes.anchor_side, size=10)
    assert np.mean(np.ptp(raw.reshape(2000, -1), axis=1) <= cfg.constant_tol) > 0.2  # many would be constant
    for batch in sampler:
        assert batch.anchor.shape == (64, 1, 10, 10, 10)
        flat = batch.anchor.reshape(64, -1)
        assert torch.all(flat.amax(dim=1) - flat.amin(dim=1) > cfg.constant_tol)
        # the recorded boxes are the ones the patches were cut from
        again = extract_patches(sampler.source, volume=batch.volume.numpy(), corner=batch.anchor_corner.numpy(),
                                side=batch.anchor_side.numpy(), size=10)
        np.testing.assert_array_equal(again, batch.anchor[:, 0].numpy())


def test_dataloader_workers_have_their_own_streams():
    cfg = DataConfig(patch_max=16.0, triplets_per_batch=8, batches_per_epoch=4)
    sampler = TripletSampler(_volumes(2), config=cfg, seed=0)
    loader = torch.utils.data.DataLoader(sampler, batch_size=None, num_workers=2)
    first = list(loader)
    assert len(first) == 4
    sides = [tuple(b.anchor_side.tolist()) for b in first]
    assert len(set(sides)) == 4  # workers do not repeat each other
    again = [tuple(b.anchor_side.tolist()) for b in loader]
    assert sorted(again) == sorted(sides)  # reproducible with the same seed and worker count


def test_bad_volumes_rejected():
    with pytest.raises(ValueError, match=r"volume 0: a volume of shape \(6, 6, 6\) is too small for patches of side 5"):
        TripletSampler([np.ones((6, 6, 6), np.float32)])
    with pytest.raises(ValueError, match="volume 1: contains NaN or Inf voxels"):
        TripletSampler([np.ones((40, 40, 40), np.float32), np.full((40, 40, 40), np.nan, np.float32)])
    with pytest.raises(ValueError, match=r"volume 0: expected a 3-D array"):
        TripletSampler([np.ones((40, 40), np.float32)])
    with pytest.raises(ValueError, match="non-constant anchor patches"):
        next(iter(TripletSampler([np.zeros((40, 40, 40), np.float32)])))


def _symmetries(cube):
    """The 48 symmetric copies of one (m, m, m) cube: an axis order, then flips."""
    for axes in itertools.permutations((0, 1, 2)):
        for flips in itertools.product((False, True), repeat=3):
            turned = cube.transpose(axes)
            yield np.flip(turned, axis=tuple(a for a in range(3) if flips[a]))


def test_random_orientations_give_each_patch_one_of_the_48_symmetries_of_the_cube_uniformly():
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(4, 4, 4))  # generic: its 48 copies differ from each other
    copies = list(_symmetries(cube))
    assert len({c.tobytes() for c in copies}) == 48
    turned = random_orientations(np.random.default_rng(1), np.repeat(cube[None], 4800, axis=0))
    which = [next(i for i, c in enumerate(copies) if np.array_equal(t, c)) for t in turned]  # each is one of them
    counts = np.bincount(which, minlength=48)
    assert stats.chisquare(counts).pvalue > 0.001


def test_random_orientation_turns_the_patches_of_the_same_triplets():
    cfg = DataConfig(patch_max=16.0, triplets_per_batch=32, batches_per_epoch=1)
    vols = _volumes(2)
    plain = next(iter(TripletSampler(vols, config=cfg, seed=5)))
    turned = next(iter(TripletSampler(vols, config=dataclasses.replace(cfg, random_orientation=True), seed=5)))
    for field in ("volume", "anchor_corner", "anchor_side", "positive_corner", "negative_corner", "child_side"):
        assert torch.equal(getattr(plain, field), getattr(turned, field))  # the same boxes, drawn before the turns
    moved = 0
    for field in ("anchor", "positive", "negative"):
        for a, b in zip(getattr(plain, field)[:, 0].numpy(), getattr(turned, field)[:, 0].numpy()):
            assert any(np.array_equal(b, c) for c in _symmetries(a))
            moved += not np.array_equal(a, b)
    assert moved > 80  # 47 of 48 draws turn a patch


def test_random_orientation_needs_the_multiscale_sampler():
    with pytest.raises(UserError, match=r"^DataConfig: random_orientation needs the multiscale sampler, got sampler 'paper'$"):
        DataConfig(sampler="paper", random_orientation=True)


def _smooth_volumes(n=2, shape=(32, 32, 32), seed=0):
    """Volumes whose patch means vary a lot from place to place (random walks along z)."""
    rng = np.random.default_rng(seed)
    return [np.cumsum(rng.normal(size=shape), axis=0).astype(np.float32) for _ in range(n)]


def test_negative_candidates_keep_the_candidate_nearest_the_positive_mean_by_a_slow_reference():
    from hypseg.data.sampling import _draw_negative_corners

    cfg = DataConfig(patch_max=16.0, triplets_per_batch=24, negative_candidates=5)
    sampler = TripletSampler(_smooth_volumes(), config=cfg, seed=0)
    batch = sampler.sample_batch(np.random.default_rng(7))
    rng = np.random.default_rng(7)  # replay the same draws: boxes, then four more negatives per triplet
    boxes, _ = sampler.sample_boxes(rng)
    S = sampler.source.shapes[boxes.volume].astype(np.float64)
    more = [_draw_negative_corners(rng, S=S, anchor=boxes.anchor_corner, r=boxes.anchor_side, s=boxes.child_side) for _ in range(4)]
    for i in range(cfg.triplets_per_batch):
        def patch_mean(corner):
            return float(extract_patches(sampler.source, volume=boxes.volume[i : i + 1], corner=corner[None],
                                         side=boxes.child_side[i : i + 1], size=cfg.patch_resize).mean())
        target = float(batch.positive[i].mean())
        gaps = [abs(patch_mean(c[i]) - target) for c in [boxes.negative_corner] + more]
        chosen = ([boxes.negative_corner] + more)[int(np.argmin(gaps))][i]
        np.testing.assert_array_equal(batch.negative_corner[i].numpy(), chosen)
        np.testing.assert_array_equal(batch.negative[i, 0].numpy(), extract_patches(  # the patch is the chosen box's
            sampler.source, volume=boxes.volume[i : i + 1], corner=chosen[None], side=boxes.child_side[i : i + 1], size=cfg.patch_resize)[0])
        assert float(batch.negative[i].mean()) == pytest.approx(target, abs=min(gaps) + 1e-5)


def test_negative_candidates_change_only_the_negatives_which_stay_clear_of_the_anchor_and_near_the_positive_mean():
    cfg = DataConfig(patch_max=16.0, triplets_per_batch=256)
    vols = _smooth_volumes()
    plain = TripletSampler(vols, config=cfg, seed=3).sample_batch(np.random.default_rng(1))
    matched = TripletSampler(vols, config=dataclasses.replace(cfg, negative_candidates=16), seed=3).sample_batch(np.random.default_rng(1))
    for field in ("volume", "anchor_corner", "anchor_side", "positive_corner", "child_side", "anchor", "positive"):
        assert torch.equal(getattr(plain, field), getattr(matched, field))
    a, r = matched.anchor_corner.numpy(), matched.anchor_side.numpy()[:, None]
    q, s = matched.negative_corner.numpy(), matched.child_side.numpy()[:, None]
    assert not np.all((q < a + r) & (a < q + s), axis=1).any()  # no negative overlaps its anchor
    gap = lambda b: (b.negative.mean(dim=(1, 2, 3, 4)) - b.positive.mean(dim=(1, 2, 3, 4))).abs()
    assert torch.all(gap(matched) <= gap(plain) + 1e-6)  # the first candidate is the plain draw
    assert float(gap(matched).median()) < 0.25 * float(gap(plain).median())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"negative_candidates": 0}, r"^DataConfig: negative_candidates must be >= 1, got 0$"),
    ({"negative_candidates": 4, "sampler": "paper"}, r"^DataConfig: negative_candidates needs the multiscale sampler, got sampler 'paper'$"),
    ({"anchor_candidates": 0}, r"^DataConfig: anchor_candidates must be >= 1, got 0$"),
    ({"anchor_candidates": 4, "sampler": "paper"}, r"^DataConfig: anchor_candidates needs the multiscale sampler, got sampler 'paper'$"),
    ({"anchor_balance": "quantiles"}, r"^DataConfig: anchor_balance must be one of \('bins', 'otsu'\), got 'quantiles'$"),
])
def test_candidates_settings_errors(kwargs, message):
    with pytest.raises(UserError, match=message):
        DataConfig(**kwargs)


def test_balanced_choice_keeps_each_candidate_as_often_as_one_over_its_bins_count():
    from hypseg.data.sampling import balanced_choice

    values = np.r_[np.zeros(80), np.full(15, 0.5), np.ones(5)]  # three bins of 80, 15 and 5
    counts = np.zeros(values.size)
    for seed in range(2000):
        counts[balanced_choice(np.random.default_rng(seed), values, 1, bins=4)] += 1
    for level, size in ((0.0, 80), (0.5, 15), (1.0, 5)):  # one draw: each bin a third of the time
        assert counts[values == level].sum() / 2000 == pytest.approx(1 / 3, abs=0.04)
        expected = 2000 / 3 / size  # alike within a bin: each element about its share, within 5 Poisson sigmas
        assert np.all(np.abs(counts[values == level] - expected) < 5 * np.sqrt(expected) + 1)
    kept = balanced_choice(np.random.default_rng(0), values, 30, bins=4)
    assert len(set(kept.tolist())) == 30  # without replacement


def test_otsu_balance_keeps_each_side_of_the_threshold_half_the_time_whatever_lies_between():
    from hypseg.data.sampling import balanced_choice

    values = np.r_[np.zeros(70), np.linspace(0.1, 0.2, 20), np.ones(10)]  # Otsu's cut lies between 0.2 and 1
    counts = np.zeros(values.size)
    for seed in range(2000):
        counts[balanced_choice(np.random.default_rng(seed), values, 1, split="otsu")] += 1
    assert counts[values == 1].sum() / 2000 == pytest.approx(0.5, abs=0.04)
    low = counts[values < 1]  # alike below the cut, zeros and the middle values together
    assert np.all(np.abs(low - 1000 / 90) < 5 * np.sqrt(1000 / 90) + 1)
    constant = balanced_choice(np.random.default_rng(0), np.ones(8), 8, split="otsu")  # one class: every value kept
    assert sorted(constant.tolist()) == list(range(8))
    with pytest.raises(ValueError, match=r"^split must be 'bins' or 'otsu', got 'ranks'$"):
        balanced_choice(np.random.default_rng(0), values, 1, split="ranks")


def test_anchor_candidates_spread_the_anchor_means_of_a_rare_bright_object_and_keep_whole_triplets():
    grid = np.indices((40, 40, 40)) - 19.5
    bright = ((grid ** 2).sum(0) < 7.0 ** 2).astype(np.float32)  # about 2% of the volume
    vols = [bright + 0.05 * np.random.default_rng(i).normal(size=bright.shape).astype(np.float32) for i in range(2)]
    cfg = DataConfig(patch_min=5.0, patch_max=10.0, child_min=2.0, triplets_per_batch=256)
    plain = TripletSampler(vols, config=cfg, seed=0).sample_batch(np.random.default_rng(1))
    balanced = TripletSampler(vols, config=dataclasses.replace(cfg, anchor_candidates=8), seed=0).sample_batch(np.random.default_rng(1))
    means = lambda b: b.anchor.mean(dim=(1, 2, 3, 4)).numpy()
    assert (means(balanced) > 0.5).mean() > 3 * (means(plain) > 0.5).mean()
    a, r = balanced.anchor_corner.numpy(), balanced.anchor_side.numpy()[:, None]
    p, s = balanced.positive_corner.numpy(), balanced.child_side.numpy()[:, None]
    assert np.all((a <= p + 1e-9) & (p + s <= a + r + 1e-9))  # every kept positive still lies in its own anchor
    source = PatchSource(vols)
    np.testing.assert_array_equal(balanced.anchor[:, 0].numpy(), extract_patches(
        source, volume=balanced.volume.numpy(), corner=a, side=balanced.anchor_side.numpy(), size=cfg.patch_resize))


def test_one_anchor_candidate_keeps_the_draws_as_they_come():
    cfg = DataConfig(patch_max=16.0, triplets_per_batch=32)
    sampler = TripletSampler(_smooth_volumes(), config=cfg, seed=0)
    batch = sampler.sample_batch(np.random.default_rng(5))
    boxes, anchors = sampler.sample_boxes(np.random.default_rng(5))  # the same stream, nothing resampled
    np.testing.assert_array_equal(batch.anchor_corner.numpy(), boxes.anchor_corner)
    np.testing.assert_array_equal(batch.anchor[:, 0].numpy(), anchors)
