"""Paired differences between the runs kept in a ``validation_split`` results file.

A results file of ``benchmarks/results/`` holds one section per run (``## <set>-<training seed>`` or any other
name), each with the command and the JSON lines ``validation_split`` printed. With ``--recipe`` a run prints its
recipe row with the DICE of every validation volume (``dice_per_volume``); with ``--intensity-twin`` also the same
inference on box-mean intensity (:mod:`benchmarks.intensity_twin`). This reads those lines back and pairs them
over the 20 validation volumes:

- ``--base NAME``: every other section's recipe row minus the section NAME's (one training change at a time
  against the recipe; the sections must score the same volumes, which is checked as far as the file allows: the
  same number, and the same intensity twin where both sections have one);
- ``--twin``: per set (the section name before its last ``-``), the model's recipe row minus its intensity twin,
  each volume's score first averaged over the set's training seeds (the twin has no seed; its rows must agree);
- ``--seeded-base SETTING``: sections named ``<setting>-<training seed>``; every other setting's recipe row minus
  SETTING's, each volume's score first averaged over the training seeds both settings ran, with each seed's own
  mean difference beside it (a change is judged against the spread between training seeds, not only between
  volumes);
- ``--choice KEY``: sections named ``<setting>-<training seed>`` whose runs printed, beside the recipe row, recipe
  rows that change one inference choice (``validation_split --voxel-band``: rows with the key ``voxel_band``;
  ``--kmeans-seed``: ``kmeans_seed``; ``--band-sides``: ``band_sides``; ``--level1``: ``level1_sides``); per
  setting and value of KEY, that row minus the same run's plain recipe row (the recipe of the day: its own band is
  its ``level1_voxel_band``, absent before the band existed), each volume's score first averaged over
  the training seeds, with each seed's own mean difference beside it (no retraining between the two: the same model);
  ``--score object_f1`` pairs, on the crowded set, the F1 of the cluster holding most particle voxels instead of DICE;
  ``--score centre_f1`` the F1 of the cluster holding most particle centres (rows written from 2026-12-06 on);
- ``--twin-split``: sections whose runs printed ``validation_split --twin-split`` rows (level 1 and the finer levels
  from the model and the box means in turn); each such row minus the same run's recipe row and minus its intensity
  twin (where the twin's row holds the score), each volume's score first averaged over the training seeds.

Sections of another generator seed's set (``validation_split --data-seed``) are never paired with, or averaged
with, sections of another set.

    python -m benchmarks.validation_pairs benchmarks/results/validation_twin.md --twin
    python -m benchmarks.validation_pairs benchmarks/results/validation_training_changes.md --base default-0
    python -m benchmarks.validation_pairs benchmarks/results/validation_code_response_shepp_logan.md --seeded-base default
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

import numpy as np

from benchmarks.timing import format_table
from hypseg.metrics import paired_interval

RECIPE, TWIN, INSIDE = "recipe", "twin", "inside"
#: which row each kind names: the recipe's, its intensity twin's, the recipe's with its finer levels normalised inside
#: the level-1 object (``validation_split --inside-normalised``)
_ROWS = {RECIPE: lambda row: str(row.get("inference", "")).startswith("recipe"), TWIN: lambda row: "intensity_twin" in row,
         INSIDE: lambda row: "inside_normalised" in row}


def sections(text: str) -> dict[str, list[dict]]:
    """Section name -> the JSON lines under its ``## `` heading, in order."""
    found: dict[str, list[dict]] = {}
    name = None
    for line in text.splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
            if name in found:
                raise ValueError(f"two sections are named {name!r}")
            found[name] = []
        elif name is not None and line.startswith("{"):
            found[name].append(json.loads(line))
    return found


def row_of(rows: Sequence[dict], which: str) -> dict:
    """The section's first recipe row (``which = "recipe"``, k-means at every level), intensity twin (``"twin"``) or
    recipe with its finer levels normalised inside the object (``"inside"``) that holds per-volume scores."""
    for row in rows:
        if "dice_per_volume" not in row or row.get("clusterer_levels_2_3", "kmeans") != "kmeans":
            continue
        if _ROWS[which](row):
            return row
    raise ValueError(f"no {which} row with per-volume scores")


#: per-volume scores a row may hold: DICE, and on the crowded set the F1 of the cluster holding most particle voxels
SCORES = {"dice": "dice_per_volume", "object_f1": "object_f1_per_volume", "centre_f1": "centre_f1_per_volume"}


