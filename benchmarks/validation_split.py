"""Score inference and training choices on a 120-volume set's own validation split (never the test split).

Trains one model with the CPU recipe (``--triplet-weight``, ``--variant``, ``--seed``, ``--override`` change it) on the 80
training volumes of ``hypseg synth --seed 0`` (``--data-seed`` another set; ``--kind`` regular, irregular,
shepp-logan or crowded), embeds the 20
validation volumes with every ``--sides`` (a comma list is a product of balls), clusters them with every
``--supervoxels`` size (0: every voxel) and ``--purity-power`` (0: plain supervoxel means) at k = 2, 4, 8,
per volume and pooled over the 20, and prints one
JSON line per combination: the sizes of the quality benchmark, on volumes it never scores.
``--recipe`` also prints one row clustered exactly as the quality benchmark's recipe (``quality.INFERENCE``,
its own setting at every level). ``--ensemble N`` trains N models (training seeds ``--seed`` to ``--seed`` + N - 1)
and clusters their embeddings side by side, a product of N balls per patch side. ``--in-object`` clusters levels 2-3 inside
level 1's object (:mod:`hypseg.inference.hierarchy`; level 1 as the recipe finds it, holes filled) and
scores level 1 as that object. ``--intensity-axis`` also prints, for every combination with supervoxels, how much
of the supervoxels' mean embeddings (in the tangent space at the origin) lies along one axis, and how
closely that axis follows the supervoxels' mean intensity (min and median over the volumes). ``--beyond-intensity``
prints, for the same combinations, whether the mean embeddings tell a classifier (with labels, one half of each
volume to the other) more about the classes than the supervoxels' intensity does (:mod:`benchmarks.beyond_intensity`). ``--level1-errors``
prints, per volume, the recipe's level-1 object (``quality.INFERENCE[1]``, holes filled) against the truth: its
DICE, the cell's contrast with the background, and how many misplaced voxels lie within 2, 2-5 and over 5
voxels of the true boundary. ``--instances`` (cell sets, with ``--in-object``) prints, for every combination,
how well level 2's clusters find the organelles one by one: each true vesicle and mitochondrion (a connected
component of its class) against the best-matching connected component (holes filled) of the voxels inside the
object that are not in its largest cluster (the cell's), as IoU quartiles and the share above 0.7 per kind.
``--slic`` scores the SLIC peer with each given number of supervoxels on the same volumes, ``--peer`` any
baseline with its defaults.

    python -m benchmarks.validation_split                    # the recipe's sides and sizes (quality.INFERENCE)
    python -m benchmarks.validation_split --recipe           # also one row of exactly the recipe's per-level inference
    python -m benchmarks.validation_split --recipe --intensity-twin   # and the same inference on box-mean intensity
    python -m benchmarks.validation_split --recipe --intensity-twin --twin-split   # and which levels carry the difference
    python -m benchmarks.validation_split --sides 5 --sides 10 --supervoxels 0 --supervoxels 125 --supervoxels 500
    python -m benchmarks.validation_split --sides 5 --purity-power 0 --purity-power 2 --purity-power 4 --purity-power 8
    python -m benchmarks.validation_split --triplet-weight 10
    python -m benchmarks.validation_split --ensemble 3 --sides 10 --purity-power 0
    python -m benchmarks.validation_split --in-object --sides 5 --purity-power 8
    python -m benchmarks.validation_split --override '{"model": {"latent_dim": 4}, "data": {"patch_max": 15.0}}'
    python -m benchmarks.validation_split --sides 5 --purity-power 8 --intensity-axis
    python -m benchmarks.validation_split --sides 5 --purity-power 8 --beyond-intensity
    python -m benchmarks.validation_split --level1-errors --sides 10 --purity-power 0
    python -m benchmarks.validation_split --in-object --instances --sides 5 --purity-power 8
    python -m benchmarks.validation_split --no-model --slic 150 --slic 250 --slic 500 --slic 1000
    python -m benchmarks.validation_split --no-model --peer filter_bank --peer slic
    python -m benchmarks.validation_split --object-scale 0.5 --sides 5 --sides 10 --supervoxels 125 --supervoxels 500
"""

from __future__ import annotations

import argparse
import itertools
import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
from scipy import ndimage

from benchmarks.beyond_intensity import DESCRIPTIONS, probe_volume
from benchmarks.intensity_twin import twin_embeddings, twin_geometry
from benchmarks.validation_pairs import paired
from benchmarks.level1_probe import code_response, crossing, level1_mixing, shares_of
from hypseg.baselines import BASELINES, evaluate_baseline, make_baseline
from hypseg.baselines.patch_pca import principal_axes
from benchmarks.quality import (INFERENCE, SETS, LevelInference, baseline_in_object, cluster_volumes, level_labels,
                                inverted, level_weights, particle_centre_f1, particle_f1, score_labels, segment_config,
                                segment_embeddings)
from hypseg.config import cpu_recipe
from hypseg.config.segment import (BAND_FEATURES, CLUSTERERS, CONTRAST_ASSIGNS, CONTRAST_FEATURES, CONTRAST_PARTS, INVERSIONS,
                                   SPACES)
from hypseg.data import SyntheticConfig, discover_cases, load_normalised, normalise, supervoxels, write_synthetic_dataset
from hypseg.inference import embed_volume_multiscale
from hypseg.inference.recipe import cluster_embeddings
from hypseg.inference.tangent import to_ball, to_tangent
from hypseg.inference.pooling import pool_embedding
from hypseg.io import load_labels
from hypseg.metrics import matched_dice
from hypseg.training import Trainer


#: the choices that set one of level 1's settings (a field of quality.LevelInference) to the value given, row key alike
LEVEL1_FIELDS = ("voxel_band", "field_retry", "contrast_components", "contrast_assign", "contrast_grow")


def with_noise(volumes: list[np.ndarray], std: float, *, seed: int) -> list[np.ndarray]:
    """``volumes`` with white Gaussian noise of ``std`` added, each z-scored again (unchanged for 0)."""
    if std == 0:
        return volumes
    rng = np.random.default_rng(seed)
    noisy = [v + rng.normal(0.0, std, v.shape).astype(np.float32) for v in volumes]
    return [((v - v.mean()) / v.std()).astype(np.float32) for v in noisy]


def brightened(volumes: list[np.ndarray], objects: list[np.ndarray], amount: float, *, config) -> list[np.ndarray]:
    """``volumes`` with their level-1 object (``objects`` > 0) ``amount`` brighter, in units of the normalised
    intensity, then normalised again as ``config`` (a :class:`hypseg.config.DataConfig`) says (unchanged for 0):
    an object brighter than all around it, as fluorescent nuclei are."""
    if amount == 0:
        return volumes
    return [normalise(v + np.float32(amount) * (o > 0), config=config) for v, o in zip(volumes, objects)]


def blurred(volumes: list[np.ndarray], sigma: float | tuple[float, float, float], *, config) -> list[np.ndarray]:
    """``volumes`` smoothed by a Gaussian of ``sigma`` voxels (one, or one per axis z, y, x), then normalised
    again as ``config`` (a :class:`hypseg.config.DataConfig`) says (unchanged for 0): soft object edges, as a
    microscope's point-spread function leaves them, longer along z than across it in a confocal stack. The
    volume's own noise is smoothed with it; ``--noise`` adds fresh noise afterwards."""
    if not np.any(sigma):
        return volumes
    return [normalise(ndimage.gaussian_filter(v, sigma=sigma), config=config) for v in volumes]


