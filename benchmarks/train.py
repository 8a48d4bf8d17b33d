"""Training throughput per variant, where a step's time goes, and achieved GFLOP/s against a ceiling.

The ceiling is a plain stack of ``nn.Conv3d`` / ``nn.ConvTranspose3d`` with the encoder's and
decoder's shapes, timed forward + backward on the same patches in the same process: what this CPU
reaches on these convolutions. FLOPs are counted by ``torch.utils.flop_counter`` (convolutions and
matrix products; the elementwise geometry is not counted, so it only lowers the achieved rate).
"""

from __future__ import annotations

import dataclasses
import resource

import numpy as np
import torch

from benchmarks.timing import count_flops, format_table, median_seconds
from hypseg.config import ModelConfig, cpu_recipe
from hypseg.data import TripletSampler, generate_volume, normalise
from hypseg.training.optim import build_optimiser
from hypseg.training.stream import TripletStream
from hypseg.training.trainer import compute_losses
from hypseg.models import HVAE



def _plain_stack(config: ModelConfig) -> torch.nn.Module:
    """Convolutions of the encoder and decoder's shapes, without the geometry."""
    widths = (1, *config.channels)
    layers: list[torch.nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [torch.nn.Conv3d(a, b, config.kernel_size), torch.nn.ReLU()]
    layers += [torch.nn.Conv3d(widths[-1], config.hidden, config.final_extent), torch.nn.ReLU(),
               torch.nn.Conv3d(config.hidden, 2 * config.latent_dim, 1),
               torch.nn.ConvTranspose3d(2 * config.latent_dim, widths[-1], config.final_extent), torch.nn.ReLU()]
    back = widths[::-1]
    for a, b in zip(back[:-1], back[1:]):
        layers += [torch.nn.ConvTranspose3d(a, b, config.kernel_size), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])




def run(*, repeats: int = 5) -> None:
    base = cpu_recipe()
    volumes = [normalise(generate_volume(np.random.default_rng(i)).image, config=base.data) for i in range(20)]
    rows = []
    for variant in ("hyperbolic-gyro", "hyperbolic", "euclidean"):
        config = dataclasses.replace(base, model=dataclasses.replace(base.model, variant=variant))
        torch.manual_seed(0)
        model = HVAE(config.model)
        optimiser = build_optimiser(model.parameters(), config.train)
        stream = TripletStream(TripletSampler(volumes, config=config.data), seed=0, shard_size=config.train.shard_size,
                               samples=config.train.samples, latent_dim=config.model.latent_dim)
        shards = stream.shards_of(0, 1, config.data.triplets_per_batch)
        batch = stream.batch(1, shards)

        def forward():
            return compute_losses(model, batch, config)

        def step():
            losses = forward()
            optimiser.zero_grad()
            losses.loss.backward()
            optimiser.step()

        t_sample = median_seconds(lambda: stream.batch(2, shards), repeats=repeats)
        t_forward = median_seconds(forward, repeats=repeats)
        t_step = median_seconds(step, repeats=repeats)
        flops = count_flops(step)
        plain = _plain_stack(config.model)
        patches = batch.patches

        def plain_step():
            plain(patches).sum().backward()

        t_plain = median_seconds(plain_step, repeats=repeats)
        plain_flops = count_flops(plain_step)
        achieved, ceiling = flops / t_step / 1e9, plain_flops / t_plain / 1e9
        triplets = config.data.triplets_per_batch
        rows.append([
            variant, f"{triplets / (t_sample + t_step):.0f}", f"{t_sample * 1e3:.0f}", f"{t_forward * 1e3:.0f}",
            f"{(t_step - t_forward) * 1e3:.0f}", f"{achieved:.1f}", f"{ceiling:.1f}", f"{achieved / ceiling:.0%}",
        ])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"Training step, recipe of `hypseg demo` ({base.data.triplets_per_batch} triplets = "
        f"{3 * base.data.triplets_per_batch} patches of {base.model.patch_size}^3, K={base.train.samples}), "
        f"{torch.get_num_threads()} threads, median of {repeats}; process peak RSS {peak:.0f} MB"
    )
    print(format_table(
        ["variant", "triplets/s", "sampling ms", "forward ms", "backward+update ms", "GFLOP/s", "plain conv GFLOP/s", "of ceiling"],
        rows,
    ))
