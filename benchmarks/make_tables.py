"""Rewrite the generated tables of README.md and docs/benchmarks.md from ``benchmarks/results/*.md``.

A generated block sits between ``<!-- table:NAME -->`` and ``<!-- /table -->``; everything between
the two markers is replaced by :data:`TABLES` ``[NAME]``. Run ``python -m benchmarks.make_tables``
after a benchmark run rewrote a results file; ``--check`` only reports blocks that differ (exit 1).
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "benchmarks.md")
#: the learned row the README reports: the default training recipe's full model
DEFAULT_ROW = "hyperbolic gyroplane + triplet"
_BLOCK = re.compile(r"(<!-- table:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /table -->)", re.DOTALL)


def parse_tables(text: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """(caption, header, rows) of every Markdown table in ``text``; the caption is the line above it."""
    tables, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and set(lines[i + 1].replace("|", "").strip()) <= set("-: "):
            caption = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            header = _cells(lines[i])
            j, rows = i + 2, []
            while j < len(lines) and lines[j].startswith("|"):
                rows.append(_cells(lines[j]))
                j += 1
            tables.append((caption, header, rows))
            i = j
        else:
            i += 1
    return tables


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _mean(cell: str) -> float:
    return float(cell.split("±")[0])


def results_at_a_glance() -> str:
    """Per set and level: the default recipe's full model, the best classical peer, the paper."""
    header = ["set", "level (k)", "hypseg (default recipe)", "best peer", "paper"]
    rows = []
    for caption, head, table in parse_tables((RESULTS / "quality.md").read_text()):
        name = re.match(r"Set '([\w-]+)'", caption)
        if not name:
            continue
        levels = [i for i, h in enumerate(head) if h.startswith("L")]
        ours = next(r for r in table if r[0] == DEFAULT_ROW)
        peers = [r for r in table if r[0].startswith("baseline:")]
        paper = ours[head.index("paper L1 / L2 / L3")].split(" / ") if "paper L1 / L2 / L3" in head else None
        for n, i in enumerate(levels):
            best = max(peers, key=lambda r: _mean(r[i]))
            rows.append([
                name.group(1), head[i].replace("L", "", 1).replace(" (k=", " (k = "), ours[i],
                f"{best[i]} ({best[0].removeprefix('baseline: ')})", paper[n] if paper else "-",
            ])
    return _markdown(header, rows)


def results_file(name: str) -> Callable[[], str]:
    """The whole of ``benchmarks/results/<name>.md``."""
    return lambda: (RESULTS / f"{name}.md").read_text().rstrip("\n") + "\n"


def table_of(name: str) -> Callable[[], str]:
    """The table (its ``|`` lines) of ``benchmarks/results/<name>.md``, without the file's heading and text."""
    return lambda: "".join(line for line in (RESULTS / f"{name}.md").read_text().splitlines(keepends=True)
                           if line.startswith("|"))


def inference_speed() -> str:
    """The dense-embedding row of speed.md as microseconds per voxel."""
    for _, head, rows in parse_tables((RESULTS / "speed.md").read_text()):
        if "dense voxels/s" in head:
            i = head.index("dense voxels/s")
            table = [[r[0], r[i], f"{1e6 / float(r[i].replace(',', '')):.1f}"] for r in rows]
            return _markdown(["volume", "voxels/s (embedding)", "µs per voxel"], table)
    raise ValueError("speed.md has no 'dense voxels/s' table")


def beyond_intensity() -> str:
    """One row per run of beyond_intensity.md: the first-axis share and, at levels 2 / 3, the differences that
    say what the embedding adds to the supervoxels' intensity, with and without labels."""
    header = ["model (training seed)", "first-axis share (min / median)", "both - intensity (L2 / L3)",
              "filters + embedding - filters (L2 / L3)", "k-means: whitened - raw embedding (L2 / L3)"]
    keys = ("both_minus_intensity", "filters_both_minus_filters", "embedding_kmeans_whitened_minus_embedding_kmeans_raw")
    rows, model, share = [], None, None
    for line in (RESULTS / "beyond_intensity.md").read_text().splitlines():
        if line.startswith("## "):
            model, share = line[3:], "-"
        elif line.startswith("{") and "first_axis_share" in line:
            share = " / ".join(f"{v:.4f}" for v in json.loads(line)["first_axis_share"])
        elif line.startswith("{") and "beyond_intensity" in line:
            levels = json.loads(line)["beyond_intensity"]
            rows.append([model, share, *(" / ".join(f"{levels[level][key][0]:+.3f} [{levels[level][key][1][0]:+.3f}, "
                                                    f"{levels[level][key][1][1]:+.3f}]" for level in ("L2", "L3"))
                                         for key in keys)])
    return _markdown(header, rows)