def split_volumes(cases, split: str, levels, *, brighten: float, blur, noise: float, config) -> tuple[list, list]:
    """One split's volumes as this benchmark prepares them (normalised as ``config`` says, :func:`brightened`,
    :func:`blurred`, then :func:`with_noise` with seed 0 for the training split and 1 for the others) and, per
    volume, its truth at each of ``levels`` (level -> label map)."""
    chosen = [c for c in cases if c.split == split]
    truths = [{level: load_labels(c.truth[str(level)]) for level in levels} for c in chosen]
    volumes = brightened(load_normalised(chosen, config=config), [load_labels(c.truth["1"]) for c in chosen], brighten,
                         config=config)
    return with_noise(blurred(volumes, blur, config=config), noise, seed=0 if split == "train" else 1), truths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", default="regular", choices=("regular", "irregular", "shepp-logan", "crowded"))
    parser.add_argument("--noise", type=float, default=0.0, help="add white Gaussian noise of this standard deviation "
                        "(in units of each normalised volume's) to every volume, training and validation, then normalise again")
    parser.add_argument("--object-scale", type=float, default=1.0, help="scale every length of the generator's scenes by "
                        "this factor in the same 50^3 box (0.5: cells of radius 12.5 instead of 25, in more background)")
    parser.add_argument("--triplet-weight", type=float, help="replace the recipe's triplet weight")
    parser.add_argument("--variant", default="hyperbolic-gyro", help="model variant (the full model by default)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (the first, with --ensemble)")
    parser.add_argument("--data-seed", type=int, default=0, help="the generator's seed (`hypseg synth --seed`): another "
                        "120-volume set, its own training and validation volumes (default 0, the quality benchmark's)")
    parser.add_argument("--ensemble", type=int, default=1, help="train this many models (seeds --seed, --seed + 1, ...) and "
                        "cluster their embeddings on a product of balls")
    parser.add_argument("--keep", type=Path, default=None, help="train into DIR/run0, DIR/run1, ... and keep the runs "
                        "(for benchmarks.axis_features; default: a temporary folder)")
    parser.add_argument("--override", default="{}", help='JSON replacing recipe fields, e.g. \'{"model": {"latent_dim": 4}}\'')
    parser.add_argument("--sides", action="append", help="inference patch sides, comma-separated for a product (repeat)")
    parser.add_argument("--supervoxels", type=int, action="append", help="voxels per supervoxel, 0 for voxels (repeat)")
    parser.add_argument("--purity-power", type=float, action="append",
                        help="gamma of the purity-weighted supervoxel means, 0 for plain means (repeat)")
    parser.add_argument("--slic", type=int, action="append", default=[], help="also score the SLIC peer with this many supervoxels")
    parser.add_argument("--peer", action="append", default=[], choices=BASELINES, help="also score this baseline (repeat)")
    parser.add_argument("--no-model", action="store_true", help="score only the --slic and --peer baselines")
    parser.add_argument("--in-object", action="store_true", help="levels 2-3 inside the level-1 object (level 1: the "
                        "recipe's setting, holes filled); each combination then sets levels 2-3 only")
    parser.add_argument("--intensity-axis", action="store_true", help="also print how far the supervoxels' mean embeddings "
                        "lie on one axis and follow their mean intensity")
    parser.add_argument("--beyond-intensity", action="store_true", help="also print, for every combination with "
                        "supervoxels, how well a classifier trained on one half of each volume labels the other from the "
                        "supervoxels' intensity, their mean embedding, or both (benchmarks.beyond_intensity; uses the labels)")
    parser.add_argument("--level1-errors", action="store_true", help="also print, per volume, where the recipe's level-1 "
                        "object misplaces voxels (by distance to the true boundary)")
    parser.add_argument("--instances", action="store_true", help="with --in-object on a cell set: also print how well "
                        "level 2's clusters find each vesicle and mitochondrion as a connected component")
    parser.add_argument("--brighten", type=float, default=0.0, help="make every volume's level-1 object this much brighter "
                        "(units of the normalised intensity) and normalise again: rare bright objects, with --object-scale")
    parser.add_argument("--blur", default="0", help="then smooth every volume by a Gaussian of this sigma (voxels; or z,y,x "
                        "for one per axis) and normalise again: soft edges, as a microscope leaves them (before --noise)")
    parser.add_argument("--space", choices=SPACES, default=INFERENCE[1].space,
                        help="cluster a hyperbolic model's embeddings with the ball's distances and means, or as flat "
                        "vectors in the tangent space at the origin (default: the recipe's, %(default)s)")
    parser.add_argument("--mixing", action="store_true", help="also print, for level 1 at each --sides and --purity-power "
                        "(default supervoxels, per volume, in its object), how voxels are labelled by the share of their patch "
                        "in the true level-1 object, and how each side's code follows its patches' mean intensity "
                        "(benchmarks.level1_probe.code_response)")
    parser.add_argument("--recipe", action="store_true", help="also score exactly the recipe's per-level inference "
                        "(quality.INFERENCE)")
    parser.add_argument("--clusterer", action="append", choices=CLUSTERERS, help="how every combination's levels are "
                        "clustered (repeat to compare; default: kmeans); with --recipe, also the recipe with its levels 2-3 "
                        "clustered so")
    parser.add_argument("--intensity-twin", action="store_true", help="with --recipe, also score the recipe run on each "
                        "patch side's box-mean intensity instead of the embedding (benchmarks.intensity_twin), and the "
                        "model's recipe minus it, paired over the volumes")
    parser.add_argument("--twin-split", action="store_true", help="with --intensity-twin, also score the recipe with level "
                        "1 on box-mean intensity and the finer levels on the model, and the reverse, each minus the recipe: "
                        "which levels carry the model's difference from its twin. Both run on flat points (the model's "
                        "tangent vectors, the box means padded with zeros to the latent dimension), and a third row, the "
                        "model alone as flat points, checks that this reproduces the recipe; the twin's and these "
                        "rows say per volume how level 1 found its object (level1_paths: first try, second try or "
                        "local contrast)")
    parser.add_argument("--refine", type=int, action="append", help="passes of the level-1 object's boundary refinement "
                        "(default: the recipe's; 0: none): the first sets level 1's object wherever it is used (--in-object, "
                        "--level1-errors, the peers in the object, --recipe); with --recipe, repeat to compare: each row "
                        "beyond the first also gives its difference from the first, paired over the volumes")
    parser.add_argument("--level1", action="append", default=[], type=level1_choice, metavar="P:POWER", help="with --recipe, also score the "
                        "recipe with level 1 at patch side P and purity power POWER (e.g. 5:8), each row paired against the "
                        "recipe's own level 1 at the same --refine and --clusterer")
    parser.add_argument("--voxel-band", action="append", default=[], type=int, metavar="R", help="with --recipe, also "
                        "score the recipe with level 1's voxels within R voxels of its clusters' boundary taking their own "
                        "nearest centre (SegmentConfig.voxel_band; 0: none), paired against the recipe's own level 1 (whose "
                        "band every recipe row records as level1_voxel_band) at the same --refine and --clusterer (repeat)")
    parser.add_argument("--band-sides", action="append", default=[], type=int, metavar="P", help="with --recipe, also "
                        "score the recipe with level 1's voxel band deciding by the embedding at patch side P against its "
                        "clusters' mean embeddings there (SegmentConfig.band_sides), paired against the recipe's own level 1 "
                        "(repeat)")
    parser.add_argument("--band-feature", action="append", default=[], metavar="F[:P]", help="with --recipe, also "
                        "score the recipe with level 1's voxel band deciding by F: the embedding or the volume's intensity "
                        "(its mean over a box of side P, level 1's side where P is not given) against its clusters' means "
                        "there (SegmentConfig.band_feature), paired against the recipe's own level 1 (repeat)")
    parser.add_argument("--field-retry", action="append", default=[], type=int, metavar="K", help="with --recipe, also "
                        "score the recipe with level 1 clustered again with K clusters where its object lies in no field "
                        "of view, the cluster least on the faces its object (SegmentConfig.field_retry), paired against "
                        "the recipe's own level 1; each such row lists the volumes retried (repeat)")
    parser.add_argument("--contrast-sides", action="append", default=[], metavar="P,Q", help="with --recipe, also "
                        "score the recipe with level 1 clustered voxel by voxel on the embedding at P minus at Q by a tied "
                        "mixture where neither its first nor its second try finds an object in a field of view "
                        "(SegmentConfig.contrast_sides; both sides are embedded; 0: never), paired against "
                        "the recipe")
    parser.add_argument("--contrast-components", action="append", default=[], type=int, metavar="K", help="with "
                        "--recipe, also score the recipe with local contrast's mixture of K components, the object the "
                        "one besides the largest of strongest local intensity contrast (SegmentConfig.contrast_components), "
                        "paired against the recipe (repeat)")
    parser.add_argument("--contrast-divides", action="append", default=[], metavar="D[:K]", help="with --recipe, also "
                        "score the recipe with its finer levels dividing D (object or specimen) where local contrast found "
                        "level 1's object (SegmentConfig.contrast_divides), with K components of local contrast's "
                        "mixture where given; the row's contrast_divides is the option as given (repeat)")
    parser.add_argument("--contrast-assign", action="append", default=[], choices=CONTRAST_ASSIGNS, help="with --recipe, "
                        "also score the recipe with local contrast's mixture assigning each voxel to its most probable "
                        "(posterior) or most likely (likelihood) component (SegmentConfig.contrast_assign) (repeat)")
    parser.add_argument("--contrast-grow", action="append", default=[], type=int, metavar="N", help="with --recipe, "
                        "also score the recipe with local contrast's object grown by N voxels after its refinement "
                        "(SegmentConfig.contrast_grow) (repeat)")
    parser.add_argument("--contrast-feature", action="append", default=[], metavar="F[:P,Q]", help="with --recipe, also "
                        "score the recipe with local contrast's mixture fitted on the embeddings' difference (embedding), "
                        "the volume's local intensity contrast (intensity) or the two side by side (both) "
                        "(SegmentConfig.contrast_feature), at patch sides P,Q where given (SegmentConfig.contrast_sides); "
                        "the row's contrast_feature is the option as given (repeat)")
    parser.add_argument("--inversion", action="append", default=[], choices=INVERSIONS, help="with --recipe, also score "
                        "the recipe with these patch codes averaged with their point-inverted patches' (SegmentConfig.inversion: "
                        "none, finer or every); the row's inversion is the option (repeat)")
    parser.add_argument("--level-clusterer", action="append", default=[], metavar="L[,M]:NAME", help="with --recipe, "
                        "also score the recipe with levels L (and M) clustered by NAME (LevelConfig.clusterer: "
                        f"{', '.join(CLUSTERERS)}), every other level as the recipe clusters it; the row's level_clusterer "
                        "is the option as given (repeat)")
    parser.add_argument("--kmeans-seed", action="append", default=[], type=int, metavar="S", help="with --recipe, "
                        "also score the recipe with every level's clustering seeded S instead of 0 (SegmentConfig.seed: "
                        "subsamples and restarts), paired against the recipe's own rows: how far the clustering's "
                        "seed alone moves the scores (repeat)")
    parser.add_argument("--level1-override", metavar="JSON", help="train a second model, the first's config with this JSON "
                        "replacing fields as --override does, and embed level 1's patch side with it (the finer levels keep "
                        "the first model's embeddings): two models, each read by the levels it suits")
    parser.add_argument("--finer-components", type=int, metavar="N", help="project every embedding of a patch side that level 1 "
                        "does not use (the finer levels') onto its N leading principal axes, per volume, in the tangent space "
                        "(a ball's) or as it is (a Euclidean model's), before any clustering: levels 2-3 see N directions of the code")
    parser.add_argument("--inside-normalised", action="store_true", help="with --recipe, also score the recipe with the "
                        "finer levels' patch sides embedded from each volume normalised again over its level-1 object's voxels "
                        "(level 1 as the recipe finds it): the intensities the finer levels divide spread over the range the "
                        "encoder was trained on, instead of a bright object's top end; paired against the recipe")
    parser.add_argument("--level1-components", type=int, metavar="N", help="project the embeddings at level 1's patch side "
                        "(from --level1-override's model where given; wherever that side is used) onto their N leading principal "
                        "axes, as --finer-components does for the other sides: level 1 sees N directions of the code")
    args = parser.parse_args()
    level1_choices = args.level1
    if (args.finer_components or args.level1_components) and level1_choices:
        parser.error("--finer-components and --level1-components project the patch sides that --level1 would score level 1 "
                     "at; use one of them")
    if level1_choices and not args.recipe:
        parser.error("--level1 needs --recipe")
    if args.voxel_band and (not args.recipe or min(args.voxel_band) < 0):
        parser.error("--voxel-band needs --recipe and widths >= 0")
    if args.band_sides and (not args.recipe or min(args.band_sides) < 1):
        parser.error("--band-sides needs --recipe and patch sides >= 1")
    if args.band_sides and args.space == "ball" and args.variant != "euclidean":
        parser.error("--band-sides needs the tangent space for a hyperbolic model (--space tangent)")
    for feature in args.band_feature:
        name, _, side = feature.partition(":")
        if not args.recipe or name not in BAND_FEATURES or (side and not (side.isdigit() and int(side) >= 1)):
            parser.error(f"--band-feature needs --recipe and one of {', '.join(BAND_FEATURES)}, optionally with :P a side "
                         f">= 1, got {feature!r}")
        if name == "embedding" and side and args.space == "ball" and args.variant != "euclidean":
            parser.error("--band-feature embedding:P needs the tangent space for a hyperbolic model (--space tangent)")
    if args.field_retry and (not args.recipe or min(args.field_retry) < 3):
        parser.error("--field-retry needs --recipe and at least 3 clusters")
    if args.kmeans_seed and (not args.recipe or min(args.kmeans_seed) < 0):
        parser.error("--kmeans-seed needs --recipe and seeds >= 0")
    if args.contrast_assign and not args.recipe:
        parser.error("--contrast-assign needs --recipe")
    if args.contrast_feature and not args.recipe:
        parser.error("--contrast-feature needs --recipe")
    for feature in args.contrast_feature:
        name, _, sides = feature.partition(":")
        pair = sides.split(",") if sides else []
        if name not in CONTRAST_FEATURES or (sides and not (
                len(pair) == 2 and all(p.isdigit() and int(p) >= 1 for p in pair) and pair[0] != pair[1])):
            parser.error(f"--contrast-feature takes one of {', '.join(CONTRAST_FEATURES)}, optionally with :P,Q two "
                         f"different sides >= 1, got {feature!r}")
    if args.inversion and not args.recipe:
        parser.error("--inversion needs --recipe")
    if args.contrast_grow and (not args.recipe or min(args.contrast_grow) < 0):
        parser.error("--contrast-grow needs --recipe and voxels >= 0")
    for divides in args.contrast_divides:
        part, _, components = divides.partition(":")
        if not args.recipe or part not in CONTRAST_PARTS or (components and not (components.isdigit() and int(components) >= 2)):
            parser.error(f"--contrast-divides needs --recipe and one of {', '.join(CONTRAST_PARTS)}, optionally with :K "
                         f"components >= 2, got {divides!r}")
    try:
        blur = tuple(float(b) for b in args.blur.split(","))
    except ValueError:
        parser.error(f"--blur takes one sigma or three (z,y,x), got {args.blur!r}")
    if len(blur) not in (1, 3) or min(blur) < 0:
        parser.error(f"--blur takes one sigma or three (z,y,x), none negative, got {args.blur!r}")
    blur = blur[0] if len(blur) == 1 else blur
    if args.data_seed < 0:
        parser.error(f"--data-seed must be >= 0, got {args.data_seed}")
    if args.ensemble < 1:
        parser.error(f"--ensemble must be at least 1, got {args.ensemble}")
    passes = args.refine or [INFERENCE[1].refine]
    if min(passes) < 0 or (len(passes) > 1 and not args.recipe):
        parser.error("--refine takes passes >= 0, and several only with --recipe")
    if args.inside_normalised and (not args.recipe or args.no_model or level1_choices):
        parser.error("--inside-normalised needs --recipe and a model, and no --level1")
    if args.intensity_twin and (not args.recipe or args.no_model):
        parser.error("--intensity-twin needs --recipe and a model (not --no-model)")
    if args.twin_split and (not args.intensity_twin or args.ensemble > 1 or args.level1_override
                            or (args.variant != "euclidean" and args.space != "tangent")):
        parser.error("--twin-split needs --intensity-twin, one model (no --ensemble, no --level1-override) and, for a "
                     "hyperbolic model, the tangent space")
    if args.instances and (not args.in_object or args.kind not in ("regular", "irregular")):
        parser.error("--instances needs --in-object and a cell set (--kind regular or irregular)")
    if args.level1_override and (args.ensemble != 1 or level1_choices or args.finer_components):
        parser.error("--level1-override needs one model, and neither --level1 nor --finer-components")
    if args.mixing and (args.ensemble != 1 or any("," in s for s in args.sides or ())):
        parser.error("--mixing needs one model and one patch side per --sides (one ball per embedding)")
    base = cpu_recipe()
    base = dataclasses.replace(base, model=dataclasses.replace(base.model, variant=args.variant), train=dataclasses.replace(
        base.train, seed=args.seed, validation_batches=0, checkpoint_every=10**6))
    try:
        override = json.loads(args.override)  # as given, for the printed rows
        config = overridden(base, override)
        if args.triplet_weight is not None:
            config = dataclasses.replace(config, train=dataclasses.replace(config.train, triplet_weight=args.triplet_weight))
        level1_extra = json.loads(args.level1_override) if args.level1_override else None
        # the second model's config, if any: refused here, before any training, when it names an unknown part
        level1_config = overridden(config, level1_extra) if level1_extra is not None else None
    except ValueError as error:
        parser.error(str(error))
    train_config = config.train
    # default: every patch side and supervoxel size of the quality benchmark's per-level inference
    sides_list = ([tuple(int(p) for p in s.split(",")) for s in args.sides] if args.sides
                  else list(dict.fromkeys(how.patch_sides for how in INFERENCE.values())))
    # the code's dimensions at each projected side: one ball per side and per model
    finer_sides = (set(sides_list + ([how.patch_sides for how in INFERENCE.values()] if args.recipe else []))
                   - {INFERENCE[1].patch_sides})
    finer_dim = config.model.latent_dim * args.ensemble * min([len(sides) for sides in finer_sides] or [1])
    level1_dim = (level1_config or config).model.latent_dim * args.ensemble
    for flag, n, dim in (("--finer-components", args.finer_components, finer_dim),
                         ("--level1-components", args.level1_components, level1_dim)):
        if n is not None and not 1 <= n <= dim:
            parser.error(f"{flag} must lie in [1, {dim}] (the code's dimensions at every side it projects), got {n}")
    sizes = args.supervoxels or list(dict.fromkeys(how.supervoxel_size or 0 for how in INFERENCE.values()))
    powers = args.purity_power or sorted({how.purity_power for how in INFERENCE.values()})
    levels = dict(SETS[args.kind].levels)  # level -> clusters
    level_clusterers = {}  # --level-clusterer as given -> (its levels, the clusterer's name)
    for option in args.level_clusterer:
        at, _, name = option.partition(":")
        if not args.recipe or name not in CLUSTERERS or not all(p.isdigit() and int(p) >= 2 for p in at.split(",")):
            parser.error(f"--level-clusterer {option!r}: needs --recipe and the form L[,M]:NAME, levels 2 and above, "
                         f"NAME one of {', '.join(CLUSTERERS)}")
        beyond = [int(p) for p in at.split(",") if int(p) not in levels]
        if beyond:
            parser.error(f"--level-clusterer {option!r}: the {args.kind} set has levels {', '.join(map(str, levels))}, "
                         f"not {', '.join(map(str, beyond))}")
        level_clusterers[option] = (tuple(map(int, at.split(","))), name)
    with tempfile.TemporaryDirectory() as tmp:
        if args.data_seed:  # rows of another set: say so before any of them
            print(json.dumps({"data_seed": args.data_seed}), flush=True)
        write_synthetic_dataset(Path(tmp) / "set", n=120, seed=args.data_seed, kind=args.kind,
                                config=SyntheticConfig().with_object_scale(args.object_scale))
        cases = discover_cases([Path(tmp) / "set"])
        val, truths = split_volumes(cases, "val", levels, brighten=args.brighten, blur=blur, noise=args.noise,
                                    config=config.data)
        peers = [({"peer": "slic", "n_segments": n}, make_baseline("slic", n_segments=n)) for n in args.slic]
        peers += [({"peer": name}, make_baseline(name)) for name in args.peer]
        for row, peer in peers:
            result = evaluate_baseline(peer, val, truths, clusters=levels)
            print(json.dumps({**row, "dice": [round(result.dice[level], 3) for level in levels]}), flush=True)
            if args.in_object:  # the same containment for the peer: level 1's object, the finer levels inside it
                try:
                    per_volume = baseline_in_object(peer, val, truths, levels, refine=passes[0])
                except ValueError as error:
                    print(json.dumps({**row, "in_object": True, "error": str(error)}), flush=True)
                    continue
                print(json.dumps({**row, "in_object": True, "refine": passes[0], "dice": [round(float(np.mean(per_volume[level])), 3) for level in levels]}),
                      flush=True)
        if args.no_model:
            return
        train, _ = split_volumes(cases, "train", {1: levels[1]}, brighten=args.brighten, blur=blur, noise=args.noise,
                                 config=config.data)
        results = [Trainer(dataclasses.replace(config, train=dataclasses.replace(train_config, seed=args.seed + j)), train,
                           run_dir=(args.keep or Path(tmp)) / f"run{j}", progress=False).fit() for j in range(args.ensemble)]
        for j, result in enumerate(results):  # the last logged losses, e.g. a KL near 0 when the posterior collapses
            retried = {"model_seed": result.config.train.seed} if result.collapsed else {}  # a collapsed run trained again
            print(json.dumps({"training_seed": args.seed + j, **retried, "last_losses": {k: round(v, 4) for k, v in result.last.items()}}),
                  flush=True)
        models = [result.model for result in results]
        level1_models = models
        if level1_config is not None:  # the model whose embeddings level 1 (and --mixing) reads
            level1_result = Trainer(level1_config, train, run_dir=(args.keep or Path(tmp)) / "run-level1",
                                    progress=False).fit()
            print(json.dumps({"level1_override": level1_extra, "last_losses": {k: round(v, 4) for k, v in level1_result.last.items()}}),
                  flush=True)
            level1_models = [level1_result.model]
    # containment: level 1 as the recipe finds it (holes filled), each combination sets levels 2-3 inside it
    level1 = dataclasses.replace(INFERENCE[1], in_object=True, space=args.space, refine=passes[0])
    uses_level1 = args.in_object or args.level1_errors or args.mixing
    recipe = {level: dataclasses.replace(INFERENCE[level], space=args.space) for level in levels} if args.recipe else {}
    needed = (set(sizes) | ({level1.supervoxel_size} if uses_level1 else set())
              | {how.supervoxel_size for how in recipe.values() if how.supervoxel_size})
    segments = {size: [supervoxels(v, size=size) for v in val] for size in sorted(needed) if size}

    def embedded(volumes, sides, inversion=None) -> list[np.ndarray]:
        """One embedding per volume at ``sides``: the models' side by side (one factor per model and side; level 1's
        side from its own models), projected as --level1-components / --finer-components say; each patch's code
        averaged with its point-inverted patch's where ``inversion`` (a bool; None: the recipe's setting at its own levels'
        sides, so a row that moves level 1 to a finer side reads that side's codes as the recipe's finer levels do)."""
        inversion = inverted(sides) if inversion is None else inversion
        members = level1_models if sides == level1.patch_sides else models
        found = [np.concatenate([embed_volume_multiscale(model, v, patch_sizes=sides, inversion=inversion) for model in members],
                                axis=-1)
                 for v in volumes]
        n = args.level1_components if sides == level1.patch_sides else args.finer_components
        return [leading_subspace(e, n, config.model, factors=len(sides) * len(members)) for e in found] if n else found

    embeddings = {sides: embedded(val, sides) for sides in dict.fromkeys(
        ([level1.patch_sides] if uses_level1 else []) + sides_list + [how.patch_sides for how in recipe.values()]
        + [sides for sides, _ in level1_choices] + [(p,) for p in args.band_sides]
        + [(int(f.partition(":")[2]),) for f in args.band_feature if f.startswith("embedding:")]
        + [(int(p),) for pair in args.contrast_sides if pair != "0" for p in pair.split(",")])}  # local contrast's
    # per --inversion, the codes at every side: the recipe's own where the candidate inverts it alike
    inverted_codes = {mode: {sides: embedded(val, sides, inverted(sides, mode)) if inverted(sides, mode) != inverted(sides) else codes
                             for sides, codes in embeddings.items()} for mode in args.inversion}
    if args.mixing:  # how far from the origin the voxels' embeddings lie: |y| in the ball, |u| in R^d
        print(json.dumps({"embedding_norm_median_p99": {",".join(map(str, sides)): np.round(np.percentile(
            np.concatenate([np.linalg.norm(e, axis=-1).ravel() for e in v]), [50, 99]), 3).tolist()
            for sides, v in embeddings.items()}}), flush=True)
    space_key = {"space": args.space} if args.variant != "euclidean" else {}  # a Euclidean model has one space
    if args.level1_errors:
        objects = segment_embeddings(embeddings, config, {1: levels[1]}, seed=0, inference={1: level1}, segments=segments,
                                     weights=level_weights([level1], segments), members=args.ensemble, volumes=val)[1]
        rows = [level1_errors(obj > 0, truth[1] > 0, volume) for obj, truth, volume in zip(objects, truths, val)]
        for i, row in enumerate(rows):
            print(json.dumps({"volume": i, **row}), flush=True)
        for name, group in (("contrast below 2", [r for r in rows if r["contrast"] < 2]),
                            ("contrast 2 or more", [r for r in rows if r["contrast"] >= 2])):
            bands = np.array([[r["misplaced_within_2"], r["misplaced_2_to_5"], r["misplaced_beyond_5"]] for r in group]).reshape(-1, 3).sum(0)
            print(json.dumps({"volumes": name, "count": len(group),
                              "mean_dice": round(float(np.mean([r["dice"] for r in group])), 3) if group else None,
                              "misplaced_shares_within_2_2to5_beyond_5": np.round(bands / max(bands.sum(), 1), 2).tolist()}),
                  flush=True)
    if args.mixing:
        for sides, power in itertools.product(sides_list, powers):
            how = dataclasses.replace(level1, patch_sides=sides, purity_power=power, refine=0)  # the clusters' own split
            found = cluster_embeddings(embeddings, segment_config({1: how}, {1: levels[1]}, seed=0), geometry=config.model,
                                       segments=segments, volumes=val)
            counts, hits = np.sum([level1_mixing(embedding, volume.centers[levels[1]], truth[1] > 0, sides[0], geometry=config.model,
                                                 space=args.space)
                                   for volume, embedding, truth in zip(found, embeddings[sides], truths)], axis=0)
            shares = shares_of(counts, hits)
            print(json.dumps({"mixing": True, **space_key, "sides": list(sides), "purity_power": power,
                              "dice": round(float(np.mean([matched_dice(v.labels[levels[1]], t[1]).mean for v, t in zip(found, truths)])), 3),
                              "object_share": round(float(np.mean([(v.labels[levels[1]] > 0).mean() for v in found])), 3),
                              "true_share": round(float(np.mean([(t[1] > 0).mean() for t in truths])), 3),
                              "crossing": round(crossing(shares), 3), "shares_by_patch_share": np.round(shares, 3).tolist()}),
                  flush=True)
        for sides in sides_list:  # why it crosses where it does: the code against its patches' mean intensity
            rows = [code_response(to_tangent(e, c=config.model.curvature) if config.model.hyperbolic else e, volume,
                                  truth[1] > 0, sides[0]) for e, volume, truth in zip(embeddings[sides], val, truths)]
            print(json.dumps({"code_response": True, "sides": list(sides), "median_over_volumes": {
                key: round(float(np.median([row[key] for row in rows])), 3) for key in rows[0]}}), flush=True)
    clusterers = args.clusterer or ["kmeans"]
    first = {}  # (clusterer, "model" or "twin") -> the scores at the first number of passes
    weights = level_weights(recipe.values(), segments)  # the clusterer changes no level's weighting
    boxes = twin_embeddings(val, [how.patch_sides for how in recipe.values()]) if args.intensity_twin else None
    twin_config = dataclasses.replace(config, model=twin_geometry(config.model))
    flat_config = dataclasses.replace(config, model=dataclasses.replace(config.model, variant="euclidean"))

    def against_first(key, refine, scores) -> dict:
        """The scores at the first number of passes (kept), or these minus those, paired over the volumes."""
        if refine == passes[0]:
            first[key] = scores
            return {}
        return {"minus_first_refine": {level: paired(scores[level], first[key][level]) for level in levels}}

    own_level1 = {}  # (clusterer, refine) -> the recipe's scores with its own level 1
    inside_embeddings = {}  # refine -> the embeddings with the finer sides' from the volumes normalised inside level 1
    # level 1 at another side and power, or with a voxel band; or k-means seeded otherwise
    choices = [None, *(("level1", c) for c in level1_choices), *(("voxel_band", r) for r in args.voxel_band),
               *(("band_sides", p) for p in args.band_sides), *(("band_feature", f) for f in args.band_feature),
               *(("field_retry", k) for k in args.field_retry),
               *(("kmeans_seed", s) for s in args.kmeans_seed), *(("inversion", mode) for mode in args.inversion),
               *(("level_clusterer", c) for c in args.level_clusterer),
               *(("contrast_components", k) for k in args.contrast_components),
               *(("contrast_divides", d) for d in args.contrast_divides),
               *(("contrast_assign", a) for a in args.contrast_assign),
               *(("contrast_grow", g) for g in args.contrast_grow),
               *(("contrast_feature", f) for f in args.contrast_feature),
               *(("contrast_sides", () if c == "0" else tuple(int(p) for p in c.split(","))) for c in args.contrast_sides)]
    for clusterer, refine, choice in itertools.product(clusterers if recipe else (), passes, choices):
        finer = {level: dataclasses.replace(how, refine=refine) if level == 1 else dataclasses.replace(how, clusterer=clusterer)
                 for level, how in recipe.items()}
        named = ({"clusterer_levels_2_3": clusterer} if args.clusterer else {}) | {"refine": refine}
        what, value = choice or (None, None)
        if what in LEVEL1_FIELDS:  # one of level 1's settings as given, everything else the recipe's
            finer[1] = dataclasses.replace(finer[1], **{what: value})
            named |= {what: value}
        elif what == "level1":  # level 1 at another side and purity power, everything else the recipe's
            finer[1] = dataclasses.replace(finer[1], patch_sides=value[0], purity_power=value[1])
            named |= {"level1_sides": list(value[0]), "level1_purity_power": value[1]}
        elif what == "band_sides":  # the recipe's band deciding at another patch side
            finer[1] = dataclasses.replace(finer[1], band_sides=(value,), band_feature="embedding")
            named |= {"band_sides": [value]}
        elif what == "band_feature":  # the recipe's band deciding by the embedding or the box mean, at a side where given
            feature, _, side = value.partition(":")
            finer[1] = dataclasses.replace(finer[1], band_feature=feature, band_sides=(int(side),) if side else ())
            named |= {"band_feature": value}
        elif what == "contrast_sides":  # level 1 by local contrast where no try finds an object in a field of view
            finer[1] = dataclasses.replace(finer[1], contrast_sides=value)
            named |= {"contrast_sides": list(value)}
        elif what == "contrast_divides":  # the finer levels divide the specimen where local contrast found the object
            divides, _, components = value.partition(":")
            finer[1] = dataclasses.replace(finer[1], contrast_divides=divides,
                                           **({"contrast_components": int(components)} if components else {}))
            named |= {"contrast_divides": value}
        elif what == "contrast_feature":  # what local contrast's mixture is fitted on, at other sides where given
            feature, _, sides = value.partition(":")
            finer[1] = dataclasses.replace(finer[1], contrast_feature=feature,
                                           **({"contrast_sides": tuple(int(p) for p in sides.split(","))} if sides else {}))
            named |= {"contrast_feature": value}
        elif what == "level_clusterer":  # some finer levels clustered otherwise, the others as the recipe's
            at, name = level_clusterers[value]
            finer |= {level: dataclasses.replace(finer[level], clusterer=name) for level in at}
            named |= {what: value}
        elif what in ("kmeans_seed", "inversion"):
            named |= {what: value}
        found = cluster_volumes(inverted_codes[value] if what == "inversion" else embeddings, config, levels, seed=value if what == "kmeans_seed" else 0, inference=finer,
                                segments=segments,
                                weights=weights if choice is None else {**weights, **level_weights([finer[1]], segments)},
                                members=args.ensemble, volumes=val)
        no_field = [i for i, volume in enumerate(found) if volume.no_field]  # level 1 in no field of view
        labels = level_labels(found, levels)
        scores = score_labels(labels, truths)
        particles = particle_f1(labels, truths) if args.kind == "crowded" else None  # as the tomogram is scored
        centres = particle_centre_f1(labels, truths) if args.kind == "crowded" else None  # by particle centres
        objects_f1 = ({"object_f1": [round(float(np.mean(particles[level])), 3) for level in levels],
                       "object_f1_per_volume": {level: np.round(particles[level], 4).tolist() for level in levels},
                       "centre_f1": [round(float(np.mean(centres[level])), 3) for level in levels],
                       "centre_f1_per_volume": {level: np.round(centres[level], 4).tolist() for level in levels}}
                      if particles else {})
        if choice is None:
            own_level1[clusterer, refine] = scores
            compared = against_first((clusterer, "model"), refine, scores)
        else:
            # the choice's row minus the recipe's own, under the key of the first choice there was (level 1's), also
            # where the choice is every level's clustering seed
            compared = {"minus_recipe_level1": {level: paired(scores[level], own_level1[clusterer, refine][level])
                                                for level in levels}}
        print(json.dumps({"variant": args.variant, **space_key, "triplet_weight": config.train.triplet_weight, "seed": args.seed,
                          "ensemble": args.ensemble, "override": override, "inference": "recipe (quality.INFERENCE)", **named,
                          "level1_voxel_band": finer[1].voxel_band, "no_field_volumes": no_field,
                          **({"retried_volumes": [i for i, volume in enumerate(found) if volume.retried]}
                             if what == "field_retry" else {}),
                          **({"contrast_volumes": [i for i, volume in enumerate(found) if volume.contrast]}
                             if what and what.startswith("contrast_") else {}),
                          "dice": [round(float(np.mean(scores[level])), 3) for level in levels], **objects_f1,
                          "dice_per_volume": {level: np.round(scores[level], 4).tolist() for level in levels},
                          **compared}), flush=True)
        if choice is not None:
            continue
        if boxes is not None:  # the same inference on the patches' mean intensity
            twin_found = cluster_volumes(boxes, twin_config, levels, seed=0, inference=finer, segments=segments,
                                         weights=weights, volumes=val)
            twin = score_labels(level_labels(twin_found, levels), truths)
            paths = {"recipe_level1_paths": level1_paths(found), "level1_paths": level1_paths(twin_found)} if args.twin_split else {}
            print(json.dumps({"intensity_twin": "recipe (quality.INFERENCE) on box-mean intensity", **named, **paths,
                              "dice": [round(float(np.mean(twin[level])), 3) for level in levels],
                              "dice_per_volume": {level: np.round(twin[level], 4).tolist() for level in levels},
                              "recipe_minus_twin": {level: paired(scores[level], twin[level]) for level in levels},
                              **against_first((clusterer, "twin"), refine, twin)}), flush=True)
            if args.twin_split:  # which levels carry the difference: level 1 from one, the finer levels from the other
                for name, mixed in twin_split(embeddings, boxes, finer, config.model).items():
                    split_found = cluster_volumes(mixed, flat_config, levels, seed=0, inference=finer, segments=segments,
                                                  weights=weights, volumes=val)
                    split_labels = level_labels(split_found, levels)
                    if name == TWIN_SPLITS[0] and not all(np.array_equal(ours, theirs) for level in levels
                                                          for ours, theirs in zip(split_labels[level], labels[level])):
                        raise RuntimeError("the model as flat points does not reproduce the recipe's labels")
                    split_scores = score_labels(split_labels, truths)
                    f1 = ({"object_f1": particle_f1(split_labels, truths), "centre_f1": particle_centre_f1(split_labels, truths)}
                          if args.kind == "crowded" else {})
                    recipe_f1 = {"object_f1": particles, "centre_f1": centres}
                    print(json.dumps({"twin_split": name, **named, "level1_paths": level1_paths(split_found),
                                      "dice": [round(float(np.mean(split_scores[level])), 3) for level in levels],
                                      "dice_per_volume": {level: np.round(split_scores[level], 4).tolist() for level in levels},
                                      "minus_recipe": {level: paired(split_scores[level], scores[level]) for level in levels},
                                      **{key: [round(float(np.mean(values[level])), 3) for level in levels] for key, values in f1.items()},
                                      **{f"{key}_per_volume": {level: np.round(values[level], 4).tolist() for level in levels}
                                         for key, values in f1.items()},
                                      **{f"{key}_minus_recipe": {level: paired(values[level], recipe_f1[key][level]) for level in levels}
                                         for key, values in f1.items()}}), flush=True)
        if args.inside_normalised:  # the finer levels embedded again from each volume normalised over level 1's object
            if refine not in inside_embeddings:  # level 1's object (its map, with containment) depends on refine alone
                inside = [normalise(v, config=config.data, mask=obj > 0) for v, obj in zip(val, labels[1])]
                again = inside_embeddings[refine] = dict(embeddings)
                for sides in {how.patch_sides for level, how in finer.items() if level > 1} - {finer[1].patch_sides}:
                    again[sides] = embedded(inside, sides)
            renormalised = score_labels(segment_embeddings(inside_embeddings[refine], config, levels, seed=0, inference=finer,
                                                           segments=segments, weights=weights, members=args.ensemble,
                                                           volumes=val), truths)
            print(json.dumps({"inside_normalised": "the recipe, its finer levels embedded from each volume normalised over "
                                                   "its level-1 object", **named,
                              "dice": [round(float(np.mean(renormalised[level])), 3) for level in levels],
                              "dice_per_volume": {level: np.round(renormalised[level], 4).tolist() for level in levels},
                              "minus_recipe": {level: paired(renormalised[level], scores[level]) for level in levels}}), flush=True)
    recipe_scores = {clusterer: scores for (clusterer, kind), scores in first.items() if kind == "model"}
    if "kmeans" in recipe_scores and len(recipe_scores) > 1:  # each clusterer against k-means, paired over the volumes
        print(json.dumps({"recipe_levels_2_3_minus_kmeans": {
            clusterer: {level: paired(scores[level], recipe_scores["kmeans"][level]) for level in levels if level > 1}
            for clusterer, scores in recipe_scores.items() if clusterer != "kmeans"}}), flush=True)
    for sides, size, power, pooled, clusterer in itertools.product(sides_list, sizes, powers, (False, True), clusterers):
        if size == 0 and (power or args.in_object):
            continue  # purity weights the voxels of a supervoxel; levels inside the object cluster supervoxels
        how = LevelInference(sides, size or None, pooled=pooled, purity_power=power, in_object=args.in_object, space=args.space,
                             clusterer=clusterer)
        inference = {level: how for level in levels} | ({1: level1} if args.in_object else {})
        # one model's purity weights serve every model's factors
        weights = level_weights(inference.values(), segments)
        row = {"object_scale": args.object_scale, **({"brighten": args.brighten} if args.brighten else {}),
               **({"blur": blur} if np.any(blur) else {}),
               "variant": args.variant, **space_key,
               "triplet_weight": config.train.triplet_weight, "seed": args.seed,
               "ensemble": args.ensemble, "override": override, "in_object": args.in_object,
               **({"refine": passes[0]} if args.in_object else {}), "sides": list(sides),
               "supervoxels": size, "purity_power": power, "pooled": pooled, **({"clusterer": clusterer} if args.clusterer else {})}
        if args.intensity_axis and size and not pooled:
            share, corr = intensity_axis(embeddings[sides], val, segments[size], weights[how], config,
                                         factors=len(sides) * args.ensemble)
            print(json.dumps({**{k: row[k] for k in ("sides", "supervoxels", "purity_power")},
                              "first_axis_share": [round(float(f(share)), 4) for f in (np.min, np.median)],
                              "abs_corr_with_mean_intensity": [round(float(f(corr)), 3) for f in (np.min, np.median)]}), flush=True)
        if args.beyond_intensity and size and not pooled:
            print(json.dumps({**{k: row[k] for k in ("sides", "supervoxels", "purity_power")}, "beyond_intensity":
                              beyond_intensity(embeddings[sides], val, segments[size], weights[how], truths, config,
                                               factors=len(sides) * args.ensemble, sides=sides, clusters=levels)}),
                  flush=True)
        try:
            labels = segment_embeddings(embeddings, config, levels, seed=0, inference=inference, segments=segments,
                                        weights=weights, members=args.ensemble, volumes=val)
        except ValueError as error:  # e.g. pooled, fewer supervoxels than clusters; an empty level-1 object
            print(json.dumps({**row, "error": str(error)}), flush=True)
            continue
        scores = score_labels(labels, truths)
        print(json.dumps({**row, "dice": [round(float(np.mean(scores[level])), 3) for level in levels]}), flush=True)
        if args.instances:
            found = organelle_matches(labels[2], [t[2] for t in truths])
            print(json.dumps({**{k: row[k] for k in ("sides", "supervoxels", "purity_power", "pooled")},
                              **{name: {"count": len(ious), "iou_quartiles": np.round(np.percentile(ious, [25, 50, 75]), 2).tolist(),
                                        "share_above_0.7": round(float(np.mean(np.array(ious) > 0.7)), 2)}
                                 for name, ious in found.items()}}), flush=True)


