"""Synthetic hierarchical volumes modelled on cryo-ET of cells (method.md section 8).

A volume of ``shape^3`` voxels (50^3) holds a three-level hierarchy:

- level 1: background and one "cell" sphere, radius ~ N(25, 1);
- level 2: inside the cell, "vesicle" spheres (radius ~ N(8, 0.5)) and "mitochondrion" cuboids (each side
  ~ 2 N(8, 0.5));
- level 3: "protein aggregate" spheres (radius ~ N(2, 0.2)) inside vesicles and small cuboids (each
  side ~ 2 N(3, 0.15)) inside mitochondria.

Label maps (``uint8``), one per level; a voxel carries the class of the innermost object up to that level:

====== =========================================================================================
level  classes
====== =========================================================================================
1      0 background, 1 cell
2      0 background, 1 cell, 2 vesicle, 3 mitochondrion
3      0 background, 1 cell, 2 vesicle, 3 mitochondrion, 4 aggregate in vesicle, 5 cuboid in mitochondrion
====== =========================================================================================

Choices the paper left open (all parameters live in :class:`hypseg.config.SyntheticConfig`)
-----------------------------------------------------------------------------------------------
- **Placement.** The cell is centred in the volume plus U(-1.5, 1.5) per axis (a radius-25 sphere fills
  a 50^3 box, so it is clipped by the box faces). Every other object is placed by rejection sampling:
  a candidate centre is drawn uniformly among the voxels of its parent whose distance to the parent's
  boundary (and to already placed siblings) is at least the child's inner radius, and is accepted when
  the child's whole mask lies inside the parent shrunk by ``margin`` (1 voxel), at least ``margin``
  away from its siblings and off the volume's outer voxel layer (shapes are star-shaped about their
  centre, so a shape reaching past the volume face would cover that layer). Containment is therefore exact on the voxel grid. An object that does not
  fit after ``placement_tries`` (200) candidates is dropped (the manifest records the actual counts).
- **Counts.** 1-3 vesicles and 1-2 mitochondria per cell, 1-3 aggregates per vesicle, 1-2 cuboids per
  mitochondrion, each uniform over its range; one mitochondrion and one vesicle are placed first, so
  every volume has all six level-3 classes. Cuboids are axis-aligned with three independent sides.
- **Intensity and texture.** Every instance (the background, the cell and each organelle) draws its
  mean intensity mu ~ N(0, 1) and its own texture: white Gaussian noise smoothed by a Gaussian filter of
  sigma ~ U(0.7, 2.0) voxels, standardised to zero mean and unit variance over the instance, scaled by
  an amplitude ~ U(0.1, 0.3). A voxel shows the instance that owns it: I = mu_i + a_i T_i(x).
- **Noise.** Pink noise of standard deviation 0.25 is added to the whole volume: white noise whose
  power spectral density is reshaped to S(f) ~ 1/|f| (amplitude ~ |f|^-1/2, zero mean), then scaled to
  standard deviation 0.25 over the volume.
- **Irregular variant.** Every shape is deformed radially: with u the direction from the centre and
  n(x) the shape's norm (Euclidean for spheres, the max-norm scaled by the half sides for cuboids), a
  voxel is inside when n(x) <= 1 + sum_j a_j exp(kappa (u . d_j - 1)), with 6 random directions d_j,
  kappa = 8 and amplitudes |a_j| ~ 0.35 U(0.5, 1), at least one negative (a dent), so the shapes are
  not convex. Containment is still exact because placement checks the deformed masks.

Class volume fractions (50^3, default config; measured over seeds 0-39 of both variants: cell
0.35-0.65, vesicle 0.012-0.062, mitochondrion 0.021-0.078, aggregate 0.0002-0.0027, small cuboid
0.0014-0.0054) are documented with some slack in :data:`FRACTION_RANGES`: level 1 cell 0.30-0.70;
level 2 vesicle 0.005-0.10, mitochondrion 0.01-0.12 (each including its level-3 children); level 3
aggregate 0.0001-0.005, small cuboid 0.0005-0.01.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
from scipy import ndimage

from hypseg.data.synthetic_config import SyntheticConfig
from hypseg.errors import UserError

#: class names per level (index = label value)
CLASSES: dict[int, tuple[str, ...]] = {
    1: ("background", "cell"),
    2: ("background", "cell", "vesicle", "mitochondrion"),
    3: ("background", "cell", "vesicle", "mitochondrion", "aggregate", "cuboid"),
}

#: documented (min, max) volume fraction per (level, class) for the default 50^3 config
FRACTION_RANGES: dict[tuple[int, int], tuple[float, float]] = {
    (1, 1): (0.30, 0.70),
    (2, 2): (0.005, 0.10),
    (2, 3): (0.01, 0.12),
    (3, 4): (0.0001, 0.005),
    (3, 5): (0.0005, 0.01),
}

# object kind -> (shape, level, level-2 class, level-3 class)
_KINDS = {
    "cell": ("sphere", 1, 1, 1),
    "vesicle": ("sphere", 2, 2, 2),
    "mitochondrion": ("cuboid", 2, 3, 3),
    "aggregate": ("sphere", 3, 2, 4),
    "cuboid": ("cuboid", 3, 3, 5),
}


@dataclasses.dataclass(frozen=True)
class SceneObject:
    """One object instance: everything random about it, drawn once (rendering is deterministic).

    ``centre`` is in voxel-index coordinates ``(z, y, x)``; ``half`` the half extents (sphere: the
    radius three times); ``bump_dirs`` (J, 3) and ``bump_amps`` (J,) the irregular deformation (J = 0 for
    regular shapes); ``parent`` the index of the enclosing object (-1 for the cell).
    """

    kind: str
    centre: tuple[float, float, float]
    half: tuple[float, float, float]
    parent: int
    intensity: float
    texture_sigma: float
    texture_amplitude: float
    texture_seed: int
    bump_dirs: tuple[tuple[float, float, float], ...] = ()
    bump_amps: tuple[float, ...] = ()
    bump_kappa: float = 8.0


@dataclasses.dataclass(frozen=True)
class Scene:
    """The random choices of one volume: its objects, the background's appearance and the noise seed."""

    shape: int
    objects: tuple[SceneObject, ...]
    background_intensity: float
    background_texture_sigma: float
    background_texture_amplitude: float
    background_texture_seed: int
    noise_seed: int
    noise_std: float
    noise_exponent: float
    irregular: bool

    def counts(self) -> dict[str, int]:
        """Number of objects per kind."""
        return {kind: sum(o.kind == kind for o in self.objects) for kind in _KINDS}


