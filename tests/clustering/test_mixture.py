"""Laws of TiedGaussianMixture (hypseg.clustering): scikit-learn's fixed point, weights as repetition, affine
equivariance, errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.mixture import GaussianMixture

from hypseg.clustering import EuclideanKMeans, TiedGaussianMixture
from hypseg.errors import UserError


def blobs(seed: int = 1) -> np.ndarray:
    """Three elongated clusters of different sizes that share one covariance."""
    rng = np.random.default_rng(seed)
    centres, sizes = np.array([[0.0, 0.0], [3.0, 1.0], [0.0, 2.0]]), (300, 100, 200)
    return np.concatenate([rng.normal(centre, [1.0, 0.3], (n, 2)) for centre, n in zip(centres, sizes)])


def test_the_fit_is_scikit_learns_tied_mixture_at_its_fixed_point():
    x = blobs()
    ours = TiedGaussianMixture(3, random_state=0, tol=1e-12, reg_covar=0.0, max_iter=5000).fit(x)
    # scikit-learn started where ours stopped must stay there: the same EM fixed point
    theirs = GaussianMixture(3, covariance_type="tied", weights_init=ours.weights_, means_init=ours.cluster_centers_,
                             precisions_init=np.linalg.inv(ours.covariance_), reg_covar=0.0, tol=1e-12, max_iter=5000).fit(x)
    np.testing.assert_allclose(ours.cluster_centers_, theirs.means_, atol=1e-6)
    np.testing.assert_allclose(ours.covariance_, theirs.covariances_, atol=1e-6)
    np.testing.assert_allclose(ours.weights_, theirs.weights_, atol=1e-6)
    assert np.array_equal(ours.labels_, theirs.predict(x))


def test_a_weight_is_repetition():
    x = blobs()
    w = np.random.default_rng(2).integers(1, 4, len(x))
    weighted = TiedGaussianMixture(3, random_state=0, tol=1e-12).fit(x, sample_weight=w)
    repeated = TiedGaussianMixture(3, random_state=0, tol=1e-12).fit(np.repeat(x, w, axis=0))
    order = lambda m: np.lexsort(m.cluster_centers_.T)
    np.testing.assert_allclose(weighted.cluster_centers_[order(weighted)], repeated.cluster_centers_[order(repeated)], atol=1e-9)
    np.testing.assert_allclose(weighted.covariance_, repeated.covariance_, atol=1e-9)


def test_labels_are_equivariant_under_an_invertible_affine_map():
    # Mahalanobis distances do not change under x -> A x + b, so EM's fixed point maps along (k-means' start
    # does not, but both starts lead to the same fixed point here)
    x = blobs()
    a, b = np.array([[2.0, 0.5], [-0.3, 1.5]]), np.array([1.0, -4.0])
    plain = TiedGaussianMixture(3, random_state=0, tol=1e-12, reg_covar=0.0).fit(x)
    mapped = TiedGaussianMixture(3, random_state=0, tol=1e-12, reg_covar=0.0).fit(x @ a.T + b)
    np.testing.assert_allclose(np.sort(mapped.cluster_centers_, axis=0), np.sort(plain.cluster_centers_ @ a.T + b, axis=0), atol=1e-6)
    np.testing.assert_allclose(mapped.covariance_, a @ plain.covariance_ @ a.T, atol=1e-6)
    assert len({(p, q) for p, q in zip(plain.labels_, mapped.labels_)}) == 3  # the same partition


def test_a_narrow_direction_separates_where_k_means_follows_the_wide_one():
    rng = np.random.default_rng(0)
    truth = np.repeat([0, 1], 300)
    x = np.column_stack([rng.normal(0, 5, 600), np.where(truth, 1.0, -1.0) + rng.normal(0, 0.2, 600)])
    agree = lambda labels: max(np.mean(labels == truth), np.mean(labels != truth))
    assert agree(TiedGaussianMixture(2, random_state=0).fit(x).labels_) == 1.0
    assert agree(EuclideanKMeans(2, random_state=0).fit(x).labels_) < 0.7


def test_predict_labels_the_fitted_points_as_fit_did_and_new_points_by_the_nearer_component():
    x = blobs()
    model = TiedGaussianMixture(3, random_state=0).fit(x)
    assert np.array_equal(model.predict(x), model.labels_)
    assert np.array_equal(model.predict(model.cluster_centers_), np.arange(3))


def test_the_likeliest_component_is_the_hand_computed_likelihoods_argmax_and_the_fit_is_unchanged():
    from scipy.stats import multivariate_normal

    x = blobs()
    probable = TiedGaussianMixture(3, random_state=0).fit(x)
    likely = TiedGaussianMixture(3, random_state=0, likeliest=True).fit(x)
    np.testing.assert_allclose(likely.cluster_centers_, probable.cluster_centers_)  # EM fits the same mixture
    np.testing.assert_allclose(likely.weights_, probable.weights_)
    density = np.stack([multivariate_normal(mean, probable.covariance_).logpdf(x) for mean in probable.cluster_centers_], 1)
    assert np.array_equal(likely.labels_, density.argmax(1))
    assert np.array_equal(probable.labels_, (density + np.log(probable.weights_)).argmax(1))
    rare = int(np.argmin(probable.weights_))  # the smallest component holds more points by its likelihood
    assert (likely.labels_ == rare).sum() > (probable.labels_ == rare).sum()


def test_an_empty_component_stays_empty_for_the_likeliest():
    model = TiedGaussianMixture(2, random_state=0, likeliest=True).fit(blobs())
    model.weights_ = np.array([1.0, 0.0])  # as EM leaves a component that lost every point
    assert np.array_equal(model.predict(blobs()), np.zeros(len(blobs())))


@pytest.mark.parametrize("X, w, message", [
    (np.zeros((5, 2)) + np.nan, None, "the points must be a finite (N, d) array, got shape (5, 2)"),
    (np.zeros(5), None, "the points must be a finite (N, d) array, got shape (5,)"),
    (np.ones((5, 2)), -np.ones(5), "sample_weight must be 5 weights >= 0, not all 0"),
    (np.arange(6.0).reshape(3, 2), np.array([1.0, 0.0, 0.0]), "3 components need at least as many weighted points, got 1"),
])
def test_bad_input_is_a_one_line_user_error(X, w, message):
    with pytest.raises(UserError) as err:
        TiedGaussianMixture(3).fit(X, sample_weight=w)
    assert str(err.value) == message


def test_points_of_zero_weight_change_nothing_and_a_refit_forgets_the_last_fit():
    x = blobs()
    w = np.ones(len(x))
    w[::3] = 0.0
    kept = TiedGaussianMixture(3, random_state=0, tol=1e-12).fit(x[w > 0])
    weighted = TiedGaussianMixture(3, random_state=0, tol=1e-12).fit(x, sample_weight=w)
    np.testing.assert_allclose(np.sort(weighted.cluster_centers_, axis=0), np.sort(kept.cluster_centers_, axis=0), atol=1e-9)
    np.testing.assert_allclose(weighted.covariance_, kept.covariance_, atol=1e-9)
    wide = np.column_stack([x, x[:, ::-1] * 2.0])  # another dimension: a refit must start from its own k-means
    refit = TiedGaussianMixture(3, random_state=0, tol=1e-12).fit(x).fit(wide)
    fresh = TiedGaussianMixture(3, random_state=0, tol=1e-12).fit(wide)
    np.testing.assert_allclose(refit.cluster_centers_, fresh.cluster_centers_)


def test_identical_points_are_one_cluster_and_a_flat_cloud_needs_regularisation():
    same = np.ones((20, 2))
    with pytest.warns(Warning):  # k-means cannot place two distinct centres on one point
        model = TiedGaussianMixture(2, random_state=0).fit(same)
    assert np.unique(model.labels_).size == 1 and np.isfinite(model.covariance_).all()
    line = np.column_stack([np.arange(20.0), np.zeros(20)])
    assert np.unique(TiedGaussianMixture(2, random_state=0).fit(line).labels_).size == 2
    with pytest.raises(UserError) as err:
        TiedGaussianMixture(2, random_state=0, reg_covar=0.0).fit(line)
    assert str(err.value) == "the points lie in a subspace, so their covariance is singular: give reg_covar > 0"


def test_bad_settings_are_one_line_user_errors():
    with pytest.raises(UserError) as err:
        TiedGaussianMixture(2, max_iter=0).fit(blobs())
    assert str(err.value) == ("TiedGaussianMixture needs n_clusters >= 1, max_iter >= 1, tol >= 0 and reg_covar >= 0, got "
                              "2, 0, 1e-06 and 1e-06")
