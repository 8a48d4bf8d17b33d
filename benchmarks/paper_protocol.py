"""The paper's Table 2 under the paper's own protocol, and which deviation from its recipe moves the gap.

The protocol (../shared/spec/paper-recipe.md, "Evaluation"): every voxel is embedded by the encoder
mean of its p = 5 patch upsampled to m = 10; each volume is clustered alone by k-means with random
initialisation (Frechet-mean centroids on the ball) at k = 2 / 4 / 8 for levels 1 / 2 / 3; no
supervoxels, no containment; Hungarian-matched DICE with background. A padded (paper) encoder
embeds every voxel's zero-padded patch on its own; a valid-convolution encoder takes the dense pass,
which agrees with it inside the volume and replicates the faces instead of padding with zeros.

Each row trains one model per seed and scores the same volumes; the table gives the mean over seeds
of the per-volume mean DICE, and the gap of each row to the Euclidean base with a paired bootstrap
interval over volumes (seeds averaged per volume first). The intensity-axis columns measure, per
volume, the share of the voxel embeddings' variance along their first principal axis (in the tangent
space at the origin for a ball) and that axis's absolute correlation with the 5^3 mean intensity.

``--change`` moves the CPU recipe towards the released experiment one thing at a time:

- ``sampling``: the released sampler (per-voxel anchors, sizes fixed per anchor, concentric positive);
- ``balance``: the released loss balance (ELBO of the parent summed over the batch, 1000 x the
  squared-distance triplet mean);
- ``decoder``: the released decoder (sample grid with gyroplanes; per-sample linear otherwise);
- ``scale``: ten times the training steps;
- ``ball-rate``: every row optimised as the released experiment optimises the ball (AMSGrad at 5e-7,
  clipping at 8). With ``--recipe paper`` it changes only the Euclidean rows, which the released
  experiment trains at 5e-5 without clipping: whether the ball's lead comes with its learning rate.

A change that leaves a row's config as it was reuses that row's unchanged run and records.

Runs are resumable: each (setting, row, seed) writes its scores to ``--workdir`` and is skipped on a
rerun; an interrupted one resumes its training checkpoint and the volumes already scored. Usage::

    python -m benchmarks.paper_protocol --recipe cpu --change none --change balance --split val --seeds 2
    python -m benchmarks.paper_protocol --recipe paper --rows full --rows "euclidean base" --steps 200 --volumes 3
    python -m benchmarks.paper_protocol --recipe paper --rows full --rows "euclidean base" --steps 200 --volumes 3 --base-steps 1

``--pair CHANGE/ROW CHANGE/ROW`` adds the paired difference of two runs at every level (the table's gap column
is level 1 against the Euclidean base of the same setting only), e.g. ``--pair none/full 'ball-rate/euclidean base'``.

``--base-steps`` compares every row with the Euclidean base at another step count, e.g. one step from its
initialisation (the weights-moved column says how far that is), to tell what training changed from what
the initialisation already gave.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import scipy.ndimage as ndi
import torch

from benchmarks.timing import format_table, retried_note
from benchmarks.validation_split import first_axis
from hypseg.clustering import EuclideanKMeans, HyperbolicKMeans
from hypseg.config import RunConfig, cpu_recipe, paper_recipe
from hypseg.config.recipes import PAPER_OPTIMISATION
from hypseg.data import discover_cases, load_normalised, write_synthetic_dataset
from hypseg.device import resolve_device
from hypseg.errors import UserError
from hypseg.geometry import logmap0
from hypseg.inference.embed import embed_volume, embed_volume_patches
from hypseg.io import atomic_path, load_labels
from hypseg.io.checkpoint import CONFIG_NAME, WEIGHTS_NAME, load_run_config
from hypseg.metrics import matched_dice, paired_interval
from hypseg.models import HVAE
from hypseg.training import Trainer
from hypseg.training.trainer import initial_model

#: level -> clusters
LEVELS = {1: 2, 2: 4, 3: 8}
#: Table 2 rows: name -> (variant, triplet on)
ROWS = {
    "euclidean base": ("euclidean", False),
    "euclidean triplet": ("euclidean", True),
    "hyperbolic base": ("hyperbolic", False),
    "hyperbolic gyroplane": ("hyperbolic-gyro", False),
    "hyperbolic triplet": ("hyperbolic", True),
    "full": ("hyperbolic-gyro", True),
}
BASE = "euclidean base"
PROTOCOL_PATCH = 5
#: one ``--pair``: the (setting, row) of the first run and of the run subtracted from it
Pair = tuple[tuple[str, str], tuple[str, str]]


def _released_sampling(run: RunConfig) -> RunConfig:
    data = paper_recipe().data
    return dataclasses.replace(run, data=dataclasses.replace(
        data, normalisation=run.data.normalisation, triplets_per_batch=run.data.triplets_per_batch, constant_tol=run.data.constant_tol))


def _released_balance(run: RunConfig) -> RunConfig:
    return dataclasses.replace(run, train=dataclasses.replace(
        run.train, reduction="sum", reconstruct="parent", triplet_squared=True,
        triplet_weight=1000.0 if run.train.triplet_weight > 0 else 0.0))


def _released_decoder(run: RunConfig) -> RunConfig:
    return dataclasses.replace(run, model=dataclasses.replace(run.model, decoder="paper"),
                               train=dataclasses.replace(run.train, samples=8))


def _scale(run: RunConfig) -> RunConfig:
    return dataclasses.replace(run, train=dataclasses.replace(run.train, steps=run.train.steps * 10))


def _ball_rate(run: RunConfig) -> RunConfig:
    lr, clip = PAPER_OPTIMISATION["hyperbolic"]
    return dataclasses.replace(run, train=dataclasses.replace(run.train, optimiser="amsgrad", learning_rate=lr, grad_clip=clip))


#: --change name -> the recipe with that one thing changed (towards the released experiment; ``ball-rate``: the ball's optimisation for every row)
CHANGES: dict[str, Callable[[RunConfig], RunConfig]] = {
    "none": lambda run: run,
    "sampling": _released_sampling,
    "balance": _released_balance,
    "decoder": _released_decoder,
    "scale": _scale,
    "ball-rate": _ball_rate,
}
#: --change name -> what the table's setting column adds to the recipe's name
SETTING_NAMES = {name: f" + released {name}" for name in CHANGES} | {"none": "", "ball-rate": " + the ball's rate for every row"}


def row_config(recipe: str, row: str, *, change: str, steps: int | None, seed: int, device: str = "cpu") -> RunConfig:
    """The training config of one Table-2 row under a recipe and one change, trained on ``device``."""
    variant, triplet = ROWS[row]
    if recipe == "paper":
        run = paper_recipe(variant, triplet=triplet)
    else:
        run = cpu_recipe()
        run = dataclasses.replace(run, model=dataclasses.replace(run.model, variant=variant),
                                  train=dataclasses.replace(run.train, triplet_weight=run.train.triplet_weight if triplet else 0.0))
    run = CHANGES[change](run)
    train = dataclasses.replace(run.train, seed=seed, validation_batches=0, device=device, **({} if steps is None else {"steps": steps}))
    train = dataclasses.replace(train, checkpoint_every=max(train.steps // 4, 1))  # four checkpoints to resume from
    return dataclasses.replace(run, train=train)


def run_tag(recipe: str, row: str, *, change: str, steps: int | None, seed: int, split: str, volumes: int) -> str:
    """The name of one run's records and run directory in the workdir. A change that leaves the row's config as it
    was names the unchanged run, which it then shares. The device is not part of the name: a rerun on another device
    resumes the run and reads its records back (the record says where it was trained)."""
    run = row_config(recipe, row, change=change, steps=steps, seed=seed)
    unchanged = run == row_config(recipe, row, change="none", steps=steps, seed=seed)
    return f"{recipe}-{'none' if unchanged else change}-{row.replace(' ', '_')}-{seed}-{split}-{volumes}-{run.train.steps}"


def protocol_embedding(model: HVAE, volume: np.ndarray) -> np.ndarray:
    """(Z, Y, X, d) per-voxel embedding of the paper's protocol (p = 5 resized to the model's m), on the model's device."""
    device = next(model.parameters()).device
    if model.config.dense:
        return embed_volume(model, volume, patch_size=PROTOCOL_PATCH, tile=48, device=device)
    return embed_volume_patches(model, volume, patch_size=PROTOCOL_PATCH, padding="zero", device=device)