@dataclasses.dataclass(frozen=True)
class SyntheticVolume:
    """A rendered volume: image ``(S, S, S)`` float32, label maps per level, instance ids, its scene.

    ``instances`` holds 0 for background and ``1 + index`` into ``scene.objects`` elsewhere (innermost).
    """

    image: np.ndarray
    labels: dict[int, np.ndarray]
    instances: np.ndarray
    scene: Scene


def generate_volume(
    rng: np.random.Generator, *, config: SyntheticConfig = SyntheticConfig(), irregular: bool = False
) -> SyntheticVolume:
    """Draw and render one synthetic volume.

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness; the same state gives the same volume.
    config : SyntheticConfig
    irregular : bool
        Deformed, non-convex shapes instead of spheres and cuboids.

    Examples
    --------
    >>> vol = generate_volume(np.random.default_rng(0), config=SyntheticConfig(shape=32, cell_radius_mean=16.0,
    ...     vesicle_radius_mean=5.0, mito_half_side_mean=4.0))
    >>> vol.image.shape, sorted(np.unique(vol.labels[3]).tolist())
    ((32, 32, 32), [0, 1, 2, 3, 4, 5])
    """
    return render_scene(draw_scene(rng, config=config, irregular=irregular))


# ----------------------------------------------------------------------------------------- random choice
def draw_scene(rng: np.random.Generator, *, config: SyntheticConfig, irregular: bool) -> Scene:
    """Draw every random quantity of one volume (object sizes, positions, intensities, texture seeds)."""
    for _ in range(20):
        scene = _try_draw_scene(rng, config=config, irregular=irregular)
        if scene is not None:
            return scene
    raise UserError("synthetic generator: could not place the required objects; the sizes do not fit the volume")


