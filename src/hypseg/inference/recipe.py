"""Run a segmentation recipe (:class:`hypseg.config.SegmentConfig`) on volumes with a trained model.

:func:`segment` is the one function that turns volumes into label maps: the command line, ``hypseg
demo``, the Python API and the quality benchmark all run it. It

1. embeds every volume once per distinct patch sides of the levels (:func:`embed_volume_multiscale`);
2. cuts every volume into SLIC supervoxels once per distinct supervoxel size (:func:`hypseg.data.supervoxels`);
3. clusters (:func:`cluster_embeddings`) in two passes: first the levels clustered on their own
   (the first level among them), then, with containment, the levels inside the first level's object
   (:func:`hypseg.inference.hierarchy.level1_object`: its k = 2 map's inner cluster, or where that map lies in no
   field of view the cluster least on the faces of a second try with ``config.field_retry`` clusters; the voxels near
   its boundary deciding by their own embeddings or box means when ``config.voxel_band`` says so (:func:`voxels_decide`), its
   boundary refined by the volume's intensity when ``config.refine`` says so, holes filled).
   Levels with equal settings are fitted together (:func:`hypseg.inference.segment_volumes`), and
   levels with the same purity weighting share their voxel weights.

With containment on the first level, its label map is the object (1) against the outside (0).
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from pathlib import Path
from typing import Callable, Collection, Mapping, NamedTuple, Sequence

import numpy as np

import torch

from hypseg.clustering import EmptyClusterWarning, product_sqdist
from hypseg.config import LevelConfig, ModelConfig, SegmentConfig
from hypseg.data import supervoxels
from hypseg.errors import UserError
from hypseg.inference.embed import embed_volume_multiscale, resolve_patch, warn_if_collapsed
from hypseg.inference.hierarchy import (face_counts, in_no_field, level1_object, object_kept, object_order, outside_of,
                                       second_try, segment_inside, warn_if_no_field)
from hypseg.inference.model_io import TrainedModel
from hypseg.inference.pooling import purity_weights
from hypseg.inference.refine import boundary_zone
from hypseg.inference.segment import TIED_NEEDS_FLAT, segment_volumes
from hypseg.inference.tangent import in_ball, in_tangent, to_ball, to_tangent

__all__ = ["VolumeSegmentation", "RecipeResult", "segment", "cluster_embeddings", "resolve_patch_sides", "voxels_decide", "cluster_sums", "means_of",
           "embedded_sides", "contrast_points", "box_mean", "band_points", "local_contrast", "contrast_object", "MIN_CONTRAST_SHARE", "pools_by_kind"]


class VolumeSegmentation(NamedTuple):
    """One volume's result: a label map and cluster centres per level, keyed by the level's k.

    Attributes
    ----------
    labels : dict[int, ndarray]
        k -> (Z, Y, X) int32 label map.
    centers : dict[int, ndarray]
        k -> the clusters' centres, (k or k - 1, F*d) (with containment, a finer level's k - 1 inside the object).
    object : ndarray or None
        (Z, Y, X) bool: the first level's object, holes filled (containment); None without containment.
    clustered_voxels : bool
        Fitted on voxels: it (or its object; pooled: all volumes) held fewer supervoxels than clusters.
    no_field : bool
        Containment found no object in a field of view (a ``NoFieldWarning`` was issued).
    retried : bool
        Level 1's object is its second try's, with ``SegmentConfig.field_retry`` clusters.
    contrast : bool
        Level 1's object is the rarer component of local contrast (``SegmentConfig.contrast_sides``).
    specimen : bool
        The finer levels divided the specimen around it, the object label 1 (``contrast_divides``).
    """

    labels: dict[int, np.ndarray]  # k -> (Z, Y, X) int32
    centers: dict[int, np.ndarray]  # k -> (k or k - 1, F*d)
    object: np.ndarray | None  # (Z, Y, X) bool: the first level's object, holes filled (containment), else None
    clustered_voxels: bool  # fitted on voxels: it (or its object; pooled: all volumes) held fewer supervoxels than clusters
    no_field: bool = False  # containment found no object in a field of view (hierarchy.NoFieldWarning was issued)
    retried: bool = False  # level 1's object is its second try's, with SegmentConfig.field_retry clusters
    contrast: bool = False  # level 1's object is the rarer component of local contrast (SegmentConfig.contrast_sides)
    specimen: bool = False  # the finer levels divided the specimen around it, the object label 1 (contrast_divides)

    def __repr__(self) -> str:  # the label maps are too large to print
        shape = tuple(next(iter(self.labels.values())).shape) if self.labels else ()
        flags = [name for name in ("no_field", "retried", "contrast", "specimen") if getattr(self, name)]
        return f"VolumeSegmentation(shape={shape}, clusters={sorted(self.labels)}{''.join(f', {f}=True' for f in flags)})"


class RecipeResult(NamedTuple):
    """What :func:`segment` found: the config it ran (patch sides resolved), one result per volume, and
    the embeddings (patch sides -> one (Z, Y, X, F*d) float32 array per volume), per volume whether the
    model embedded it all alike (a collapsed model, :func:`~hypseg.inference.embed.warn_if_collapsed`), and the
    model's run folder (None for a model that was never saved), which a segmentation folder records."""

    config: SegmentConfig
    volumes: list[VolumeSegmentation]
    embeddings: dict[tuple[int, ...], list[np.ndarray]]
    embeds_alike: tuple[bool, ...] = ()
    model_dir: Path | None = None
    #: per volume, a digest of some of its voxels as given (:func:`hypseg.api.volume_digest`; empty when not known),
    #: by which :func:`hypseg.save_labels` checks that each volume it takes the geometry from is the one segmented
    digests: tuple[str, ...] = ()

    def __repr__(self) -> str:  # the label maps and embeddings are too large to print
        shapes = ", ".join(str(tuple(next(iter(v.labels.values())).shape)) if v.labels else "()" for v in self.volumes[:4])
        more = f", ... ({len(self.volumes)} volumes)" if len(self.volumes) > 4 else ""
        return (f"RecipeResult(volumes=[{shapes}{more}], clusters={list(self.config.clusters)}, "
                f"model_dir={str(self.model_dir) if self.model_dir else None!r})")


