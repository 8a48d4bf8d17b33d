"""Benchmark of :class:`hypseg.clustering.HyperbolicKMeans` against a loop implementation.

Setting (issue 3): 1,000,000 points in the 2-D Poincaré ball (8 wrapped-normal blobs, float32,
seeded), k = 8, n_init = 3, default ``max_iter``/``tol``. Goals: a fit within 10 s on 2 cores, and at
least 100x faster per point than the loop version.

* **Fit time**: median of ``repeats`` fits (after one untimed warm-up fit).
* **Peak memory**: ``tracemalloc`` does not see torch's allocations, so the fit runs once more in a
  fresh subprocess that loads the points from a ``.npy`` file and reports the growth of its peak
  resident set size over the fit: on Linux it resets the peak (``/proc/self/clear_refs``) and
  reads ``VmHWM``, elsewhere it uses ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` deltas. The
  points themselves (8 MB) are loaded before the first reading and are not counted.
* **Loop baseline**: a straightforward NumPy k-means of the same algorithm (k-means++ with the same
  number of candidates, vectorised assignment, one Lou et al. fixed-point step per iteration, the
  same stopping rule) whose Fréchet-mean step loops over the points in Python, as the research code
  does. It runs on a subsample and its time is scaled per point; the ratio is
  ``(baseline time / subsample size) / (our time / number of points)``.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

from benchmarks.timing import format_table, median_seconds
from hypseg.clustering import HyperbolicKMeans

N_POINTS, K, N_INIT, DIM = 1_000_000, 8, 3, 2
SUBSAMPLE = 4000
GOAL_SECONDS, GOAL_RATIO = 10.0, 100.0


def make_points(n: int, *, k: int = K, seed: int = 0) -> np.ndarray:
    """``k`` wrapped-normal blobs on the unit ball: mu_j (+) exp_0(u/2), u ~ N(0, 0.3^2 I), float32."""
    rng = np.random.default_rng(seed)
    angles = np.arange(k) * 2 * np.pi / k
    radius = rng.uniform(1.0, 3.0, size=k)  # hyperbolic distance of the centres from the origin
    mus = np.tanh(radius / 2)[:, None] * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    which = rng.integers(0, k, size=n)
    u = rng.normal(0.0, 0.3, size=(n, DIM))
    un = np.linalg.norm(u, axis=1, keepdims=True)
    v = np.tanh(un / 2) * u / np.maximum(un, 1e-300)  # exp_0(u / 2)
    x = mus[which]
    xy, x2, y2 = (x * v).sum(1, keepdims=True), (x * x).sum(1, keepdims=True), (v * v).sum(1, keepdims=True)
    z = ((1 + 2 * xy + y2) * x + (1 - x2) * v) / (1 + 2 * xy + x2 * y2)  # Mobius addition, c = 1
    return z.astype(np.float32)


# ------------------------------------------------------------------------------- loop baseline
def _np_sqdist(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared Poincaré distances (n, m), c = 1, vectorised."""
    num = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)
    den = (1 - (x * x).sum(1))[:, None] * (1 - (y * y).sum(1))[None, :]
    return np.arccosh(1 + 2 * num / den) ** 2


