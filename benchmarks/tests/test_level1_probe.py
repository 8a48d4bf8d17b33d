"""The level-1 probe's arithmetic: patch-share bins, the 0.5 crossing, the nearer centre."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scipy import ndimage

from benchmarks.level1_probe import BINS, code_response, crossing, mixing_response, nearer_centre, shares_of
from hypseg.geometry import dist


def test_a_map_that_follows_the_patch_mean_crosses_at_one_half():
    foreground = np.zeros((20, 20, 20), dtype=bool)
    foreground[:, :, 10:] = True  # a flat edge: patch shares run from 0 to 1 across it
    share = np.clip((np.arange(20) - 10 + 3) / 5, 0, 1)  # the share of a 5-wide window, along x
    called = np.broadcast_to(share >= 0.5, foreground.shape)  # a threshold of the patch mean at 0.5
    counts, hits = mixing_response(called, foreground, 5)
    shares = shares_of(counts, hits)
    assert counts.sum() == foreground.size and hits.sum() == called.sum()
    assert shares[0] == 0.0 and shares[-1] == 1.0
    assert crossing(shares) == pytest.approx(0.5, abs=0.05)
    dilated = np.broadcast_to(share >= 0.2, foreground.shape)  # a patch 20 % inside already counts as inside
    assert crossing(shares_of(*mixing_response(dilated, foreground, 5))) < 0.3


def test_crossing_interpolates_between_bins_and_is_nan_when_never_reached():
    mids = (BINS[:-1] + BINS[1:]) / 2
    assert crossing(np.clip(mids, 0, 1)) == pytest.approx(0.5)
    assert crossing(np.where(mids < 0.3, 0.0, 1.0)) == pytest.approx((mids[2] + mids[3]) / 2)  # halfway from 0.25 to 0.35
    assert np.isnan(crossing(np.zeros(len(mids))))
    shares = np.full(len(mids), np.nan)
    shares[[0, 9]] = [0.0, 1.0]  # empty bins are skipped
    assert crossing(shares) == pytest.approx(0.5)


def test_nearer_centre_agrees_with_the_balls_distance():
    rng = np.random.default_rng(0)
    points = rng.uniform(-0.6, 0.6, (4, 5, 6, 2))
    centres = np.array([[0.5, 0.0], [-0.3, 0.4]])
    found = nearer_centre(points, centres, c=1.0, hyperbolic=True, chunk=7)
    x = torch.from_numpy(points.reshape(-1, 1, 2))
    expected = dist(x, torch.from_numpy(centres)[None]).argmin(dim=1).numpy().reshape(points.shape[:-1])
    np.testing.assert_array_equal(found, expected)
    euclid = nearer_centre(points, centres, c=1.0, hyperbolic=False)
    np.testing.assert_array_equal(euclid, np.linalg.norm(points[..., None, :] - centres, axis=-1).argmin(-1))


def test_the_patch_mean_reference_finds_a_bright_slab_and_crosses_near_one_half():
    from benchmarks.level1_probe import patch_mean_reference

    rng = np.random.default_rng(1)
    foreground = np.zeros((24, 24, 24), dtype=bool)
    foreground[:, :, 12:] = True  # flat edges: a linear descriptor puts them where they are
    image = foreground * 1.0 + rng.normal(0, 0.05, foreground.shape)
    found = patch_mean_reference(image, foreground, 5, sample=5000)
    assert found["dice"] > 0.95 and abs(found["share"] - foreground.mean()) < 0.02
    assert 0.35 < found["crossing"] < 0.65


def test_level1_mixing_takes_the_centre_nearer_most_true_foreground_as_the_foreground():
    from benchmarks.level1_probe import level1_mixing
    from hypseg.config import ModelConfig

    foreground = np.zeros((12, 12, 12), dtype=bool)
    foreground[:, :, 6:] = True
    embedding = np.where(foreground[..., None], [0.4, 0.0], [-0.4, 0.0]).astype(np.float32)
    for centres in ([[0.4, 0.0], [-0.4, 0.0]], [[-0.4, 0.0], [0.4, 0.0]]):  # either order of the two centres
        counts, hits = level1_mixing(embedding, np.array(centres), foreground, 3, geometry=ModelConfig())
        shares = shares_of(counts, hits)
        assert counts.sum() == foreground.size and shares[0] == 0.0 and shares[-1] == 1.0


def test_level1_mixing_assigns_voxels_where_the_fit_clustered_them():
    """A voxel at (0.8, 0.4) lies nearer the centre (0, 0.5) by the ball's distance (2.96 against 3.67) but
    nearer (0.95, 0) in the tangent space at the origin (0.84 against 1.30)."""
    from benchmarks.level1_probe import level1_mixing
    from hypseg.config import ModelConfig

    foreground = np.zeros((6, 6, 6), dtype=bool)
    foreground[:, :, 3:] = True
    embedding = np.where(foreground[..., None], [0.95, 0.0], [0.0, 0.5])
    embedding[0, 0, 0] = [0.8, 0.4]  # a background voxel whose side depends on the space
    called = {}
    for space in ("ball", "tangent"):
        counts, hits = level1_mixing(embedding, np.array([[0.95, 0.0], [0.0, 0.5]]), foreground, 1, geometry=ModelConfig(),
                                     space=space)
        called[space] = hits.sum()
    assert called["ball"] == foreground.sum() and called["tangent"] == foreground.sum() + 1


def _bright_ball_scene(seed: int = 0):
    """A rare bright ball (about 6% of the box) in noise, as the nuclei-like validation set makes."""
    grid = np.indices((32, 32, 32)) - 15.5
    foreground = (grid ** 2).sum(0) < 8.0 ** 2
    image = foreground + np.random.default_rng(seed).normal(0.0, 0.3, foreground.shape)
    return image.astype(np.float32), foreground


def test_a_code_that_is_the_box_mean_follows_it_exactly_and_splits_as_it():
    image, foreground = _bright_ball_scene()
    box = ndimage.uniform_filter(image.astype(np.float64), size=5, mode="nearest")
    code = np.stack([-2.0 * box, np.zeros_like(box)], axis=-1)  # the sign of the axis is arbitrary
    out = code_response(code, image, foreground, 5)
    assert out["r_box"] == pytest.approx(1.0)
    assert max(abs(out[f"residual_{where}"]) for where in ("in", "out", "edge_in", "edge_out")) < 1e-9
    assert out["share_code"] == out["share_box"] == out["share_box_noise"]  # r = 1: no noise is added
    assert 0.9 * foreground.mean() < out["share_box"] < 1.6 * foreground.mean()
    assert out["r_normal_scores"] < out["r_box"]  # a bimodal box mean is far from its normal scores


def test_a_code_that_saturates_on_the_object_lies_below_its_line_there_and_over_grows():
    image, foreground = _bright_ball_scene()
    box = ndimage.uniform_filter(image.astype(np.float64), size=5, mode="nearest")
    code = np.tanh(2.0 * box)[..., None]  # bright patches squeezed together
    out = code_response(code, image, foreground, 5)
    assert out["residual_in"] < -0.05 and out["residual_out"] > 0.0
    assert out["share_code"] > out["share_box"]  # the squeezed object's centre pulls the cut outwards
    assert out["share_box_noise"] == pytest.approx(out["share_box"], rel=0.2)


def test_a_code_that_lifts_the_dim_end_places_the_patches_across_the_edge_above_their_line():
    image, foreground = _bright_ball_scene()
    box = ndimage.uniform_filter(image.astype(np.float64), size=5, mode="nearest")
    code = np.sqrt(box - box.min())[..., None]  # a little object in a patch moves the code far
    out = code_response(code, image, foreground, 5)
    assert out["residual_edge_out"] > 0.1 and out["residual_edge_out"] > 3 * out["residual_out"]
    assert out["share_code"] > out["share_box"]


def test_code_response_refuses_a_constant_code():
    image, foreground = _bright_ball_scene()
    with pytest.raises(ValueError, match="^code_response needs a code and a box mean that vary and are correlated$"):
        code_response(np.ones(image.shape + (2,)), image, foreground, 5)