def resolve_patch_sides(config: SegmentConfig, *, patch_size: int) -> SegmentConfig:
    """``config`` with every level's empty ``patch_sides`` set to the model's own side ``patch_size``."""
    levels = tuple(level if level.patch_sides else dataclasses.replace(level, patch_sides=(int(patch_size),))
                   for level in config.levels)
    return dataclasses.replace(config, levels=levels)


def check_patch_sides(config: SegmentConfig, shape: Sequence[int], *, patch_size: int, what: str) -> None:
    """Refuse a patch side larger than both the volume's largest side and the model's own side ``patch_size``: such a
    patch is mostly padding around the whole volume, costs a great deal and describes nothing (the model's own side
    stays allowed on a volume smaller than it)."""
    limit = max(max(int(n) for n in shape), int(patch_size))
    too_large = sorted(p for p in {p for s in embedded_sides(config) for p in s} if p > limit)
    if too_large:
        size = " x ".join(str(int(n)) for n in shape)
        raise UserError(f"{what}: patch side {too_large[-1]} is larger than the volume ({size} voxels); use sides of at most {limit}")


def segment(
    volumes: Sequence[np.ndarray],
    model: TrainedModel,
    config: SegmentConfig,
    *,
    tile: int | None = 48,
    device: str = "cpu",
    progress: bool = False,
) -> RecipeResult:
    """Segment normalised volumes with ``model`` as ``config`` says (see the module docstring).

    Parameters
    ----------
    volumes : sequence of ndarray (Z, Y, X)
        Normalised as the model's training volumes (:meth:`TrainedModel.normalise`).
    model : TrainedModel
    config : SegmentConfig
        A preset (:func:`hypseg.config.segment_preset`) or its variation.
    tile : int or None
        Side of the tiles of the dense embedding (bounds memory; the result does not depend on it).
    device : str
    progress : bool
        Show progress bars: over the volumes, each patch side's tiles, and supervoxels and clustering as a stage.

    Returns
    -------
    RecipeResult
    """
    if not volumes:
        raise UserError("no volumes to segment")
    config = resolve_patch_sides(config, patch_size=model.patch_size)
    check_clusterers(config, model.config.model)
    top = max(config.clusters)
    for i, volume in enumerate(volumes):
        if getattr(volume, "ndim", None) != 3:
            raise UserError(f"volume {i} must be 3-D (Z, Y, X), got shape {tuple(getattr(volume, 'shape', ()))}")
        if volume.size < top:
            raise UserError(f"volume {i}: {top} clusters but only {volume.size} voxels")
        check_patch_sides(config, volume.shape, patch_size=model.patch_size, what=f"volume {i}")
    check_contrast_sides(config, model.network)
    for p in {p for s in embedded_sides(config) for p in s}:  # before any work starts, so that a bad side reports alone
        resolve_patch(model.network, p)
    sides = list(embedded_sides(dataclasses.replace(config, contrast_sides=())))  # local contrast's: on demand, below
    iterator = volumes
    if progress:
        from hypseg.progress import progress as reporter

        iterator = reporter(volumes, desc="embedding", unit="vol")
    embeddings: dict[tuple[int, ...], list[np.ndarray]] = {s: [] for s in sides}
    alike: list[bool] = []
    for i, volume in enumerate(iterator):
        for s in sides:  # each side's tiles counted by a bar of their own on a terminal (a single volume takes minutes)
            embeddings[s].append(embed_volume_multiscale(model.network, volume, patch_sizes=s, tile=tile, device=device,
                                                         inversion=config.inverts(s), progress=progress))
        alike.append(warn_if_collapsed([embeddings[s][-1] for s in sides], volume=i))
    stage = contextlib.nullcontext()
    if progress:  # supervoxels and every level's clustering: one stage, named while it runs
        stage = reporter(total=1, desc="supervoxels and clustering", unit="stage")
    with stage:
        sizes = sorted({level.supervoxel_size for level in config.levels} - {None})
        segments = {size: [supervoxels(v, size=size, tile=config.supervoxel_tile) for v in volumes] for size in sizes}
        found = cluster_embeddings(embeddings, config, geometry=model.config.model, segments=segments,
                                   device=None if device == "cpu" else device, volumes=volumes,
                                   embed=lambda s, i: embed_volume_multiscale(model.network, volumes[i], patch_sizes=s,
                                                                              tile=tile, device=device,
                                                                              inversion=config.inverts(s)))
        if progress:
            stage.update(1)
    return RecipeResult(config, found, embeddings, tuple(alike), model.run_dir)


