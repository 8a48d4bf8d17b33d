"""Every parameter of the synthetic hierarchical generator (method.md section 8)."""

from __future__ import annotations

import dataclasses

from hypseg.config import Config
from hypseg.errors import UserError


@dataclasses.dataclass(frozen=True)
class SyntheticConfig(Config):
    """Every parameter of the synthetic hierarchical generator (method.md section 8).

    Sizes are in voxels; ``N(a, b)`` means a normal with mean a and standard deviation b. The choices the
    paper left open are explained in :mod:`hypseg.data.synthetic`.

    Parameters
    ----------
    shape : int
        Side of the cubic volume (50 in the paper).
    cell_radius_mean, cell_radius_std : float
        Level 1 "cell" sphere radius ~ N(25, 1).
    cell_centre_jitter : float
        The cell centre is the volume centre plus U(-j, j) per axis.
    vesicle_radius_mean, vesicle_radius_std : float
        Level 2 "vesicle" sphere radius ~ N(8, 0.5).
    mito_half_side_mean, mito_half_side_std : float
        Level 2 "mitochondrion" cuboid: each of its three sides ~ 2 N(8, 0.5).
    aggregate_radius_mean, aggregate_radius_std : float
        Level 3 "protein aggregate" sphere radius ~ N(2, 0.2), inside vesicles.
    cuboid_half_side_mean, cuboid_half_side_std : float
        Level 3 small cuboid: each side ~ 2 N(3, 0.15), inside mitochondria.
    vesicles, mitochondria : tuple of int
        Inclusive range of the number of vesicles / mitochondria per cell (drawn uniformly).
    aggregates_per_vesicle, cuboids_per_mito : tuple of int
        Inclusive range of level-3 objects per parent.
    margin : float
        Minimum gap (voxels) between a child and its parent's boundary and between siblings.
    placement_tries : int
        Random positions tried per object before it is dropped (the manifest records actual counts).
    intensity_mean, intensity_std : float
        Instance intensity ~ N(mean, std) = N(0, 1).
    texture_sigma : tuple of float
        Range of the per-instance texture correlation length (Gaussian filter sigma, voxels).
    texture_amplitude : tuple of float
        Range of the per-instance texture standard deviation.
    noise_std : float
        Standard deviation of the pink noise over the volume (0.25).
    noise_exponent : float
        Power spectral density of the noise ~ 1 / |f|^noise_exponent (1 = pink).
    deform_amplitude : float
        Irregular variant: relative depth of the radial bumps and dents of every shape.
    deform_bumps : int
        Irregular variant: number of bumps/dents per shape (at least one is a dent).
    deform_kappa : float
        Irregular variant: concentration of each bump on the sphere of directions (larger = narrower).
    """

    shape: int = 50
    cell_radius_mean: float = 25.0
    cell_radius_std: float = 1.0
    cell_centre_jitter: float = 1.5
    vesicle_radius_mean: float = 8.0
    vesicle_radius_std: float = 0.5
    mito_half_side_mean: float = 8.0
    mito_half_side_std: float = 0.5
    aggregate_radius_mean: float = 2.0
    aggregate_radius_std: float = 0.2
    cuboid_half_side_mean: float = 3.0
    cuboid_half_side_std: float = 0.15
    vesicles: tuple[int, int] = (1, 3)
    mitochondria: tuple[int, int] = (1, 2)
    aggregates_per_vesicle: tuple[int, int] = (1, 3)
    cuboids_per_mito: tuple[int, int] = (1, 2)
    margin: float = 1.0
    placement_tries: int = 200
    intensity_mean: float = 0.0
    intensity_std: float = 1.0
    texture_sigma: tuple[float, float] = (0.7, 2.0)
    texture_amplitude: tuple[float, float] = (0.1, 0.3)
    noise_std: float = 0.25
    noise_exponent: float = 1.0
    deform_amplitude: float = 0.35
    deform_bumps: int = 6
    deform_kappa: float = 8.0

    def __post_init__(self) -> None:
        if self.shape < 16:
            raise UserError(f"SyntheticConfig: shape must be >= 16, got {self.shape}")
        for name in ("vesicles", "mitochondria", "aggregates_per_vesicle", "cuboids_per_mito"):
            lo, hi = getattr(self, name)
            if not 1 <= lo <= hi:
                raise UserError(f"SyntheticConfig: {name} must be a range (lo, hi) with 1 <= lo <= hi, got {(lo, hi)}")
        for name in ("texture_sigma", "texture_amplitude"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise UserError(f"SyntheticConfig: {name} must be a range (lo, hi) with 0 <= lo <= hi, got {(lo, hi)}")
        if self.placement_tries < 1 or self.deform_bumps < 1:
            raise UserError("SyntheticConfig: placement_tries and deform_bumps must be >= 1")

    def with_object_scale(self, factor: float) -> "SyntheticConfig":
        """This generator with every object's size (radii, half sides and their spreads) times ``factor``, in the same box.

        Intensities, noise and textures are not lengths of the scene and stay as they are.

        >>> SyntheticConfig().with_object_scale(0.5).cell_radius_mean
        12.5
        """
        sizes = [f.name for f in dataclasses.fields(self) if f.name.endswith(("_radius_mean", "_radius_std", "_side_mean", "_side_std"))]
        return dataclasses.replace(self, **{name: getattr(self, name) * factor for name in sizes})

    @classmethod
    def scaled(cls, size: int) -> "SyntheticConfig":
        """The default generator in a ``size``^3 box, every object's size scaled by ``size / 50``.

        >>> SyntheticConfig.scaled(25).cell_radius_mean, SyntheticConfig.scaled(25).noise_std
        (12.5, 0.25)
        """
        base = cls()
        return dataclasses.replace(base.with_object_scale(size / base.shape), shape=size)
