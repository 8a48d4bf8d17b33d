"""Laws of HyperbolicKMeans / EuclideanKMeans (hypseg.clustering)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.base import clone

from hypseg.clustering import EmptyClusterWarning, EuclideanKMeans, HyperbolicKMeans, frechet_mean, kmeans_plusplus
from hypseg.clustering._base import BaseKMeans
from hypseg.errors import UserError
from hypseg.geometry import cdist, dist, expmap0, mobius_add

F64 = torch.float64


def blobs(k: int, n_per: int, *, c: float = 1.0, spread: float = 0.15, radius: float = 2.5, seed: int = 0):
    """Wrapped-normal blobs mu_j (+) exp_0(u/2), |u| ~ spread, centres at distance ``radius`` from 0."""
    g = torch.Generator().manual_seed(seed)
    angles = torch.arange(k, dtype=F64) * 2 * math.pi / k
    tangent = torch.stack([angles.cos(), angles.sin()], dim=1) * radius / 2  # d(0, mu) = radius
    mus = expmap0(tangent, c=c)
    truth = torch.arange(k).repeat_interleave(n_per)
    u = torch.randn(k * n_per, 2, generator=g, dtype=F64) * spread
    x = mobius_add(mus[truth], expmap0(u / 2, c=c), c=c)
    perm = torch.randperm(len(x), generator=g)
    return x[perm], truth[perm].numpy()


def same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """True if the labelings are equal up to a permutation of the label names (contingency check)."""
    ka, kb = a.max() + 1, b.max() + 1
    table = np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)
    nonzero = table > 0
    return bool(ka == kb and (nonzero.sum(0) == 1).all() and (nonzero.sum(1) == 1).all())


@pytest.mark.parametrize(("c", "k"), [(1.0, 4), (1.0, 8), (0.5, 5), (2.0, 3)])
def test_recovers_planted_blobs(c, k):
    x, truth = blobs(k, 80, c=c, seed=k)
    km = HyperbolicKMeans(n_clusters=k, c=c, n_init=3, random_state=0).fit(x)
    assert same_partition(km.labels_, truth)
    assert km.labels_.dtype == np.int64
    assert isinstance(km.labels_, np.ndarray) and isinstance(km.cluster_centers_, np.ndarray)


def test_labels_invariant_under_mobius_translation():
    x, _ = blobs(5, 60, seed=1)
    for p in (torch.tensor([0.5, -0.2], dtype=F64), torch.tensor([-0.7, 0.6], dtype=F64)):
        moved = mobius_add(p.expand_as(x), x)
        a = HyperbolicKMeans(5, random_state=3).fit(x)
        b = HyperbolicKMeans(5, random_state=3).fit(moved)
        np.testing.assert_array_equal(a.labels_, b.labels_)
        assert b.inertia_ == pytest.approx(a.inertia_, rel=1e-6)
        moved_centres = mobius_add(p.expand(5, 2), torch.from_numpy(a.cluster_centers_))
        assert float(dist(moved_centres, torch.from_numpy(b.cluster_centers_)).max()) < 1e-4


@pytest.mark.parametrize("c", [1.0, 3.0])
def test_inertia_never_increases(c):
    g = torch.Generator().manual_seed(5)
    # overlapping, unstructured data: many iterations
    x = expmap0(torch.randn(3000, 2, generator=g, dtype=F64) * 1.5, c=c)
    km = HyperbolicKMeans(7, c=c, random_state=0, max_iter=60, tol=0.0).fit(x)
    h = km.inertia_history_
    assert len(h) == km.n_iter_ + 1 and km.n_iter_ > 5
    assert np.all(np.diff(h) <= 1e-12 * h[:-1])
    assert h[-1] == pytest.approx(km.inertia_)
    x32 = x.float()
    h32 = HyperbolicKMeans(7, c=c, random_state=0, max_iter=40, tol=0.0).fit(x32).inertia_history_
    assert np.all(np.diff(h32) <= 1e-12 * h32[:-1])


def test_same_random_state_same_result():
    x, _ = blobs(6, 50, spread=0.6, seed=2)
    a = HyperbolicKMeans(6, n_init=2, random_state=11).fit(x)
    b = HyperbolicKMeans(6, n_init=2, random_state=11).fit(x)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_ and a.n_iter_ == b.n_iter_


def test_fitted_state_is_consistent():
    x, _ = blobs(4, 50, spread=0.5, seed=3)
    km = HyperbolicKMeans(4, random_state=0, tol=1e-10).fit(x)
    centres = torch.from_numpy(km.cluster_centers_)
    d = cdist(x, centres)
    np.testing.assert_allclose(km.transform(x), d.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(km.predict(x), km.labels_)
    np.testing.assert_array_equal(km.labels_, d.argmin(1).numpy())
    assert km.inertia_ == pytest.approx(float(d.min(1).values.pow(2).sum()), rel=1e-9)
    assert km.score(x) == pytest.approx(-km.inertia_, rel=1e-12)
    # centres are the Frechet means of their clusters
    means = frechet_mean(x, labels=torch.from_numpy(km.labels_))
    assert float(dist(means, centres).max()) < 1e-6


def test_estimator_contract():
    km = HyperbolicKMeans(3, c=0.5, random_state=1)
    assert km.get_params()["c"] == 0.5 and not hasattr(km, "labels_")
    x, _ = blobs(3, 30, c=0.5, seed=4)
    assert km.fit(x) is km
    other = clone(km)
    assert other.get_params() == km.get_params() and not hasattr(other, "cluster_centers_")
    np.testing.assert_array_equal(clone(km).fit_predict(x), km.labels_)
    assert km.fit_transform(x).shape == (90, 3)
    with pytest.raises(ValueError, match=r"^this HyperbolicKMeans is not fitted yet; call fit first$"):
        HyperbolicKMeans(2).predict(x)


def test_numpy_float32_torch_and_chunking_agree():
    x, truth = blobs(4, 40, seed=6)
    ref = HyperbolicKMeans(4, random_state=0).fit(x)
    for data in (x.numpy(), x.float(), x.float().numpy()):
        km = HyperbolicKMeans(4, random_state=0).fit(data)
        assert same_partition(km.labels_, truth)
    chunked = HyperbolicKMeans(4, random_state=0, chunk_size=7).fit(x)
    np.testing.assert_array_equal(chunked.labels_, ref.labels_)
    np.testing.assert_allclose(chunked.cluster_centers_, ref.cluster_centers_, atol=1e-12)


def test_sample_weight_equals_repetition():
    x, _ = blobs(3, 20, spread=0.4, seed=7)
    w = np.tile([1.0, 2.0, 3.0], 20)
    rep = torch.from_numpy(np.repeat(x.numpy(), w.astype(int), axis=0))
    init = x[[0, 1, 2]].numpy()
    a = HyperbolicKMeans(3, init=init, tol=0.0, max_iter=30).fit(x, sample_weight=w)
    b = HyperbolicKMeans(3, init=init, tol=0.0, max_iter=30).fit(rep)
    assert a.inertia_ == pytest.approx(b.inertia_, rel=1e-9)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-9)


def test_emptied_cluster_is_reseeded_with_a_warning():
    x, truth = blobs(3, 30, seed=8)
    init = np.array([[0.0, 0.0], x[0].numpy() * 1.0, [0.0, -0.999]])  # the last centre attracts nothing
    init[0] = x[int(np.flatnonzero(truth != truth[0])[0])].numpy()
    with pytest.warns(EmptyClusterWarning, match=r"1 cluster\(s\) became empty \(\[2\]\)"):
        km = HyperbolicKMeans(3, init=init).fit(x)
    assert sorted(np.bincount(km.labels_, minlength=3).tolist())[0] > 0


def test_kmeans_plusplus_spreads_over_blobs():
    x, truth = blobs(5, 40, seed=9)
    res = kmeans_plusplus(x, 5, random_state=0)
    assert len(set(truth[res.indices].tolist())) == 5
    assert torch.equal(res.centers, x[torch.from_numpy(res.indices)])
    moved = mobius_add(torch.tensor([0.3, 0.4], dtype=F64).expand_as(x), x)
    np.testing.assert_array_equal(kmeans_plusplus(moved, 5, random_state=0).indices, res.indices)


def test_euclidean_kmeans_matches_sklearn_quality():
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(loc, 0.3, size=(100, 3)) for loc in ([0, 0, 0], [3, 0, 0], [0, 3, 3], [3, 3, 0])])
    ours = EuclideanKMeans(4, n_init=3, random_state=0).fit(x)
    ref = KMeans(4, n_init=3, random_state=0).fit(x)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    assert same_partition(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.transform(x), ref.transform(x)[:, ours.predict(ref.cluster_centers_)], rtol=1e-6)
    assert ours.score(x) == pytest.approx(-ours.inertia_)
    h = ours.inertia_history_
    assert np.all(np.diff(h) <= 1e-12 * h[:-1])
    # no ball: points far outside the unit ball are fine
    assert EuclideanKMeans(2, random_state=0).fit(x * 100).cluster_centers_.shape == (2, 3)


@pytest.mark.parametrize("cls", [HyperbolicKMeans, EuclideanKMeans])
@pytest.mark.parametrize(
    ("X", "kwargs", "message"),
    [
        (np.zeros((0, 2)), {}, r"^X is empty: got shape \(0, 2\)$"),
        (np.array([[0.1, np.nan], [0.0, 0.0]]), {}, r"^X contains NaN or infinity$"),
        (np.array([[0.1, np.inf], [0.0, 0.0]]), {}, r"^X contains NaN or infinity$"),
        (np.zeros((3, 2)), {"n_clusters": 4}, r"^n_clusters=4 must be <= n_samples=3$"),
        (np.zeros(3), {}, r"^X must be a 2-D array \(n_samples, n_features\), got shape \(3,\)$"),
        (np.zeros((3, 2)), {"n_clusters": 0}, r"^n_clusters must be a positive integer, got 0$"),
        (np.zeros((3, 2)), {"init": "kmeans"}, r"^init must be 'k-means\+\+', 'random' or an array of centres"),
        (np.zeros((3, 2)), {"init": np.zeros((3, 3))}, r"^init array must have shape \(2, 2\), got \(3, 3\)$"),
        (np.zeros((3, 2)), {"tol": -1.0}, r"^tol must be a non-negative number, got -1.0$"),
    ],
)
def test_bad_input_raises(cls, X, kwargs, message):
    params = {"n_clusters": 2, **kwargs}
    with pytest.raises(ValueError, match=message):
        cls(**params).fit(X)


def test_points_outside_the_ball_raise():
    with pytest.raises(
        ValueError, match=r"^X has points outside the Poincare ball of curvature -1: max sqrt\(c\)\*\|x\| = 1.2 >= 1$"
    ):
        HyperbolicKMeans(1).fit(np.array([[0.0, 0.0], [1.2, 0.0]]))
    with pytest.raises(ValueError, match=r"^X has points outside the Poincare ball of curvature -4: max sqrt\(c\)\*\|x\| = 1 >= 1$"):
        HyperbolicKMeans(1, c=4.0).fit(np.array([[0.0, 0.5]]))
    with pytest.raises(ValueError, match=r"^c must be a positive finite number, got 0$"):
        HyperbolicKMeans(1, c=0).fit(np.zeros((2, 2)))
    km = HyperbolicKMeans(1).fit(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"^X has points outside the Poincare ball"):
        km.predict(np.array([[1.0, 0.0]]))
    with pytest.raises(ValueError, match=r"^X has 3 features, but HyperbolicKMeans was fitted with 2$"):
        km.predict(np.zeros((2, 3)))


@pytest.mark.parametrize("cls", [HyperbolicKMeans, EuclideanKMeans])
@pytest.mark.parametrize("method", ["predict", "transform", "score"])
def test_every_method_checks_its_input_as_fit_left_it(cls, method):
    """predict, transform and score share one input check: fitted first, then the features."""
    with pytest.raises(ValueError, match=rf"^this {cls.__name__} is not fitted yet; call fit first$"):
        getattr(cls(1), method)(np.zeros((2, 2)))
    km = cls(1).fit(np.zeros((2, 2)))
    with pytest.raises(UserError, match=rf"^X has 3 features, but {cls.__name__} was fitted with 2$"):
        getattr(km, method)(np.zeros((2, 3)))
    with pytest.raises(UserError, match=r"^X contains NaN or infinity$"):
        getattr(km, method)(np.array([[0.0, np.nan]]))


def test_a_flavour_missing_a_hook_cannot_be_built():
    hooks = {name: getattr(EuclideanKMeans, name) for name in BaseKMeans.__abstractmethods__ - {"_nearest", "_update"}}
    Incomplete = type("Incomplete", (BaseKMeans,), hooks)
    with pytest.raises(TypeError, match=r"abstract methods '?_nearest'?, '?_update'?"):
        Incomplete()
    assert BaseKMeans.__abstractmethods__ == frozenset({
        "_curvature_or_none", "_to_working", "_from_working", "_centre_aux", "_nearest", "_r_to_sq",
        "_zero_moments", "_accumulate", "_update", "_moments_pass", "_centre_sqdist", "_sq_to", "_spread",
    })


def test_bad_sample_weight_raises():
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"^sample_weight must be non-negative$"):
        HyperbolicKMeans(2).fit(x, sample_weight=[1, -1, 1, 1])
    with pytest.raises(ValueError, match=r"^sample_weight must have shape \(4,\), got \(3,\)$"):
        HyperbolicKMeans(2).fit(x, sample_weight=[1, 1, 1])
    with pytest.raises(ValueError, match=r"^sample_weight has fewer than n_clusters=2 positive entries$"):
        HyperbolicKMeans(2).fit(x, sample_weight=[1, 0, 0, 0])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    x, truth = blobs(8, 500, seed=10)
    gpu = HyperbolicKMeans(8, random_state=0, device="cuda").fit(x)
    cpu = HyperbolicKMeans(8, random_state=0).fit(x)
    assert same_partition(gpu.labels_, truth) and same_partition(cpu.labels_, truth)
    np.testing.assert_array_equal(gpu.labels_, cpu.labels_)
    np.testing.assert_allclose(gpu.cluster_centers_, cpu.cluster_centers_, atol=1e-8)
    on_gpu = HyperbolicKMeans(8, random_state=0).fit(x.cuda())
    np.testing.assert_array_equal(on_gpu.labels_, cpu.labels_)
    assert isinstance(on_gpu.labels_, np.ndarray)


def test_seeding_on_a_subsample_still_recovers_blobs():
    x, truth = blobs(6, 200, seed=12)
    km = HyperbolicKMeans(6, n_init=2, init_size=100, random_state=0).fit(x)
    assert same_partition(km.labels_, truth)
    with pytest.raises(ValueError, match=r"^init_size must be None or a positive integer, got 0$"):
        HyperbolicKMeans(6, init_size=0).fit(x)
    full = HyperbolicKMeans(6, init_size=None, random_state=0).fit(x)
    assert same_partition(full.labels_, truth)