def embedded_sides(config: SegmentConfig) -> tuple[tuple[int, ...], ...]:
    """The distinct patch sides a volume is embedded at: every level's, then the voxel band's where it decides at
    sides of its own (``config.band_sides``; patch sides resolved), then level 1's local contrast's
    (``config.contrast_sides``, unless its mixture is fitted on intensity alone). A chunked run embeds at all of them;
    :func:`segment` embeds at local contrast's sides only the volumes that reach it (a run of level 1 alone otherwise
    never embeds at p = 5).

    >>> from hypseg.config import segment_preset
    >>> embedded_sides(segment_preset("default")), embedded_sides(segment_preset("default").with_clusters([2]))
    (((10,), (5,)), ((10,),))
    >>> embedded_sides(dataclasses.replace(segment_preset("default"), contrast_feature="embedding",
    ...                                    contrast_sides=(5, 10)).with_clusters([2]))
    ((10,), (5,))
    >>> embedded_sides(dataclasses.replace(segment_preset("default"), band_feature="embedding", band_sides=(2,)))
    ((10,), (5,), (2,))
    """
    band = [config.band_sides] if config.band_elsewhere else []
    contrast = [(p,) for p in config.contrast_sides] if config.contrasts and config.contrast_on_embedding else []
    return tuple(dict.fromkeys([level.patch_sides for level in config.levels] + band + contrast))


def check_contrast_sides(config: SegmentConfig, network) -> None:
    """Refuse, before any work, local contrast on the embedding (``config.contrast_feature``) at a patch side the model
    cannot embed, in a one-line error that names the setting: the default's sides are box sides for the image's
    intensity, which need not suit a model's patch size."""
    if not (config.contrasts and config.contrast_on_embedding):
        return
    for p in config.contrast_sides:
        try:
            resolve_patch(network, p)
        except UserError:
            fine, coarse = config.contrast_sides
            raise UserError(f"local contrast on the {config.contrast_feature} needs the embedding at patch sides {fine} and "
                            f"{coarse}, and the model (patch size m = {network.config.patch_size}) cannot embed at {p}: "
                            "give --contrast-sides with sides it can (e.g. 5,10) or --contrast-feature intensity") from None


def check_clusterers(config: SegmentConfig, geometry: ModelConfig) -> None:
    """Refuse, before any work, a level whose clusterer needs flat vectors where a hyperbolic model's
    embeddings are clustered in the ball (:attr:`hypseg.config.LevelConfig.clusterer`), and a voxel band at other
    patch sides than level 1's there (its centres are its clusters' mean embeddings, :data:`BAND_SIDES_NEED_FLAT`)."""
    ball = in_ball(config.space, geometry)
    if ball and any(level.clusterer == "tied-mixture" for level in config.levels):
        raise UserError(TIED_NEEDS_FLAT)
    if ball and config.band_elsewhere:
        raise UserError(BAND_SIDES_NEED_FLAT)


