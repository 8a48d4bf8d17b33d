"""The DICE numbers reported by Hsu, Gu et al. (NeurIPS 2021) on their synthetic dataset.

Hungarian-matched mean DICE (method.md section 7) on the regular set, level 1 (2 clusters,
coarsest) to level 3 (8 clusters, finest). Every table, plot and benchmark in hypseg that shows the
paper's numbers reads them from here.
"""

from __future__ import annotations

__all__ = ["PAPER_ABLATIONS", "PAPER_DICE"]

#: level -> DICE of the paper's full unsupervised model (Table 1).
PAPER_DICE: dict[int, float] = {1: 0.952, 2: 0.541, 3: 0.216}

#: ablation -> DICE of levels 1-3 (Table 2). Table 2 prints 0.540 at level 2 for the full model
#: where Table 1 prints 0.541.
PAPER_ABLATIONS: dict[str, tuple[float, float, float]] = {
    "euclidean base": (0.784, 0.322, 0.109),
    "euclidean triplet": (0.761, 0.342, 0.153),
    "hyperbolic base": (0.832, 0.352, 0.135),
    "hyperbolic gyroplane": (0.905, 0.473, 0.204),
    "hyperbolic triplet": (0.945, 0.534, 0.222),
    "hyperbolic gyroplane + triplet": (0.952, 0.540, 0.216),
}