def level1_paths(found) -> list[str]:
    """Per volume of :func:`benchmarks.quality.cluster_volumes`' results, how level 1 found its object: ``"first"``
    (its first try), ``"retried"`` (again with more clusters, no object lying in a field of view) or ``"contrast"``
    (voxel by voxel on local contrast, where neither try found one).

    >>> from types import SimpleNamespace as V
    >>> level1_paths([V(retried=False, contrast=False), V(retried=True, contrast=False), V(retried=True, contrast=True)])
    ['first', 'retried', 'contrast']
    """
    return ["contrast" if volume.contrast else "retried" if volume.retried else "first" for volume in found]


#: the rows of --twin-split: the model alone as flat points (which must reproduce the recipe), then each mixture
TWIN_SPLITS = ("the model as flat points", "level 1 on box means, the finer levels on the model",
               "level 1 on the model, the finer levels on box means")


def twin_split(embeddings, boxes, inference, geometry) -> dict[str, dict]:
    """Embeddings (patch sides -> one per volume) for each of :data:`TWIN_SPLITS`, every one as flat points of the
    model's latent dimension per factor: the model's embeddings mapped to the tangent space at the origin (what its
    tangent-space clustering reads), the box means (``boxes``, :func:`benchmarks.intensity_twin.twin_embeddings`)
    padded with zeros, which k-means and the means it pools are blind to.

    >>> model = {(10,): [np.full((1, 2), 0.5, np.float32)], (5,): [np.zeros((1, 2), np.float32)]}  # one voxel each
    >>> boxes = {(10,): [np.array([[2.0]], np.float32)], (5,): [np.array([[-1.0]], np.float32)]}
    >>> mixed = twin_split(model, boxes, {1: INFERENCE[1], 2: INFERENCE[2]}, cpu_recipe().model)
    >>> mixed[TWIN_SPLITS[1]][(10,)][0].tolist(), mixed[TWIN_SPLITS[1]][(5,)][0].tolist()
    ([[2.0, 0.0]], [[0.0, 0.0]])
    >>> mixed[TWIN_SPLITS[2]][(10,)][0].astype(float).round(4).tolist(), mixed[TWIN_SPLITS[2]][(5,)][0].tolist()
    ([[0.6232, 0.6232]], [[-1.0, 0.0]])
    """
    level1 = tuple(inference[1].patch_sides)
    finer = {tuple(how.patch_sides) for level, how in inference.items() if level > 1}
    if level1 in finer:
        raise ValueError(f"level 1 shares its patch sides {list(level1)} with a finer level: the split is undefined")
    def flat(sides, embedding):
        return to_tangent(embedding, factors=len(sides), c=geometry.curvature) if geometry.hyperbolic else embedding

    def padded(sides, box):
        width = embeddings[sides][0].shape[-1] // len(sides)  # the model's coordinates per factor
        zeros = np.zeros(box.shape + (width - 1,), dtype=box.dtype)
        return np.concatenate([box[..., None], zeros], axis=-1).reshape(box.shape[:-1] + (box.shape[-1] * width,))

    model = {sides: [flat(sides, e) for e in found] for sides, found in embeddings.items()}
    twin = {sides: [padded(sides, b) for b in found] for sides, found in boxes.items() if sides in embeddings}
    return {TWIN_SPLITS[0]: model,
            TWIN_SPLITS[1]: {**model, level1: twin[level1]},
            TWIN_SPLITS[2]: {**model, **{sides: twin[sides] for sides in finer}}}