def per_volume(rows: Sequence[dict], which: str, score: str = "dice") -> dict[int, np.ndarray]:
    """Level -> the per-volume ``score`` (:data:`SCORES`) of the section's :func:`row_of` ``which``."""
    row = row_of(rows, which)
    if SCORES[score] not in row:
        raise ValueError(f"the {which} row holds no per-volume {score}")
    return {int(level): np.asarray(scores, dtype=np.float64) for level, scores in row[SCORES[score]].items()}


def paired(a, b) -> list:
    """``[mean of a - b, [low, high]]``: the mean paired difference over volumes and its 95% bootstrap interval,
    to 3 decimals (what ``validation_split`` prints)."""
    return [round(float(np.mean(np.subtract(a, b))), 3), [round(end, 3) for end in paired_interval(a, b)]]


def paired_text(a, b) -> str:
    """:func:`paired` as "mean [low, high]" with signs."""
    mean, (low, high) = paired(a, b)
    return f"{mean:+.3f} [{low:+.3f}, {high:+.3f}]"


def data_seed(rows: Sequence[dict]) -> int:
    """The generator seed of a section's set (``validation_split --data-seed`` prints it first; absent: 0)."""
    return next((int(row["data_seed"]) for row in rows if "data_seed" in row), 0)


def _same_volumes(name: str, base: str, found: dict[str, list[dict]]) -> None:
    """Refuse to pair two sections that cannot hold the same volumes: other sets (data seeds), other counts, or
    intensity twins (which depend on the volumes alone) that differ."""
    seeds = data_seed(found[name]), data_seed(found[base])
    if seeds[0] != seeds[1]:
        raise ValueError(f"sections {name!r} and {base!r} score different sets (data seeds {seeds[0]} and {seeds[1]})")
    a, b = per_volume(found[name], RECIPE), per_volume(found[base], RECIPE)
    if any(len(a[level]) != len(b[level]) for level in b):
        raise ValueError(f"sections {name!r} and {base!r} do not hold the same number of volumes")
    try:
        twins = per_volume(found[name], TWIN), per_volume(found[base], TWIN)
    except ValueError:
        return  # a section without a twin row: the counts are all that can be checked
    if any(not np.allclose(twins[0][level], twins[1][level], atol=1e-4) for level in twins[1]):
        raise ValueError(f"sections {name!r} and {base!r} hold different volumes (their intensity twins differ)")


def against_base(found: dict[str, list[dict]], base: str) -> list[list[str]]:
    """Rows: section, level, the base's mean, the section's, section minus base with its paired 95% interval."""
    if base not in found:
        raise ValueError(f"no section {base!r}; the sections are {sorted(found)}")
    reference = per_volume(found[base], RECIPE)
    rows = []
    for name, lines in found.items():
        if name == base:
            continue
        _same_volumes(name, base, found)
        scores = per_volume(lines, RECIPE)
        for level in sorted(reference):
            rows.append([name, f"L{level}", f"{reference[level].mean():.3f}", f"{scores[level].mean():.3f}",
                         paired_text(scores[level], reference[level])])
    return rows


def by_prefix(found: dict[str, list[dict]]) -> dict[str, dict[str, str]]:
    """Sections grouped by their name before the last ``-`` (a set, or a setting): prefix -> {seed: section}."""
    groups: dict[str, dict[str, str]] = {}
    for name in found:
        if "-" not in name:
            raise ValueError(f"section {name!r} is not named <set>-<training seed>")
        prefix, seed = name.rsplit("-", 1)
        groups.setdefault(prefix, {})[seed] = name
    for prefix, names in groups.items():  # a setting's volumes are averaged over its seeds: one set for all of them
        seeds = sorted({data_seed(found[name]) for name in names.values()})
        if len(seeds) > 1:
            raise ValueError(f"setting {prefix!r} mixes sections of different sets (data seeds {seeds})")
    return groups


