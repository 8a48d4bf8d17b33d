"""``hypseg bench``: print the benchmark tables (docs/benchmarks.md).

The suites live outside the product package, in the ``benchmarks`` package of the source checkout
(``<checkout>/benchmarks``, beside ``<checkout>/src/hypseg``); this command finds that checkout from
where hypseg is imported from (an editable install of the checkout) and imports the package lazily.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Optional

import typer

from hypseg.cli._errors import user_errors
from hypseg.errors import UserError


def benchmarks_folder() -> Path:
    """``<checkout>/benchmarks`` of the source checkout whose ``src/hypseg`` is the imported hypseg."""
    import hypseg

    return Path(hypseg.__file__).resolve().parents[2] / "benchmarks"


def load_benchmarks(folder: Path) -> ModuleType:
    """The ``benchmarks`` package in ``folder``, imported once under that name (its modules import each
    other as ``benchmarks.<module>``).

    :class:`~hypseg.errors.UserError` when ``folder`` holds no package (hypseg installed from a wheel,
    not from a checkout) or when another ``benchmarks`` package is already imported.
    """
    folder = Path(folder).resolve()
    init = folder / "__init__.py"
    if not init.is_file():
        raise UserError(f"hypseg bench runs the benchmarks of a source checkout and found none at {folder}: "
                        "clone the repository, `pip install -e .` in it and run hypseg bench from that install")
    loaded = sys.modules.get("benchmarks")
    if loaded is not None:
        if Path(getattr(loaded, "__file__", "") or "").resolve() == init:
            return loaded
        raise UserError(f"another 'benchmarks' package is imported ({getattr(loaded, '__file__', loaded)}), not {folder}")
    spec = importlib.util.spec_from_file_location("benchmarks", init, submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["benchmarks"]
        raise
    return module


@user_errors
def bench(
    suite: str = typer.Argument("speed", help="'speed' (every speed table) or one of: layers, sampling, kmeans, train, inference, quality, brats."),
    repeats: int = typer.Option(5, min=1, help="Timed repeats per row (the table shows medians); quality and brats: training seeds."),
    root: Optional[Path] = typer.Option(None, "--root", help="brats: a folder in the BraTS layout (<case>/<case>_flair.nii.gz and _seg.nii.gz)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=2, help="brats: use only this many cases (split in the same proportions)."),
    downsample: Optional[int] = typer.Option(None, "--downsample", min=1, help="brats: keep every f-th voxel per axis (f^3 less memory and time)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="quality, brats: also write the table to this file (quality: each finished set is kept in <out>.partial.json until then, and the same command, rerun after an interruption, scores only the sets still missing)."),
    sets: Optional[list[str]] = typer.Option(None, "--set", help="quality: only these sets (default: regular, irregular, shepp-logan; also small-cells, every object at half its size, and crowded, small particles filling the box); repeat the option for several."),
) -> None:
    """Print benchmark tables: speed or quality.

    Speed: medians of several runs, ratios against a baseline timed in the same process. Quality: trained
    models, seeds x test volumes, each model's seeds' ensemble, against classical baselines and the paper; the
    closing goals table gives every margin a 95% paired bootstrap interval over the test volumes.

    Examples:

        hypseg bench layers --repeats 7

        hypseg bench speed

        hypseg bench quality --repeats 3   # 3 sets, 10 models x 3 seeds and their ensembles, each peer twice: 40-55 min on 2 CPU cores

        hypseg bench quality --set irregular --repeats 1 --out irregular.md

        hypseg bench brats --root /data/MICCAI_BraTS_2019_Training/HGG --repeats 3 --downsample 2
    """
    benchmarks = load_benchmarks(benchmarks_folder())
    given = {"root": root, "limit": limit, "downsample": downsample, "out": out, "sets": sets}
    options = {key: value for key, value in given.items() if value is not None}
    names = list(benchmarks.SPEED) if suite == "speed" else [suite]
    for name in names:
        benchmarks.run_suite(name, repeats=repeats, **options)
        typer.echo("")
