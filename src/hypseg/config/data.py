"""What training patches look like and how intensities are normalised (method.md sections 6, 8)."""

from __future__ import annotations

import dataclasses

from hypseg.config._base import Config
from hypseg.errors import UserError

#: The parent-side distributions of the triplet sampler (method.md section 6).
PATCH_DISTRIBUTIONS = ("uniform", "log-uniform")
#: The intensity normalisations of :mod:`hypseg.data.normalise`.
NORMALISATIONS = ("percentile", "zscore", "none")
#: The triplet samplers: hypseg's multi-scale sampler, or the released experiment's per-voxel anchors.
SAMPLERS = ("multiscale", "paper")
#: What ``anchor_candidates`` balances: equal-width bins of the anchors' means, or the two sides of Otsu's cut.
ANCHOR_BALANCES = ("bins", "otsu")


@dataclasses.dataclass(frozen=True)
class DataConfig(Config):
    """How training patches are sampled and how intensities are normalised (method.md sections 6, 8).

    Parameters
    ----------
    patch_min, patch_max : float
        Bounds of the parent (anchor) side r, in voxels. The synthetic set used [5, 34].
    patch_distribution : {"uniform", "log-uniform"}
        r ~ U(patch_min, patch_max), or log r ~ U(log patch_min, log patch_max) (large volumes, BraTS).
    patch_resize : int
        m: every patch is resized to m^3 voxels by trilinear interpolation (m = 10 in the released runs).
    child_min : float
        l_min: the child side is r_child ~ U(l_min, r - r_gap).
    child_gap : float
        r_gap: how much smaller than its parent a child is at least.
    constant_tol : float
        An anchor whose resized values span at most this much (max - min) counts as constant and is
        skipped.
    triplets_per_batch, batches_per_epoch : int
        Size of one sampled batch and number of batches in one epoch (over all workers together).
    normalisation : {"percentile", "zscore", "none"}
        Intensity normalisation applied identically at training and inference
        (:func:`hypseg.data.normalise.normalise`).
    percentile_low, percentile_high : float
        Percentiles q_lo, q_hi (in [0, 100]) mapped to 0 and 1 by the percentile scaling.
    clip : bool
        Clip the percentile-scaled intensities to [0, 1].
    sampler : {"multiscale", "paper"}
        :class:`hypseg.data.TripletSampler` (sizes and positions redrawn for every triplet), or
        :class:`hypseg.data.PaperTripletSampler` (one anchor per voxel centre, sizes fixed per anchor,
        concentric positive; ../shared/spec/paper-recipe.md). The paper sampler reads ``patch_min``,
        ``patch_max``, ``child_min``, ``child_max`` and ``anchor_margin`` as integers.
    child_max : float
        Paper sampler: the child side is drawn below min(child_max, r - 1).
    anchor_margin : int
        Paper sampler: anchors are the voxel centres at least this far from every face.
    random_orientation : bool
        Multiscale sampler: turn each patch of a triplet by its own uniformly drawn symmetry of the cube
        (one of 48: an axis permutation and flips), so that the triplet loss asks anchor and positive to
        embed alike whatever their orientation. For (near-)isotropic voxels only.
    negative_candidates : int
        Multiscale sampler: draw this many negatives per triplet (each clear of the anchor) and keep the one
        whose resized patch mean lies nearest the positive's. With more than one, the triplet loss cannot be
        met by mean intensity alone, so the code must tell regions apart by what else differs; 1 keeps the
        first draw.
    anchor_candidates : int
        Multiscale sampler: draw this many triplets per one kept, and keep them with probability inversely
        proportional to how common their anchor's resized patch mean is among the candidates of the batch (or
        shard) being drawn (16 equal-width bins over their range). This flattens the anchors' means over their
        range; on an image of a few bright objects the middle bins are mostly patches across an object's edge,
        so those gain most. Validation batches are drawn the same way. 1 keeps every draw.
    anchor_balance : str
        What ``anchor_candidates`` balances: ``"bins"``, the 16 equal-width bins above, or ``"otsu"``, the two
        sides of Otsu's threshold on the candidates' means (a rare bright object's patches against the rest,
        each side kept about as often).
    """

    patch_min: float = 5.0
    patch_max: float = 34.0
    patch_distribution: str = "uniform"
    patch_resize: int = 10
    child_min: float = 3.0
    child_gap: float = 1.0
    constant_tol: float = 1e-6
    triplets_per_batch: int = 128
    batches_per_epoch: int = 64
    normalisation: str = "percentile"
    percentile_low: float = 1.0
    percentile_high: float = 99.0
    clip: bool = False
    sampler: str = "multiscale"
    child_max: float = 15.0
    anchor_margin: int = 2
    random_orientation: bool = False
    negative_candidates: int = 1
    anchor_candidates: int = 1
    anchor_balance: str = "bins"

    def __post_init__(self) -> None:
        if self.patch_distribution not in PATCH_DISTRIBUTIONS:
            raise UserError(f"DataConfig: patch_distribution must be one of {PATCH_DISTRIBUTIONS}, got {self.patch_distribution!r}")
        if self.sampler not in SAMPLERS:
            raise UserError(f"DataConfig: sampler must be one of {SAMPLERS}, got {self.sampler!r}")
        if self.random_orientation and self.sampler != "multiscale":
            raise UserError(f"DataConfig: random_orientation needs the multiscale sampler, got sampler {self.sampler!r}")
        if self.negative_candidates < 1:
            raise UserError(f"DataConfig: negative_candidates must be >= 1, got {self.negative_candidates}")
        if self.negative_candidates > 1 and self.sampler != "multiscale":
            raise UserError(f"DataConfig: negative_candidates needs the multiscale sampler, got sampler {self.sampler!r}")
        if self.anchor_candidates < 1:
            raise UserError(f"DataConfig: anchor_candidates must be >= 1, got {self.anchor_candidates}")
        if self.anchor_candidates > 1 and self.sampler != "multiscale":
            raise UserError(f"DataConfig: anchor_candidates needs the multiscale sampler, got sampler {self.sampler!r}")
        if self.anchor_balance not in ANCHOR_BALANCES:
            raise UserError(f"DataConfig: anchor_balance must be one of {ANCHOR_BALANCES}, got {self.anchor_balance!r}")
        if self.anchor_margin < 0 or not self.child_max >= self.child_min:
            raise UserError(f"DataConfig: need anchor_margin >= 0 and child_max >= child_min, got {self.anchor_margin}, {self.child_max}")
        if self.normalisation not in NORMALISATIONS:
            raise UserError(f"DataConfig: normalisation must be one of {NORMALISATIONS}, got {self.normalisation!r}")
        if not self.child_min > 0 or not self.child_gap >= 0:
            raise UserError(f"DataConfig: need child_min > 0 and child_gap >= 0, got {self.child_min} and {self.child_gap}")
        if not self.child_min + self.child_gap <= self.patch_min <= self.patch_max:
            raise UserError(
                "DataConfig: need child_min + child_gap <= patch_min <= patch_max "
                f"(a parent must hold a child), got {self.child_min} + {self.child_gap}, {self.patch_min}, {self.patch_max}"
            )
        if self.patch_resize < 2:
            raise UserError(f"DataConfig: patch_resize must be >= 2, got {self.patch_resize}")
        if self.triplets_per_batch < 1 or self.batches_per_epoch < 1:
            raise UserError("DataConfig: triplets_per_batch and batches_per_epoch must be >= 1")
        if not 0 <= self.percentile_low < self.percentile_high <= 100:
            raise UserError(
                f"DataConfig: need 0 <= percentile_low < percentile_high <= 100, got {self.percentile_low}, {self.percentile_high}"
            )
        if not self.constant_tol >= 0:
            raise UserError(f"DataConfig: constant_tol must be >= 0, got {self.constant_tol}")


