r"""The hierarchical triplet loss on encoder means (method.md section 5; the paper's eq. 9).

For a parent patch (anchor), a smaller patch inside it (positive) and a patch of the child's size that
does not overlap the parent (negative),

.. math:: L = \max\big(0,\ d(\mu_a, \mu_p) - d(\mu_a, \mu_n) + \alpha\big),

with the Poincare distance (``ball`` given) or the Euclidean one (``ball=None``, the Euclidean
ablation). The paper writes d unsquared; the released code squared it: ``squared=True`` does that.
**Reduction:** the mean over the batch.
"""

from __future__ import annotations

import torch

from hypseg.geometry import PoincareBall


def triplet_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    *,
    ball: PoincareBall | None,
    margin: float = 0.2,
    squared: bool = False,
) -> torch.Tensor:
    """Mean hinge loss over a batch of (B, d) encoder means.

    >>> a = torch.zeros(1, 2); p = torch.tensor([[0.1, 0.0]]); n = torch.tensor([[0.5, 0.0]])
    >>> triplet_loss(a, p, n, ball=None, margin=0.2).item()  # 0.1 - 0.5 + 0.2 < 0
    0.0
    """
    if not anchor.shape == positive.shape == negative.shape or anchor.dim() != 2:
        raise ValueError(
            "anchor, positive and negative must share a (B, d) shape, got "
            f"{tuple(anchor.shape)}, {tuple(positive.shape)}, {tuple(negative.shape)}"
        )
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if ball is None:
        d_pos, d_neg = (anchor - positive).norm(dim=-1), (anchor - negative).norm(dim=-1)
    else:
        d_pos, d_neg = ball.dist(anchor, positive), ball.dist(anchor, negative)
    if squared:
        d_pos, d_neg = d_pos.pow(2), d_neg.pow(2)
    return torch.relu(d_pos - d_neg + margin).mean()