def twin_summary(found: dict[str, list[dict]]) -> list[list[str]]:
    """Rows per set and level: training seeds, the recipe's mean DICE (seeds averaged per volume), the twin's, and
    recipe minus twin with its paired 95% interval over the volumes."""
    rows = []
    for kind, seeds in by_prefix(found).items():
        names = list(seeds.values())
        models = [per_volume(found[n], RECIPE) for n in names]
        twins = [per_volume(found[n], TWIN) for n in names]
        for level in sorted(models[0]):
            if any(not np.allclose(t[level], twins[0][level], atol=1e-4) for t in twins):
                raise ValueError(f"set {kind!r}: the intensity twin differs between sections at level {level}")
            model = np.mean([m[level] for m in models], axis=0)
            twin = twins[0][level]
            rows.append([kind, ", ".join(seeds), f"L{level}", f"{model.mean():.3f}",
                         f"{twin.mean():.3f}", paired_text(model, twin)])
    return rows


def seeded_against_base(found: dict[str, list[dict]], base: str, *, only: str | None = None) -> list[list[str]]:
    """Rows per other setting (or the setting ``only``) and level: the training seeds it shares with setting
    ``base``, both settings' mean DICE (each volume first averaged over those seeds), setting minus base with its
    paired 95% interval over the volumes, and each shared seed's own mean difference."""
    groups = by_prefix(found)
    if base not in groups:
        raise ValueError(f"no setting {base!r}; the settings are {sorted(groups)}")
    rows = []
    for setting, seeds in groups.items():
        shared = [seed for seed in seeds if seed in groups[base]]
        if setting == base or not shared or only not in (None, setting):
            continue
        for seed in shared:
            _same_volumes(seeds[seed], groups[base][seed], found)
        rows += [[setting, ", ".join(shared), *row] for row in seeds_averaged(
            [per_volume(found[seeds[seed]], RECIPE) for seed in shared],
            [per_volume(found[groups[base][seed]], RECIPE) for seed in shared])]
    return rows


def choice_against_recipe(found: dict[str, list[dict]], key: str, *, only: str | None = None,
                          score: str = "dice") -> list[list[str]]:
    """Rows per setting (or the setting ``only``), value of ``key`` and level: the training seeds whose sections hold a
    recipe row with that value, the plain recipe row's and that row's mean ``score`` (:data:`SCORES`; each volume first
    averaged over those seeds), the choice minus the recipe with its paired 95% interval over the volumes, and each
    seed's own difference."""
    rows = []
    for setting, seeds in by_prefix(found).items():
        if only not in (None, setting):
            continue
        chosen: dict = {}  # value -> [(seed, its row's scores, the plain recipe row's scores)]
        for seed, name in seeds.items():
            plain = [row for row in found[name] if key not in row]
            for row in found[name]:
                if key in row and _ROWS[RECIPE](row):  # a list's value (band_sides) as a tuple: hashable, sorts by number
                    value = tuple(row[key]) if isinstance(row[key], list) else row[key]
                    chosen.setdefault(value, []).append((seed, per_volume([row], RECIPE, score),
                                                         per_volume(plain, RECIPE, score)))
        for value, runs in sorted(chosen.items()):
            named = ",".join(map(str, value)) if isinstance(value, tuple) else value
            rows += [[setting, f"{key} {named}", ", ".join(seed for seed, _, _ in runs), *row]
                     for row in seeds_averaged([run for _, run, _ in runs], [base for _, _, base in runs])]
    if not rows:
        raise ValueError(f"no recipe row with {key!r}" + ("" if only is None else f" in setting {only!r}"))
    return rows


def seeds_averaged(runs: Sequence[dict[int, np.ndarray]], bases: Sequence[dict[int, np.ndarray]]) -> list[list[str]]:
    """Per level, for runs and bases paired seed by seed (each level -> per-volume DICE): the bases' and the runs' mean
    DICE, each volume first averaged over the seeds, runs minus bases with its paired 95% interval over the volumes, and
    each seed's own mean difference."""
    rows = []
    for level in sorted(bases[0]):
        run, reference = (np.mean([r[level] for r in rs], axis=0) for rs in (runs, bases))
        each = ", ".join(f"{np.mean(r[level] - b[level]):+.3f}" for r, b in zip(runs, bases))
        rows.append([f"L{level}", f"{reference.mean():.3f}", f"{run.mean():.3f}", paired_text(run, reference), each])
    return rows