def flat_means(embedding, segments, weights, config, *, factors: int) -> tuple[np.ndarray, np.ndarray]:
    """A volume's supervoxel mean embeddings as flat vectors (the tangent space at the origin for a hyperbolic
    model, one ball at a time), and their voxel counts."""
    pooled = pool_embedding(embedding, segments, c=config.model.curvature, hyperbolic=config.model.hyperbolic,
                            factors=factors, voxel_weights=weights)
    points = pooled.points
    if config.model.hyperbolic:
        points = to_tangent(points, factors=factors, c=config.model.curvature)
    return points, pooled.weights


def beyond_intensity(embeddings, volumes, segments, weights, truths, config, *, factors: int, sides: tuple[int, ...],
                     clusters: dict[int, int]) -> dict:
    """Per level, the mean cross-half DICE of every description (:mod:`benchmarks.beyond_intensity`) over the
    volumes, and the differences that answer the probe's questions with their paired 95% intervals. The intensity
    description also holds, per patch side, the intensity's mean over that patch averaged over the supervoxel
    with the embedding's voxel weights; the hand-made filters are the gradient magnitude (sigma 1) and, per patch
    side, the standard deviation over the patch, averaged the same way."""
    rows = []
    for i, (emb, volume, seg, truth) in enumerate(zip(embeddings, volumes, segments, truths)):
        voxel_weights = None if weights is None else weights[i]
        image = np.asarray(volume, dtype=np.float64)
        per_side = []  # the mean and standard deviation over each side's patch: one factor per side, as the embedding's
        for side in sides:
            mean = ndimage.uniform_filter(image, size=side)
            per_side += [mean, np.sqrt(np.maximum(ndimage.uniform_filter(image ** 2, size=side) - mean ** 2, 0.0))]
        patch = pool_embedding(np.stack(per_side, axis=-1), seg, hyperbolic=False, factors=len(sides),
                               voxel_weights=voxel_weights).points  # (S, 2 F): mean, std of side 0, then of side 1...
        gradient = pool_embedding(ndimage.gaussian_gradient_magnitude(image, 1.0)[..., None], seg, hyperbolic=False,
                                  voxel_weights=None if voxel_weights is None else voxel_weights[..., 0]).points
        extra, filters = patch[:, 0::2], np.concatenate([gradient, patch[:, 1::2]], axis=1)
        points = flat_means(emb, seg, voxel_weights, config, factors=factors)[0]
        rows.append({level: probe_volume(points, volume, seg, truth[level], extra=extra, filters=filters,
                                         clusters=clusters[level])
                     for level in truth})
    summary = {}
    for level in truths[0]:
        score = {name: np.array([row[level][name] for row in rows]) for name in rows[0][level]}
        summary[f"L{level}"] = {**{name: round(float(s.mean()), 3) for name, s in score.items()},
                                **{f"{name}_minus_{base}": paired(score[name], score[base])
                                   for name, base in (("both", "intensity"), ("embedding", "intensity"),
                                                      ("intensity_noise", "intensity"), ("filters", "intensity"),
                                                      ("filters_both", "filters"),
                                                      ("both_kmeans_whitened", "embedding_kmeans_raw"),
                                                      ("embedding_kmeans_whitened", "embedding_kmeans_raw"),
                                                      ("embedding_tied", "embedding_kmeans_raw"),
                                                      ("intensity_tied", "intensity_kmeans_raw"),
                                                      ("embedding_tied", "intensity_tied"))}}
    return summary


