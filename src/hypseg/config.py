"""Typed configuration dataclasses and their dict / TOML round trips.

Every configuration of hypseg is a frozen dataclass deriving from :class:`Config`. The helpers in this
module work for *any* such dataclass, including ones nested inside another (they become TOML tables):

- :func:`to_dict` / :func:`from_dict`: plain ``dict`` of TOML-compatible values and back. Unknown keys
  and values of the wrong type raise :class:`ValueError` naming the key; missing keys take the default.
- :func:`save_toml` / :func:`load_toml`: a file round trip. Reading uses the standard library's
  :mod:`tomllib`; writing uses the small writer below (scalars, lists of scalars, nested tables), and
  replaces the target atomically (temporary file in the same folder, then :func:`os.replace`).

``None`` has no TOML spelling: a field whose value is ``None`` is left out of the file and comes back as
its default, so only fields whose default is ``None`` may hold ``None`` when saved.

This module imports nothing from hypseg (it is the bottom of the layering table in ``design.md``).

>>> cfg = DataConfig(patch_distribution="log-uniform", patch_max=20.0)
>>> from_dict(DataConfig, to_dict(cfg)) == cfg
True
>>> from_dict(DataConfig, {"patch_sise": 3})
Traceback (most recent call last):
...
ValueError: DataConfig: unknown key 'patch_sise'
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

C = TypeVar("C", bound="Config")

#: The parent-side distributions of the triplet sampler (method.md section 6).
PATCH_DISTRIBUTIONS = ("uniform", "log-uniform")
#: The intensity normalisations of :mod:`hypseg.data.normalise`.
NORMALISATIONS = ("percentile", "zscore", "none")


class Config:
    """Mixin giving a config dataclass ``to_dict``, ``from_dict``, ``save_toml`` and ``load_toml``."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of this config (see :func:`to_dict`)."""
        return to_dict(self)

    @classmethod
    def from_dict(cls: type[C], data: typing.Mapping[str, Any]) -> C:
        """Build from a plain dict (see :func:`from_dict`)."""
        return from_dict(cls, data)

    def save_toml(self, path: str | os.PathLike) -> None:
        """Write this config to a TOML file atomically (see :func:`save_toml`)."""
        save_toml(self, path)

    @classmethod
    def load_toml(cls: type[C], path: str | os.PathLike) -> C:
        """Read a config from a TOML file (see :func:`load_toml`)."""
        return load_toml(cls, path)


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

    def __post_init__(self) -> None:
        if self.patch_distribution not in PATCH_DISTRIBUTIONS:
            raise ValueError(f"DataConfig: patch_distribution must be one of {PATCH_DISTRIBUTIONS}, got {self.patch_distribution!r}")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"DataConfig: normalisation must be one of {NORMALISATIONS}, got {self.normalisation!r}")
        if not self.child_min > 0 or not self.child_gap >= 0:
            raise ValueError(f"DataConfig: need child_min > 0 and child_gap >= 0, got {self.child_min} and {self.child_gap}")
        if not self.child_min + self.child_gap <= self.patch_min <= self.patch_max:
            raise ValueError(
                "DataConfig: need child_min + child_gap <= patch_min <= patch_max "
                f"(a parent must hold a child), got {self.child_min} + {self.child_gap}, {self.patch_min}, {self.patch_max}"
            )
        if self.patch_resize < 2:
            raise ValueError(f"DataConfig: patch_resize must be >= 2, got {self.patch_resize}")
        if self.triplets_per_batch < 1 or self.batches_per_epoch < 1:
            raise ValueError("DataConfig: triplets_per_batch and batches_per_epoch must be >= 1")
        if not 0 <= self.percentile_low < self.percentile_high <= 100:
            raise ValueError(
                f"DataConfig: need 0 <= percentile_low < percentile_high <= 100, got {self.percentile_low}, {self.percentile_high}"
            )
        if not self.constant_tol >= 0:
            raise ValueError(f"DataConfig: constant_tol must be >= 0, got {self.constant_tol}")


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
            raise ValueError(f"SyntheticConfig: shape must be >= 16, got {self.shape}")
        for name in ("vesicles", "mitochondria", "aggregates_per_vesicle", "cuboids_per_mito"):
            lo, hi = getattr(self, name)
            if not 1 <= lo <= hi:
                raise ValueError(f"SyntheticConfig: {name} must be a range (lo, hi) with 1 <= lo <= hi, got {(lo, hi)}")
        for name in ("texture_sigma", "texture_amplitude"):
            lo, hi = getattr(self, name)
            if not 0 <= lo <= hi:
                raise ValueError(f"SyntheticConfig: {name} must be a range (lo, hi) with 0 <= lo <= hi, got {(lo, hi)}")
        if self.placement_tries < 1 or self.deform_bumps < 1:
            raise ValueError("SyntheticConfig: placement_tries and deform_bumps must be >= 1")

    @classmethod
    def scaled(cls, size: int) -> "SyntheticConfig":
        """The default generator in a ``size``^3 box, every length scaled by ``size / 50``.

        >>> SyntheticConfig.scaled(25).cell_radius_mean
        12.5
        """
        base = cls()
        k = size / base.shape
        lengths = [f.name for f in dataclasses.fields(base) if f.name.endswith(("_mean", "_std")) and "intensity" not in f.name]
        return dataclasses.replace(base, shape=size, **{name: getattr(base, name) * k for name in lengths})