def twin_split_rows(found: dict[str, list[dict]], *, only: str | None = None, score: str = "dice") -> list[list[str]]:
    """Rows per setting (or the setting ``only``), ``validation_split --twin-split`` row and level: that row against
    the same run's recipe row and, where the twin's row holds ``score``, against the twin's, as
    :func:`choice_against_recipe` pairs them (each volume first averaged over the training seeds). Only the rows of
    the recipe's own k-means levels 2-3 and refinement are read; sections without such rows are passed over."""
    rows = []
    for setting, seeds in by_prefix(found).items():
        if only not in (None, setting):
            continue
        split = {}  # the twin-split row's name -> [(seed, its scores, the recipe's, the twin's or None)]
        for seed, name in seeds.items():
            mixed = [row for row in found[name] if "twin_split" in row and SCORES[score] in row
                     and row.get("clusterer_levels_2_3", "kmeans") == "kmeans"]
            if not mixed:
                continue
            recipe_row = row_of(found[name], RECIPE)
            mixed = [row for row in mixed if row.get("refine") == recipe_row.get("refine")]
            recipe = per_volume([recipe_row], RECIPE, score)
            twin_row = row_of(found[name], TWIN)
            twin = per_volume([twin_row], TWIN, score) if SCORES[score] in twin_row else None
            for row in mixed:
                scores = {int(level): np.asarray(v, dtype=np.float64) for level, v in row[SCORES[score]].items()}
                split.setdefault(row["twin_split"], []).append((seed, scores, recipe, twin))
        for row_name, runs in split.items():
            against = [("recipe", [recipe for _, _, recipe, _ in runs])]
            if all(twin is not None for _, _, _, twin in runs):
                against.append(("twin", [twin for _, _, _, twin in runs]))
            for base_name, bases in against:
                rows += [[setting, row_name, base_name, ", ".join(seed for seed, _, _, _ in runs), *row]
                         for row in seeds_averaged([scores for _, scores, _, _ in runs], bases)]
    if not rows:
        raise ValueError(f"no twin-split row with per-volume {score}" + ("" if only is None else f" in setting {only!r}"))
    return rows


TWIN_HEADER = ["set", "training seeds", "level", "model (recipe)", "intensity twin", "model - twin [95%]"]
SPLIT_HEADER = ["setting", "row", "base", "training seeds", "level", "base mean", "row mean", "row - base [95%]", "per seed"]
BASE_HEADER = ["run", "level", "base", "run", "run - base [95%]"]
SEEDED_HEADER = ["setting", "training seeds", "level", "base", "setting", "setting - base [95%]", "per seed"]
CHOICE_HEADER = ["setting", "choice", "training seeds", "level", "recipe", "choice", "choice - recipe [95%]", "per seed"]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="a validation_split results file (sections of JSON lines)")
    how = parser.add_mutually_exclusive_group(required=True)
    how.add_argument("--base", help="the section every other section's recipe row is paired against")
    how.add_argument("--twin", action="store_true", help="per set, the model's recipe row against its intensity twin")
    how.add_argument("--seeded-base", metavar="SETTING", help="every other setting against SETTING, seeds averaged per volume")
    how.add_argument("--twin-split", action="store_true", help="each run's --twin-split rows against its recipe row "
                     "and its intensity twin, seeds averaged per volume")
    how.add_argument("--choice", metavar="KEY", help="each run's recipe rows with KEY against its plain recipe row, seeds "
                     "averaged per volume")
    parser.add_argument("--score", choices=SCORES, default="dice", help="with --choice or --twin-split, the per-volume score paired: DICE, "
                        "or on the crowded set object_f1 (the F1 of the cluster holding most particle voxels) or centre_f1 (most "
                        "particle centres, as the tomogram's positions are)")
    parser.add_argument("--only", metavar="SETTING", help="with --choice or --twin-split, only the sections SETTING-<seed> (e.g. those whose "
                        "rows hold a score that older sections lack)")
    args = parser.parse_args(argv)
    if args.only and not (args.choice or args.twin_split):
        parser.error("--only needs --choice or --twin-split")
    if not args.results.is_file():
        parser.error(f"no results file at {args.results}")
    found = sections(args.results.read_text())
    try:
        if args.twin:
            print(format_table(TWIN_HEADER, twin_summary(found)))
        elif args.twin_split:
            print(format_table(SPLIT_HEADER, twin_split_rows(found, only=args.only, score=args.score)))
        elif args.choice:
            print(format_table(CHOICE_HEADER, choice_against_recipe(found, args.choice, only=args.only, score=args.score)))
        elif args.seeded_base:
            print(format_table(SEEDED_HEADER, seeded_against_base(found, args.seeded_base)))
        else:
            print(format_table(BASE_HEADER, against_base(found, args.base)))
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