@functools.cache
def _sections(name: str) -> dict[str, list[dict]]:
    """The sections of ``benchmarks/results/<name>.md`` (:func:`benchmarks.validation_pairs.sections`), read once."""
    from benchmarks import validation_pairs as vp

    return vp.sections((RESULTS / f"{name}.md").read_text())


def validation_pairs(name: str, *, base: str | None = None) -> Callable[[], str]:
    """The paired table of ``benchmarks/results/<name>.md`` (:mod:`benchmarks.validation_pairs`): each set's recipe
    against its intensity twin, or, with ``base``, every run against that section."""
    from benchmarks import validation_pairs as vp

    def table() -> str:
        if base is None:
            return _markdown(vp.TWIN_HEADER, vp.twin_summary(_sections(name)))
        return _markdown(vp.BASE_HEADER, vp.against_base(_sections(name), base))
    return table


def seeded_setting(names: dict[str, str], setting: str) -> Callable[[], str]:
    """One setting against the recipe over the training seeds both ran (:func:`benchmarks.validation_pairs.seeded_against_base`),
    one block of rows per set: ``names`` maps each set's label to its ``benchmarks/results/<name>.md``."""
    from benchmarks import validation_pairs as vp

    def table() -> str:
        rows = [[label, *row[1:]] for label, name in names.items()
                for row in vp.seeded_against_base(_sections(name), "default", only=setting)]
        return _markdown(["set", *vp.SEEDED_HEADER[1:]], rows)
    return table


def seeded_choice(names: dict[str, str], setting: str, key: str, score: str = "dice") -> Callable[[], str]:
    """An inference choice against the same runs' recipe row over the training seeds of ``setting``
    (:func:`benchmarks.validation_pairs.choice_against_recipe`; ``score``: its per-volume score), one block of rows
    per set: ``names`` maps each set's label to its ``benchmarks/results/<name>.md``."""
    from benchmarks import validation_pairs as vp

    def table() -> str:
        rows = [[label, *row[1:]] for label, name in names.items()
                for row in vp.choice_against_recipe(_sections(name), key, only=setting, score=score)]
        return _markdown(["set", *vp.CHOICE_HEADER[1:]], rows)
    return table


def twin_split(names: dict[str, str], setting: str, score: str = "dice") -> Callable[[], str]:
    """Each ``validation_split --twin-split`` row of ``setting`` against its run's recipe and intensity twin over the
    training seeds (:func:`benchmarks.validation_pairs.twin_split_rows`), one block of rows per set."""
    from benchmarks import validation_pairs as vp

    def table() -> str:
        rows = [[label, *row[1:]] for label, name in names.items()
                for row in vp.twin_split_rows(_sections(name), only=setting, score=score)]
        return _markdown(["set", *vp.SPLIT_HEADER[1:]], rows)
    return table


def no_field(names: dict[str, str], sections: Sequence[str]) -> Callable[[], str]:
    """Per set and run (each section of ``sections``, one generator seed each): the validation volumes whose level 1
    the recipe warned lies in no field of view (``no_field_volumes``), their level-1 DICE, and the others' mean."""
    from benchmarks import validation_pairs as vp

    def table() -> str:
        rows = []
        for label, name in names.items():
            found = _sections(name)
            for section in sections:
                recipe = vp.row_of(found[section], vp.RECIPE)
                level1 = np.asarray(recipe["dice_per_volume"]["1"])
                warned = recipe["no_field_volumes"]
                rest = np.delete(level1, warned)
                rows.append([label, str(vp.data_seed(found[section])), section, ", ".join(map(str, warned)) or "none",
                             ", ".join(f"{level1[i]:.3f}" for i in warned) or "-", f"{rest.mean():.3f}" if rest.size else "-"])
        return _markdown(["set", "generator seed", "section", "volumes warned", "their level-1 DICE",
                          "the other volumes' mean level-1 DICE"], rows)
    return table


def recipe_seeds(names: dict[str, str]) -> Callable[[], str]:
    """The recipe at each further training seed against itself at seed 0, one block of rows per set: how far a
    retrained recipe moves on the same volumes, the yardstick for a change measured on one seed."""
    from benchmarks import validation_pairs as vp

    def table() -> str:
        rows = [[label, row[0].removeprefix("default-"), *row[1:]] for label, name in names.items()
                for row in vp.against_base({s: rows for s, rows in _sections(name).items() if s.startswith("default-")},
                                           "default-0")]
        return _markdown(["set", "recipe at seed", "level", "seed 0", "this seed", "this seed - seed 0 [95%]"], rows)
    return table