BAND_SIDES_NEED_FLAT = ("a voxel band at other patch sides than level 1's needs the tangent space for a hyperbolic "
                        "model's embeddings (space = \"tangent\"), where its centres are the clusters' mean embeddings")


def cluster_sums(points: np.ndarray, labels: np.ndarray, clusters: int) -> np.ndarray:
    """Per cluster of ``labels`` (0 .. clusters - 1) the float64 sum of ``points`` (..., D) over its voxels and, as a last
    column, its voxel count: (clusters, D + 1). Sums of parts (a chunked run's chunks) add up to the whole's."""
    flat = np.asarray(points, dtype=np.float64).reshape(-1, points.shape[-1])
    found = np.asarray(labels).ravel().astype(np.int64)
    return np.stack([np.bincount(found, weights=column, minlength=clusters)[:clusters]
                     for column in (*flat.T, np.ones(found.size))], axis=1)


def means_of(sums: np.ndarray) -> np.ndarray:
    """Each cluster's mean from :func:`cluster_sums`' rows; a cluster with no voxel gets the mean of all.

    >>> means_of(cluster_sums(np.arange(8.0).reshape(2, 2, 2, 1), np.array([0, 0, 1, 1] * 2).reshape(2, 2, 2), 3)).ravel().tolist()
    [2.5, 4.5, 3.5]
    """
    counts = sums[:, -1:]
    everything = sums[:, :-1].sum(0) / max(float(counts.sum()), 1.0)
    return np.where(counts > 0, sums[:, :-1] / np.maximum(counts, 1), everything)


def voxels_decide(level1: np.ndarray, points: np.ndarray, centres: np.ndarray, *, outside: int, width: int,
                  hyperbolic: bool, factors: int = 1, c: float = 1.0, merge: np.ndarray | None = None) -> np.ndarray:
    """Level 1's map (two clusters, 0 and 1) with every voxel of its zone given the cluster whose centre
    (``centres``, row = cluster) is nearest its own point (``points``, (Z, Y, X, F*d): an embedding, or the box mean
    :func:`band_points`): in the product of
    ``factors`` balls of curvature ``c`` when ``hyperbolic``, else as flat vectors. The zone
    (:func:`hypseg.inference.refine.boundary_zone` of every cluster but ``outside``) is every voxel within ``width``
    6-connected steps of a voxel of the other cluster, and the object's voxels within ``width`` of the volume's
    faces (beyond them lies the outside). With ``merge`` (one label per centre) a voxel takes the label its nearest
    centre's row has there: a map of an object against several clusters together decides among all their centres.

    Supervoxels label their voxels whole, so one that straddles the object's edge puts voxels of both sides on
    one; within the zone each voxel decides by its own embedding. Whether a voxel is in the zone depends only on the
    labels within ``width`` of it and on the faces, so a block read with a halo of ``width`` gets the whole
    volume's map in its interior (each distance is computed on its own, without the matrix-product shortcut whose
    rounding depends on how many points share a call).
    """
    level1 = np.asarray(level1)
    zone = boundary_zone(level1 != outside, width)
    out = level1.copy()
    if not zone.any():
        return out
    x = torch.as_tensor(np.asarray(points)[zone], dtype=torch.float64)
    y = torch.as_tensor(np.asarray(centres), dtype=torch.float64)
    distance = (product_sqdist(x, y, factors=factors, c=c) if hyperbolic
                else torch.cdist(x, y, compute_mode="donot_use_mm_for_euclid_dist"))
    nearest = distance.argmin(1).numpy()
    out[zone] = (nearest if merge is None else np.asarray(merge)[nearest]).astype(level1.dtype)
    return out