def protocol_labels(embedding: np.ndarray, *, hyperbolic: bool, curvature: float, k: int, seed: int) -> np.ndarray:
    """One volume's k-means labels with random initialisation (the paper's per-volume clustering)."""
    points = embedding.reshape(-1, embedding.shape[-1]).astype(np.float64)
    if hyperbolic:
        km = HyperbolicKMeans(n_clusters=k, c=curvature, init="random", random_state=seed)
    else:
        km = EuclideanKMeans(n_clusters=k, init="random", random_state=seed)
    return np.asarray(km.fit(points).labels_).reshape(embedding.shape[:-1])


def intensity_axis(embedding: np.ndarray, volume: np.ndarray, *, hyperbolic: bool, curvature: float,
                   sample: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """(share of variance on the first principal axis, |correlation| of that axis with the 5^3 mean intensity)."""
    rng = np.random.default_rng(seed)
    points = embedding.reshape(-1, embedding.shape[-1]).astype(np.float64)
    local = ndi.uniform_filter(np.asarray(volume, np.float64), size=PROTOCOL_PATCH, mode="nearest").ravel()
    pick = rng.choice(points.shape[0], size=min(sample, points.shape[0]), replace=False)
    points, local = points[pick], local[pick]
    if hyperbolic:
        points = logmap0(torch.from_numpy(points), c=curvature).numpy()
    return first_axis(points, local)


def score_run(run: RunConfig, train: Sequence[np.ndarray], scored: Sequence[np.ndarray], truths, *, run_dir: Path) -> dict:
    """Train one model and score it under the protocol: per-volume DICE per level, axis share and correlation.

    An interrupted run loses nothing finished. Training resumes from the run directory's checkpoint, with
    the seed and checkpoint interval the run was started with (a collapsed run trains again with another
    seed, :meth:`hypseg.training.Trainer.fit`). ``scored.json`` there holds the finished model's step, seed
    and training time and every volume scored so far, each reused only for that very model; a training
    interrupted before it finished adds the attempt's time from ``config.toml`` to its last checkpoint."""
    checkpoint, config_file, partial = run_dir / WEIGHTS_NAME, run_dir / CONFIG_NAME, run_dir / "scored.json"
    saved = json.loads(partial.read_text()) if partial.exists() else {}
    resume = checkpoint.exists()
    trainer_run, earlier = run, 0.0
    if resume:
        started = load_run_config(run_dir).train  # its seed is a retry's when the first run collapsed
        trainer_run = dataclasses.replace(run, train=dataclasses.replace(
            run.train, seed=started.seed, checkpoint_every=started.checkpoint_every))
        earlier = (checkpoint.stat().st_mtime - config_file.stat().st_mtime) / 60
    start = time.perf_counter()
    result = Trainer(trainer_run, train, run_dir=run_dir, progress=False).fit(resume=resume)
    model = result.model
    same = saved.get("step") == result.step and saved.get("seed", result.config.train.seed) == result.config.train.seed
    minutes = saved["train_minutes"] if same and "train_minutes" in saved else earlier + (time.perf_counter() - start) / 60
    done = saved["volumes"] if same else []  # scores of this very model only
    for i in range(len(done), len(scored)):
        volume, truth = scored[i], truths[i]
        emb = protocol_embedding(model, volume)
        dice = {str(level): float(matched_dice(labels_at(emb, run, k), truth[level]).mean) for level, k in LEVELS.items()}
        share, corr = intensity_axis(emb, volume, hyperbolic=run.model.hyperbolic, curvature=run.model.curvature, seed=i)
        done.append({"dice": dice, "share": share, "corr": corr})
        write_json(partial, {"step": result.step, "seed": result.config.train.seed, "train_minutes": minutes, "volumes": done})
    return {"dice": {str(level): [d["dice"][str(level)] for d in done] for level in LEVELS},
            "share": [d["share"] for d in done], "corr": [d["corr"] for d in done], "train_minutes": minutes,
            "trained_seed": result.config.train.seed, "steps": result.step, "weights_moved": weights_moved(result),
            "device": result.config.train.device}


def write_json(path: Path, value) -> None:
    """``value`` as JSON at ``path``, written whole or not at all (a kill mid-write keeps the previous file)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(value))


def labels_at(emb: np.ndarray, run: RunConfig, k: int) -> np.ndarray:
    """The protocol's per-volume k-means labels of one embedding, in the run's geometry."""
    return protocol_labels(emb, hyperbolic=run.model.hyperbolic, curvature=run.model.curvature, k=k, seed=run.train.seed)


def weights_moved(result) -> float:
    """|theta - theta_0| / |theta_0| over every parameter: how far training took the model from its initial weights.

    The initial weights are the trainer's own (:func:`hypseg.training.trainer.initial_model`). A learning rate
    too small for the steps run leaves this near 0, and the scores then measure the initialisation."""
    initial = dict(initial_model(result.config).named_parameters())  # each shared parameter once
    trained = dict(result.model.named_parameters())
    moved = sum(float(((trained[name].detach().cpu().double() - value.detach().double()) ** 2).sum()) for name, value in initial.items())
    norm = sum(float((value.detach().double() ** 2).sum()) for value in initial.values())
    return (moved / norm) ** 0.5


def table(results: Mapping[str, Mapping[str, list[dict]]], *, title: str, base: str = BASE) -> str:
    """Markdown: per setting and row, mean DICE per level, the gap to the row ``base`` (the Euclidean base) with
    its interval, axis share."""
    lines = [f"## {title}", "",
             f"| setting | row | seeds | L1 | L2 | L3 | L1 - {base} [95%] | axis share | axis-intensity corr | weights moved | train min |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    retried = []
    for setting, rows in results.items():
        reference = rows.get(base)
        for row, runs in rows.items():
            cells = [f"{float(np.mean(per_volume(runs, level))):.3f}" for level in LEVELS]
            gap = "-" if not reference or row == base else difference(runs, reference, 1)
            share = float(np.median([s for r in runs for s in r["share"]]))
            corr = float(np.median([c for r in runs for c in r["corr"]]))
            minutes = float(np.mean([r["train_minutes"] for r in runs]))
            moved = [r["weights_moved"] for r in runs if "weights_moved" in r]  # runs scored before it was recorded lack it
            moved_cell = f"{float(np.median(moved)):.2g}" if len(moved) == len(runs) else "-"
            lines.append(f"| {setting} | {row} | {len(runs)} | {' | '.join(cells)} | {gap} | {share:.3f} | {corr:.3f} | {moved_cell} | {minutes:.1f} |")
            retried += [retried_note(f"{setting} / {row}", seed, r["trained_seed"])
                        for seed, r in enumerate(runs) if r.get("trained_seed", seed) != seed]
    notes = ["", "Weights moved: the median over seeds of |theta - theta_0| / |theta_0| after training."]
    notes += retried
    return "\n".join(lines + notes) + "\n"


def per_volume(runs: Sequence[dict], level: int) -> np.ndarray:
    """(V,) DICE of one row at one level per scored volume, averaged over the row's seeds."""
    return np.mean([r["dice"][str(level)] for r in runs], axis=0)


def difference(runs: Sequence[dict], other: Sequence[dict], level: int) -> str:
    """``mean [low, high]``: the paired mean difference of two rows over the same volumes at one level, with its interval."""
    a, b = per_volume(runs, level), per_volume(other, level)
    lo, hi = paired_interval(a, b)
    return f"{float(np.mean(a - b)):+.3f} [{lo:+.3f}, {hi:+.3f}]"


def pair_table(results: Mapping[str, Mapping[str, list[dict]]], pairs: Sequence[Pair]) -> str:
    """Markdown: for each pair of (setting, row), the first minus the second at every level, with paired intervals."""
    rows = [[f"({setting}) {row}", f"({other_setting}) {other_row}",
             *(difference(results[setting][row], results[other_setting][other_row], level) for level in LEVELS)]
            for (setting, row), (other_setting, other_row) in pairs]
    return format_table(["(setting) row", "minus (setting) row", *(f"L{level} [95%]" for level in LEVELS)], rows) + "\n"


def parse_arguments(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, dict[str, list[str]], dict[str, str], list[Pair]]:
    """The command line as (arguments, {change: its rows}, {change: its setting's name}, pairs as (setting, row) twice).

    Every usage error (exit 2, one line) is raised here, before anything is written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", choices=("cpu", "paper"), default="cpu")
    parser.add_argument("--change", action="append", choices=tuple(CHANGES), help="repeatable; default: none")
    parser.add_argument("--rows", action="append", choices=tuple(ROWS), help="repeatable; default: all six")
    parser.add_argument("--run", action="append", default=[], metavar="CHANGE/ROW",
                        help="repeatable; only these runs instead of every --change with every --rows, e.g. --run none/full --run 'ball-rate/euclidean triplet'")
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--dataset-size", type=int, default=120, help="volumes generated (split 2/3, 1/6, 1/6)")
    parser.add_argument("--volumes", type=int, default=None, help="score only the first N volumes of the split")
    parser.add_argument("--train-volumes", type=int, default=None, help="train on only the first N training volumes")
    parser.add_argument("--transductive", action="store_true", help="train on the scored volumes (the released run)")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--only-seed", type=int, default=None, metavar="S",
                        help="train and score only seed S of the --seeds (so that seeds can train in parallel processes)")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--base-steps", type=int, default=None,
                        help="compare every row with the Euclidean base trained this many steps (1: one step from its initial weights), listed as its own row")
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("CHANGE/ROW", "CHANGE/ROW"),
                        help="repeatable; adds the paired difference first minus second at every level, e.g. --pair none/full 'ball-rate/euclidean base'")
    parser.add_argument("--device", default="cpu", help="where to train and embed: auto, cpu, cuda or cuda:N (records keep their names on any device)")
    parser.add_argument("--workdir", type=Path, default=Path("paper-protocol-work"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        args.device = resolve_device(args.device)
    except UserError as error:
        parser.error(str(error))
    if args.only_seed is not None and not 0 <= args.only_seed < args.seeds:
        parser.error(f"--only-seed {args.only_seed} is not one of the --seeds {args.seeds} (0..{args.seeds - 1})")
    if args.run and (args.change or args.rows):
        parser.error("--run names each run itself: give it without --change and --rows")
    rows_of: dict[str, list[str]] = {}  # change -> its rows, in the order given
    for name in args.run:
        change, _, row = name.partition("/")
        if change not in CHANGES or row not in ROWS:
            parser.error(f"--run {name!r} is not a CHANGE/ROW: changes {', '.join(CHANGES)}; rows {', '.join(ROWS)}")
        rows_of.setdefault(change, []).append(row)
    if not args.run:
        rows_of = {change: args.rows or list(ROWS) for change in args.change or ["none"]}
    settings = {change: args.recipe + SETTING_NAMES[change] for change in rows_of}  # the table's setting column
    ran = [f"{change}/{row}" for change, rows in rows_of.items() for row in rows]

    def pair_end(name: str) -> tuple[str, str]:
        """``CHANGE/ROW`` as the (setting, row) it names in ``results``; a usage error unless this run has it."""
        if name not in ran:
            parser.error(f"--pair {name!r} is not a CHANGE/ROW of this run: runs {', '.join(ran)}")
        change, _, row = name.partition("/")
        return settings[change], row

    pairs = [(pair_end(first), pair_end(second)) for first, second in args.pair]
    return args, rows_of, settings, pairs


def main(argv: Sequence[str] | None = None) -> None:
    args, rows_of, settings, pairs = parse_arguments(argv)
    data_dir = args.workdir / "regular"
    args.workdir.mkdir(parents=True, exist_ok=True)
    if not (data_dir / "manifest.json").exists():
        write_synthetic_dataset(data_dir, n=args.dataset_size, seed=0, kind="regular")
    cases = discover_cases([data_dir])
    scored_cases = [c for c in cases if c.split == args.split][: args.volumes]
    train_cases = scored_cases if args.transductive else [c for c in cases if c.split == "train"][: args.train_volumes]
    truths = [{level: load_labels(c.truth[str(level)]) for level in LEVELS} for c in scored_cases]
    results: dict[str, dict[str, list[dict]]] = {}
    loaded: dict[tuple, tuple[list[np.ndarray], list[np.ndarray]]] = {}

    def runs_of(setting: str, change: str, row: str, steps: int | None) -> list[dict]:
        """The records of ``row``'s seeds at ``steps``: read back when scored before, else trained and scored."""
        records = []
        for seed in range(args.seeds) if args.only_seed is None else [args.only_seed]:
            run = row_config(args.recipe, row, change=change, steps=steps, seed=seed, device=args.device)
            tag = run_tag(args.recipe, row, change=change, steps=steps, seed=seed, split=args.split, volumes=len(scored_cases))
            done = args.workdir / f"{tag}.json"
            if done.exists():
                records.append(json.loads(done.read_text()))
                continue
            how = (run.data.normalisation, run.data.percentile_low, run.data.percentile_high, run.data.clip)
            if how not in loaded:  # the volumes once per normalisation, not once per run
                loaded[how] = (load_normalised(train_cases, config=run.data), load_normalised(scored_cases, config=run.data))
            train, scored = loaded[how]
            run_dir = args.workdir / tag
            if run_dir.exists() and not (run_dir / WEIGHTS_NAME).exists():
                shutil.rmtree(run_dir)  # interrupted before its first checkpoint: nothing to keep
            record = score_run(run, train, scored, truths, run_dir=run_dir)
            write_json(done, record)
            records.append(record)
            print(f"{setting} / {row} / seed {seed} / {run.train.steps} steps: " + ", ".join(
                f"L{level} {np.mean(record['dice'][str(level)]):.3f}" for level in LEVELS)
                + f", share {np.median(record['share']):.3f}, {record['train_minutes']:.1f} min", flush=True)
        return records

    base = BASE if args.base_steps is None else f"{BASE} at {args.base_steps} step{'s' * (args.base_steps != 1)}"
    for change, setting in settings.items():
        results[setting] = {row: runs_of(setting, change, row, args.steps) for row in rows_of[change]}
        if args.base_steps is not None:
            results[setting][base] = runs_of(setting, change, BASE, args.base_steps)
    title = (f"Paper protocol, regular set, {args.split} split ({len(scored_cases)} volumes), "
             f"{'transductive' if args.transductive else f'trained on {len(train_cases)} training volumes'}")
    text = table(results, title=title, base=base)
    if pairs:
        text += "\nPaired differences over the scored volumes (seeds averaged per volume):\n\n" + pair_table(results, pairs)
    text += f"\nCommand: `python -m benchmarks.paper_protocol {shlex.join(sys.argv[1:] if argv is None else argv)}`\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
