"""The paper's ablations and the classical peers on three synthetic test sets (see benchmarks.quality).

    python -m benchmarks.bench_quality                        # every set and ablation -> results/quality.md
    python -m benchmarks.bench_quality --set regular --full-only --supervoxels 0 -p 10 --out benchmarks/results/quality_voxels_p10.md
    python -m benchmarks.bench_quality --set regular --full-only --supervoxel-tile 25 --out benchmarks/results/quality_tile25.md
    python -m benchmarks.bench_quality --render benchmarks/results/quality.json   # rewrite quality.md from the saved scores
    python -m benchmarks.bench_quality --full-only --space ball --out benchmarks/results/quality_ball.md   # hyperbolic k-means
    python -m benchmarks.bench_quality --full-only --voxel-band 0 --out benchmarks/results/quality_no_band.md
    python -m benchmarks.bench_quality --set crowded --contrast-divides object --no-ensemble --out F   # another no-field rule
"""

import argparse
import dataclasses
from pathlib import Path

from benchmarks import quality
from hypseg.config import cpu_recipe
from hypseg.config.segment import CONTRAST_ASSIGNS, CONTRAST_FEATURES, CONTRAST_PARTS, SPACES

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--triplet-weight", type=float, help="replace the CPU recipe's triplet weight")
    parser.add_argument("--set", action="append", dest="sets", help="only these sets (repeat for several)")
    parser.add_argument("--full-only", action="store_true", help="train only the full model (gyroplane + triplet)")
    parser.add_argument("--supervoxels", type=int,
                        help="voxels per supervoxel whose mean embedding is clustered, at every level (0: every voxel)")
    parser.add_argument("-p", "--patch-size", type=int, action="append",
                        help="inference patch sides at every level (repeat for a product; default: quality.INFERENCE, per level)")
    parser.add_argument("--space", choices=SPACES, help="cluster the hyperbolic models' embeddings in the ball "
                        "or in the tangent space at the origin, at every level (default: the recipe's)")
    parser.add_argument("--voxel-band", type=int, help="level 1's voxel band (SegmentConfig.voxel_band; 0: none; default: "
                        "the recipe's)")
    parser.add_argument("--contrast-components", type=int, help="local contrast's mixture components "
                        "(SegmentConfig.contrast_components; default: the recipe's)")
    parser.add_argument("--contrast-divides", choices=CONTRAST_PARTS, help="what the finer levels divide where local "
                        "contrast found level 1's object (SegmentConfig.contrast_divides; default: the recipe's)")
    parser.add_argument("--contrast-assign", choices=CONTRAST_ASSIGNS, help="how local contrast's mixture assigns a "
                        "voxel (SegmentConfig.contrast_assign; default: the recipe's)")
    parser.add_argument("--contrast-grow", type=int, help="voxels local contrast's object is grown by "
                        "(SegmentConfig.contrast_grow; default: the recipe's)")
    parser.add_argument("--contrast-feature", choices=CONTRAST_FEATURES, help="what local contrast's mixture is fitted "
                        "on (SegmentConfig.contrast_feature; default: the recipe's)")
    parser.add_argument("--supervoxel-tile", type=int, help="cut the learned models' supervoxels in tiles of this side")
    parser.add_argument("--no-ensemble", action="store_true", help="no rows for the learned models' seeds' ensembles")
    parser.add_argument("--out", type=Path, help="the tables' file (default: benchmarks/results/quality.md; with --render: "
                        "the saved scores' path with suffix .md)")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="train nothing: rebuild the tables from the scores a run saved (its --out with suffix .json) "
                             "and write them beside it, with suffix .md, or to --out")
    args = parser.parse_args()
    if args.render is not None:
        if not args.render.is_file():
            parser.error(f"no saved scores at {args.render}")
        text = quality.render_saved(args.render)
        (args.out or args.render.with_suffix(".md")).write_text(text)
        print(text, end="")
        raise SystemExit(0)
    args.out = args.out or Path(__file__).parent / "results" / "quality.md"
    if args.patch_size is None and args.supervoxels is None:
        inference = quality.INFERENCE
    else:  # the same settings at every level; what is not given takes level 2's of quality.INFERENCE
        sides = args.patch_size or quality.INFERENCE[2].patch_sides
        size = quality.INFERENCE[2].supervoxel_size if args.supervoxels is None else args.supervoxels or None
        inference = quality.uniform_inference(sides, size)
    if args.space is not None:
        inference = {level: dataclasses.replace(how, space=args.space) for level, how in inference.items()}
    if args.voxel_band is not None:
        if args.voxel_band < 0:
            parser.error(f"--voxel-band must be >= 0, got {args.voxel_band}")
        inference = {**inference, 1: dataclasses.replace(inference[1], voxel_band=args.voxel_band)}
    if args.contrast_components is not None:
        if args.contrast_components < 2:
            parser.error(f"--contrast-components must be >= 2, got {args.contrast_components}")
        inference = {**inference, 1: dataclasses.replace(inference[1], contrast_components=args.contrast_components)}
    if args.contrast_divides is not None:
        inference = {**inference, 1: dataclasses.replace(inference[1], contrast_divides=args.contrast_divides)}
    if args.contrast_assign is not None:
        inference = {**inference, 1: dataclasses.replace(inference[1], contrast_assign=args.contrast_assign)}
    if args.contrast_grow is not None:
        if args.contrast_grow < 0:
            parser.error(f"--contrast-grow must be >= 0, got {args.contrast_grow}")
        inference = {**inference, 1: dataclasses.replace(inference[1], contrast_grow=args.contrast_grow)}
    if args.contrast_feature is not None:
        inference = {**inference, 1: dataclasses.replace(inference[1], contrast_feature=args.contrast_feature)}
    recipe = cpu_recipe()
    if args.triplet_weight is not None:
        recipe = dataclasses.replace(recipe, train=dataclasses.replace(recipe.train, triplet_weight=args.triplet_weight))
    quality.run(repeats=3, out=args.out, recipe=recipe, sets=args.sets or quality.DEFAULT_SETS,
                ablations=[quality.FULL] if args.full_only else None, inference=inference, ensemble=not args.no_ensemble,
                supervoxel_tile=args.supervoxel_tile)