def intensity_axis(embeddings, volumes, segments, weights, config, *, factors: int) -> tuple[np.ndarray, np.ndarray]:
    """Per volume: the share of the supervoxels' mean embeddings' variance along their first principal axis
    (tangent space at the origin for a hyperbolic model, supervoxels weighted by their voxel counts), and
    the absolute correlation of that coordinate with the supervoxels' mean intensity."""
    shares, corrs = [], []
    for i, (emb, volume, seg) in enumerate(zip(embeddings, volumes, segments)):
        points, n = flat_means(emb, seg, None if weights is None else weights[i], config, factors=factors)
        intensity = pool_embedding(np.asarray(volume, dtype=np.float64)[..., None], seg, hyperbolic=False).points[:, 0]
        share, corr = first_axis(points, intensity, weights=n)
        shares.append(share)
        corrs.append(corr)
    return np.array(shares), np.array(corrs)


def first_axis(points: np.ndarray, values: np.ndarray, *, weights: np.ndarray | None = None) -> tuple[float, float]:
    """(share of the (weighted) variance of ``points`` (N, D) along their first principal axis, absolute
    correlation of that coordinate with ``values`` (N,))."""
    n = np.ones(len(points)) if weights is None else np.asarray(weights, dtype=np.float64)
    centred = points - np.average(points, axis=0, weights=n)
    eigenvalues, vectors = np.linalg.eigh((centred * n[:, None]).T @ centred)
    return float(eigenvalues[-1] / eigenvalues.sum()), float(abs(np.corrcoef(centred @ vectors[:, -1], values)[0, 1]))


