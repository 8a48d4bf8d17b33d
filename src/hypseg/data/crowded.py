"""A specimen that fills its field of view, crowded with small particles, with a three-level label hierarchy.

The cell and phantom sets hold one object inside a background that reaches the volume's faces, so level 1's
object lies in a field of view. A cryo-electron tomogram of a lysate or a purified sample does not: the
specimen fills the box and its objects are many small particles scattered through it, the faces cutting
some of them. This generator is that case, for validation (the method's choices for volumes with no object
in a field) and for a held-out test split.

====== ===================================================================================
level  classes (:data:`CROWDED_CLASSES`)
====== ===================================================================================
1      0 specimen, 1 particle
2      0 specimen, 1 large particle, 2 small particle
3      0 specimen, 1 large particle's shell, 2 large particle's core, 3 small particle
====== ===================================================================================

so :data:`CROWDED_LEVELS` is ``{1: 2, 2: 3, 3: 4}`` (the cluster counts at which the real tomogram is
scored).

Choices
-------
- **Particles.** U{18, ..., 36} large spheres of radius ~ N(3, 0.3) and U{45, ..., 90} small
  ones of radius ~ N(1.8, 0.2) (in a 50^3 box; counts scale with the box's volume, sizes do not). The box
  is a window into a larger specimen: a particle's centre is uniform over the box grown by its radius, so
  particles cover the faces as they cover the inside (some only by a cap); a centre is kept when its sphere stays ``margin`` (1 voxel) clear of every sphere placed before
  (large ones first, 200 tries per particle, dropped after that; the scene records the actual counts).
  Particles fill 2-4% of the volume (0.023-0.038 over seeds 0-7, tests/data/test_crowded.py), as particles fill
  about 3% of the real tomogram (voxels within 2 of a listed position, benchmarks/results/real_data.md), and the
  faces as much as the volume (their share of the face voxels over their share of the volume: 0.74-1.20, median
  1.07). A large particle's core is the sphere of 0.6 times
  its radius about its centre.
- **Intensity.** The specimen's mean is 0 plus a slow variation (white noise smoothed by a Gaussian of 8
  voxels, scaled to a standard deviation ~ U(0.3, 0.8): uneven ice or specimen thickness) and its own
  texture (the cell set's law: sigma ~ U(0.7, 2), amplitude ~ U(0.1, 0.3)). Particles share one polarity per
  volume (+1 or -1, even odds: dense particles show bright or dark by the reconstruction's convention): a
  kind's contrast to the specimen is polarity times U(1, 2) for large particles and U(0.6, 1.6) for small
  ones, each particle's own times U(0.9, 1.1), and a core adds polarity times U(0.4, 1.0) to its particle.
  A voxel shows the specimen's slow field under a particle as well (a particle sits in the specimen).
- **Blur and noise.** The image is blurred by a Gaussian of ``blur`` voxels (0.7: the microscope's limited
  resolution), then pink noise of standard deviation ``noise_std`` (0.3) is added
  (:func:`hypseg.data.synthetic.pink_noise`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from hypseg.data.synthetic import SyntheticVolume, _texture, pink_noise
from hypseg.errors import UserError

CROWDED_CLASSES: dict[int, tuple[str, ...]] = {
    1: ("specimen", "particle"),
    2: ("specimen", "large particle", "small particle"),
    3: ("specimen", "large particle's shell", "large particle's core", "small particle"),
}

#: number of classes per level (the k of clustering at that level)
CROWDED_LEVELS: dict[int, int] = {level: len(names) for level, names in CROWDED_CLASSES.items()}

_BOX = 50  # the box the particle counts are given for
_COUNTS = {"large": (18, 36), "small": (45, 90)}
_RADII = {"large": (3.0, 0.3), "small": (1.8, 0.2)}
_CONTRASTS = {"large": (1.0, 2.0), "small": (0.6, 1.6)}
_CORE = (0.4, 1.0)
_CORE_RADIUS = 0.6
_SLOW_SIGMA = 8.0
_SLOW_STD = (0.3, 0.8)


@dataclasses.dataclass(frozen=True)
class CrowdedScene:
    """Every random choice of one crowded volume.

    ``centres[i]`` (voxel indices ``(z, y, x)``), ``radii[i]``, ``large[i]`` and ``values[i]`` (contrast to the
    specimen) describe particle i; ``cores[i]`` is the contrast its core adds (0 for a small particle).
    """

    shape: int
    centres: tuple[tuple[float, float, float], ...]
    radii: tuple[float, ...]
    large: tuple[bool, ...]
    values: tuple[float, ...]
    cores: tuple[float, ...]
    polarity: float
    slow_std: float
    slow_seed: int
    texture_sigma: float
    texture_amplitude: float
    texture_seed: int
    noise_seed: int
    noise_std: float
    blur: float

    def counts(self) -> dict[str, int]:
        """Number of particles per kind."""
        return {"large particle": int(sum(self.large)), "small particle": int(len(self.large) - sum(self.large))}


def generate_crowded(rng: np.random.Generator, *, shape: int = 50, noise_std: float = 0.3, blur: float = 0.7,
                     margin: float = 1.0, tries: int = 200) -> SyntheticVolume:
    """Draw and render one crowded volume (see the module docstring).

    Parameters
    ----------
    rng, shape
        As :func:`hypseg.data.phantom.generate_phantom` takes them: the only source of randomness, the side (>= 16).
    noise_std, blur : float
        Pink noise's standard deviation and the Gaussian blur (voxels) of the noise-free image (both >= 0).
    margin : float
        Least gap between two particles (voxels).
    tries : int
        Random centres tried per particle before it is dropped.

    Examples
    --------
    >>> vol = generate_crowded(np.random.default_rng(0), shape=24)
    >>> vol.image.shape, [sorted(np.unique(vol.labels[level]).tolist()) for level in (1, 2, 3)]
    ((24, 24, 24), [[0, 1], [0, 1, 2], [0, 1, 2, 3]])
    """
    if isinstance(shape, bool) or not isinstance(shape, (int, np.integer)) or shape < 16:
        raise UserError(f"crowded shape must be an integer >= 16, got {shape!r}")
    if not (noise_std >= 0 and blur >= 0 and margin >= 0) or tries < 1:
        raise UserError(f"crowded noise_std, blur and margin must be >= 0 and tries >= 1, got "
                        f"{noise_std!r}, {blur!r}, {margin!r}, {tries!r}")
    return render_crowded(draw_crowded_scene(rng, shape=int(shape), noise_std=noise_std, blur=blur, margin=margin,
                                             tries=tries))


def draw_crowded_scene(rng: np.random.Generator, *, shape: int, noise_std: float, blur: float, margin: float,
                       tries: int) -> CrowdedScene:
    """Draw every random quantity of one crowded volume (the arguments of :func:`generate_crowded`)."""
    scale = (shape / _BOX) ** 3
    polarity = float(rng.choice([-1.0, 1.0]))
    centres: list[np.ndarray] = []
    radii: list[float] = []
    large: list[bool] = []
    values: list[float] = []
    cores: list[float] = []
    for kind in ("large", "small"):
        lo, hi = _COUNTS[kind]
        n = int(rng.integers(max(1, round(lo * scale)), max(1, round(hi * scale)) + 1))
        contrast = rng.uniform(*_CONTRASTS[kind])
        for _ in range(n):
            radius = max(1.0, float(rng.normal(*_RADII[kind])))
            for _ in range(tries):
                centre = rng.uniform(-radius, shape - 1.0 + radius, size=3)
                if all(np.linalg.norm(centre - c) >= radius + r + margin for c, r in zip(centres, radii)):
                    break
            else:
                continue
            centres.append(centre)
            radii.append(radius)
            large.append(kind == "large")
            values.append(float(polarity * contrast * rng.uniform(0.9, 1.1)))
            cores.append(float(polarity * rng.uniform(*_CORE)) if kind == "large" else 0.0)
    return CrowdedScene(
        shape=shape,
        centres=tuple(tuple(float(v) for v in c) for c in centres),
        radii=tuple(radii),
        large=tuple(large),
        values=tuple(values),
        cores=tuple(cores),
        polarity=polarity,
        slow_std=float(rng.uniform(*_SLOW_STD)),
        slow_seed=int(rng.integers(2**63)),
        texture_sigma=float(rng.uniform(0.7, 2.0)),
        texture_amplitude=float(rng.uniform(0.1, 0.3)),
        texture_seed=int(rng.integers(2**63)),
        noise_seed=int(rng.integers(2**63)),
        noise_std=float(noise_std),
        blur=float(blur),
    )


def render_crowded(scene: CrowdedScene) -> SyntheticVolume:
    """Render a :class:`CrowdedScene` deterministically into image, label maps and instance ids.

    ``instances`` holds 0 for the specimen and ``1 + i`` for particle i.
    """
    S = scene.shape
    grid = np.arange(S, dtype=np.float64)
    instances = np.zeros((S, S, S), dtype=np.int16)
    level3 = np.zeros((S, S, S), dtype=np.uint8)
    everywhere = np.ones((S, S, S), dtype=bool)  # the specimen's slow field and texture: the cell set's smoothed noise
    slow = _texture(everywhere, sigma=_SLOW_SIGMA, seed=scene.slow_seed)
    texture = _texture(everywhere, sigma=scene.texture_sigma, seed=scene.texture_seed)
    clean = (scene.slow_std * slow + scene.texture_amplitude * texture).reshape(S, S, S)
    for i, (centre, radius) in enumerate(zip(scene.centres, scene.radii)):
        lo = [max(int(np.floor(c - radius)), 0) for c in centre]
        hi = [min(int(np.ceil(c + radius)) + 1, S) for c in centre]
        window = tuple(slice(a, b) for a, b in zip(lo, hi))
        d2 = sum(((grid[a:b] - c) ** 2).reshape(shape) for a, b, c, shape
                 in zip(lo, hi, centre, ((-1, 1, 1), (1, -1, 1), (1, 1, -1))))
        inside = d2 <= radius**2
        instances[window][inside] = i + 1
        clean[window][inside] += scene.values[i]
        if scene.large[i]:
            core = d2 <= (_CORE_RADIUS * radius) ** 2
            level3[window][inside] = 1
            level3[window][core] = 2
            clean[window][core] += scene.cores[i]
        else:
            level3[window][inside] = 3
    kinds = np.concatenate([[0], np.where(scene.large, 1, 2)]).astype(np.uint8)
    labels = {1: (instances > 0).astype(np.uint8), 2: kinds[instances], 3: level3}
    if scene.blur > 0:
        clean = ndimage.gaussian_filter(clean, sigma=scene.blur, mode="nearest")
    image = clean + pink_noise(S, rng=np.random.default_rng(scene.noise_seed), std=scene.noise_std) if scene.noise_std > 0 else clean
    return SyntheticVolume(image=image.astype(np.float32), labels=labels, instances=instances, scene=scene)  # type: ignore[arg-type]