# ----------------------------------------------------------------------------------------- dict helpers
def to_dict(config: Any) -> dict[str, Any]:
    """Plain dict of a config dataclass: nested dataclasses become dicts, tuples become lists.

    Parameters
    ----------
    config : dataclass instance

    Returns
    -------
    dict
        Field name -> value, in field order.
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"to_dict expects a dataclass instance, got {type(config).__name__}")
    return {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def from_dict(cls: type[C], data: typing.Mapping[str, Any]) -> C:
    """Build the config dataclass ``cls`` from a plain dict, checking keys and value types.

    Parameters
    ----------
    cls : dataclass type
    data : mapping
        Field name -> value; missing fields take their default.

    Returns
    -------
    cls instance

    Raises
    ------
    ValueError
        On an unknown key (the message names it and ``cls``), a value of the wrong type, or a value
        rejected by the class's own checks.
    """
    return _from_dict(cls, data, prefix="")


def _from_dict(cls: type, data: typing.Mapping[str, Any], *, prefix: str) -> Any:
    if not isinstance(data, typing.Mapping):
        raise ValueError(f"{cls.__name__}: {prefix.rstrip('.') or 'value'} must be a table, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in data.items():
        if key not in fields:
            raise ValueError(f"{cls.__name__}: unknown key '{prefix}{key}'")
        kwargs[key] = _coerce(value, hints[key], name=f"{prefix}{key}", owner=cls.__name__)
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, *, name: str, owner: str) -> Any:
    """Check ``value`` against the type hint ``hint``, converting lists to tuples and ints to floats."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    bad = ValueError(f"{owner}: key '{name}' must be {_hint_name(hint)}, got {value!r}")
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, name=name, owner=owner)
            except ValueError:
                pass
        raise bad
    if dataclasses.is_dataclass(hint):
        return _from_dict(hint, value, prefix=f"{name}.")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], name=name, owner=owner) for v in value)
        if len(value) != len(args):
            raise bad
        return tuple(_coerce(v, a, name=name, owner=owner) for v, a in zip(value, args))
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise bad
        return [_coerce(v, args[0], name=name, owner=owner) for v in value] if args else list(value)
    if origin is dict:
        if not isinstance(value, typing.Mapping):
            raise bad
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise bad
        return value
    if isinstance(hint, type) and not isinstance(value, hint):
        raise bad
    return value


def _hint_name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")


