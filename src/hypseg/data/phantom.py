"""A noisy, randomised 3-D Shepp-Logan head phantom with a three-level label hierarchy.

The geometry is the 3-D Shepp-Logan phantom of Kak & Slaney (*Principles of Computerized Tomographic
Imaging*, 1988, p. 102, with the published errata): ten ellipsoids in the frame [-1, 1]^3, each given by
its centre (x, y, z), semi-axes (A, B, C) along its own axes and a rotation beta about the z axis:

=== ====================== ======================== ======= =========== ==========
#   centre (x, y, z)       semi-axes (A, B, C)      beta    role        level 3
=== ====================== ======================== ======= =========== ==========
a   (0, 0, 0)              (0.69, 0.92, 0.90)       0       skull       skull
b   (0, 0, 0)              (0.6624, 0.874, 0.88)    0       brain       brain
c   (-0.22, 0, -0.25)      (0.41, 0.16, 0.21)       108     ventricle   ventricle
d   (0.22, 0, -0.25)       (0.31, 0.11, 0.22)       72      ventricle   ventricle
e   (0, 0.35, -0.25)       (0.21, 0.25, 0.50)       0       mass        mass
f   (0, 0.1, -0.25)        (0.046, 0.046, 0.046)    0       lesion      lesion
g   (-0.08, -0.65, -0.25)  (0.046, 0.023, 0.02)     0       lesion      lesion
h   (0.06, -0.65, -0.25)   (0.046, 0.023, 0.02)     90      lesion      lesion
i   (0.06, -0.105, 0.625)  (0.056, 0.04, 0.10)      90      lesion      lesion
j   (0, 0.1, 0.625)        (0.056, 0.056, 0.10)     0       lesion      lesion
=== ====================== ======================== ======= =========== ==========

Labels
------
A voxel belongs to the *innermost* ellipsoid holding its centre: the one latest in the table (the table
lists every ellipsoid after those enclosing it; where two inner ones overlap, as f does the edge of e,
the later one wins). Ellipsoids c-j are clipped to the brain ellipsoid b, so every inner structure lies
inside the brain. ``instances`` holds 0 for background and 1-10 for a-j. The label maps (``uint8``)
follow from the nesting a > b > {c, ..., j}:

====== ===================================================================================
level  classes (:data:`PHANTOM_CLASSES`)
====== ===================================================================================
1      0 background, 1 head (inside a)
2      0 background, 1 skull (inside a, outside b), 2 brain (inside b, outside c-j), 3 inner (in one of c-j)
3      0 background, 1 skull, 2 brain, 3 ventricle (c, d), 4 mass (e), 5 lesion (f-j)
====== ===================================================================================

so :data:`PHANTOM_LEVELS` is ``{1: 2, 2: 4, 3: 6}`` (the synthetic cell set's numbers). Each level-(i+1)
class lies inside one level-i class (:data:`PHANTOM_PARENTS`): skull, brain and inner inside head;
ventricle, mass and lesion inside inner; background, skull and brain carry over.

Choices
-------
- **Scale.** One phantom unit is ``u = 0.45 S / 0.92`` voxels, so the head's longest semi-axis (0.92)
  spans 45 % of the side S: the head fills 90 % of the box along y. The frame's origin is the box centre
  ``(S - 1) / 2``; phantom x, y, z are the array axes 2, 1, 0 (arrays are indexed ``(z, y, x)``).
- **Minimum sizes.** At 50^3 the table's skull is 0.5-1.1 voxels thick and its smallest ellipsoids have
  semi-axes of half a voxel, which the grid cannot show. Every semi-axis of c-j is therefore at least
  :data:`MIN_SEMI_AXIS` (2 voxels), and b shares a's centre and axes with each semi-axis at least
  :data:`MIN_SKULL` (2 voxels) shorter than a's (so b lies inside a and the skull is a closed shell).
- **Jitter** (one number j, default 0.05; the draws are made before scaling by j, so one seed gives the
  same directions of change at every j). The head (a with b) gets a pose: its centre moves by
  U(-j/2, j/2) phantom units per axis and it turns by the small rotation Rz(t_z) Ry(t_y) Rx(t_x),
  t ~ U(-2j, 2j) radians (about +-5.7 degrees at j = 0.05). Each of c-j moves by U(-j, j) units per axis
  and turns by its own small rotation of the same law, both in the head's frame. Every ellipsoid's
  semi-axes, and the skull's thickness, are multiplied by U(1 - j, 1 + j) each. For j <= 0.05 the head
  stays inside the box (for S >= 33 off its outer voxel layer).
- **Intensities** (spread s, default 0.4). Base values follow the contrasts of the Yu-Ye-Wang variant
  (Proc. SPIE 5535, 2004) of the table, with the brain lifted from 0.2 to 0.4 so that the dark
  structures do not take the background's value: background 0, skull 1.0, brain 0.4, and relative to the
  brain c, d, j -0.2, e, f, i +0.2, g, h +0.1. Per volume the skull and brain values are multiplied by
  U(1 - s/2, 1 + s/2) each and every inner ellipsoid's contrast to the brain by its own U(1 - s, 1 + s).
  For s <= 0.4 (the accepted range) every volume keeps the order background < c, d, j < brain < e, f, g,
  h, i < skull and inner contrasts of at least 0.6 of their base, while the absolute value of a class
  changes from volume to volume (at s = 0.4 the ventricles take 0.04-0.36, the brain 0.32-0.48, the mass
  0.44-0.76, the skull 0.8-1.2), as in the cell set where each instance draws its intensity. A voxel
  shows the value of the ellipsoid that owns it (painter's model; Kak & Slaney add the amplitudes of all
  ellipsoids holding a voxel, which gives the same image where the ellipsoids nest and differs only where
  f crosses e's edge).
- **Blur and noise.** The piecewise-constant image is blurred by a Gaussian of ``blur`` voxels (0.5:
  partial-volume edges) and then gets noise of standard deviation ``noise_std`` (0.1: half the base
  contrast of ventricles, mass, f, i and j to the brain, as large as that of g and h) and power spectral density ~ 1 / |f|^noise_exponent (1: pink, 0: white),
  from :func:`hypseg.data.synthetic.pink_noise`.

Class voxel counts at 50^3 with the defaults (measured over seeds 0-39: head 32 005-36 852, skull
8 864-9 777, brain 20 161-24 131, inner 2 844-3 220, ventricle 1 168-1 401, mass 1 417-1 738, lesion
159-193, every single lesion ellipsoid 17-45) are documented with slack in :data:`COUNT_RANGES`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import ndimage

from hypseg.data.synthetic import SyntheticVolume, pink_noise
from hypseg.errors import UserError

#: class names per level (index = label value)
PHANTOM_CLASSES: dict[int, tuple[str, ...]] = {
    1: ("background", "head"),
    2: ("background", "skull", "brain", "inner"),
    3: ("background", "skull", "brain", "ventricle", "mass", "lesion"),
}

#: number of classes per level (the k of clustering at that level)
PHANTOM_LEVELS: dict[int, int] = {level: len(names) for level, names in PHANTOM_CLASSES.items()}

#: the level-i class holding each level-(i+1) class: ``PHANTOM_PARENTS[i + 1][c]`` is a level-i label
PHANTOM_PARENTS: dict[int, tuple[int, ...]] = {
    2: (0, 1, 1, 1),
    3: (0, 1, 2, 3, 3, 3),
}

#: documented (min, max) voxel count per (level, class) at 50^3 with the default parameters
COUNT_RANGES: dict[tuple[int, int], tuple[int, int]] = {
    (1, 1): (28_000, 41_000),
    (2, 1): (7_500, 11_000),
    (2, 2): (17_000, 27_000),
    (2, 3): (2_400, 3_700),
    (3, 3): (950, 1_650),
    (3, 4): (1_150, 2_000),
    (3, 5): (120, 240),
}

#: minimum semi-axis (voxels) of the inner ellipsoids c-j and minimum skull thickness (voxels)
MIN_SEMI_AXIS = 2.0
MIN_SKULL = 2.0

# Kak & Slaney's table: centre (x, y, z), semi-axes (A, B, C), beta (degrees)
_CENTRES = np.array([
    (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (-0.22, 0.0, -0.25), (0.22, 0.0, -0.25), (0.0, 0.35, -0.25),
    (0.0, 0.1, -0.25), (-0.08, -0.65, -0.25), (0.06, -0.65, -0.25), (0.06, -0.105, 0.625), (0.0, 0.1, 0.625),
])
_SEMI_AXES = np.array([
    (0.69, 0.92, 0.90), (0.6624, 0.874, 0.88), (0.41, 0.16, 0.21), (0.31, 0.11, 0.22), (0.21, 0.25, 0.50),
    (0.046, 0.046, 0.046), (0.046, 0.023, 0.02), (0.046, 0.023, 0.02), (0.056, 0.04, 0.10), (0.056, 0.056, 0.10),
])
_BETA = np.array([0.0, 0.0, 108.0, 72.0, 0.0, 0.0, 0.0, 90.0, 90.0, 0.0])
_N = len(_BETA)

# base values: skull, brain absolute; c-j relative to the brain (Yu-Ye-Wang signs and sizes)
_SKULL_VALUE = 1.0
_BRAIN_VALUE = 0.4
_CONTRASTS = np.array([-0.2, -0.2, 0.2, 0.2, 0.1, 0.1, 0.2, -0.2])

# owner (0 background, 1 + ellipsoid index) -> label per level
_LEVEL_OF_OWNER = {
    1: np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], dtype=np.uint8),
    2: np.array([0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3], dtype=np.uint8),
    3: np.array([0, 1, 2, 3, 3, 4, 5, 5, 5, 5, 5], dtype=np.uint8),
}


@dataclasses.dataclass(frozen=True)
class PhantomScene:
    """The random choices of one phantom volume, in voxel units and array axis order ``(z, y, x)``.

    ``centres[k]`` is ellipsoid k's centre, ``semi_axes[k]`` its semi-axes along its own axes (C, B, A:
    the local z, y, x), ``rotations[k]`` the 3 x 3 matrix whose columns are its local z, y, x axes in
    array coordinates, ``values[k]`` the intensity it shows (k = 0-9 for a-j); a voxel p is inside when
    ``sum((R^T (p - centre) / semi_axes)^2) <= 1``.
    """

    shape: int
    centres: tuple[tuple[float, float, float], ...]
    semi_axes: tuple[tuple[float, float, float], ...]
    rotations: tuple[tuple[tuple[float, float, float], ...], ...]
    values: tuple[float, ...]
    noise_seed: int
    noise_std: float
    noise_exponent: float
    blur: float

    def counts(self) -> dict[str, int]:
        """Number of ellipsoids per level-3 class (skull and brain: one each)."""
        return {name: int(np.sum(_LEVEL_OF_OWNER[3][1:] == c)) for c, name in enumerate(PHANTOM_CLASSES[3]) if c > 0}


def generate_phantom(
    rng: np.random.Generator,
    *,
    shape: int = 50,
    jitter: float = 0.05,
    intensity_jitter: float = 0.4,
    noise_std: float = 0.1,
    noise_exponent: float = 1.0,
    blur: float = 0.5,
) -> SyntheticVolume:
    """Draw and render one randomised, noisy 3-D Shepp-Logan phantom (see the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
        The only source of randomness; the same state gives the same volume.
    shape : int
        Side S of the cubic volume (>= 16).
    jitter : float
        Geometric jitter j in [0, 0.2]: centres +-j phantom units, semi-axes x(1 +- j), angles +-2j rad.
    intensity_jitter : float
        Spread s in [0, 0.4] of the multiplicative jitter of the intensities (0: the base values).
    noise_std : float
        Standard deviation of the added noise (>= 0).
    noise_exponent : float
        Noise power spectral density ~ 1 / |f|^noise_exponent (>= 0; 1 pink, 0 white).
    blur : float
        Gaussian blur (voxels, >= 0) of the noise-free image.

    Returns
    -------
    SyntheticVolume
        ``image`` (S, S, S) float32, ``labels`` {1, 2, 3} -> uint8 maps, ``instances`` int16 (0 background,
        1-10 for ellipsoids a-j), ``scene`` a :class:`PhantomScene`.

    Examples
    --------
    >>> vol = generate_phantom(np.random.default_rng(0), shape=24)
    >>> vol.image.shape, [sorted(np.unique(vol.labels[level]).tolist()) for level in (1, 2, 3)]
    ((24, 24, 24), [[0, 1], [0, 1, 2, 3], [0, 1, 2, 3, 4, 5]])
    """
    scene = draw_phantom_scene(rng, shape=shape, jitter=jitter, intensity_jitter=intensity_jitter,
                               noise_std=noise_std, noise_exponent=noise_exponent, blur=blur)
    return render_phantom(scene)


def _check(*, shape, jitter, intensity_jitter, noise_std, noise_exponent, blur) -> None:
    if isinstance(shape, bool) or not isinstance(shape, (int, np.integer)) or shape < 16:
        raise UserError(f"phantom shape must be an integer >= 16, got {shape!r}")
    if not 0.0 <= jitter <= 0.2:
        raise UserError(f"phantom jitter must be in [0, 0.2], got {jitter!r}")
    if not 0.0 <= intensity_jitter <= 0.4:
        raise UserError(f"phantom intensity_jitter must be in [0, 0.4], got {intensity_jitter!r}")
    if not noise_std >= 0.0:
        raise UserError(f"phantom noise_std must be >= 0, got {noise_std!r}")
    if not noise_exponent >= 0.0:
        raise UserError(f"phantom noise_exponent must be >= 0, got {noise_exponent!r}")
    if not blur >= 0.0:
        raise UserError(f"phantom blur must be >= 0, got {blur!r}")


# ----------------------------------------------------------------------------------------- random choice
def draw_phantom_scene(
    rng: np.random.Generator,
    *,
    shape: int,
    jitter: float,
    intensity_jitter: float,
    noise_std: float,
    noise_exponent: float,
    blur: float,
) -> PhantomScene:
    """Draw every random quantity of one phantom; the number and order of draws never depend on the arguments.

    The arguments are those of :func:`generate_phantom` and are checked the same way.
    """
    _check(shape=shape, jitter=jitter, intensity_jitter=intensity_jitter, noise_std=noise_std,
           noise_exponent=noise_exponent, blur=blur)
    S, j = int(shape), float(jitter)
    unit = 0.45 * S / 0.92  # voxels per phantom unit
    # unit-free draws first, scaled below: (head pose, per-ellipsoid changes, intensities, noise)
    head_shift = rng.uniform(-1.0, 1.0, size=3)
    head_angles = rng.uniform(-1.0, 1.0, size=3)
    shifts = rng.uniform(-1.0, 1.0, size=(_N, 3))
    angles = rng.uniform(-1.0, 1.0, size=(_N, 3))
    scales = rng.uniform(-1.0, 1.0, size=(_N, 3))
    thickness = rng.uniform(-1.0, 1.0, size=3)
    factors = rng.uniform(-1.0, 1.0, size=_N)
    noise_seed = int(rng.integers(2**63))

    xyz_to_zyx = np.eye(3)[::-1]  # permutes (x, y, z) <-> (z, y, x); its own inverse
    head_rot = _small_rotation(2.0 * j * head_angles)  # (z, y, x) basis
    head_centre = (S - 1) / 2.0 + 0.5 * j * unit * head_shift

    semi = _SEMI_AXES[:, ::-1] * unit * (1.0 + j * scales)  # (N, 3) local (z, y, x) = (C, B, A)
    gap = (_SEMI_AXES[0] - _SEMI_AXES[1])[::-1] * unit * (1.0 + j * thickness)
    semi[1] = semi[0] - np.maximum(gap, MIN_SKULL)
    semi[2:] = np.maximum(semi[2:], MIN_SEMI_AXIS)

    centres = np.empty((_N, 3))
    rotations = np.empty((_N, 3, 3))
    for k in range(_N):  # ten ellipsoids
        base = xyz_to_zyx @ _rotation_z(np.deg2rad(_BETA[k])) @ xyz_to_zyx
        own = np.eye(3) if k < 2 else _small_rotation(2.0 * j * angles[k])
        rotations[k] = head_rot @ own @ base
        offset = _CENTRES[k, ::-1] * unit + (0.0 if k < 2 else j * unit * shifts[k])
        centres[k] = head_centre + head_rot @ offset

    spread = float(intensity_jitter)
    skull = _SKULL_VALUE * (1.0 + 0.5 * spread * factors[0])
    brain = _BRAIN_VALUE * (1.0 + 0.5 * spread * factors[1])
    values = np.concatenate([[skull, brain], brain + _CONTRASTS * (1.0 + spread * factors[2:])])
    return PhantomScene(
        shape=S,
        centres=tuple(tuple(float(v) for v in row) for row in centres),
        semi_axes=tuple(tuple(float(v) for v in row) for row in semi),
        rotations=tuple(tuple(tuple(float(v) for v in row) for row in r) for r in rotations),
        values=tuple(float(v) for v in values),
        noise_seed=noise_seed,
        noise_std=float(noise_std),
        noise_exponent=float(noise_exponent),
        blur=float(blur),
    )


def _rotation_z(angle: float) -> np.ndarray:
    """Rotation by ``angle`` about z in the (x, y, z) basis."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _small_rotation(angles: np.ndarray) -> np.ndarray:
    """Rz(t_z) Ry(t_y) Rx(t_x) in the (z, y, x) basis for ``angles = (t_z, t_y, t_x)``."""
    tz, ty, tx = angles
    rz = _rotation_z(tz)  # (x, y, z) basis
    cy, sy, cx, sx = np.cos(ty), np.sin(ty), np.cos(tx), np.sin(tx)
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    p = np.eye(3)[::-1]
    return p @ (rz @ ry @ rx) @ p


# ----------------------------------------------------------------------------------------- deterministic rendering
def phantom_owner(scene: PhantomScene) -> np.ndarray:
    """Owner of every voxel (int16, (S, S, S)): 0 background, 1 + k for the innermost ellipsoid k holding it."""
    S = scene.shape
    grid = np.arange(S, dtype=np.float64)
    owner = np.zeros((S, S, S), dtype=np.int16)
    brain = None
    for k in range(_N):  # painter's order: later (inner) ellipsoids overwrite earlier ones
        inside = _inside(grid, centre=scene.centres[k], semi_axes=scene.semi_axes[k], rotation=scene.rotations[k])
        if k == 1:
            brain = inside
        elif k > 1:
            inside &= brain  # inner structures are clipped to the brain
        owner[inside] = k + 1
    return owner


def _inside(grid: np.ndarray, *, centre, semi_axes, rotation) -> np.ndarray:
    """Voxels (S, S, S) whose centre satisfies sum((R^T (p - c) / h)^2) <= 1."""
    d = [(grid - c).reshape(shape) for c, shape in zip(centre, ((-1, 1, 1), (1, -1, 1), (1, 1, -1)))]
    R = np.asarray(rotation)
    q = 0.0
    for axis in range(3):  # local axis: R[:, axis] . d, broadcast to (S, S, S)
        local = R[0, axis] * d[0] + R[1, axis] * d[1] + R[2, axis] * d[2]
        q = q + (local / semi_axes[axis]) ** 2
    return q <= 1.0


def render_phantom(scene: PhantomScene) -> SyntheticVolume:
    """Render a :class:`PhantomScene` deterministically into image, label maps and instance ids."""
    owner = phantom_owner(scene)
    labels = {level: table[owner] for level, table in _LEVEL_OF_OWNER.items()}
    clean = np.concatenate([[0.0], scene.values])[owner]  # (S, S, S) float64
    if scene.blur > 0:
        clean = ndimage.gaussian_filter(clean, sigma=scene.blur, mode="nearest")
    image = clean
    if scene.noise_std > 0:
        noise_rng = np.random.default_rng(scene.noise_seed)
        image = clean + pink_noise(scene.shape, rng=noise_rng, std=scene.noise_std, exponent=scene.noise_exponent)
    return SyntheticVolume(image=image.astype(np.float32), labels=labels, instances=owner, scene=scene)  # type: ignore[arg-type]