def cluster_embeddings(
    embeddings: Mapping[tuple[int, ...], Sequence[np.ndarray]],
    config: SegmentConfig,
    *,
    geometry: ModelConfig,
    segments: Mapping[int, Sequence[np.ndarray]] | None = None,
    weights: Mapping[tuple, Sequence[np.ndarray]] | None = None,
    members: int = 1,
    device=None,
    volumes: Sequence[np.ndarray] | None = None,
    embed: Callable[[tuple[int, ...], int], np.ndarray] | None = None,
) -> list[VolumeSegmentation]:
    """Label maps of every level from embeddings computed beforehand (step 3 of :func:`segment`).

    Parameters
    ----------
    embeddings : mapping
        Patch sides -> one (Z, Y, X, F*d) embedding per volume, for every level's sides and the voxel band's
        (:func:`embedded_sides`).
    config : SegmentConfig
        Empty patch sides stand for ``geometry.patch_size``.
    geometry : ModelConfig
        The model's latent space: curvature and whether it is hyperbolic.
    segments : mapping, optional
        Supervoxel size -> one supervoxel map per volume, for every size the levels name.
    weights : mapping, optional
        :attr:`LevelConfig.weighting` -> one voxel-weight map per volume; those missing are computed
        (:func:`hypseg.inference.pooling.purity_weights`).
    members : int
        Each embedding is that many models' embeddings side by side (an ensemble): a product of
        ``members`` balls per patch side for a hyperbolic model, one longer vector for a Euclidean one.
    device : str, optional
        Where supervoxel means and k-means run (default: the CPU).
    volumes : sequence of ndarray, optional
        The volumes (Z, Y, X), normalised as the model's training volumes, whose intensity refines the level-1 object's
        boundary (``config.refine``), picks local contrast's object among more than two components
        (``config.contrast_components``) and is what its mixture is fitted on, alone or beside the embedding
        (``config.contrast_feature``); needed for those.
    embed : callable, optional
        ``embed(sides, i)``: volume i's embedding at ``sides``, for level 1's local contrast (``config.contrast_sides``)
        where ``embeddings`` lacks those sides: only the volumes that reach it are embedded there.

    Returns
    -------
    list of VolumeSegmentation
        One per volume, in order.
    """
    config = resolve_patch_sides(config, patch_size=geometry.patch_size)
    check_clusterers(config, geometry)
    segments = dict(segments or {})
    weights = dict(weights or {})
    for level in config.levels:
        if level.patch_sides not in embeddings:
            raise ValueError(f"no embeddings at patch sides {level.patch_sides} for level k = {level.clusters}")
        if level.supervoxel_size is not None and level.supervoxel_size not in segments:
            raise ValueError(f"no supervoxel maps of size {level.supervoxel_size} for level k = {level.clusters}")
        if level.purity_power and level.weighting not in weights:
            weights[level.weighting] = [purity_weights(s, level.patch_sides, level.purity_power)
                                        for s in segments[level.supervoxel_size]]
    if config.band_elsewhere and config.band_sides not in embeddings:
        raise ValueError(f"no embeddings at patch sides {config.band_sides} for level 1's voxel band")
    n = len(embeddings[config.levels[0].patch_sides])
    labels: list[dict[int, np.ndarray]] = [{} for _ in range(n)]
    centers: list[dict[int, np.ndarray]] = [{} for _ in range(n)]
    voxels = [False] * n
    first = config.levels[0]

    tangent = in_tangent(config.space, geometry)
    ball = in_ball(config.space, geometry)  # else flat vectors: the tangent space's, or a Euclidean model's
    flat: dict[tuple[int, ...], list[np.ndarray]] = {}  # patch sides -> the embeddings in the tangent space
    fitted: list[dict[int, np.ndarray]] = [{} for _ in range(n)]  # k -> the centres in the space clustered in

    def clustered(sides: tuple[int, ...]) -> list[np.ndarray]:
        """The embeddings at ``sides`` in the space they are clustered in (one factor per model and side,
        member-major: each ball is mapped on its own)."""
        factors = len(sides) * members
        if not tangent:
            return list(embeddings[sides])
        if sides not in flat:
            flat[sides] = [to_tangent(e, factors=factors, c=geometry.curvature) for e in embeddings[sides]]
        return flat[sides]

    def contrast_side(sides: tuple[int, ...], i: int) -> np.ndarray:
        """Volume i's embedding at ``sides`` in the space clustered in, computed by ``embed`` where not given."""
        if sides in embeddings:
            return clustered(sides)[i]
        if embed is None:
            raise ValueError(f"no embeddings at patch sides {sides} for level 1's local contrast")
        found = embed(sides, i)
        return to_tangent(found, factors=members, c=geometry.curvature) if tangent else found

    def options(how: LevelConfig, only: int | None = None, among: Sequence[int] | None = None) -> dict:
        """What :func:`segment_volumes` takes for ``how``, for every volume, the volumes ``among`` (pooled together
        where ``how`` pools) or volume ``only`` alone (fitted on its own); factor f takes the purity weights of side
        f mod (number of sides), for every member."""
        chosen = [only] if only is not None else among

        def pick(maps):
            return None if maps is None else (maps if chosen is None else [maps[i] for i in chosen])
        return dict(c=geometry.curvature, hyperbolic=ball, pooled=how.pooled and only is None, subsample=config.subsample,
                    n_init=config.n_init, random_state=config.seed, factors=len(how.patch_sides) * members,
                    segments=pick(None if how.supervoxel_size is None else segments[how.supervoxel_size]),
                    voxel_weights=pick(weights[how.weighting] if how.purity_power else None), device=device,
                    clusterer=how.clusterer)

    def fit(group: tuple[LevelConfig, ...], objects: list[np.ndarray] | None, among: Sequence[int] | None = None) -> None:
        """Fit ``group`` on every volume, or on the volumes ``among`` (pooled together where the group pools)."""
        how = group[0]
        factors = len(how.patch_sides) * members
        chosen = list(range(n)) if among is None else list(among)
        points = [clustered(how.patch_sides)[i] for i in chosen]
        options_ = options(how, among=among)
        ks = [level.clusters for level in group]
        found = (segment_inside(points, [objects[i] for i in chosen], clusters=ks, **options_) if objects is not None
                 else segment_volumes(points, clusters=ks, nested=config.nested, **options_))
        for i, seg in zip(chosen, found):
            labels[i].update(seg.labels)
            fitted[i].update(seg.centers)
            centers[i].update({k: to_ball(v, factors=factors, c=geometry.curvature) if tangent else v
                               for k, v in seg.centers.items()})
            voxels[i] = voxels[i] or seg.voxels

    on_own, within = config.groups()
    for group in on_own:  # the first level among them
        fit(group, None)
    objects = None
    no_field = [False] * n  # containment found no object in a field of view
    tries = {}  # volume -> what the second try at level 1 found (config.field_retry, hierarchy.SecondTry)
    contrasted: set[int] = set()  # volumes whose level 1 is the rarer component of local contrast (config.contrast_sides)
    if config.contained:  # k-means numbers level 1's clusters 0 and 1; the one on more faces is the outside
        decided = [found[first.clusters] for found in labels]  # level 1's own map stays as k-means left it
        faces = [face_counts(found, np.arange(2)) for found in decided]
        outside = [outside_of(counts) for counts in faces]
        counts = [np.bincount(found.ravel(), minlength=2) for found in decided]
        own = list(decided)  # per volume the map whose clusters the band's centres are, one row each
        centres = [fitted[i][first.clusters] for i in range(n)]
        warned = [i for i in range(n) if in_no_field(faces[i], counts[i], outside[i])]  # no object in a field of view
        k = config.field_retry
        for i in (warned if config.retries else ()):
            again = dataclasses.replace(first, clusters=k)
            with warnings.catch_warnings():  # fewer distinct embeddings than clusters: an empty one is never the object
                warnings.simplefilter("ignore", EmptyClusterWarning)
                seg = segment_volumes(clustered(first.patch_sides)[i:i + 1], clusters=[k], **options(again, i))[0]
            found = seg.labels[k]
            tried = second_try(face_counts(found, np.arange(k)), np.bincount(found.ravel(), minlength=k), seg.centers[k])
            if tried is None:
                continue
            tries[i], own[i], voxels[i] = tried, found, voxels[i] or seg.voxels
            decided[i] = tried.merge[found].astype(np.int32)  # the object 1, the other clusters its outside 0
            outside[i], centres[i] = 0, tried.centres
        for i in (i for i in warned if config.contrasts and i not in tries):
            k = config.contrast_components
            if (k > 2 or config.contrast_on_intensity) and volumes is None:
                raise ValueError("local contrast on intensity needs the volumes" if config.contrast_on_intensity else
                                 f"local contrast's {k} components need the volumes' intensity to pick the object")
            contrast = local_contrast(volumes[i], config.contrast_sides) if k > 2 or config.contrast_on_intensity else None
            if config.contrast_on_intensity:  # float32 as a chunked run stores it, for the fit and the object's pick alike
                contrast = contrast.astype(np.float32)
            difference = None
            if config.contrast_on_embedding:
                fine, coarse = (contrast_side((p,), i) for p in config.contrast_sides)
                difference = fine - coarse
            points = contrast_points(difference, contrast if config.contrast_on_intensity else None)
            with warnings.catch_warnings():  # no contrast at all: a component stays empty, and maybe there is no object
                warnings.simplefilter("ignore", EmptyClusterWarning)
                found = contrast_split(points, components=k, subsample=config.subsample, n_init=config.n_init,
                                       seed=config.seed, likeliest=config.contrast_likeliest)
            if k == 2:
                contrast = np.zeros(found.shape)
            merge = contrast_object(cluster_sums(contrast[..., None], found, k))
            if merge is None:
                continue
            contrasted.add(i)
            own[i] = decided[i] = merge[found]
            outside[i] = 0
        no_field = [i in warned and i not in tries and i not in contrasted
                    and warn_if_no_field(faces[i], counts[i], outside[i], volume=i,
                                         tried=config.field_retry if config.retries else 0)
                    for i in range(n)]
        if config.banded:
            band = config.band_sides or first.patch_sides
            if config.band_on_intensity and volumes is None:
                raise ValueError("level 1's voxel band on intensity needs the volumes")
            for i, found in enumerate(decided):
                if i in contrasted:  # decided voxel by voxel already
                    continue
                if config.band_on_intensity:  # the centres: its clusters' mean box intensities
                    points = band_points(volumes[i], config.band_box)
                    centres[i] = means_of(cluster_sums(points, own[i], len(centres[i])))
                else:
                    points = clustered(band)[i]
                    if config.band_elsewhere:  # at other sides the centres are its clusters' mean embeddings
                        centres[i] = means_of(cluster_sums(points, own[i], len(centres[i])))
                decided[i] = voxels_decide(found, points, centres[i], outside=outside[i], width=config.voxel_band,
                                           hyperbolic=ball and not config.band_on_intensity, factors=len(band) * members,
                                           c=geometry.curvature, merge=tries[i].merge if i in tries else None)
        objects = [level1_object(found, volume=None if volumes is None else volumes[i], refine=config.refine,
                                 outside=outside[i], grow=config.contrast_grow if i in contrasted else 0)
                   for i, found in enumerate(decided)]
    kept = {i for i in contrasted if config.contrast_divides == "specimen"}  # the finer levels divide the specimen
    for group in within:
        regions = None if objects is None else [~obj if i in kept else obj for i, obj in enumerate(objects)]
        for among in pools_by_kind(n, kept) if group[0].pooled else [None]:  # a pooled fit pools the volumes of one kind
            fit(group, regions, among)
    for i in kept:
        labels[i].update({level.clusters: object_kept(labels[i][level.clusters]) for group in within for level in group})
    if objects is not None and first.in_object:
        for i, obj in enumerate(objects):  # the object map's labels: 0 outside, 1 the object; its centres alike
            if i in tries:
                pair = tries[i].object_centres()
                centers[i][first.clusters] = to_ball(pair, factors=len(first.patch_sides) * members, c=geometry.curvature) if tangent else pair
            elif i in contrasted:  # the mean embeddings at level 1's side of the outside and the object as the mixture found them
                pair = means_of(cluster_sums(clustered(first.patch_sides)[i], decided[i], 2))
                centers[i][first.clusters] = to_ball(pair, factors=len(first.patch_sides) * members, c=geometry.curvature) if tangent else pair
            else:
                centers[i][first.clusters] = object_order(centers[i][first.clusters], outside[i])
            labels[i][first.clusters] = obj.astype(np.int32)
    return [VolumeSegmentation({k: labels[i][k] for k in config.clusters}, {k: centers[i][k] for k in config.clusters},
                               None if objects is None else objects[i], voxels[i], no_field[i], i in tries, i in contrasted,
                               i in kept)
            for i in range(n)]


