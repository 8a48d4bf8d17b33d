"""The tomogram's clusters one by one: where the particle positions fall in the default's maps, per training seed.

The tomogram's score (:func:`benchmarks.real_data.particle_concentration`) takes the cluster holding most positions. A
level-1 object from local contrast that is precise but holds fewer than half of them loses that place to the
specimen's bulk, and the score falls to the bulk's. This prints, for each model that ``benchmarks.real_data
--volume tomogram --workdir DIR`` trained (``DIR/tomogram/seed<S>``), the default's maps at k = 2, 3, 4 and for
every cluster its share of the volume, its mean z-scored intensity, its mean local intensity contrast (box mean at
local contrast's finer side minus at its coarser, :func:`hypseg.inference.recipe.local_contrast`), its share of voxels near a position (its
precision) and its share of the positions (its recall); the scored cluster is marked. Nothing is chosen here::

    python -m benchmarks.real_data --volume tomogram --seeds 0 1 2 3 4 5 --workdir DIR
    python -m benchmarks.tomogram_clusters DIR [--contrast-components 2] [--contrast-feature intensity] --out benchmarks/results/tomogram_clusters.md
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
from pathlib import Path

import numpy as np

from hypseg.config.segment import CONTRAST_FEATURES

from benchmarks.real_data import TOMO_CLUSTERS, load_tomogram, particle_concentration, particle_neighbourhood, sample_folder


def cluster_rows(seed: str, image: np.ndarray, labels: dict, particles: np.ndarray, near: np.ndarray,
                 sides: tuple[int, int] = (5, 10)) -> tuple[list[str], dict[int, float]]:
    """Markdown rows, one per cluster of each map in ``labels`` (k -> map), local contrast at sides ``sides``; and per k
    the scored cluster's F1."""
    from hypseg.inference.recipe import local_contrast

    z = (image - image.mean()) / image.std()
    contrast = local_contrast(z, sides)
    rows, f1 = [], {}
    for k, found in sorted(labels.items()):
        scored = particle_concentration(found, particles, near)
        f1[k] = scored.f1
        at = found[tuple(particles.T)]
        for j in np.unique(found):
            inside = found == j
            rows.append(f"| {seed} | {k} | {j}{' (scored)' if j == scored.cluster else ''} | {inside.mean():.3f} | "
                        f"{z[inside].mean():+.2f} | {contrast[inside].mean():+.3f} | {near[inside].mean():.3f} | "
                        f"{np.mean(at == j):.3f} |")
    return rows, f1


def main() -> None:
    import hypseg
    from hypseg.config import segment_preset

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path, help="the --workdir of a benchmarks.real_data run on the tomogram")
    parser.add_argument("--contrast-components", type=int, help="local contrast's mixture components (default: the "
                        "preset's; SegmentConfig.contrast_components)")
    parser.add_argument("--contrast-feature", choices=CONTRAST_FEATURES, help="what local contrast's mixture is fitted "
                        "on (default: the preset's; SegmentConfig.contrast_feature)")
    parser.add_argument("--out", type=Path, help="write the table here (default: print it)")
    args = parser.parse_args()
    volume = load_tomogram(sample_folder())
    image = volume.image.astype(np.float32)
    _, radius, near = particle_neighbourhood(volume)
    config = segment_preset("default").with_clusters(TOMO_CLUSTERS)
    if args.contrast_components is not None:
        config = dataclasses.replace(config, contrast_components=args.contrast_components)
    if args.contrast_feature is not None:
        config = dataclasses.replace(config, contrast_feature=args.contrast_feature)
    runs = sorted((args.workdir / "tomogram").glob("seed*"), key=lambda p: int(p.name.removeprefix("seed")))
    if not runs:
        raise SystemExit(f"no trained models under {args.workdir / 'tomogram'}")
    scores = []  # per seed: the scored cluster's F1 at each k
    lines = ["| seed | k | cluster | volume share | mean z | mean local contrast | near a position (precision) | "
             "positions (recall) |", "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        model = hypseg.load_model(run)
        result = hypseg.segment(image, model, recipe=config)
        found = result.volumes[0]
        tag = run.name.removeprefix("seed") + (" (local contrast)" if found.contrast else "")
        rows, f1 = cluster_rows(tag, image, found.labels, volume.particles, near, result.config.contrast_sides)
        lines += rows
        scores.append(f"| {tag} | " + " | ".join(f"{f1[k]:.3f}" for k in sorted(f1)) + " |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    text = "\n".join([f"The default with {config.contrast_components} local-contrast components, its mixture fitted on "
                      f"{dict(embedding='the embedding', intensity='intensity', both='both')[config.contrast_feature]}. A voxel is near a position within {radius} voxels. Run at {commit}.",
                      "", *lines, "", "The scored cluster's F1 per seed:", "",
                      "| seed | " + " | ".join(f"k = {k}" for k in TOMO_CLUSTERS) + " |",
                      "|---|" + "---|" * len(TOMO_CLUSTERS), *scores, ""])
    if args.out:
        args.out.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
