"""``hypseg synth``: write the synthetic hierarchical dataset (volumes, label maps, manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hypseg.cli._errors import user_errors
from hypseg._words import count
from hypseg.errors import UserError


@user_errors
def synth(
    out: Path = typer.Argument(..., help="Output folder: new, empty, or (with --overwrite) a dataset hypseg synth wrote."),
    n: int = typer.Option(120, "--n", min=1, help="Number of volumes (split 2/3 train, 1/6 val, 1/6 test)."),
    seed: int = typer.Option(0, help="Seed of the generator; the same seed gives the same files."),
    kind: str | None = typer.Option(
        None, "--kind", help="Dataset kind: regular, irregular (deformed cells), shepp-logan (noisy 3-D head phantom) or crowded (a specimen filling the box, with small particles)."
    ),
    irregular: Optional[bool] = typer.Option(None, "--irregular/--regular", help="Older spelling of --kind irregular / regular."),
    size: int = typer.Option(50, min=16, help="Side of the cubic volumes in voxels."),
    overwrite: bool = typer.Option(False, help="Replace a dataset hypseg synth wrote earlier, with everything in it (no other folder is ever replaced)."),
) -> None:
    """Generate the synthetic hierarchical dataset (NIfTI volumes, level 1-3 label maps, manifest.json).

    Four kinds: regular cells, irregular (deformed) cells, a noisy 3-D Shepp-Logan head phantom, and a specimen
    that fills the box with small particles (like a tomogram, no object in a field of view).

    Examples:

        hypseg synth data/synth --n 120 --seed 0 --kind irregular

        hypseg synth data/phantom --n 120 --kind shepp-logan

        hypseg synth data/particles --n 120 --kind crowded
    """
    from hypseg.data.synthetic_config import SyntheticConfig
    from hypseg.data.synthetic_dataset import check_output_folder, resolve_kind, write_synthetic_dataset
    from hypseg.progress import progress

    flag = None if irregular is None else "irregular" if irregular else "regular"
    if kind is not None and flag is not None and kind != flag:
        raise UserError(f"--{flag} contradicts --kind {kind}; give one of them")
    kind = resolve_kind(kind, irregular=bool(irregular))
    check_output_folder(out, overwrite=overwrite, how="pass --overwrite")  # before the progress bar starts
    config = SyntheticConfig() if size == 50 else SyntheticConfig.scaled(size)
    with progress(total=n, desc="synth", unit="vol") as bar:
        write_synthetic_dataset(out, n=n, seed=seed, kind=kind, config=config, overwrite=overwrite, progress=bar.update)
    typer.echo(f"wrote {count(n, f'{kind} volume')} to {out}")