def inside_normalised(names: dict[str, str]) -> Callable[[], str]:
    """Per set and level: the recipe and the recipe with its finer levels embedded from each volume normalised over its
    level-1 object (``validation_split --inside-normalised``: the same model, sections ``inside-normalised-<seed>``),
    paired seed by seed (:func:`benchmarks.validation_pairs.seeds_averaged`)."""
    from benchmarks import validation_pairs as vp

    def table() -> str:
        rows = []
        for label, name in names.items():
            found = {section.removeprefix("inside-normalised-"): lines for section, lines in _sections(name).items()
                     if section.startswith("inside-normalised-")}
            if found:
                rows += [[label, ", ".join(found), *row] for row in vp.seeds_averaged(
                    [vp.per_volume(lines, vp.INSIDE) for lines in found.values()],
                    [vp.per_volume(lines, vp.RECIPE) for lines in found.values()])]
        return _markdown(["set", "training seeds", "level", "recipe", "normalised inside", "normalised inside - recipe [95%]",
                          "per seed"], rows)
    return table


def particle_f1(name: str, prefix: str, key: str = "contrast_sides", other: str = "without local contrast") -> Callable[[], str]:
    """Per training seed of the sections ``<prefix><seed>`` of ``benchmarks/results/<name>.md``: the F1 of the cluster
    holding most particles at each level (``object_f1``, the tomogram's score) of the recipe row and of the row that
    changes one setting (``key``; ``other`` names that row in the header), and their means over the seeds."""
    def table() -> str:
        rows, pairs = [], []
        for section, lines in _sections(name).items():
            if not (section.startswith(prefix) and section.removeprefix(prefix).isdigit()):  # <prefix><training seed>
                continue
            recipe = [row for row in lines if "object_f1" in row and key not in row][0]["object_f1"]
            changed = [row for row in lines if "object_f1" in row and key in row][0]["object_f1"]
            pairs.append((recipe, changed))
            rows.append([section.removeprefix(prefix), *(f"{a:.3f} / {b:.3f}" for a, b in zip(recipe, changed))])
        means = np.mean(pairs, axis=0)
        rows.append(["mean", *(f"{a:.3f} / {b:.3f}" for a, b in zip(*means))])
        return _markdown(["training seed", f"L1 (k=2): recipe / {other}", f"L2 (k=3): recipe / {other}",
                          f"L3 (k=4): recipe / {other}"], rows)
    return table


CODE_RESPONSE_SETS = {"regular": "validation_code_response_regular", "irregular": "validation_code_response_irregular",
                      "Shepp-Logan": "validation_code_response_shepp_logan", "cells at half size": "validation_code_response_half_size",
                      "rare bright blurred cells": "validation_code_response_rare_bright",
                      "nuclei-sized bright blurred cells": "validation_code_response_nuclei_sized"}
#: the sets the codes averaged with their inverted patches' (SegmentConfig.inversion) were validated on
INVERSION_SETS = {label: name for label, name in CODE_RESPONSE_SETS.items()
                  if label in ("regular", "irregular", "Shepp-Logan", "cells at half size", "nuclei-sized bright blurred cells")}
#: the set with no object in a field of view (small particles filling the box), validated apart from the cell sets
CROWDED_SETS = {"crowded particles": "validation_code_response_crowded"}
#: the crowded set of generator seed 1 (``validation_split --data-seed 1``), its sections kept in the same file
CROWDED_DATA1 = {"crowded particles, generator seed 1": CROWDED_SETS["crowded particles"]}
#: the sets where some validation volume reaches level 1 by local contrast (SegmentConfig.contrast_sides)
CONTRAST_SETS = {**{label: name for label, name in CODE_RESPONSE_SETS.items() if label in ("irregular", "cells at half size")},
                 **CROWDED_SETS}