def _try_draw_scene(rng: np.random.Generator, *, config: SyntheticConfig, irregular: bool) -> Scene | None:
    S = config.shape
    objects: list[SceneObject] = []
    centre = (S - 1) / 2 + rng.uniform(-config.cell_centre_jitter, config.cell_centre_jitter, size=3)
    radius = max(2.0, rng.normal(config.cell_radius_mean, config.cell_radius_std))
    objects.append(_new_object(rng, config, irregular, kind="cell", centre=centre, half=(radius,) * 3, parent=-1))
    cell_mask = _object_mask(objects[0], lo=(0, 0, 0), hi=(S, S, S))

    n_mito = int(rng.integers(config.mitochondria[0], config.mitochondria[1] + 1))
    n_ves = int(rng.integers(config.vesicles[0], config.vesicles[1] + 1))
    order = ["mitochondrion", "vesicle"] + ["mitochondrion"] * (n_mito - 1) + ["vesicle"] * (n_ves - 1)
    required = {0, 1}
    free = _shrink(cell_mask, config.margin)
    border = max(1, int(np.ceil(config.margin)))  # off the outer layer (see the module docstring)
    free[:border], free[-border:], free[:, :border], free[:, -border:], free[..., :border], free[..., -border:] = (False,) * 6
    placed_level2: list[tuple[int, np.ndarray]] = []
    for k, kind in enumerate(order):
        half = _draw_half(rng, config, kind)
        placed = _place(rng, config, irregular, kind=kind, half=half, parent=0, free=free, objects=objects)
        if placed is None:
            if k in required:
                return None
            continue
        placed_level2.append(placed)

    for parent_index, parent_mask in placed_level2:
        parent_kind = objects[parent_index].kind
        child, bounds = ("aggregate", config.aggregates_per_vesicle) if parent_kind == "vesicle" else ("cuboid", config.cuboids_per_mito)
        free = _shrink(parent_mask, config.margin)
        for k in range(int(rng.integers(bounds[0], bounds[1] + 1))):
            half = _draw_half(rng, config, child)
            placed = _place(rng, config, irregular, kind=child, half=half, parent=parent_index, free=free, objects=objects)
            if placed is None and k == 0:
                return None
    return Scene(
        shape=S,
        objects=tuple(objects),
        background_intensity=float(rng.normal(config.intensity_mean, config.intensity_std)),
        background_texture_sigma=float(rng.uniform(*config.texture_sigma)),
        background_texture_amplitude=float(rng.uniform(*config.texture_amplitude)),
        background_texture_seed=int(rng.integers(2**63)),
        noise_seed=int(rng.integers(2**63)),
        noise_std=config.noise_std,
        noise_exponent=config.noise_exponent,
        irregular=irregular,
    )


def _draw_half(rng: np.random.Generator, config: SyntheticConfig, kind: str) -> tuple[float, float, float]:
    if kind == "vesicle":
        r = rng.normal(config.vesicle_radius_mean, config.vesicle_radius_std)
        return (max(r, 1.0),) * 3
    if kind == "aggregate":
        r = rng.normal(config.aggregate_radius_mean, config.aggregate_radius_std)
        return (max(r, 0.75),) * 3
    if kind == "mitochondrion":
        h = rng.normal(config.mito_half_side_mean, config.mito_half_side_std, size=3)
    else:
        h = rng.normal(config.cuboid_half_side_mean, config.cuboid_half_side_std, size=3)
    return tuple(float(v) for v in np.maximum(h, 0.75))  # type: ignore[return-value]


def _new_object(rng, config, irregular, *, kind, centre, half, parent) -> SceneObject:
    dirs: tuple = ()
    amps: tuple = ()
    if irregular:
        J = config.deform_bumps
        d = rng.normal(size=(J, 3))
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        signs = rng.choice([-1.0, 1.0], size=J)
        signs[0] = -1.0  # at least one dent: never convex
        a = signs * config.deform_amplitude * rng.uniform(0.5, 1.0, size=J)
        dirs = tuple(tuple(float(v) for v in row) for row in d)
        amps = tuple(float(v) for v in a)
    return SceneObject(
        kind=kind,
        centre=tuple(float(v) for v in centre),  # type: ignore[arg-type]
        half=tuple(float(v) for v in half),  # type: ignore[arg-type]
        parent=parent,
        intensity=float(rng.normal(config.intensity_mean, config.intensity_std)),
        texture_sigma=float(rng.uniform(*config.texture_sigma)),
        texture_amplitude=float(rng.uniform(*config.texture_amplitude)),
        texture_seed=int(rng.integers(2**63)),
        bump_dirs=dirs,
        bump_amps=amps,
        bump_kappa=config.deform_kappa,
    )


