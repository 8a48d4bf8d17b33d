"""Tomogram scale: chunked segmentation's time per stage and peak memory, one process against a 2-worker Dask cluster.

``hypseg bench scale`` (or ``python -m benchmarks.scale``) writes synthetic tomogram-like volumes (the
synthetic set's cells, 100^3 each, tiled over the volume; MRC, and Zarr for 512x512x200), trains a small
model once, and runs ``hypseg segment`` with the default recipe (k = 2, 4, 8) on each, every run in a
fresh process so that its peak resident memory (the RSS high-water mark, ``getrusage``) is its own:

- ``128^3``: chunked, one process: the throughput every other row is compared with;
- ``256^3``: whole volume in memory (no ``--chunk``) and chunked (``--chunk 128``): how many voxels'
  labels agree (the chunked run's supervoxels are the whole run's, so they should all);
- ``512x512x200`` (Zarr): chunked in one process and on a local Dask cluster of 2 worker processes
  (``--workers 2``): the labels must be the same;
- ``1000x1000x300`` (MRC, 1.2 GB): chunked, one process (``--sizes 1000x1000x300``: about 2 hours on one core).

``--model narrow`` runs the rows with a narrow model (about 50 times fewer multiply-adds) whose point is the
labels (the Dask cluster's equal the single process's), not the cost; the table names each row's model.

Every process (the single one, each Dask worker) runs torch on one thread (``OMP_NUM_THREADS=1``): the
2-worker cluster's gain is then that of its processes, and a run on a shared machine is not slowed by
threads waiting for each other (on 2 busy cores torch's elementwise operations on 2 threads were 50
times slower than on one).

The last column is the CPU time of the run's processes (user and system, the Dask workers included):
on a shared machine it moves less than the wall time the other columns give.

Rows are kept in ``results/scale.json`` (one per volume and run, so that the sizes can be run at
different times); the table in ``results/scale.md`` is rendered from all of them. Times are wall
seconds of one run each (the stages are minutes long; this is not a micro-benchmark).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = {"128^3": (128, 128, 128), "256^3": (256, 256, 256), "512x512x200": (200, 512, 512),
         "1000x1000x300": (300, 1000, 1000)}
DEFAULT_SIZES = ("128^3", "256^3", "512x512x200")
STAGES = ("statistics", "embedding", "means", "fit", "labels", "containment", "write")
CELL = 100
#: The pipeline's cost version. A row measured with an earlier one is rerun by the next ``run`` of its size
#: and, until then, marked in the table and left out of the ratios. 2: the dense pass at p = 5 runs its
#: hidden layer only at the kept positions. 3: the finer levels' p = 5 codes are averaged with their
#: point-inverted patches', so the p = 5 encoder runs twice. 4: the process keeps the memory it frees
#: (:func:`hypseg._malloc.keep_freed_memory`, as the command line does).
ENGINE = 4

#: The child process: segment, then report the manifest's stage times and the peak RSS (bytes).
_CHILD = """
import json, resource, sys, time
from hypseg._malloc import keep_freed_memory
from hypseg.inference.pipeline import segment_files
keep_freed_memory()  # as `hypseg segment` does
args = json.loads(sys.argv[1])
start = time.perf_counter()
manifest = segment_files([args["volume"]], model_dir=args["model"], out=args["out"], progress=False, **args["options"])
total = time.perf_counter() - start
usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
cpu = sum(u.ru_utime + u.ru_stime for u in usage)
print(json.dumps({"total": total, "seconds": manifest.get("seconds", {}), "rss": usage[0].ru_maxrss * 1024,
                  "children_rss": usage[1].ru_maxrss * 1024, "cpu": cpu}))