def organelle_matches(maps: list[np.ndarray], truths: list[np.ndarray]) -> dict[str, list[float]]:
    """Per kind (vesicle: class 2, mitochondrion: 3 of level 2), the IoU of every true organelle (a connected
    component of its class) with the best-matching connected component, holes filled, of the voxels inside
    the object (label > 0) outside its largest cluster."""
    ious: dict[str, list[float]] = {"vesicle": [], "mitochondrion": []}
    for found, truth in zip(maps, truths):
        inside = found > 0
        ids, counts = np.unique(found[inside], return_counts=True)
        parts, n = ndimage.label(inside & (found != ids[np.argmax(counts)]) if ids.size else inside)
        candidates = [ndimage.binary_fill_holes(parts == j) for j in range(1, n + 1)]
        for name, kind in (("vesicle", 2), ("mitochondrion", 3)):
            organelles, m = ndimage.label(truth == kind)
            for j in range(1, m + 1):
                organelle = organelles == j
                ious[name].append(max((float(np.sum(organelle & c) / np.sum(organelle | c)) for c in candidates), default=0.0))
    return ious


def overridden(config, extra: dict):
    """``config`` (a RunConfig) with the fields that ``extra`` names per part (``{"model": {"latent_dim": 4}}``) replaced."""
    unknown = sorted(set(extra) - {"model", "data", "train"})
    if unknown:
        raise ValueError(f"an override names parts model, data and train, got {unknown}")
    parts = {}
    for part, fields in extra.items():
        try:
            parts[part] = dataclasses.replace(getattr(config, part), **fields)
        except TypeError as error:  # a field the part does not have
            raise ValueError(f"an override of {part}: {error}") from None
    return dataclasses.replace(config, **parts)