TABLES: dict[str, Callable[[], str]] = {
    "beyond-intensity": beyond_intensity,
    "intensity-twin": validation_pairs("validation_twin"),
    "intensity-twin-band": validation_pairs("validation_twin_band"),
    "intensity-twin-test": results_file("intensity_twin_test"),
    "intensity-twin-test-refined": results_file("intensity_twin_test_refined"),
    "intensity-twin-test-band": table_of("intensity_twin_test_band"),
    "intensity-twin-retry": validation_pairs("validation_twin_retry"),
    "intensity-twin-test-retry": table_of("intensity_twin_test_retry"),
    "intensity-twin-test-band2": table_of("intensity_twin_test_band2"),
    "intensity-twin-test-inversion": table_of("intensity_twin_test_inversion"),
    "training-changes": validation_pairs("validation_training_changes", base="default-0"),
    "centre-weight-regular": validation_pairs("validation_centre_weight_regular", base="default-0"),
    "centre-weight-shepp-logan": validation_pairs("validation_centre_weight_shepp_logan", base="default-0"),
    "kl-weight-seeds": seeded_setting(CODE_RESPONSE_SETS, "kl-weight-0.3"),
    "latent-dim-seeds": seeded_setting(CODE_RESPONSE_SETS, "latent-dim-4"),
    "latent-dim-finer-seeds": seeded_setting(CODE_RESPONSE_SETS, "latent-dim-4-finer-2"),
    "level1-latent-dim-seeds": seeded_setting(CODE_RESPONSE_SETS, "level1-latent-dim-4"),
    "level1-latent-dim-axes-seeds": seeded_setting(CODE_RESPONSE_SETS, "level1-latent-dim-4-axes-1"),
    "level1-kl-weight-seeds": seeded_setting(CODE_RESPONSE_SETS, "level1-kl-weight-0.1"),
    "level1-latent-dim-kl-weight-seeds": seeded_setting(CODE_RESPONSE_SETS, "level1-latent-dim-4-kl-weight-0.1"),
    "voxel-band-seeds": seeded_choice(CODE_RESPONSE_SETS, "voxel-band", "voxel_band"),
    "voxel-band-data1-seeds": seeded_choice(CODE_RESPONSE_SETS, "voxel-band-data1", "voxel_band"),
    "band-sides-seeds": seeded_choice(CODE_RESPONSE_SETS, "band-sides", "band_sides"),
    "band-feature-seeds": seeded_choice(CODE_RESPONSE_SETS, "band-feature", "band_feature"),
    "voxel-band-box-seeds": seeded_choice(CODE_RESPONSE_SETS, "voxel-band-box", "voxel_band"),
    "inversion-seeds": seeded_choice(INVERSION_SETS, "inversion-modes", "inversion"),
    "twin-split-seeds": twin_split({**CROWDED_SETS, **{label: CODE_RESPONSE_SETS[label] for label in ("regular", "Shepp-Logan")}},
                                   "twin-split"),
    "twin-split-particles-seeds": twin_split(CROWDED_SETS, "twin-split", score="object_f1"),
    "field-retry-seeds": seeded_choice({label: name for label, name in CODE_RESPONSE_SETS.items()
                                        if label in ("irregular", "cells at half size")}, "field-retry", "field_retry"),
    "field-retry-data1-seeds": seeded_choice({"cells at half size": CODE_RESPONSE_SETS["cells at half size"]},
                                             "field-retry-data1", "field_retry"),
    "field-retry4-seeds": seeded_choice({label: name for label, name in CODE_RESPONSE_SETS.items()
                                         if label in ("irregular", "cells at half size")}, "field-retry4", "field_retry"),
    "field-retry4-data1-seeds": seeded_choice({"cells at half size": CODE_RESPONSE_SETS["cells at half size"]},
                                              "field-retry4-data1", "field_retry"),
    "contrast-seeds": seeded_choice(CONTRAST_SETS, "contrast", "contrast_sides"),
    "contrast-data1-seeds": seeded_choice({"cells at half size": CODE_RESPONSE_SETS["cells at half size"]},
                                          "contrast-data1", "contrast_sides"),
    "contrast-particle-f1": particle_f1("validation_code_response_crowded", "no-contrast-"),
    "contrast-components-seeds": seeded_choice(CONTRAST_SETS, "components", "contrast_components"),
    "contrast-floor-seeds": seeded_choice(CONTRAST_SETS, "components-floor", "contrast_components"),
    "contrast-components-particle-f1": particle_f1("validation_code_response_crowded", "components-", "contrast_components",
                                                   "three components"),
    "contrast-divides-seeds": seeded_choice(CONTRAST_SETS, "divides", "contrast_divides"),
    "contrast-divides-particle-f1": seeded_choice(CROWDED_SETS, "divides", "contrast_divides", score="object_f1"),
    "contrast-divides-pools-seeds": seeded_choice(CONTRAST_SETS, "pools", "contrast_divides"),
    "contrast-divides-pools-particle-f1": seeded_choice(CROWDED_SETS, "pools", "contrast_divides", score="object_f1"),
    "contrast-sides-particle-f1": seeded_choice(CROWDED_SETS, "sides", "contrast_sides", score="object_f1"),
    "contrast-sides-seeds": seeded_choice(CROWDED_SETS, "sides", "contrast_sides"),
    "contrast-grow-particle-f1": seeded_choice(CROWDED_SETS, "grow", "contrast_grow", score="object_f1"),
    "contrast-grow-seeds": seeded_choice(CONTRAST_SETS, "grow", "contrast_grow"),
    "contrast-assign-particle-f1": seeded_choice(CROWDED_SETS, "grow", "contrast_assign", score="object_f1"),
    "contrast-assign-seeds": seeded_choice(CONTRAST_SETS, "grow", "contrast_assign"),
    "contrast-assign-grown-particle-f1": seeded_choice(CROWDED_SETS, "assign-grown", "contrast_assign", score="object_f1"),
    "contrast-assign-grown-seeds": seeded_choice(CROWDED_SETS, "assign-grown", "contrast_assign"),
    "contrast-grow-centre-f1": seeded_choice(CROWDED_SETS, "centres", "contrast_grow", score="centre_f1"),
    "contrast-assign-grown-centre-f1": seeded_choice(CROWDED_SETS, "centres", "contrast_assign", score="centre_f1"),
    **{f"contrast-assign-data1-{name}": seeded_choice(CROWDED_DATA1, "data1-likelihood", "contrast_assign", score=score)
       for name, score in (("centre-f1", "centre_f1"), ("particle-f1", "object_f1"), ("seeds", "dice"))},
    **{f"contrast-feature{tag}-{name}": seeded_choice(CONTRAST_SETS if tag == "-fine" and score == "dice" else sets, setting,
                                                      "contrast_feature", score=score)
       for tag, setting, sets in (("", "feature", CROWDED_SETS), ("-data1", "data1-feature", CROWDED_DATA1),
                                  ("-both", "both", CROWDED_SETS), ("-both-data1", "data1-both", CROWDED_DATA1),
                                  ("-fine", "fine", CROWDED_SETS), ("-fine-data1", "data1-fine", CROWDED_DATA1))
       for name, score in (("centre-f1", "centre_f1"), ("particle-f1", "object_f1"), ("seeds", "dice"))},
    "kmeans-seed-data1-seeds": seeded_choice(CODE_RESPONSE_SETS, "voxel-band-data1", "kmeans_seed"),
    "no-field": no_field(CODE_RESPONSE_SETS, ("no-field-0", "no-field-data1-0")),
    "recipe-seeds": recipe_seeds(CODE_RESPONSE_SETS),
    "inside-normalised": inside_normalised(CODE_RESPONSE_SETS),
    "refine-choice": table_of("refine_choice"),
    "level1-voxels": table_of("level1_voxels"),
    "results": results_at_a_glance,
    "inference-speed": inference_speed,
    "quality": results_file("quality"),
    "speed": results_file("speed"),
    "paper-protocol-cpu-val": results_file("paper_protocol_cpu_val"),
    "paper-protocol-cpu-scale-val": results_file("paper_protocol_cpu_scale_val"),
    "paper-protocol-cpu-untrained-val": results_file("paper_protocol_cpu_untrained_val"),
    "paper-protocol-paper-val": results_file("paper_protocol_paper_val"),
    "paper-protocol-paper-val-rate": results_file("paper_protocol_paper_val_rate"),
    "paper-protocol-paper-val-gpu2000": results_file("paper_protocol_paper_val_gpu2000"),
    "paper-protocol-paper-val-gpu2000-seeds3": results_file("paper_protocol_paper_val_gpu2000_seeds3"),
    "paper-protocol-paper-val-rate-seeds2": results_file("paper_protocol_paper_val_rate_seeds2"),
    "paper-protocol-paper-val-seeds2": results_file("paper_protocol_paper_val_seeds2"),
    "paper-protocol-paper-test": results_file("paper_protocol_paper_test"),
    "paper-protocol-paper-test-base-step1": results_file("paper_protocol_paper_test_base_step1"),
    "paper-protocol-paper-test-step1": results_file("paper_protocol_paper_test_step1"),
    "real-data": results_file("real_data"),
    "scale": results_file("scale"),
}


def render(text: str) -> str:
    """``text`` with every generated block replaced by its table; an unknown block name raises."""

    def fill(match: re.Match) -> str:
        name = match.group("name")
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {sorted(TABLES)}")
        return match.group(1) + TABLES[name]() + match.group(4)

    return _BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report documents whose blocks are stale; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in DOCUMENTS:
        text = path.read_text()
        new = render(text)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new)
    for path in stale:
        print(f"{'stale' if args.check else 'rewrote'}: {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
