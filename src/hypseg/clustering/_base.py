"""The Lloyd iteration and the scikit-learn estimator contract shared by both k-means flavours.

A subclass supplies the geometry through the abstract methods of :class:`BaseKMeans` (working
coordinates, nearest centre, centroid moments and update, squared distances); this module holds
everything else: one input check, k-means++ / random / given initialisation, the assignment pass in
row chunks, the safeguarded centroid step, re-seeding of emptied clusters, the stopping rule,
``n_init`` restarts, and the ``fit / predict / fit_predict / transform / score`` methods.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from typing import Any, NamedTuple

import numpy as np
import torch
from sklearn.base import BaseEstimator

from hypseg.errors import UserError

from ._validation import as_tensor, check_points_2d, check_weights
from .exceptions import EmptyClusterWarning
from .seeding import SqDistFn, kmeanspp_indices

#: Relative inertia difference below which two restarts count as the same optimum.
_SAME_OPTIMUM = 1e-9

__all__: list[str] = []

#: Elements of the (rows, n_clusters) temporaries per chunk when ``chunk_size`` is None.
_CHUNK_ELEMENTS = 1 << 19
_MIN_CHUNK, _MAX_CHUNK = 1024, 1 << 16

#: The stopping rule's scale is estimated on at most this many points (a regular stride).
_SPREAD_SAMPLE = 1 << 16


class Data(NamedTuple):
    """Validated points in working coordinates with per-point auxiliaries (see the subclasses)."""

    xs: torch.Tensor  # (N, d)
    x2: torch.Tensor  # (N,) |xs|^2
    inv_mx: torch.Tensor  # (N,) 1 / (1 - |xs|^2) on the ball, ones for Euclidean
    w: torch.Tensor | None  # (N,) sample weights


class Pass(NamedTuple):
    """One assignment pass: labels, per-point raw distance, per-cluster costs, centroid moments."""

    labels: torch.Tensor  # (N,) int64
    r: torch.Tensor  # (N,) raw distance to the own centre (t on the ball, d^2 in Euclidean space)
    cost: torch.Tensor  # (K,) float64, sum of w d^2 per cluster
    cost_prev: torch.Tensor | None  # (K,) float64, the same with the previous labels, or None
    moments: torch.Tensor | None  # (K, m) float64


class Run(NamedTuple):
    centres: torch.Tensor
    labels: torch.Tensor
    inertia: float
    n_iter: int
    history: list[float]


class BaseKMeans(BaseEstimator, ABC):
    """The Lloyd iteration and the estimator contract; a subclass supplies the geometry.

    Points are handled in *working coordinates* (:meth:`_to_working`): the unit ball for the
    hyperbolic flavour, the points themselves for the Euclidean one. Every hook below that takes
    points takes them in working coordinates. A *raw distance* is the cheapest monotone function of
    the distance that a hook can compute (``t`` on the ball, ``d^2`` in Euclidean space);
    :meth:`_r_to_sq` turns it into a squared distance. *Moments* are the per-cluster sums from which
    :meth:`_update` computes the new centres.

    Subclasses implement the abstract methods and may override :meth:`_n_extra_steps` and
    :meth:`_sq_scale`. ``fit``, ``predict``, ``transform`` and ``score`` validate their input through
    one check, :meth:`_check_input`.
    """

    # ----------------------------------------------------------------------- geometry hooks
    @abstractmethod
    def _curvature_or_none(self) -> float | None:
        """The validated curvature magnitude ``c`` of the ball, or None for Euclidean space."""

    @abstractmethod
    def _to_working(self, x: torch.Tensor) -> torch.Tensor:
        """Points (N, d) in the user's coordinates to working coordinates (N, d)."""

    @abstractmethod
    def _from_working(self, xs: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`_to_working`: working coordinates (N, d) to the user's (N, d)."""

    @abstractmethod
    def _centre_aux(self, ys: torch.Tensor) -> torch.Tensor:
        """Per-centre quantities that :meth:`_nearest` needs, computed once per pass from centres (K, d)."""

    @abstractmethod
    def _nearest(
        self, data: Data, sl: slice, ys: torch.Tensor, aux: torch.Tensor, prev: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Nearest centre of the rows ``sl`` of ``data``.

        Returns the labels (n,) int64, the raw distance (n,) to that centre, and, when ``prev`` (n,)
        gives earlier labels, the raw distance (n,) to the centre of ``prev``; otherwise None.
        """

    @abstractmethod
    def _r_to_sq(self, r: torch.Tensor) -> torch.Tensor:
        """Squared working-coordinate distances from raw distances (same shape)."""

    @abstractmethod
    def _zero_moments(self, k: int, d: int, device: torch.device) -> torch.Tensor:
        """A zero float64 accumulator (K, m) for the centroid moments of ``k`` clusters in ``d`` dimensions."""

    @abstractmethod
    def _accumulate(
        self, data: Data, sl: slice, labels: torch.Tensor, r: torch.Tensor, out: torch.Tensor | None
    ) -> torch.Tensor:
        """Squared distances (n,) of the rows ``sl`` to their centres, from their raw distances ``r``.

        When ``out`` (K, m) is given, adds the rows' centroid moments under ``labels`` to it in place.
        """

    @abstractmethod
    def _update(self, moments: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        """New centres (K, d) from the moments (K, m); a cluster without weight keeps its centre in ``ys``."""

    @abstractmethod
    def _moments_pass(self, data: Data, labels: torch.Tensor, ys: torch.Tensor, chunk: int) -> torch.Tensor:
        """Moments (K, m) of all points under ``labels`` about the centres ``ys``, in row chunks.

        Called only for the extra centroid steps of :meth:`_n_extra_steps`.
        """

    @abstractmethod
    def _centre_sqdist(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Squared distances (K,) between corresponding rows of two centre sets (K, d)."""

    @abstractmethod
    def _sq_to(self, data: Data) -> SqDistFn:
        """A function ``(rows, ys) -> (n, K)`` squared distances of ``data``'s rows to the points ``ys``."""

    @abstractmethod
    def _spread(self, data: Data) -> float:
        """The data's variance per coordinate (working coordinates); ``tol`` is relative to it."""

    def _n_extra_steps(self) -> int:
        """Centroid steps per iteration beyond the first (0, the default: :meth:`_update` is exact)."""
        return 0

    def _sq_scale(self) -> float:
        """Factor from working-coordinate squared distances to reported ones (1, the default)."""
        return 1.0

    # --------------------------------------------------------------------------- validation
    def _check_params(self) -> None:
        k = self.n_clusters
        if not (isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1):
            raise UserError(f"n_clusters must be a positive integer, got {k!r}")
        for name in ("n_init", "max_iter"):
            v = getattr(self, name)
            if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1):
                raise UserError(f"{name} must be a positive integer, got {v!r}")
        if not (isinstance(self.tol, (int, float)) and math.isfinite(self.tol) and self.tol >= 0):
            raise UserError(f"tol must be a non-negative number, got {self.tol!r}")
        size = self.init_size
        if size is not None and not (isinstance(size, (int, np.integer)) and not isinstance(size, bool) and size >= 1):
            raise UserError(f"init_size must be None or a positive integer, got {size!r}")
        cs = self.chunk_size
        if cs is not None and not (isinstance(cs, (int, np.integer)) and cs >= 1):
            raise UserError(f"chunk_size must be None or a positive integer, got {cs!r}")
        if isinstance(self.init, str) and self.init not in ("k-means++", "random"):
            raise UserError(f"init must be 'k-means++', 'random' or an array of centres, got {self.init!r}")

    def _device_for(self, X: Any) -> torch.device:
        if self.device is not None:
            return torch.device(self.device)
        return X.device if isinstance(X, torch.Tensor) else torch.device("cpu")

    def _prepare(self, X: Any, sample_weight: Any, device: torch.device, dtype=None) -> Data:
        xt = as_tensor(X, name="X", device=device)
        if dtype is not None:
            xt = xt.to(dtype)
        check_points_2d(xt, name="X", c=self._curvature_or_none())
        w = None if sample_weight is None else check_weights(sample_weight, shape=(xt.shape[0],), like=xt)
        xs = self._to_working(xt)
        x2_64 = xs.to(torch.float64).pow(2).sum(dim=1)
        if self._curvature_or_none() is None:
            inv_mx = torch.ones_like(x2_64, dtype=xs.dtype)
        else:
            inv_mx = (1.0 / (1.0 - x2_64)).to(xs.dtype)
        return Data(xs=xs, x2=x2_64.to(xs.dtype), inv_mx=inv_mx, w=w)

    def _chunk(self, k: int) -> int:
        if self.chunk_size is not None:
            return int(self.chunk_size)
        return max(_MIN_CHUNK, min(_MAX_CHUNK, _CHUNK_ELEMENTS // max(k, 1)))

    def _check_fitted(self) -> None:
        if not hasattr(self, "cluster_centers_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit first")

    def _check_input(self, X: Any, sample_weight: Any = None, *, fitting: bool = False) -> Data:
        """The one input check of ``fit``, ``predict``, ``transform`` and ``score``.

        Fitting, it validates the parameters, the points and the weights, and that there are at least
        ``n_clusters`` points of positive weight. Otherwise it requires a fitted estimator and points
        with as many features as it was fitted on, in the dtype of its centres.

        Returns
        -------
        Data
            The points in working coordinates, on ``device`` (default: ``X``'s device).
        """
        if fitting:
            self._check_params()
        else:
            self._check_fitted()
        device = self._device_for(X)
        dtype = None if fitting else torch.as_tensor(self.cluster_centers_).dtype
        data = self._prepare(X, sample_weight, device, dtype=dtype)
        n, d = data.xs.shape
        if fitting:
            k = int(self.n_clusters)
            if k > n:
                raise UserError(f"n_clusters={k} must be <= n_samples={n}")
            if data.w is not None and int((data.w > 0).sum()) < k:
                raise UserError(f"sample_weight has fewer than n_clusters={k} positive entries")
        elif d != self.n_features_in_:
            raise UserError(f"X has {d} features, but {type(self).__name__} was fitted with {self.n_features_in_}")
        return data

    # ------------------------------------------------------------------------------ passes
    def _pass(self, data: Data, ys: torch.Tensor, chunk: int, prev: torch.Tensor | None = None, moments: bool = True) -> Pass:
        n, d = data.xs.shape
        k = ys.shape[0]
        device = data.xs.device
        labels = torch.empty(n, dtype=torch.int64, device=device)
        r_all = torch.empty(n, dtype=data.xs.dtype, device=device)
        cost = torch.zeros(k, dtype=torch.float64, device=device)
        cost_prev = None if prev is None else torch.zeros(k, dtype=torch.float64, device=device)
        m = self._zero_moments(k, d, device) if moments else None
        aux = self._centre_aux(ys)
        for start in range(0, n, chunk):
            sl = slice(start, start + chunk)
            lab, r, r_prev = self._nearest(data, sl, ys, aux, None if prev is None else prev[sl])
            labels[sl] = lab
            r_all[sl] = r
            # d^2 of every point to its centre; adds the chunk's centroid moments to m when given
            sq = self._accumulate(data, sl, lab, r, m).to(torch.float64)
            if data.w is not None:
                sq = sq * data.w[sl].to(torch.float64)
            cost += torch.bincount(lab, weights=sq, minlength=k)
            if cost_prev is not None:
                sq_prev = self._r_to_sq(r_prev).to(torch.float64)
                if data.w is not None:
                    sq_prev = sq_prev * data.w[sl].to(torch.float64)
                cost_prev += torch.bincount(prev[sl], weights=sq_prev, minlength=k)
        return Pass(labels=labels, r=r_all, cost=cost, cost_prev=cost_prev, moments=m)

    def _reseed_empty(self, data: Data, p: Pass, ys: torch.Tensor, chunk: int) -> tuple[Pass, torch.Tensor]:
        """Move the centre of every empty cluster to the point farthest from its own centre."""
        k = ys.shape[0]
        for _ in range(3):
            counts = torch.bincount(p.labels, minlength=k)
            empty = torch.nonzero(counts == 0)[:, 0]
            if empty.numel() == 0:
                break
            warnings.warn(
                f"{empty.numel()} cluster(s) became empty ({empty.tolist()}); re-seeded at the "
                "farthest point(s) from their centres",
                EmptyClusterWarning,
                stacklevel=4,
            )
            # never take the only point of a cluster
            score = torch.where(counts[p.labels] > 1, p.r, torch.full_like(p.r, -1.0))
            far = torch.topk(score, empty.numel()).indices
            ys = ys.clone()
            ys[empty] = data.xs[far]
            p = self._pass(data, ys, chunk)
        return p, ys

    # ------------------------------------------------------------------------------ one run
    def _initial_centres(self, data: Data, k: int, rng: np.random.Generator, chunk: int) -> torch.Tensor:
        n = data.xs.shape[0]
        if isinstance(self.init, str) and self.init == "k-means++":
            size = self.init_size
            if size is not None and n > max(int(size), k):
                # k-means++ on a uniform random subsample (as scikit-learn's MiniBatchKMeans does
                # with init_size): the seeding then costs O(init_size k) whatever n is.
                sub = np.sort(rng.choice(n, size=max(int(size), k), replace=False))
                sub_t = torch.as_tensor(sub, device=data.xs.device)
                data = Data(
                    xs=data.xs[sub_t],
                    x2=data.x2[sub_t],
                    inv_mx=data.inv_mx[sub_t],
                    w=None if data.w is None else data.w[sub_t],
                )
                if data.w is not None and int((data.w > 0).sum()) < k:
                    raise UserError(
                        f"the k-means++ subsample of init_size={size} points has fewer than "
                        f"n_clusters={k} points with positive weight; raise init_size"
                    )
            idx = kmeanspp_indices(data.xs.shape[0], k, self._sq_to(data), data.xs, data.w, rng, chunk=chunk)
            return data.xs[idx].clone()
        if isinstance(self.init, str):  # "random"
            p = None
            if data.w is not None:
                w = data.w.to(torch.float64).cpu().numpy()
                p = w / w.sum()
            idx = rng.choice(n, size=k, replace=False, p=p)
            return data.xs[torch.as_tensor(idx, device=data.xs.device)].clone()
        return self._given_init(data)

    def _given_init(self, data: Data) -> torch.Tensor:
        init = as_tensor(self.init, name="init", device=data.xs.device).to(data.xs.dtype)
        shape = (int(self.n_clusters), data.xs.shape[1])
        if tuple(init.shape) != shape:
            raise UserError(f"init array must have shape {shape}, got {tuple(init.shape)}")
        check_points_2d(init, name="init", c=self._curvature_or_none())
        return self._to_working(init)

    def _run(self, data: Data, ys: torch.Tensor, tol_scaled: float, chunk: int) -> Run:
        rtol = 16 * torch.finfo(data.xs.dtype).eps
        p = self._pass(data, ys, chunk)
        p, ys = self._reseed_empty(data, p, ys, chunk)
        history = [float(p.cost.sum())]
        n_iter = 0
        for it in range(1, int(self.max_iter) + 1):
            new = self._update(p.moments, ys)
            for _ in range(self._n_extra_steps()):
                new = self._update(self._moments_pass(data, p.labels, new, chunk), new)
            q = self._pass(data, new, chunk, prev=p.labels)
            # Safeguard: a centroid step must not raise its cluster's cost (it cannot in exact
            # arithmetic once converged; this keeps the inertia monotone under rounding too).
            worse = q.cost_prev > p.cost * (1 + rtol) + torch.finfo(torch.float64).tiny
            if bool(worse.any()):
                new = torch.where(worse[:, None], ys, new)
                q = self._pass(data, new, chunk, prev=p.labels)
            q, new = self._reseed_empty(data, q, new, chunk)
            shift = float(self._centre_sqdist(ys, new).sum())
            ys, p = new, q
            history.append(float(p.cost.sum()))
            n_iter = it
            if shift <= tol_scaled:
                break
        return Run(centres=ys, labels=p.labels, inertia=float(p.cost.sum()), n_iter=n_iter, history=history)

    # ------------------------------------------------------------------------------ public
    def fit(self, X: Any, y: Any = None, sample_weight: Any = None) -> "BaseKMeans":
        """Compute the clustering.

        Parameters
        ----------
        X : array_like or torch.Tensor, shape (n_samples, n_features)
            Points (on the ball, for the hyperbolic flavour). Float32 and float64 are kept; other
            dtypes become float64. The computation runs on ``device`` (default: ``X``'s device).
        y : ignored
        sample_weight : array_like, shape (n_samples,), optional
            Non-negative weights of the points.

        Returns
        -------
        self
        """
        data = self._check_input(X, sample_weight, fitting=True)
        n, d = data.xs.shape
        k = int(self.n_clusters)
        chunk = self._chunk(k)
        tol_scaled = float(self.tol) * self._spread(data)
        rng = np.random.default_rng(self.random_state)
        given = not isinstance(self.init, str)
        n_runs = 1 if given else int(self.n_init)
        seeds = rng.integers(0, 2**63 - 1, size=n_runs)
        best: Run | None = None
        for seed in seeds:
            run_rng = np.random.default_rng(int(seed))
            ys0 = self._initial_centres(data, k, run_rng, chunk)
            run = self._run(data, ys0, tol_scaled, chunk)
            # A later restart must beat the best by more than rounding: restarts that reach the same optimum
            # keep the first one's numbering, so data moved in its last bits does not permute the labels.
            if best is None or run.inertia < best.inertia * (1.0 - _SAME_OPTIMUM):
                best = run
        assert best is not None
        scale = self._sq_scale()
        self.cluster_centers_ = self._from_working(best.centres).cpu().numpy()
        self.labels_ = best.labels.cpu().numpy()
        self.inertia_ = best.inertia * scale
        self.n_iter_ = best.n_iter
        self.inertia_history_ = np.asarray(best.history) * scale
        self.n_features_in_ = d
        return self

    def _predict_pass(self, X: Any) -> tuple[Data, torch.Tensor, Pass]:
        data = self._check_input(X)
        ys = self._to_working(torch.as_tensor(self.cluster_centers_, device=data.xs.device))
        return data, ys, self._pass(data, ys, self._chunk(ys.shape[0]), moments=False)

    def predict(self, X: Any) -> np.ndarray:
        """Index of the nearest centre of every point: numpy int64 (n_samples,)."""
        return self._predict_pass(X)[2].labels.cpu().numpy()

    def fit_predict(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """``fit(X)`` and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def transform(self, X: Any) -> np.ndarray:
        """Distances of every point to every centre: numpy (n_samples, n_clusters)."""
        data = self._check_input(X)
        ys = self._to_working(torch.as_tensor(self.cluster_centers_, device=data.xs.device))
        sq_to = self._sq_to(data)
        chunk = self._chunk(ys.shape[0])
        out = torch.cat([sq_to(slice(s, s + chunk), ys) for s in range(0, data.xs.shape[0], chunk)])
        return (out.to(torch.float64) * self._sq_scale()).sqrt().cpu().numpy()

    def fit_transform(self, X: Any, y: Any = None, sample_weight: Any = None) -> np.ndarray:
        """``fit(X)`` and return ``transform(X)``."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X: Any, y: Any = None, sample_weight: Any = None) -> float:
        """Negative inertia of ``X`` with respect to the fitted centres (higher is better)."""
        data = self._check_input(X, sample_weight)
        ys = self._to_working(torch.as_tensor(self.cluster_centers_, device=data.xs.device))
        p = self._pass(data, ys, self._chunk(ys.shape[0]), moments=False)
        return -float(p.cost.sum()) * self._sq_scale()