# ----------------------------------------------------------------------------------------- TOML
def save_toml(config: Any, path: str | os.PathLike) -> None:
    """Write a config dataclass to ``path`` as TOML, atomically (temporary file, then rename).

    Parameters
    ----------
    config : dataclass instance
    path : path-like
    """
    text = dumps_toml(to_dict(config))
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_toml(cls: type[C], path: str | os.PathLike) -> C:
    """Read a config dataclass of type ``cls`` from a TOML file.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not valid TOML (the message names the file) or holds unknown keys.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: not valid TOML: {err}") from None
    try:
        return from_dict(cls, data)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def dumps_toml(data: typing.Mapping[str, Any]) -> str:
    """Serialise a dict of scalars, lists of scalars and nested dicts as TOML text.

    ``None`` values are left out. Scalars come first, then one ``[table]`` per nested dict.

    >>> print(dumps_toml({"a": 1, "b": [0.5, "x"], "t": {"c": True}}), end="")
    a = 1
    b = [0.5, "x"]
    <BLANKLINE>
    [t]
    c = true
    """
    lines: list[str] = []
    _dump_table(data, prefix=(), lines=lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _dump_table(data: typing.Mapping[str, Any], *, prefix: tuple[str, ...], lines: list[str]) -> None:
    tables = []
    if prefix:
        lines.append("")
        lines.append("[" + ".".join(_toml_key(k) for k in prefix) + "]")
    for key, value in data.items():
        if value is None:
            continue
        if isinstance(value, typing.Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables:
        _dump_table(value, prefix=(*prefix, str(key)), lines=lines)


def _toml_key(key: str) -> str:
    key = str(key)
    if key and all(ch.isalnum() or ch in "-_" for ch in key) and key.isascii():
        return key
    return _toml_string(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, typing.Mapping) for v in value):
            raise TypeError("dumps_toml: lists of tables are not supported")
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, os.PathLike):
        return _toml_string(os.fspath(value))
    raise TypeError(f"dumps_toml: cannot write a value of type {type(value).__name__}")


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


#: The model variants of :mod:`hypseg.models` (the paper's Table 2 ablations).
VARIANTS = ("hyperbolic-gyro", "hyperbolic", "euclidean")


@dataclasses.dataclass(frozen=True)
class ModelConfig(Config):
    """Shape of the VAE (method.md section 4); enough to rebuild a model from a checkpoint.

    Parameters
    ----------
    variant : {"hyperbolic-gyro", "hyperbolic", "euclidean"}
        Latent space and decoder input: the Poincare ball with a gyroplane-convolution decoder (the
        paper's model), the ball with ``log_0`` then a linear layer, or R^d with normal distributions.
    latent_dim : int
        d, the dimension of the latent space (2 in the paper).
    curvature : float
        c > 0, the ball's curvature is -c (ignored by the Euclidean variant).
    patch_size : int
        m, the side of the (resized) input patches; must equal ``DataConfig.patch_resize``.
    channels : tuple of int
        Filters of the encoder's valid convolutions (the decoder mirrors them).
    kernel_size : int
        Kernel of those convolutions; the encoder's extent shrinks by ``kernel_size - 1`` per layer.
    hidden : int
        Width of the hidden layer, a convolution covering the remaining extent (300 in the paper).
    scale_floor : float
        Added to the softplus of the scale head so that posteriors never collapse to a point.
    """

    variant: str = "hyperbolic-gyro"
    latent_dim: int = 2
    curvature: float = 1.0
    patch_size: int = 10
    channels: tuple[int, ...] = (16, 32, 64, 128)
    kernel_size: int = 3
    hidden: int = 300
    scale_floor: float = 1e-3

    @property
    def hyperbolic(self) -> bool:
        """Whether the latent space is the Poincare ball."""
        return self.variant != "euclidean"

    @property
    def final_extent(self) -> int:
        """Spatial side left after the valid convolutions; the hidden layer's kernel covers it."""
        return self.patch_size - len(self.channels) * (self.kernel_size - 1)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"ModelConfig: unknown variant {self.variant!r}; choose one of {VARIANTS}")
        if self.latent_dim < 1 or self.hidden < 1 or self.kernel_size < 1 or not self.channels:
            raise ValueError("ModelConfig: latent_dim, hidden and kernel_size must be >= 1 and channels non-empty")
        if any(ch < 1 for ch in self.channels):
            raise ValueError(f"ModelConfig: channels must be >= 1, got {self.channels}")
        if not (math.isfinite(self.curvature) and self.curvature > 0):
            raise ValueError(f"ModelConfig: curvature must be positive, got {self.curvature}")
        if self.final_extent < 1:
            raise ValueError(
                f"ModelConfig: {len(self.channels)} valid convolutions of kernel {self.kernel_size} do not fit a "
                f"patch of side {self.patch_size} (extent left: {self.final_extent})"
            )
        if not self.scale_floor > 0:
            raise ValueError(f"ModelConfig: scale_floor must be positive, got {self.scale_floor}")


