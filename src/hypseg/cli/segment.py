"""``hypseg segment``: label maps per level for volume files, with a trained model."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hypseg.cli._errors import user_errors
from hypseg.config import DEFAULT_SUPERVOXEL_SIZE


@user_errors
def segment(
    volumes: List[Path] = typer.Argument(..., help="Volume files (NIfTI, MRC, TIFF, NumPy, Zarr), folders, or a dataset folder."),
    model: Path = typer.Option(..., "--model", "-m", help="Run directory of a trained model (hypseg train --out)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder for label maps, embeddings and segmentation.json."),
    clusters: List[int] = typer.Option([2, 4, 8], "--clusters", "-k", help="Cluster counts, one label map each (repeat: -k 2 -k 4)."),
    patch_size: Optional[List[int]] = typer.Option(None, "--patch-size", "-p", help="Side of each voxel's patch (default: the model's m; a divisor or a multiple of m). Repeat for several sides clustered on a product of balls."),
    pooled: bool = typer.Option(True, "--pooled/--per-volume", help="Fit the clusters on all volumes together, or per volume (where a volume, or its object, holds fewer supervoxels than clusters, its voxels are clustered)."),
    nested: bool = typer.Option(False, "--nested", help="Each level refines the one above (a tree of labels)."),
    subsample: int = typer.Option(50_000, min=100, help="Voxels (or supervoxels) k-means is fitted on."),
    supervoxels: int = typer.Option(DEFAULT_SUPERVOXEL_SIZE, min=0, help="Voxels per SLIC supervoxel: cluster each supervoxel's mean embedding, so labels follow the image's edges (0: cluster every voxel)."),
    purity_power: float = typer.Option(0.0, "--purity-power", help="Weigh each voxel in its supervoxel's mean by the share of its patch inside the supervoxel to this power (0: plain means; the benchmark uses 8 at levels 2-3 with -p 5)."),
    inside: Optional[Path] = typer.Option(None, "--inside", help="A level-1 segmentation folder (with a -k 2 map of every volume): keep its outside as label 0 and find the other K - 1 clusters inside its object, holes filled; also writes <name>_object maps (the benchmark's levels 1-3)."),
    tile: int = typer.Option(48, min=4, help="Side of the tiles of the dense embedding (bounds memory)."),
    device: str = typer.Option("cpu", help="cpu, cuda or cuda:N."),
    seed: int = typer.Option(0, help="Seed of the clustering."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output folder."),
) -> None:
    """Embed every voxel with the model and cluster the embeddings with hyperbolic k-means, one label
    map per cluster count, in the input's format and geometry.

    Examples:

        hypseg segment data/synth --model runs/gyro -k 2 -k 4 -k 8 --out seg/

        hypseg segment tomo.mrc --model runs/gyro -k 3 --out seg-tomo/ --device cuda

        hypseg segment data/synth --model runs/gyro -p 5 -p 10 --out seg-multiscale/

        hypseg segment data/synth --model runs/gyro -p 10 -k 2 --per-volume --out seg-l1/      # the benchmark's level 1

        hypseg segment data/synth --model runs/gyro -p 5 --purity-power 8 -k 4 --per-volume --inside seg-l1/ --out seg-l2/   # level 2

        hypseg segment data/synth --model runs/gyro -p 5 --purity-power 8 -k 8 --inside seg-l1/ --out seg-l3/   # level 3

        hypseg segment big.zarr --model runs/gyro --supervoxels 0 --out seg-voxels/     # cluster every voxel
    """
    from hypseg.inference.pipeline import segment_files

    manifest = segment_files(
        volumes, model_dir=model, out=out, clusters=clusters, patch_sizes=patch_size, pooled=pooled, nested=nested,
        subsample=subsample, supervoxel_size=supervoxels or None, purity_power=purity_power, inside=inside, tile=tile, device=device,
        seed=seed, overwrite=overwrite, progress=True,
    )
    typer.echo(f"segmented {len(manifest['cases'])} volumes at k = {manifest['clusters']} into {out}")
    fallen = [case["name"] for case in manifest["cases"] if case.get("clustered_voxels")]
    if fallen:
        volumes_held = f"{len(fallen)} volume held" if len(fallen) == 1 else f"{len(fallen)} volumes held"
        typer.echo(f"note: {volumes_held} fewer supervoxels than clusters, clustered voxel by voxel: {', '.join(fallen)}")