def _place(rng, config, irregular, *, kind, half, parent, free, objects) -> tuple[int, np.ndarray] | None:
    """Rejection-sample a centre so that the object's mask lies in ``free``; update ``free`` in place.

    Candidate centres are voxels whose distance to the outside of ``free`` is at least the shape's
    circumradius (then a regular shape fits at once); when there is none, at least its inner radius.
    Returns ``(index, full-size mask)`` of the placed object, or None when nothing fitted.
    """
    S = config.shape
    outer = float(np.linalg.norm(half)) if _KINDS[kind][0] == "cuboid" else max(half)
    inner = min(half) * (1.0 - (config.deform_amplitude if irregular else 0.0))
    depth = _depth(free)
    tries = config.placement_tries
    for threshold, budget in ((outer + 0.5, tries // 2), (max(inner, 0.5), tries - tries // 2)):
        candidates = np.flatnonzero(depth >= threshold)
        if candidates.size == 0:
            continue
        for _ in range(budget):
            flat = candidates[rng.integers(candidates.size)]
            centre = np.array(np.unravel_index(flat, free.shape), dtype=float) + rng.uniform(-0.5, 0.5, size=3)
            obj = _new_object(rng, config, irregular, kind=kind, centre=centre, half=half, parent=parent)
            lo, hi = _bbox(obj, S)
            mask = _object_mask(obj, lo=lo, hi=hi)
            window = tuple(slice(a, b) for a, b in zip(lo, hi))
            if not mask.any() or np.any(mask & ~free[window]):
                continue
            objects.append(obj)
            full = np.zeros(free.shape, dtype=bool)
            full[window] = mask
            pad = int(np.ceil(config.margin)) + 1
            grown = tuple(slice(max(a - pad, 0), min(b + pad, S)) for a, b in zip(lo, hi))
            free[grown] &= ~_grow(full[grown], config.margin)
            return len(objects) - 1, full
    return None


def _depth(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance of each voxel of ``mask`` to the nearest voxel outside it (0 outside).

    Computed on the mask's bounding box grown by one voxel, which gives the same values as the
    whole-volume transform at a fraction of the cost for small masks.
    """
    out = np.zeros(mask.shape, dtype=np.float64)
    idx = np.nonzero(mask.any(axis=(1, 2)))[0], np.nonzero(mask.any(axis=(0, 2)))[0], np.nonzero(mask.any(axis=(0, 1)))[0]
    if any(i.size == 0 for i in idx):
        return out
    window = tuple(slice(max(int(i[0]) - 1, 0), min(int(i[-1]) + 2, n)) for i, n in zip(idx, mask.shape))
    out[window] = ndimage.distance_transform_edt(mask[window])
    return out


def _shrink(mask: np.ndarray, margin: float) -> np.ndarray:
    """Voxels of ``mask`` at distance > margin from its outside."""
    return _depth(mask) > margin


def _grow(mask: np.ndarray, margin: float) -> np.ndarray:
    """Voxels within distance margin of ``mask`` (the mask included)."""
    return ndimage.distance_transform_edt(~mask) <= margin


# ----------------------------------------------------------------------------------------- deterministic rendering
def _extent(obj: SceneObject) -> np.ndarray:
    """Half size of a box certain to hold the object (bumps included)."""
    half = np.asarray(obj.half)
    reach = 1.0 + sum(a for a in obj.bump_amps if a > 0)
    if _KINDS[obj.kind][0] == "cuboid":
        return np.full(3, np.linalg.norm(half)) * reach
    return half * reach


def _bbox(obj: SceneObject, S: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    c, e = np.asarray(obj.centre), _extent(obj)
    lo = np.clip(np.floor(c - e), 0, S).astype(int)
    hi = np.clip(np.ceil(c + e) + 1, 0, S).astype(int)
    return tuple(lo.tolist()), tuple(hi.tolist())


def _object_mask(obj: SceneObject, *, lo: Sequence[int], hi: Sequence[int]) -> np.ndarray:
    """Boolean mask of ``obj`` on the voxel grid ``[lo, hi)`` (voxel centres at integer indices).

    Inside iff n(x) <= rho(u): n is |d/h|_2 (sphere) or |d/h|_inf (cuboid), d = x - centre, and
    rho(u) = 1 + sum_j a_j exp(kappa (u . d_j - 1)) with u = d / |d| (rho = 1 for regular shapes).
    """
    dz, dy, dx = (
        (np.arange(a, b, dtype=np.float32) - np.float32(c)).reshape(shape)
        for a, b, c, shape in zip(lo, hi, obj.centre, ((-1, 1, 1), (1, -1, 1), (1, 1, -1)))
    )  # broadcastable (Dz,1,1), (1,Dy,1), (1,1,Dx)
    hz, hy, hx = obj.half
    if _KINDS[obj.kind][0] == "sphere":
        norm = np.sqrt((dz / hz) ** 2 + (dy / hy) ** 2 + (dx / hx) ** 2)
    else:
        norm = np.maximum(np.maximum(np.abs(dz) / hz, np.abs(dy) / hy), np.abs(dx) / hx)
    if obj.bump_amps:
        length = np.sqrt(dz**2 + dy**2 + dx**2)
        inv = np.where(length > 0, 1.0 / np.where(length > 0, length, 1.0), 0.0).astype(np.float32)
        rho = np.ones(norm.shape, dtype=np.float32)
        for (uz, uy, ux), amp in zip(obj.bump_dirs, obj.bump_amps):  # J bumps, each a whole-grid expression
            cos = (dz * np.float32(uz) + dy * np.float32(uy) + dx * np.float32(ux)) * inv
            rho += np.float32(amp) * np.exp(np.float32(obj.bump_kappa) * (cos - 1.0))
        return norm <= rho
    return norm <= 1.0


def render_scene(scene: Scene) -> SyntheticVolume:
    """Render a :class:`Scene` deterministically into image, label maps and instance ids."""
    S = scene.shape
    instances = np.zeros((S, S, S), dtype=np.int16)
    level2 = np.zeros((S, S, S), dtype=np.uint8)
    level3 = np.zeros((S, S, S), dtype=np.uint8)
    # paint outer objects first so that inner ones override them
    for index in sorted(range(len(scene.objects)), key=lambda i: _KINDS[scene.objects[i].kind][1]):
        obj = scene.objects[index]
        lo, hi = _bbox(obj, S)
        window = tuple(slice(a, b) for a, b in zip(lo, hi))
        mask = _object_mask(obj, lo=lo, hi=hi)
        instances[window][mask] = index + 1
        _, _, class2, class3 = _KINDS[obj.kind]
        level2[window][mask] = class2
        level3[window][mask] = class3
    labels = {1: (instances > 0).astype(np.uint8), 2: level2, 3: level3}

    image = np.empty((S, S, S), dtype=np.float64)
    appearances = [
        (scene.background_intensity, scene.background_texture_sigma, scene.background_texture_amplitude, scene.background_texture_seed)
    ] + [(o.intensity, o.texture_sigma, o.texture_amplitude, o.texture_seed) for o in scene.objects]
    for inst, (mu, sigma, amp, seed) in enumerate(appearances):
        own = instances == inst
        if not own.any():
            continue
        image[own] = mu + amp * _texture(own, sigma=sigma, seed=seed)
    image += pink_noise(S, rng=np.random.default_rng(scene.noise_seed), std=scene.noise_std, exponent=scene.noise_exponent)
    return SyntheticVolume(image=image.astype(np.float32), labels=labels, instances=instances, scene=scene)


def _texture(own: np.ndarray, *, sigma: float, seed: int) -> np.ndarray:
    """Texture values at the voxels of ``own``: Gaussian-smoothed white noise, standardised over them."""
    idx = np.nonzero(own)
    lo = [max(int(i.min()) - 3, 0) for i in idx]
    hi = [min(int(i.max()) + 4, n) for i, n in zip(idx, own.shape)]
    shape = tuple(b - a for a, b in zip(lo, hi))
    field = ndimage.gaussian_filter(np.random.default_rng(seed).standard_normal(shape), sigma=sigma, mode="wrap")
    values = field[tuple(i - a for i, a in zip(idx, lo))]
    std = values.std()
    return (values - values.mean()) / (std if std > 0 else 1.0)


def pink_noise(shape: int, *, rng: np.random.Generator, std: float = 0.25, exponent: float = 1.0) -> np.ndarray:
    """Noise of power spectral density S(f) ~ 1 / |f|^exponent on a ``shape^3`` grid, scaled to ``std``.

    White Gaussian noise is filtered in the Fourier domain by |f|^(-exponent / 2) (the DC term is set to
    zero) and rescaled to standard deviation ``std``.

    >>> n = pink_noise(16, rng=np.random.default_rng(0))
    >>> round(float(n.std()), 6), abs(float(n.mean())) < 1e-9
    (0.25, True)
    """
    white = rng.standard_normal((shape,) * 3)
    spectrum = np.fft.rfftn(white)
    fz = np.fft.fftfreq(shape)[:, None, None]
    fy = np.fft.fftfreq(shape)[None, :, None]
    fx = np.fft.rfftfreq(shape)[None, None, :]
    f = np.sqrt(fz**2 + fy**2 + fx**2)
    f[0, 0, 0] = np.inf  # removes the mean
    noise = np.fft.irfftn(spectrum * f ** (-exponent / 2.0), s=(shape,) * 3, axes=(0, 1, 2))
    return noise * (std / noise.std())

