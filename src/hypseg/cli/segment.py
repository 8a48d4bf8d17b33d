"""``hypseg segment``: label maps per level for volume files, with a trained model."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import List, Optional

import typer

from hypseg.cli._errors import interrupted_status, user_errors
from hypseg.cli._options import CHANNEL, CHANNEL_AXIS
from hypseg._words import CONTRAST_NOTE, RETRIED_NOTE, count
from hypseg.config import SEGMENT_PRESETS
from hypseg.errors import UserError


@user_errors
def segment(
    volumes: List[Path] = typer.Argument(..., help="Volume files (NIfTI, MRC, TIFF, NumPy, Zarr), folders, or a dataset folder."),
    model: Path = typer.Option(..., "--model", "-m", help="Run directory of a trained model (hypseg train --out)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder for label maps, embeddings and segmentation.json."),
    recipe: str = typer.Option("default", "--recipe", "-r", help=f"A segmentation preset ({', '.join(SEGMENT_PRESETS)}) or a TOML file of a SegmentConfig; the options below override it."),
    clusters: Optional[List[int]] = typer.Option(None, "--clusters", "-k", help="Cluster counts, one label map each (repeat: -k 2 -k 4); level i keeps the recipe's level i settings."),
    patch_size: Optional[List[int]] = typer.Option(None, "--patch-size", "-p", help="Side of each voxel's patch at every level (a divisor or a multiple of the side m the model was trained at: 10 with the cpu recipe; at most the volume's largest side, or m). Repeat for several sides clustered on a product of balls."),
    pooled: Optional[bool] = typer.Option(None, "--pooled/--per-volume", help="At every level, fit the clusters on all volumes together, or per volume (where a volume, or its object, holds fewer supervoxels than clusters, its voxels are clustered)."),
    containment: Optional[bool] = typer.Option(None, "--containment/--no-containment", help="Level 1 (k = 2) reports its object, holes filled, and the finer levels are clustered inside it."),
    refine: Optional[int] = typer.Option(None, "--refine", min=0, help="Passes in which each voxel within one voxel of the level-1 object's boundary takes the side whose local mean intensity is nearer its own (the default recipe's 2; 0: the object as its supervoxels give it). Ignored without containment."),
    voxel_band: Optional[int] = typer.Option(None, "--voxel-band", min=0, help="Before the refinement, each voxel within this many voxels of the boundary between level 1's clusters takes the cluster whose centre is nearest its own value (see --band-feature: the image's box mean in the default recipe) instead of its supervoxel's (the default recipe's 2; 0: the supervoxels decide alone). Ignored without containment and with a tied-mixture level 1."),
    band_side: Optional[int] = typer.Option(None, "--band-side", min=0, help="The patch side whose embedding the voxel band's voxels decide by, against the mean embeddings of level 1's clusters at that side (0: level 1's own side and centres), or with --band-feature intensity the side of the box mean they decide by (0: level 1's side). -p without it sets 0 on the embedding and keeps the box's side on intensity; ignored where the band is (see --voxel-band)."),
    band_feature: Optional[str] = typer.Option(None, "--band-feature", metavar="WHAT", help="What the voxel band's voxels decide by: embedding (their embedding, see --band-side) or intensity (the volume's own mean over a box around each voxel, against the mean box intensities of level 1's clusters: no bend where a patch straddles a bright, soft edge; the default recipe's, at side 5). Another feature than the recipe's decides at level 1's side unless --band-side is given."),
    field_retry: Optional[int] = typer.Option(None, "--field-retry", min=0, help="Where level 1's object lies in no field of view (it meets the volume's faces as much as its size predicts), cluster level 1 again with this many clusters (at least 3) and take the one least on the faces as the object where it lies in a field (0: never). Ignored without containment and with a tied-mixture level 1."),
    contrast_sides: Optional[str] = typer.Option(None, "--contrast-sides", metavar="P,Q", help="Where neither level 1 nor its second try finds an object in a field of view (a specimen filling the volume, as in a tomogram), cluster level 1 voxel by voxel on local contrast at sides P and Q (see --contrast-feature: the image's box mean at side P minus at side Q, or the embedding's) by a tied Gaussian mixture and take one of its rarer components as the object (see --contrast-components), e.g. small particles (the default recipe's 3,10 on intensity; 0: never; on the embedding, -p P without it sets P,2P for the smallest P). Ignored where --field-retry is."),
    contrast_components: Optional[int] = typer.Option(None, "--contrast-components", help="Components of local contrast's mixture (see --contrast-sides): the largest is the specimen's bulk, and of the others holding at least a thousandth of the volume the one whose voxels differ most, on average, from their surroundings (the volume's box mean at P minus at Q) is the object (the default recipe's 3: the bulk, a brighter and a darker tail; 2: the smaller component)."),
    contrast_divides: Optional[str] = typer.Option(None, "--contrast-divides", metavar="WHAT", help="What the finer levels divide where local contrast found level 1's object (see --contrast-sides): specimen (the rest, the default recipe's: the particles stay label 1 at every level, the specimen takes 0, 2, ..., k-1) or object (the particles, as an object in a field of view)."),
    contrast_assign: Optional[str] = typer.Option(None, "--contrast-assign", metavar="HOW", help="How local contrast's mixture (see --contrast-sides) assigns each voxel: posterior (its most probable component) or likelihood (its most likely, the mixing weights left out: a rare component, the particles, then holds more of the faint ones; the default recipe's posterior)."),
    contrast_grow: Optional[int] = typer.Option(None, "--contrast-grow", metavar="N", help="Grow local contrast's object (see --contrast-sides) by N voxels after its refinement: a blurred particle's rim stands out less than its core (the default recipe's 1; 0: not grown)."),
    contrast_feature: Optional[str] = typer.Option(None, "--contrast-feature", metavar="WHAT", help="What local contrast's mixture (see --contrast-sides) is fitted on: embedding (the embedding at P minus at Q), intensity (the volume's own box mean at P minus at Q, one value per voxel: the object of a volume that reaches local contrast then does not depend on the embedding; the finer levels still cluster it) or both side by side (the default recipe's intensity)."),
    inversion: Optional[str] = typer.Option(None, "--inversion", metavar="WHICH", help="Average patch codes with the codes of the same patches with every axis reversed (in the tangent space at the origin): none, finer (the finer levels' patch sides, the default recipe's; none where level 1 reads the same side, as with -p P) or every (every side). What a code says about the direction of an edge cancels, so a thin bright shell is not split by which side of it is bright; the encoder runs twice at those sides."),
    nested: bool = typer.Option(False, "--nested", help="Each level refines the one above (a tree of labels; needs --no-containment)."),
    subsample: Optional[int] = typer.Option(None, min=100, help="Voxels (or supervoxels) each k-means is fitted on (default 50000)."),
    supervoxels: Optional[int] = typer.Option(None, min=0, help="Voxels per SLIC supervoxel at every level: cluster each supervoxel's mean embedding, so labels follow the image's edges (0: cluster every voxel)."),
    purity_power: Optional[float] = typer.Option(None, "--purity-power", help="At every level, weigh each voxel in its supervoxel's mean by the share of its patch inside the supervoxel to this power (0: plain means)."),
    clusterer: Optional[str] = typer.Option(None, "--clusterer", help="At every level, 'kmeans' or 'tied-mixture': a Gaussian mixture whose clusters share one covariance, which weighs each direction by the spread within the clusters (flat vectors only: a Euclidean model, or --space tangent)."),
    space: Optional[str] = typer.Option(None, "--space", help="Cluster a hyperbolic model's embeddings with the ball's distances and means ('ball', the paper's hyperbolic k-means) or mapped to the tangent space at the origin ('tangent', the default recipe's)."),
    tile: int = typer.Option(48, min=4, help="Side of the tiles of the dense embedding (bounds memory)."),
    device: str = typer.Option("auto", help="auto (CUDA where there is one), cpu, cuda or cuda:N: the embedding, supervoxel means and k-means run there (a tied mixture runs its EM on the CPU)."),
    seed: Optional[int] = typer.Option(None, help="Seed of the clustering (default 0)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a segmentation folder hypseg wrote earlier, with everything in it (no other folder is ever replaced)."),
    chunk: Optional[int] = typer.Option(None, "--chunk", help="Segment chunk by chunk, boxes of this side (a multiple of the recipe's supervoxel_tile, 128): memory is set by the chunk, not the volume; a volume smaller than a chunk is one. Chosen by itself, at 128, above 256^3 voxels."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Run the chunks on a local Dask cluster of this many worker processes (pip install 'hypseg\\[dask]')."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Run the chunks on the Dask cluster of this scheduler (tcp://host:8786); the output folder must be on a file system its workers share."),
    scheduler_timeout: float = typer.Option(10.0, "--scheduler-timeout", min=0.1, help="Seconds to wait for the --scheduler before giving up."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars on stderr."),
    embedding: bool = typer.Option(True, "--embedding/--no-embedding", help="Keep each volume's per-voxel embedding "
                                   "(NAME_embedding.npy, 4 bytes per voxel and latent dimension; hypseg plot draws its "
                                   "Poincare disk)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a chunked run into --out that stopped before its end: the chunks it embedded (kept in .OUT.partial beside --out) are not embedded again."),
    channel: Optional[int] = CHANNEL,
    channel_axis: Optional[int] = CHANNEL_AXIS,
) -> None:
    """Embed every voxel with the model and cluster the embeddings with k-means, one label map per
    level, in the input's format and geometry.

    Without options this runs the 'default' recipe, the one the quality benchmark scores: level 1
    (k = 2) at p = 10 per volume, the voxels within 2 of its boundary deciding by the image's box mean, its
    boundary refined by intensity and its object's holes filled; levels 2 (k = 4, per volume) and 3
    (k = 8, pooled) at p = 5 inside that object (around it, where local contrast found it); purity-weighted means
    of 500-voxel supervoxels, each p = 5 code averaged with its point-inverted patch's; the embeddings clustered in the
    tangent space at the origin. '--recipe paper' is the
    paper's protocol
    (every voxel, p = 5, k = 2, 4, 8 per volume, hyperbolic k-means in the ball).

    Examples:

        hypseg segment data/synth --model runs/gyro --out seg/

        hypseg segment tomo.mrc --model runs/gyro -k 3 --out seg-tomo/ --device cuda

        hypseg segment data/synth --model runs/gyro --recipe paper --out seg-paper/

        hypseg segment big.zarr --model runs/gyro --supervoxels 0 --out seg-voxels/     # cluster every voxel

        hypseg segment tomo.mrc --model runs/gyro --out seg-tomo/ --chunk 128 --workers 4   # larger than memory

        hypseg segment tomo.mrc --model runs/gyro --out seg-tomo/ --chunk 128 --workers 4 --resume   # after an interruption
    """
    from hypseg.config import SegmentConfig, segment_preset
    from hypseg.device import resolve_device
    from hypseg.inference.pipeline import segment_files

    if recipe.endswith(".toml"):
        config = SegmentConfig.load_toml(recipe)
    elif recipe in SEGMENT_PRESETS:
        config = segment_preset(recipe)
    else:
        raise UserError(f"--recipe {recipe}: neither a segmentation preset ({', '.join(SEGMENT_PRESETS)}) nor a TOML file "
                        "of a SegmentConfig (a .toml; SegmentConfig.save_toml writes one)")
    if clusters:
        config = config.with_clusters(clusters)
    if contrast_feature is not None:  # first: whether local contrast's sides follow the patch sides depends on it
        config = dataclasses.replace(config, contrast_feature=contrast_feature)
    if band_feature is not None and band_feature != config.band_feature:  # likewise for the band's side: another
        config = dataclasses.replace(config, band_feature=band_feature, band_sides=())  # feature at level 1's own side
    if patch_size:  # every level's side, and the band's and local contrast's on the embedding with them
        config = config.at_patch_sides(patch_size)
    changes = {"supervoxel_size": supervoxels,
               "purity_power": 0.0 if supervoxels == 0 and purity_power is None else purity_power,
               "pooled": pooled, "in_object": containment, "clusterer": clusterer}
    config = config.with_levels(**{name: value for name, value in changes.items() if value is not None})
    shared = {"nested": nested or None, "subsample": subsample, "seed": seed, "space": space, "refine": refine,
              "voxel_band": voxel_band, "field_retry": field_retry, "contrast_sides": _sides_pair(contrast_sides),
              "contrast_components": contrast_components, "contrast_divides": contrast_divides,
              "contrast_assign": contrast_assign, "contrast_grow": contrast_grow, "contrast_feature": contrast_feature,
              "band_feature": band_feature, "inversion": inversion}
    if band_side is not None:
        shared["band_sides"] = (band_side,) if band_side else ()
    config = dataclasses.replace(config, **{name: value for name, value in shared.items() if value is not None})
    try:
        manifest = segment_files(volumes, model_dir=model, out=out, config=config, tile=tile, device=resolve_device(device),
                                 overwrite=overwrite, progress=progress, chunk=chunk, workers=workers, scheduler=scheduler,
                                 scheduler_timeout=scheduler_timeout, resume=resume, channel=channel,
                                 channel_axis=channel_axis, save_embedding=embedding)
    except KeyboardInterrupt as stopped:
        from hypseg.inference.pipeline import work_folder

        if not work_folder(out).exists():  # a chunked run that kept its chunks has said where and how to go on
            print(f"hypseg: interrupted; nothing was written to {out}", file=sys.stderr)
        raise typer.Exit(code=interrupted_status(stopped)) from None
    typer.echo(f"segmented {count(len(manifest['cases']), 'volume')} at k = {manifest['clusters']} into {out}")
    fallen = [case["name"] for case in manifest["cases"] if case.get("clustered_voxels")]
    if fallen:
        typer.echo(f"note: {count(len(fallen), 'volume')} held fewer supervoxels than clusters, clustered voxel by voxel: {', '.join(fallen)}")
    for case in manifest["cases"]:
        if case.get("level1_retried") or case.get("level1_by_contrast"):
            typer.echo(f"note: {case['name']}: {RETRIED_NOTE if case.get('level1_retried') else CONTRAST_NOTE}")


def _sides_pair(text: str | None) -> tuple[int, ...] | None:
    """``--contrast-sides``: "P,Q" as (P, Q), "0" as () (never), None as None (the recipe's)."""
    if text is None:
        return None
    if text.strip() == "0":
        return ()
    parts = text.split(",")
    if len(parts) != 2 or not all(part.strip().lstrip("-").isdigit() for part in parts):
        raise UserError(f"--contrast-sides must be two sides such as 3,10, or 0, got {text!r}")
    return tuple(int(part) for part in parts)  # SegmentConfig checks the values