def pools_by_kind(n: int, kept: Collection[int]) -> list[list[int] | None]:
    """The pools of a pooled fit inside level 1's regions over ``n`` volumes: every volume (``[None]``) where they are
    of one kind, else the volumes whose finer levels divide the specimen around local contrast's object (``kept``,
    ``SegmentConfig.contrast_divides``) and the others apart, so that a pooled cluster means one thing in each.

    >>> pools_by_kind(3, set()), pools_by_kind(3, {1}), pools_by_kind(2, {0, 1})
    ([None], [[1], [0, 2]], [None])
    """
    if not kept or len(kept) == n:
        return [None]
    return [sorted(kept), [i for i in range(n) if i not in kept]]


def contrast_split(points: np.ndarray, *, components: int, subsample: int, n_init: int, seed: int,
                   likeliest: bool = False) -> np.ndarray:
    """(Z, Y, X) int32: each voxel's component of a tied Gaussian mixture of ``components`` components
    (``SegmentConfig.contrast_sides``: its mixing weights let a rare component stand where k-means would split the
    common one) fitted to ``points`` (Z, Y, X, D) as every level is fitted (:func:`segment_volumes`: on ``subsample``
    voxels drawn with ``seed``), the most probable or, with ``likeliest``, the most likely
    (``SegmentConfig.contrast_assign``). :func:`contrast_object` says which component is the object."""
    return segment_volumes([points], clusters=[components], hyperbolic=False, pooled=False, subsample=subsample,
                           n_init=n_init, random_state=seed, clusterer="tied-mixture",
                           likeliest=likeliest)[0].labels[components]


