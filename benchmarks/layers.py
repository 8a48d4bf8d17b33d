"""Benchmark of the gyroplane convolution against ``nn.Conv3d`` and a loop implementation.

Shapes from the foundation issue: B = 32, a grid of 8^3 points of the 2-D ball, 64 output
channels, kernel 3, padding 1; forward + backward. The loop version (one Python iteration per output
voxel and kernel offset, vectorised over batch and channels, as research code does it) is timed on a
subsample of output voxels and scaled to the whole grid.
"""

from __future__ import annotations

import itertools

import torch

from benchmarks.timing import format_table, median_seconds
from hypseg.geometry import PoincareBall
from hypseg.layers import GyroplaneConv3d

B, DIM, CHANNELS, SIDE, KERNEL = 32, 2, 64, 8, 3


def _loop_forward(layer: GyroplaneConv3d, x: torch.Tensor, voxels: list[tuple[int, int, int]]) -> torch.Tensor:
    """Scores of ``voxels`` (output positions), one (voxel, offset) pair per Python iteration."""
    ball = layer.ball
    p, a = layer.planes.points_and_normals()
    outputs = []
    for voxel in voxels:
        total = 0
        for k, offset in enumerate(itertools.product(range(KERNEL), repeat=3)):
            pos = [v - 1 + o for v, o in zip(voxel, offset)]
            if min(pos) < 0 or max(pos) >= SIDE:
                continue
            point = x[:, :, pos[0], pos[1], pos[2]]  # (B, d)
            planes = (p[:, k], a[:, k]) if layer.per_offset else (p, a)
            w = ball.mobius_add(-planes[0][None], point[:, None])  # (B, J, d)
            wa = (w * planes[1][None]).sum(-1)
            a_norm = planes[1].norm(dim=-1)
            lam = ball.lambda_x(planes[0], keepdim=False)
            arg = 2 * wa / ((1 - w.pow(2).sum(-1)) * a_norm)
            total = total + lam * a_norm * torch.asinh(arg)
        outputs.append(total)
    return torch.stack(outputs, dim=-1)


def run(*, repeats: int = 5) -> None:
    torch.manual_seed(0)
    ball = PoincareBall(c=1.0)
    x = ball.expmap0(torch.randn(B, SIDE, SIDE, SIDE, DIM) * 0.5).permute(0, 4, 1, 2, 3).contiguous()
    conv = torch.nn.Conv3d(DIM, CHANNELS, KERNEL, padding=1)

    def step(module, inputs):
        inputs = inputs.detach().requires_grad_(True)
        module(inputs).sum().backward()

    baseline = median_seconds(lambda: step(conv, x), repeats=repeats)
    rows = [["nn.Conv3d (baseline)", f"{baseline * 1e3:.2f}", "1.00", "", ""]]
    for per_offset in (False, True):
        layer = GyroplaneConv3d(DIM, CHANNELS, KERNEL, padding=1, per_offset=per_offset, ball=ball)
        layer.check_inputs = False
        seconds = median_seconds(lambda: step(layer, x), repeats=repeats)
        voxels = [(i, j, k) for i in range(0, SIDE, 4) for j in range(0, SIDE, 4) for k in range(1, 3)]
        xs = x.detach().requires_grad_(True)
        loop = median_seconds(lambda: _loop_forward(layer, xs, voxels).sum().backward(), repeats=max(1, repeats // 2))
        loop *= SIDE**3 / len(voxels)
        name = "GyroplaneConv3d per_offset" if per_offset else "GyroplaneConv3d shared"
        rows.append([name, f"{seconds * 1e3:.2f}", f"{seconds / baseline:.2f}", f"{loop * 1e3:.0f}", f"{loop / seconds:.0f}x"])
    print(
        f"Gyroplane convolution, forward + backward, B={B}, {DIM} -> {CHANNELS} channels, {SIDE}^3 grid, "
        f"k={KERNEL}, padding 1, {torch.get_num_threads()} threads, median of {repeats}"
    )
    print(format_table(["layer", "ms", "vs nn.Conv3d", "loop ms (scaled)", "speed-up vs loop"], rows))