def leading_subspace(embedding: np.ndarray, n: int, geometry, *, factors: int = 1) -> np.ndarray:
    """``embedding`` (Z, Y, X, F*d) projected onto the ``n`` leading principal axes of its voxels (for a ball's, in the
    tangent spaces at the origin of its ``factors`` balls side by side, mapped back), keeping F*d coordinates: what
    varies along the other axes is removed."""
    if not 1 <= n <= embedding.shape[-1]:
        raise ValueError(f"the number of leading axes must lie in [1, {embedding.shape[-1]}], got {n}")
    flat = to_tangent(embedding, factors=factors, c=geometry.curvature) if geometry.hyperbolic else embedding
    rows = flat.reshape(-1, flat.shape[-1]).astype(np.float64)
    axes, mean = principal_axes(rows, n_components=n)
    projected = (mean + ((rows - mean) @ axes.T) @ axes).reshape(flat.shape).astype(np.float32)
    return to_ball(projected, factors=factors, c=geometry.curvature) if geometry.hyperbolic else projected


def level1_choice(text: str) -> tuple[tuple[int], float]:
    """``--level1 P:POWER`` as (patch sides, purity power), e.g. ``5:8`` -> ((5,), 8.0)."""
    try:
        side, power = text.split(":")
        choice = ((int(side),), float(power))
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes P:POWER, e.g. 5:8, got {text!r}") from None
    if choice[0][0] < 1 or choice[1] < 0:
        raise argparse.ArgumentTypeError(f"takes a side >= 1 and a power >= 0, got {text!r}")
    return choice


def level1_errors(found: np.ndarray, cell: np.ndarray, volume: np.ndarray) -> dict:
    """A level-1 object (bool) against the true cell (bool): DICE, contrast (|mean cell - mean background| / the
    background's standard deviation) and the misplaced voxels by distance to the true boundary."""
    distance = np.where(cell, ndimage.distance_transform_edt(cell), ndimage.distance_transform_edt(~cell))
    wrong = found != cell
    contrast = abs(volume[cell].mean() - volume[~cell].mean()) / volume[~cell].std()
    return {"dice": round(float(matched_dice(found.astype(np.int32), cell.astype(np.int32)).mean), 3),
            "contrast": round(float(contrast), 2), "cell_voxels": int(cell.sum()),
            "misplaced_within_2": int(np.sum(wrong & (distance <= 2))),
            "misplaced_2_to_5": int(np.sum(wrong & (distance > 2) & (distance <= 5))),
            "misplaced_beyond_5": int(np.sum(wrong & (distance > 5)))}


if __name__ == "__main__":
    main()