def contrast_points(difference: np.ndarray | None, intensity: np.ndarray | None) -> np.ndarray:
    """What local contrast's mixture is fitted on (``SegmentConfig.contrast_feature``): the embedding's difference
    (..., D) and the local intensity contrast (...) side by side, whichever are given.

    >>> contrast_points(np.zeros((2, 3)), np.ones(2)).tolist(), contrast_points(None, np.ones(2)).shape
    ([[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 1.0]], (2, 1))
    """
    parts = [p for p in (difference, None if intensity is None else intensity[..., None]) if p is not None]
    return np.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]


def box_mean(volume: np.ndarray, side: int) -> np.ndarray:
    """(Z, Y, X) float64: the volume's mean over a box of side ``side`` around each voxel
    (:func:`scipy.ndimage.uniform_filter`, the edge voxel repeated beyond a face, as patches are padded; a box of even
    side s reaches s / 2 voxels towards lower indices and s / 2 - 1 towards higher ones).

    >>> box_mean(np.arange(4.0).reshape(1, 1, 4), 3).ravel().tolist()
    [0.3333333333333333, 1.0, 2.0, 2.6666666666666665]
    """
    from scipy import ndimage

    return ndimage.uniform_filter(np.asarray(volume, dtype=np.float64), int(side), mode="nearest")