def _loop_frechet_step(x: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """One Lou et al. step for every cluster, accumulating over the points in a Python loop."""
    k, d = centres.shape
    a, b, s = np.zeros(k), np.zeros((k, d)), np.zeros(k)
    for i in range(x.shape[0]):
        j = labels[i]
        xi, y = x[i], centres[j]
        xx = xi @ xi
        t = ((xi - y) @ (xi - y)) / ((1 - xx) * (1 - y @ y))
        g = 4.0 if t == 0 else 2 * np.arccosh(1 + 2 * t) / np.sqrt(t * t + t)
        alpha = g / (1 - xx)
        a[j] += alpha
        b[j] += alpha * xi
        s[j] += alpha * xx
    out = centres.copy()
    for j in range(k):
        if a[j] > 0:
            bb = b[j] @ b[j]
            out[j] = 2 * b[j] / (a[j] + s[j] + np.sqrt(max((a[j] + s[j]) ** 2 - 4 * bb, 0.0)))
    return out


def _loop_kmeans(x: np.ndarray, *, k: int, n_init: int, max_iter: int = 100, tol: float = 1e-4, seed: int = 0):
    x = x.astype(np.float64)
    rng = np.random.default_rng(seed)
    n, d = x.shape
    # spread for the stopping rule: mean squared distance to a (few-step) Frechet mean, over d
    m = _loop_frechet_step(x, np.zeros(n, dtype=np.int64), x.mean(0, keepdims=True))
    for _ in range(5):
        m = _loop_frechet_step(x, np.zeros(n, dtype=np.int64), m)
    tol_scaled = tol * float(_np_sqdist(x, m).mean()) / d
    best = (math.inf, 0)
    for _ in range(n_init):
        trials = 2 + int(math.log(k))
        idx = [int(rng.integers(n))]
        closest = _np_sqdist(x, x[idx])[:, 0]
        for _ in range(1, k):
            cand = np.searchsorted(np.cumsum(closest), rng.random(trials) * closest.sum())
            cand = np.minimum(cand, n - 1)
            pots = [np.minimum(closest, _np_sqdist(x, x[[c]])[:, 0]).sum() for c in cand]
            idx.append(int(cand[int(np.argmin(pots))]))
            closest = np.minimum(closest, _np_sqdist(x, x[idx[-1:]])[:, 0])
        centres = x[idx].copy()
        labels = _np_sqdist(x, centres).argmin(1)
        n_iter = 0
        for n_iter in range(1, max_iter + 1):
            new = _loop_frechet_step(x, labels, centres)
            shift = float(np.diag(_np_sqdist(centres, new)).sum())
            centres = new
            sq = _np_sqdist(x, centres)
            labels = sq.argmin(1)
            if shift <= tol_scaled:
                break
        inertia = float(sq.min(1).sum())
        if inertia < best[0]:
            best = (inertia, n_iter)
    return best


# ------------------------------------------------------------------------------------ memory
_CHILD = """
import re, resource, sys, numpy as np, torch
from hypseg.clustering import HyperbolicKMeans

def status_kib(key):
    try:
        return int(re.search(key + r":\\s+(\\d+)", open("/proc/self/status").read()).group(1))
    except (OSError, AttributeError):
        return None

x = torch.from_numpy(np.load(sys.argv[1]))
HyperbolicKMeans({k}, n_init=1, max_iter=2, random_state=1).fit(x[:5000])  # first-call allocations
try:  # Linux: reset the peak RSS (VmHWM) to the current RSS
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = status_kib("VmHWM") is not None
except OSError:
    reset = False
before = status_kib("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
HyperbolicKMeans({k}, n_init={n_init}, random_state=0).fit(x)
after = status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(after - before)
"""


def peak_memory_mb(x: np.ndarray) -> float:
    """Peak RSS growth (MB) of a fresh process over one fit.

    On Linux the process resets its peak (``/proc/self/clear_refs``) just before the fit and reports
    ``VmHWM`` after it minus ``VmRSS`` before it; elsewhere the growth of
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (which reads 0 if an earlier peak was higher).
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "points.npy")
        np.save(path, x)
        out = subprocess.run(
            [sys.executable, "-c", _CHILD.format(k=K, n_init=N_INIT), path],
            capture_output=True,
            text=True,
            check=True,
        )
    kib = float(out.stdout.strip().splitlines()[-1])
    return kib / 1024 if sys.platform != "darwin" else kib / 1024**2


def run(*, repeats: int = 3, n_points: int = N_POINTS, subsample: int = SUBSAMPLE) -> None:
    """Print the table (see the module docstring)."""
    x_np = make_points(n_points)
    x = torch.from_numpy(x_np)
    fitted: list[HyperbolicKMeans] = []

    def fit() -> None:
        fitted.append(HyperbolicKMeans(K, n_init=N_INIT, random_state=0).fit(x))

    ours = median_seconds(fit, repeats=repeats)
    memory = peak_memory_mb(x_np)

    sub = x_np[np.random.default_rng(1).choice(n_points, size=subsample, replace=False)]
    start = time.perf_counter()
    _, loop_iter = _loop_kmeans(sub, k=K, n_init=N_INIT)
    loop = time.perf_counter() - start

    ours_pp, loop_pp = ours / n_points, loop / subsample
    ratio = loop_pp / ours_pp
    rows = [
        [
            "hypseg HyperbolicKMeans (torch)",
            f"{n_points:,}",
            f"{ours:.2f}",
            f"{ours_pp * 1e6:.2f}",
            str(fitted[-1].n_iter_),
            f"{memory:.0f}",
            "1",
        ],
        [
            "NumPy, Python loop over points in the Frechet mean",
            f"{subsample:,} (scaled per point)",
            f"{loop:.2f}",
            f"{loop_pp * 1e6:.2f}",
            str(loop_iter),
            "-",
            f"{ratio:.0f}x slower",
        ],
    ]
    print(
        f"\nHyperbolic k-means: {n_points:,} points in the 2-D Poincare ball (8 wrapped-normal blobs, float32), "
        f"k={K}, n_init={N_INIT}; torch threads: {torch.get_num_threads()}, CPU cores: {os.cpu_count()}; "
        f"fit time = median of {repeats}"
    )
    print(
        format_table(
            ["implementation", "points", "fit time (s)", "per point (us)", "iterations (kept run)", "peak RSS growth (MB)", "vs hypseg"],
            rows,
        )
    )
    time_ok = "met" if ours <= GOAL_SECONDS else "NOT met"
    ratio_ok = "met" if ratio >= GOAL_RATIO else "NOT met"
    print(
        f"goals: fit <= {GOAL_SECONDS:.0f} s: {time_ok} ({ours:.2f} s); "
        f">= {GOAL_RATIO:.0f}x faster per point than the loop version: {ratio_ok} ({ratio:.0f}x)"
    )
