"""BraTS benchmark: the paper's Table 3 protocol (whole-tumour DICE from FLAIR alone, 3 clusters).

Usage (the data are not shipped: download the BraTS 2019 training set, then point ``--root`` at it)::

    hypseg bench brats --root /data/MICCAI_BraTS_2019_Training/HGG --repeats 3
    hypseg bench brats --root /data/MICCAI_BraTS_2019_Training/HGG --downsample 2 --limit 60 --out brats.md

Protocol (method.md sections 6-9):

- **Cases.** Every ``<case>/<case>_flair.nii.gz`` under the root with its ``<case>_seg.nii.gz``
  (:func:`hypseg.data.read_brats`); the truth is the whole tumour (labels 1, 2, 4 -> 1) and the brain
  mask is FLAIR > 0. Every case must be labelled.
- **Split** (:func:`split_cases`). Case names sorted, shuffled by ``numpy.random.default_rng(SPLIT_SEED)``,
  then cut in the paper's proportions 180 / 39 / 40 (train / val / test): on the 259 HGG cases of
  BraTS 2019 exactly those counts, on n cases ``round(40 n / 259)`` test cases (at least one),
  ``round(39 n / 259)`` validation cases and the rest for training. ``limit`` keeps the first
  ``limit`` cases of the shuffled order before cutting. The validation cases are held out for recipe
  tuning and used by nothing here, so the test cases are never seen before scoring.
- **Training.** The hyperbolic gyroplane-convolution model (with the triplet loss) on the FLAIR of the
  training cases, normalised per volume over the brain (percentile scaling), with the CPU recipe
  except for the patch sizes (:func:`brats_recipe`): anchor sides log-uniform in [5, 60] voxels at full
  resolution (the whole tumour of a 240 x 240 x 155 scan spans a few to ~80 voxels; the synthetic
  set's [5, 34] is too small for it), divided by the downsampling factor (never below 5). One model per
  seed ``0 .. repeats - 1``.
- **Segmentation.** Every test case is embedded (dense, tiled: memory depends on the tile) and its
  brain voxels are clustered into 3 clusters by hyperbolic k-means, per volume.
- **Score** (:func:`whole_tumour_dice`). Hungarian matching of the 3 clusters to the two classes
  {brain without tumour, whole tumour}, maximising the summed DICE; the score is the DICE of the cluster
  matched to the whole tumour (:func:`hypseg.metrics.matched_dice` on the brain voxels).
- **Peers.** Every classical baseline of :data:`hypseg.baselines.BASELINES` segments the same test
  volumes into 3 clusters inside the same mask and is scored the same way. The paper's numbers
  (Table 3) are printed alongside.

The table shows the whole-tumour DICE as mean ± std over seeds (learned model: each seed's score is
its mean over test cases) or over test cases (baselines), the training CPU minutes (process time, all
threads) and the inference seconds per volume (embedding + clustering; baselines: segmentation).

**Memory and time.** A full-resolution BraTS volume holds 240 x 240 x 155 = 8.9 M voxels (36 MB as
float32): the training volumes stay in memory (about 6.5 GB for 180 cases); test cases are read one at
a time. ``downsample=f`` keeps every f-th voxel on each axis of the volume, its truth and its mask alike
(nearest neighbour, so the three stay consistent), dividing memory and inference time by f^3; DICE is
then measured on the coarser grid. On two CPU cores use ``--downsample 2``.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from hypseg.baselines import BASELINES, make_baseline
from benchmarks.timing import format_table, retried_note
from hypseg.config import DataConfig, RunConfig, cpu_recipe
from hypseg.data import Case, load_case, normalise, read_brats
from hypseg.errors import UserError
from hypseg.inference import embed_volume, segment_volume
from hypseg.metrics import matched_dice
from hypseg.training import Trainer

#: clusters of the brain, as the paper (method.md section 7)
CLUSTERS = 3
#: seed of the shuffle behind the train / val / test split
SPLIT_SEED = 0
#: the paper's split of the 259 HGG cases of BraTS 2019
PAPER_SPLIT = (180, 39, 40)
#: log-uniform anchor sides at full resolution (voxels)
PATCH_SIDES = (5.0, 60.0)
PAPER = "0.684"  # Table 3 of the paper (NeurIPS 2021), whole tumour
REFERENCES = {  # the other rows of Table 3
    "Nalepa et al. 2020, unsupervised": "0.495",
    "3D U-Net, semi-supervised": "0.760",
    "fully supervised state of the art": "0.888",
}
NO_ROOT = "hypseg bench brats needs --root DIR, a folder in the BraTS layout"


class Split(NamedTuple):
    """Cases of each part of the split, in shuffled order."""

    train: list[Case]
    val: list[Case]
    test: list[Case]


class _Loaded(NamedTuple):
    volume: np.ndarray  # (Z, Y, X) float32, normalised over the brain
    truth: np.ndarray  # (Z, Y, X) uint8, whole tumour
    mask: np.ndarray  # (Z, Y, X) bool, brain (FLAIR > 0)


def whole_tumour_dice(labels: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> float:
    """DICE of the cluster matched to the whole tumour (the paper's BraTS score, method.md section 7).

    Inside the brain ``mask`` the clusters are matched one-to-one to the classes "brain without tumour"
    and "whole tumour" by :func:`hypseg.metrics.matched_dice` (Hungarian, maximising the summed DICE);
    the result is the tumour's matched DICE (0 when no cluster is left for it). Voxels outside the mask
    are not scored (BraTS tumours lie inside the brain, FLAIR > 0).

    Parameters
    ----------
    labels : ndarray of int, any shape
        Cluster ids; only the voxels inside ``mask`` are read.
    truth : ndarray, same shape
        Whole-tumour map (any value > 0 is tumour, so raw BraTS labels 1, 2, 4 work too).
    mask : bool ndarray, same shape
        The brain.

    Returns
    -------
    float in [0, 1]

    Examples
    --------
    Cluster 2 is matched to the tumour (cluster 1 takes the brain): DICE = 2 * 2 / (3 + 3).

    >>> whole_tumour_dice(np.array([1, 1, 2, 2, 2, 3]), np.array([0, 0, 0, 1, 1, 1]), np.ones(6, bool))
    0.6666666666666666
    """
    labels, truth, mask = np.asarray(labels), np.asarray(truth), np.asarray(mask)
    if not labels.shape == truth.shape == mask.shape:
        raise ValueError(f"labels {labels.shape}, truth {truth.shape} and mask {mask.shape} must have one shape")
    mask = mask.astype(bool)
    if not mask.any():
        raise ValueError("the brain mask is empty")
    tumour = (truth[mask] > 0).astype(np.uint8)
    if not tumour.any():
        raise ValueError("the brain holds no tumour: the whole-tumour DICE is undefined")
    return float(matched_dice(labels[mask], tumour).per_class[1])


def split_cases(cases: Sequence[Case], *, limit: int | None = None, seed: int = SPLIT_SEED) -> Split:
    """Deterministic train / val / test split in the paper's 180 / 39 / 40 proportions (module docstring)."""
    ordered = sorted(cases, key=lambda case: case.name)
    order = np.random.default_rng(seed).permutation(len(ordered))
    shuffled = [ordered[i] for i in order][:limit]
    n = len(shuffled)
    total = sum(PAPER_SPLIT)
    n_test = max(1, round(n * PAPER_SPLIT[2] / total))
    n_val = round(n * PAPER_SPLIT[1] / total)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise UserError(f"the BraTS benchmark needs at least 2 cases (one to train on, one to test), got {n}")
    return Split(train=shuffled[:n_train], val=shuffled[n_train : n_train + n_val], test=shuffled[n_train + n_val :])


def brats_recipe(downsample: int = 1) -> RunConfig:
    """The CPU recipe with log-uniform anchor sides in [5, 60 / downsample] voxels (module docstring)."""
    base = cpu_recipe()
    low, high = PATCH_SIDES
    data = dataclasses.replace(base.data, patch_distribution="log-uniform", patch_min=low, patch_max=max(low, high / downsample))
    return dataclasses.replace(base, data=data)


def _load(case: Case, *, config: DataConfig, downsample: int) -> _Loaded:
    loaded = load_case(case)
    every = (slice(None, None, downsample),) * 3
    mask = loaded.mask[every]
    volume = normalise(np.asarray(loaded.volume.array, dtype=np.float32)[every], config=config, mask=mask)
    return _Loaded(volume=volume, truth=loaded.truth["whole_tumour"][every], mask=mask)


def _cell(values: Sequence[float]) -> str:
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def run(
    *,
    repeats: int = 3,
    root: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    recipe: RunConfig | None = None,
    limit: int | None = None,
    downsample: int = 1,
) -> None:
    """Print (and save to ``out``) the BraTS table; ``repeats`` is the number of training seeds.

    ``recipe`` replaces :func:`brats_recipe` (tests pass a tiny one); ``limit`` caps the number of cases;
    ``downsample`` keeps every f-th voxel per axis. See the module docstring for the protocol.
    """
    if root is None:
        raise UserError(NO_ROOT)
    if downsample < 1:
        raise UserError(f"downsample must be >= 1, got {downsample}")
    if limit is not None and limit < 2:
        raise UserError(f"limit must be >= 2 (one case to train on, one to test), got {limit}")
    cases = read_brats(root)
    unlabelled = [c.name for c in cases if "whole_tumour" not in c.truth]
    if unlabelled:
        raise UserError(
            f"{root}: {len(unlabelled)} BraTS cases have no *_seg.nii.gz (e.g. {unlabelled[0]}); the benchmark needs labelled cases"
        )
    split = split_cases(cases, limit=limit)
    base = recipe if recipe is not None else brats_recipe(downsample)
    train = [_load(c, config=base.data, downsample=downsample).volume for c in split.train]
    print(f"  {len(split.train)} train / {len(split.val)} val / {len(split.test)} test cases", flush=True)

    def test_cases():  # read one at a time: full-resolution volumes are large
        return (_load(c, config=base.data, downsample=downsample) for c in split.test)

    scores, minutes, seconds, retried = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(repeats):
            config = dataclasses.replace(
                base, train=dataclasses.replace(base.train, seed=seed, validation_batches=0, checkpoint_every=10**6)
            )
            start = time.process_time()
            result = Trainer(config, train, run_dir=Path(tmp) / f"run-{seed}", progress=False).fit()
            model = result.model
            if result.collapsed:
                retried.append(retried_note("hypseg", seed, result.config.train.seed))
            minutes.append((time.process_time() - start) / 60)
            dice, elapsed = [], 0.0
            for case in test_cases():
                start = time.perf_counter()
                embedding = embed_volume(model, case.volume)
                seg = segment_volume(
                    embedding, clusters=(CLUSTERS,), c=config.model.curvature, hyperbolic=config.model.hyperbolic,
                    mask=case.mask, random_state=seed,
                )
                elapsed += time.perf_counter() - start
                dice.append(whole_tumour_dice(seg.labels[CLUSTERS], case.truth, case.mask))
            scores.append(float(np.mean(dice)))
            seconds.append(elapsed / len(split.test))
            print(f"  seed {seed}: whole-tumour DICE {scores[-1]:.3f}", flush=True)
    rows = [[f"hypseg ({base.model.variant})", _cell(scores), f"{np.mean(minutes):.1f}", f"{np.mean(seconds):.2f}", PAPER]]

    baselines = {name: make_baseline(name) for name in BASELINES}
    dice = {name: [] for name in baselines}
    elapsed = dict.fromkeys(baselines, 0.0)
    for case in test_cases():
        for name, baseline in baselines.items():
            start = time.perf_counter()
            labels = baseline.segment(case.volume, CLUSTERS, mask=case.mask, random_state=0)
            elapsed[name] += time.perf_counter() - start
            dice[name].append(whole_tumour_dice(labels, case.truth, case.mask))
    for name in baselines:
        rows.append([f"baseline: {name}", _cell(dice[name]), "0", f"{elapsed[name] / len(split.test):.2f}", ""])
    rows.extend([f"reference: {name}", "", "", "", value] for name, value in REFERENCES.items())

    table = format_table(["method", "whole-tumour DICE", "train CPU-min", "inference s/volume", "paper"], rows)
    if retried:
        table += "\n\n" + "\n".join(retried)
    scale = "full resolution" if downsample == 1 else f"every {downsample}th voxel per axis"
    header = (
        f"BraTS whole tumour from FLAIR, {len(split.test)} test cases of {len(split.train) + len(split.val) + len(split.test)} "
        f"({scale}), k = {CLUSTERS} inside the brain; hypseg: mean ± std over {repeats} seeds, baselines: over test cases"
    )
    print(header)
    print(table)
    if out is not None:
        Path(out).write_text(f"{header}\n\n{table}\n")