def local_contrast(volume: np.ndarray, sides: Sequence[int]) -> np.ndarray:
    """(Z, Y, X) float64: the volume's :func:`box_mean` at the first side minus at the second."""
    fine, coarse = (box_mean(volume, p) for p in sides)
    return fine - coarse


def band_points(volume: np.ndarray, side: int) -> np.ndarray:
    """(Z, Y, X, 1) float32: what the voxel band on intensity decides by (``SegmentConfig.band_feature``), the volume's
    :func:`box_mean` at ``side``, in the precision a chunked run stores it."""
    return box_mean(volume, side).astype(np.float32)[..., None]


#: the least share of a volume's voxels a component of local contrast's mixture holds to be its object
#: (:func:`contrast_object`): a handful of outlying voxels, whose mean contrast is extreme, is no level-1 object
MIN_CONTRAST_SHARE = 0.001


def contrast_object(sums: np.ndarray) -> np.ndarray | None:
    """Which components of local contrast's mixture form the object (``SegmentConfig.contrast_components``): int32 (k,),
    1 for the object's component, 0 for the others, or None where no component besides the largest holds
    :data:`MIN_CONTRAST_SHARE` of the volume's voxels (and at least one).

    ``sums`` (k, 2): :func:`cluster_sums` of the voxels' local intensity contrast (:func:`local_contrast`) over the
    components, the sum and the voxel count per component; sums over parts (a chunked run's chunks) add up to the
    whole's. The largest component is the bulk; of the others large enough the object is the one whose mean contrast
    is farthest from zero (the lowest label on a tie), so with two components it is the smaller.

    >>> contrast_object(np.array([[1.0, 50.0], [0.0, 900.0], [-20.0, 50.0]])).tolist()  # the darker tail is stronger
    [0, 0, 1]
    >>> contrast_object(np.array([[1.0, 50.0], [0.0, 99_900.0], [-20.0, 50.0]])) is None  # each under a thousandth
    True
    >>> contrast_object(np.array([[0.0, 0.0], [0.0, 900.0]])) is None
    True
    """
    totals, counts = np.asarray(sums, dtype=np.float64).T
    bulk = int(np.argmax(counts))
    floor = max(np.ceil(MIN_CONTRAST_SHARE * counts.sum()), 1.0)
    tails = [j for j in range(len(counts)) if j != bulk and counts[j] >= floor]
    if not tails:
        return None
    strength = {j: abs(totals[j]) / counts[j] for j in tails}
    merge = np.zeros(len(counts), dtype=np.int32)
    merge[max(tails, key=lambda j: (strength[j], -j))] = 1
    return merge