#: Optimisers of :mod:`hypseg.training.optim`.
OPTIMISERS = ("adam", "riemannian-adam")


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    """How a model is trained (method.md section 5). See the README for the recipe and its numbers.

    Parameters
    ----------
    steps : int
        Optimiser steps. Each step sees ``DataConfig.triplets_per_batch`` triplets in all (over every
        DDP process together).
    learning_rate : float
    optimiser : {"adam", "riemannian-adam"}
        geoopt's RiemannianAdam is equivalent to Adam while no parameter lives on the ball.
    samples : int
        K, posterior samples per patch for the reconstruction term and the Monte Carlo KL.
    kl_weight : float
        Weight of the KL term (1 for the ELBO).
    triplet_weight : float
        beta, the weight of the triplet loss against the per-patch negative ELBO.
    triplet_margin : float
        alpha (0.2 in the paper).
    triplet_squared : bool
        Square the distances in the triplet loss (the released code did; the paper does not).
    grad_clip : float
        Maximum gradient norm (8 in the released runs); 0 disables clipping.
    seed : int
        Seeds the model's initial weights and, with the step number, every batch and every sample.
    shard_size : int
        Triplets per random stream: a step's batch is made of shards of this size, shard j of step s
        drawn from ``SeedSequence([seed, s, j])``, so any number of DDP processes that divides the shard
        count sees exactly the batch of a single process.
    checkpoint_every, validate_every, log_every : int
        Period, in steps, of checkpoints, validation passes and log lines.
    validation_batches : int
        Batches in one validation pass (fixed across passes).
    device : str
        "cpu", "cuda" or "cuda:N".
    amp : bool
        bfloat16 autocast for convolutions on CUDA (the geometry stays float32).
    """

    steps: int = 600
    learning_rate: float = 1e-3
    optimiser: str = "adam"
    samples: int = 1
    kl_weight: float = 1.0
    triplet_weight: float = 10.0
    triplet_margin: float = 0.2
    triplet_squared: bool = False
    grad_clip: float = 8.0
    seed: int = 0
    shard_size: int = 16
    checkpoint_every: int = 100
    validate_every: int = 100
    log_every: int = 10
    validation_batches: int = 2
    device: str = "cpu"
    amp: bool = False

    def __post_init__(self) -> None:
        if self.optimiser not in OPTIMISERS:
            raise ValueError(f"TrainConfig: unknown optimiser {self.optimiser!r}; choose one of {OPTIMISERS}")
        for name in ("steps", "samples", "shard_size", "checkpoint_every", "validate_every", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig: {name} must be >= 1, got {getattr(self, name)}")
        for name in ("learning_rate",):
            if not getattr(self, name) > 0:
                raise ValueError(f"TrainConfig: {name} must be > 0, got {getattr(self, name)}")
        for name in ("kl_weight", "triplet_weight", "triplet_margin", "grad_clip", "validation_batches"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"TrainConfig: {name} must be >= 0, got {getattr(self, name)}")
        if not (self.device == "cpu" or self.device == "cuda" or self.device.startswith("cuda:")):
            raise ValueError(f"TrainConfig: device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")


@dataclasses.dataclass(frozen=True)
class RunConfig(Config):
    """Everything a training run needs; saved as ``config.toml`` in the run directory."""

    model: ModelConfig = ModelConfig()
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()

    def __post_init__(self) -> None:
        if self.model.patch_size != self.data.patch_resize:
            raise ValueError(
                f"RunConfig: model.patch_size ({self.model.patch_size}) must equal data.patch_resize ({self.data.patch_resize})"
            )
        if self.data.triplets_per_batch % self.train.shard_size:
            raise ValueError(
                f"RunConfig: data.triplets_per_batch ({self.data.triplets_per_batch}) must be a multiple of "
                f"train.shard_size ({self.train.shard_size})"
            )


#: voxels per SLIC supervoxel whose mean embedding segmentation clusters (``hypseg segment --supervoxels``,
#: the quality benchmark, the demo): 250 supervoxels in a 50^3 volume, chosen on the validation split (README)
DEFAULT_SUPERVOXEL_SIZE = 500
#: gamma of purity-weighted supervoxel means (:func:`hypseg.inference.pooling.purity_weights`) with 5^3
#: patches: the quality benchmark's levels 2-3 and the demo, chosen on the validation splits (README);
#: ``hypseg segment`` keeps plain means (0) unless ``--purity-power`` is given
PURITY_POWER = 8.0


def cpu_recipe() -> RunConfig:
    """The default recipe for two CPU cores (``hypseg train`` and ``hypseg demo``); see the README.

    The dataclass defaults keep the paper's widths (16/32/64/128, hidden 300); this recipe narrows
    them and trains on batches of 64 triplets, which the README's measurements justify. The triplet
    weight is 1, chosen on the validation split of the 120-volume synthetic set (10 lost 0.005-0.03 at
    levels 2-3, README).
    """
    return RunConfig(
        model=ModelConfig(channels=(8, 16, 16, 32), hidden=64),
        data=DataConfig(triplets_per_batch=64),
        train=TrainConfig(steps=300, shard_size=16, checkpoint_every=50, validate_every=50, log_every=10, triplet_weight=1.0),
    )


def smoke_recipe() -> RunConfig:
    """A tiny model and a few steps on 8^3 patches: for tests and ``hypseg demo --quick``, not results."""
    return RunConfig(
        model=ModelConfig(patch_size=8, channels=(4, 8, 8), hidden=16),
        data=DataConfig(patch_min=5.0, patch_max=16.0, patch_resize=8, triplets_per_batch=16),
        train=TrainConfig(steps=4, shard_size=8, checkpoint_every=2, validate_every=2, validation_batches=1, log_every=1),
    )
