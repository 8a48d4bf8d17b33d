"""How many of the encoder's ReLU units never fire: the share of dead units per layer of kept training runs.

A run whose training collapsed has a layer whose every unit is dead (``benchmarks/results/tomogram_seeds.md``).
This asks whether healthy runs lose part of their encoder the same way. For every run folder given
(``seed<N>`` and its set-aside ``collapsed-seed<N>`` runs, as ``benchmarks.real_data --workdir`` keeps them),
it encodes ``--patches`` patches of the model's side at random voxels of the volume the runs were trained on
(``--volume nuclei`` or ``tomogram``, normalised as the model's training volume) and prints, per ReLU layer
(the convolutions, then the hidden layer), the share of units (channels) that are positive at no position
of any patch.

    python -m benchmarks.real_data --seeds 0 1 2 3 4 5 --workdir /tmp/rd_runs --out /tmp/rd.md
    python -m benchmarks.dead_units --volume tomogram /tmp/rd_runs/tomogram/seed*
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


def dead_shares(encoder, patches: torch.Tensor) -> list[float]:
    """Per ReLU layer of ``encoder`` (its convolutions, then its hidden layer), the share of channels that
    are positive nowhere in ``patches`` (B, 1, m, m, m)."""
    shares = []
    h = patches
    with torch.no_grad():
        for conv in (*encoder.convs, encoder.hidden):
            h = F.relu(conv(h))
            alive = (h > 0).flatten(2).any(-1).any(0)  # (channels,)
            shares.append(float(1.0 - alive.double().mean()))
    return shares


def main() -> None:
    import hypseg
    from hypseg.io.checkpoint import set_aside_runs
    from benchmarks.real_data import load_nuclei, load_tomogram, sample_folder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="seed<N> run folders")
    parser.add_argument("--volume", required=True, choices=("nuclei", "tomogram"))
    parser.add_argument("--patches", type=int, default=4096)
    args = parser.parse_args()
    image = (load_nuclei if args.volume == "nuclei" else load_tomogram)(sample_folder()).image
    for asked in args.runs:
        for run in (*set_aside_runs(asked), asked):
            model = hypseg.load_model(run)
            volume = model.normalise(image)
            m = model.config.model.patch_size
            rng = np.random.default_rng(0)
            starts = [rng.integers(0, s - m + 1, size=args.patches) for s in volume.shape]
            patches = np.stack([volume[z:z + m, y:y + m, x:x + m] for z, y, x in zip(*starts)])[:, None]
            shares = dead_shares(model.network.encoder, torch.from_numpy(np.ascontiguousarray(patches, dtype=np.float32)))
            print(json.dumps({"run": str(run), "seed": model.config.train.seed,
                              "dead_share_per_layer": [round(s, 3) for s in shares]}), flush=True)


if __name__ == "__main__":
    main()