"""


def write_volume(path: Path, shape: tuple[int, int, int], *, seed: int = 0, cell: int = CELL) -> Path:
    """A tomogram-like volume: six synthetic cells (``cell``^3 each) tiled over ``shape``, written box by box."""
    from hypseg.data.synthetic_config import SyntheticConfig
    from hypseg.data.synthetic import generate_volume

    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    cells = [generate_volume(rng, config=SyntheticConfig.scaled(cell)).image for _ in range(6)]
    tmp = path.with_name(".tmp-" + path.name)
    if path.suffix == ".mrc":
        import mrcfile

        with mrcfile.new_mmap(str(tmp), shape=shape, mrc_mode=2, overwrite=True) as mrc:
            mrc.voxel_size = 10.0
            offset = int(mrc.header.nbytes) + int(mrc.header.nsymbt)
        target = lambda: np.memmap(tmp, dtype=np.float32, mode="r+", offset=offset, shape=shape)  # noqa: E731
    else:
        import zarr

        zarr.open_array(str(tmp), mode="w", shape=shape, chunks=(64, 64, 64), dtype=np.float32)
        target = lambda: zarr.open_array(str(tmp), mode="r+")  # noqa: E731
    for i in range(0, shape[0], cell):
        for j in range(0, shape[1], cell):
            for k in range(0, shape[2], cell):
                image = cells[(3 * (i // cell) + 5 * (j // cell) + 7 * (k // cell)) % len(cells)]
                box = (slice(i, min(i + cell, shape[0])), slice(j, min(j + cell, shape[1])), slice(k, min(k + cell, shape[2])))
                out = target()
                out[box] = image[: box[0].stop - i, : box[1].stop - j, : box[2].stop - k]
                if hasattr(out, "flush"):
                    out.flush()
                del out
    os.replace(tmp, path)
    return path


#: The models the rows can use: the CPU recipe's (what users run), and a narrow one (widths 4, 8, 8,
#: 16 hidden units: about 50 times fewer multiply-adds per position) for the rows whose point is the labels.
MODELS = ("default", "narrow")


def train_model(work: Path, kind: str = "default") -> Path:
    """A model of ``kind`` (:data:`MODELS`) trained 40 steps on four 64^3 synthetic volumes: only its cost
    and its determinism matter here."""
    from hypseg.config import ModelConfig, cpu_recipe

    model = work / ("model" if kind == "default" else f"model-{kind}")
    if (model / "model.pt").exists():
        return model
    data = work / "train-data"
    hypseg = [sys.executable, "-m", "hypseg.cli"]
    if not data.exists():
        subprocess.run(hypseg + ["synth", str(data), "--n", "4", "--size", "64"], check=True, capture_output=True)
    options = ["--steps", "40"]
    if kind == "narrow":
        import dataclasses

        recipe = cpu_recipe()
        recipe = dataclasses.replace(recipe, model=ModelConfig(patch_size=10, channels=(4, 8, 8), hidden=16))
        recipe.save_toml(work / "narrow.toml")
        options += ["--config", str(work / "narrow.toml")]
    subprocess.run(hypseg + ["train", str(data), "--out", str(model), *options], check=True, capture_output=True)
    return model


def measure(volume: Path, model: Path, out: Path, **options) -> dict:
    """Segment ``volume`` in a fresh process: its wall time, stage times and peak RSS.

    A row times a whole run, so an earlier output and the work files of an interrupted run (which would make the
    child refuse to start, or resume) are removed first. A child that fails raises with its own message."""
    import shutil

    from hypseg.inference.pipeline import work_folder

    for stale in (out, work_folder(out)):
        if stale.exists():
            shutil.rmtree(stale)
    args = {"volume": str(volume), "model": str(model), "out": str(out), "options": options}
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # one thread per process (module docstring)
    done = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(args)], capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"segmenting {volume} into {out} failed (exit {done.returncode}):\n{done.stderr.strip()[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    """This machine in a few words, stored with each row: rows timed on different processors do not compare."""
    name = ""
    try:
        with open("/proc/cpuinfo") as handle:
            name = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), "")
    except OSError:
        pass
    import platform

    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def agreement(a: Path, b: Path) -> float:
    """Share of voxels (over every level) whose labels are equal in two segmentation folders."""
    from hypseg.io import load_labels

    manifest = json.loads((a / "segmentation.json").read_text())
    other = json.loads((b / "segmentation.json").read_text())
    same = total = 0
    for k, name in manifest["cases"][0]["labels"].items():
        x = load_labels(a / name)
        y = load_labels(b / other["cases"][0]["labels"][k])
        same += int(np.count_nonzero(x == y))
        total += x.size
    return same / total


def run(*, repeats: int = 1, sizes=None, work: Path | None = None, force: bool = False, model: str = "default",
        runs=None) -> None:
    """Run the rows of ``sizes`` missing from ``results/scale.json`` (all of them with ``force``) with the
    ``model`` of :data:`MODELS` (``runs``: only the rows of these names, e.g. ``["chunked"]``), and print the table."""
    sizes = list(sizes or DEFAULT_SIZES)
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        from hypseg.errors import UserError

        raise UserError(f"unknown scale size {unknown[0]!r}; choose from {', '.join(SIZES)}")
    work = Path(work or os.environ.get("HYPSEG_SCALE_WORK", "/tmp/hypseg-scale"))
    work.mkdir(parents=True, exist_ok=True)
    store = RESULTS / "scale.json"
    rows = json.loads(store.read_text()) if store.exists() else {}
    kind = model
    model = train_model(work, kind)
    plans = {
        "128^3": [("chunked", ".mrc", {"chunk": 128}, None)],
        "256^3": [("in memory", ".mrc", {}, None), ("chunked", ".mrc", {"chunk": 128}, "in memory")],
        "512x512x200": [("chunked", ".zarr", {"chunk": 128}, None), ("Dask, 2 workers", ".zarr", {"chunk": 128, "workers": 2}, "chunked")],
        "1000x1000x300": [("chunked", ".mrc", {"chunk": 128}, None)],
    }
    for size in sizes:
        for name, suffix, options, reference in plans[size]:
            key = f"{size} | {name}" + ("" if kind == "default" else f" | {kind} model")
            current = key in rows and rows[key].get("engine", 1) == ENGINE
            if (current and not force) or (runs and name not in runs):
                continue
            volume = write_volume(work / f"volume-{size.replace('^', '')}{suffix}", SIZES[size])
            out = work / f"seg-{size.replace('^', '')}-{name.split(',')[0].replace(' ', '-')}-{kind}"
            print(f"scale: {key} ...", file=sys.stderr, flush=True)
            found = measure(volume, model, out, **options)
            found["voxels"] = int(np.prod(SIZES[size]))
            found["format"] = suffix
            if reference is not None:
                ref = work / f"seg-{size.replace('^', '')}-{reference.split(',')[0].replace(' ', '-')}-{kind}"
                found["agreement"] = {"with": reference, "share": agreement(out, ref)}
            found["date"] = time.strftime("%Y-%m-%d")
            found["engine"] = ENGINE
            found["machine"] = machine()
            rows = json.loads(store.read_text()) if store.exists() else {}  # rows another run stored meanwhile
            rows[key] = found
            store.write_text(json.dumps(rows, indent=1))
    table = render(rows)
    (RESULTS / "scale.md").write_text(table + "\n")
    print(table)


def render(rows: dict) -> str:
    """The markdown table of every stored row."""
    def model_of(key: str) -> str:
        parts = key.split(" | ")
        return parts[2].replace(" model", "") if len(parts) > 2 else "default"

    base = {model_of(key): r for key, r in rows.items() if key.startswith("128^3 |") and r.get("engine", 1) == ENGINE}
    head = ("| volume | run | model | voxels (M) | " + " | ".join(STAGES) + " | total (s) | µs / voxel | × 128^3 µs / voxel "
            "| peak RSS (GB) | workers' peak RSS (GB) | labels agree | CPU (s) | machine |")  # × 128^3: the same model's 128^3 row, on the same machine
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for key, r in rows.items():
        size, name = key.split(" | ")[:2]
        model = model_of(key)
        rate = r["total"] / r["voxels"]
        agree = f"{100 * r['agreement']['share']:.4f}% with {r['agreement']['with']}" if "agreement" in r else ""
        stages = " | ".join(f"{r['seconds'][s]:.0f}" if s in r["seconds"] else "" for s in STAGES)
        workers = f"{r['children_rss'] / 1e9:.2f}" if "workers" in name.lower() else ""
        stale = r.get("engine", 1) != ENGINE
        same = model in base and base[model].get("machine") == r.get("machine")
        ratio = f"{rate / (base[model]['total'] / base[model]['voxels']):.2f}" if same and not stale else ""
        name += f" (engine {r.get('engine', 1)})" if stale else ""
        lines.append(f"| {size} ({r['format']}) | {name} | {model} | {r['voxels'] / 1e6:.1f} | {stages} | {r['total']:.0f} | "
                     f"{1e6 * rate:.2f} | {ratio} | {r['rss'] / 1e9:.2f} | {workers} | {agree} | "
                     + (f"{r['cpu']:.0f} |" if "cpu" in r else " |") + f" {r.get('machine', '')} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(DEFAULT_SIZES), choices=list(SIZES))
    parser.add_argument("--work", type=Path, default=None, help="folder for the volumes and outputs (default /tmp/hypseg-scale)")
    parser.add_argument("--force", action="store_true", help="rerun rows already in results/scale.json")
    parser.add_argument("--model", choices=MODELS, default="default", help="the CPU recipe's model, or a narrow one for rows about the labels")
    parser.add_argument("--run", action="append", dest="runs", help="only the rows of this run (e.g. chunked); repeat for several")
    args = parser.parse_args(argv)
    run(sizes=args.sizes, work=args.work, force=args.force, model=args.model, runs=args.runs)


if __name__ == "__main__":
    main()
