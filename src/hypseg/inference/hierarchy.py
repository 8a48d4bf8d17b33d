"""The level-1 object, and the finer levels clustered inside it (beyond the paper).

The paper clusters every level on its own, so level 2's four clusters may spend two of them on the
background, and an organelle whose intensity resembles the background's lands in the background's
cluster at every level. Containment fixes both: what the finest levels divide is the object that
level 1 found.

- **The outside** is the level-1 cluster that covers more of the volume's six faces (the first, on a tie).
  This assumes what the synthetic sets and most scans show: an object in a field of view, its
  surroundings reaching the edges.
- **The object** (:func:`level1_object`) is the other cluster with every hole filled
  (``scipy.ndimage.binary_fill_holes``): whatever it encloses belongs to it, as organelles belong to
  their cell whatever their intensity.
- **A finer level of k clusters** (:func:`segment_inside`) keeps the outside as label 0 and clusters the
  object's voxels (or supervoxels) into k - 1 clusters, labels 1..k-1.

Where the assumption fails, the faces say nothing: a tomogram filled by its specimen, or a crop of tissue, meets
the faces with both clusters in proportion to their sizes, and the outside is merely the cluster on more faces,
mostly the larger one. Which cluster the object is (filled, and divided by the finer levels) is then a matter of
size, a toss-up on a level 1 split nearly in half; on a volume of a few slices, whose voxels are mostly on its
faces, it always is.
:func:`warn_if_no_field` says so (:class:`NoFieldWarning`) when level 1's object covers at least
:data:`FIELD_RATIO` times as large a share of the face voxels as of the volume: an object in a field of view
covers far less (a cell cut by a face, or nuclei reaching the faces: a third or so), a field-filling specimen
about as much (about 1).
"""

from __future__ import annotations

import warnings
from typing import NamedTuple, Sequence

import numpy as np
from scipy import ndimage

from hypseg.errors import UserError
from hypseg.inference.refine import refine_boundary
from hypseg.inference.segment import Segmentation, segment_volumes

__all__ = ["FIELD_RATIO", "MIN_OBJECT_SHARE", "NoFieldWarning", "check_inside_clusters", "face_counts", "face_shares", "field_ratio",
           "in_no_field", "least_on_faces", "level1_object", "moved_boundary", "divided_labels", "object_kept", "SecondTry", "second_try", "outside_of", "restrict_supervoxels", "segment_inside", "warn_if_no_field"]

#: Level 1's object covering at least this share of the face voxels per share of the volume lies in no field of view.
FIELD_RATIO = 0.75
#: A cluster of a second try at level 1 holding less of the volume than this is no object (:func:`least_on_faces`):
#: an outlier's cluster, or one k-means re-seeded on a point or two after it emptied, lies off the faces by its size.
MIN_OBJECT_SHARE = 0.01


class NoFieldWarning(UserWarning):
    """Level 1's object meets the volume's faces about as much as its size predicts: the volume shows no object in
    a field of view, and containment's outside is merely the larger cluster."""


def face_counts(labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """How many of the volume's face voxels each cluster of ``ids`` (in that order) covers."""
    faces = np.zeros(labels.shape, dtype=bool)
    faces[[0, -1], :, :] = True
    faces[:, [0, -1], :] = True
    faces[:, :, [0, -1]] = True
    on_faces = labels[faces]  # the face voxels' labels only: the comparisons below read no other voxel
    return np.array([np.count_nonzero(on_faces == i) for i in ids])


def face_shares(labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Each cluster's share (``ids`` order) of the volume's face voxels: what :func:`outside_cluster` compares.

    On a volume that shows no object in a field of view (a tomogram filled with its specimen) the shares
    follow the clusters' shares of the volume, and the outside is whichever cluster is larger.

    >>> labels = np.zeros((4, 4, 4), dtype=int); labels[1:3, 1:3, 1:3] = 1
    >>> face_shares(labels, np.arange(2)).tolist()
    [1.0, 0.0]
    """
    counts = face_counts(np.asarray(labels), np.asarray(ids))
    return counts / max(int(counts.sum()), 1)


def outside_of(faces: np.ndarray) -> int:
    """The index of the outside among a level-1 map's clusters, given their face-voxel counts (or shares): the
    cluster on more of the volume's faces, the first on a tie. Every path that takes level 1's outside uses it.

    >>> outside_of(np.array([3, 9])), outside_of(np.array([5, 5]))
    (1, 0)
    """
    return int(np.argmax(faces))


def outside_cluster(labels: np.ndarray, ids: np.ndarray | None = None) -> int:
    """The cluster id of a level-1 map that covers more of the volume's face voxels: the object's surroundings."""
    ids = np.unique(labels) if ids is None else ids
    return int(ids[outside_of(face_counts(labels, ids))])


def _object_shares(faces: np.ndarray, voxels: np.ndarray, outside: int) -> tuple[float, float]:
    """Level 1's object's share of the face voxels and of the voxels (two clusters' counts, ids 0 and 1)."""
    faces, voxels = np.asarray(faces, dtype=np.float64), np.asarray(voxels, dtype=np.float64)
    inside = 1 - int(outside)
    return float(faces[inside] / max(faces.sum(), 1.0)), float(voxels[inside] / max(voxels.sum(), 1.0))


def field_ratio(faces: np.ndarray, voxels: np.ndarray, outside: int) -> float:
    """Level 1's object's share of the volume's face voxels over its share of the volume's voxels.

    ``faces`` and ``voxels`` count each of the two clusters' face voxels and voxels (ids 0 and 1); ``outside`` is
    the outside's id. About 1 when the object meets the faces as much as its size predicts, 0 when it meets none.

    >>> field_ratio(np.array([30, 10]), np.array([500, 500]), 0)
    0.5
    """
    face_share, share = _object_shares(faces, voxels, outside)
    return 0.0 if share == 0 else face_share / share


def least_on_faces(faces: np.ndarray, voxels: np.ndarray) -> tuple[int, float]:
    """The cluster that, taken as an object against all the others together, has the smallest :func:`field_ratio`,
    and that ratio; ``faces`` and ``voxels`` count each cluster's face voxels and voxels (ids 0, 1, ...). A cluster
    holding less than :data:`MIN_OBJECT_SHARE` of the voxels is no object (its ratio is infinite).

    >>> least_on_faces(np.array([40, 20, 0]), np.array([500, 400, 100]))
    (2, 0.0)
    >>> cluster, ratio = least_on_faces(np.array([40, 20, 0]), np.array([600, 395, 5]))  # not the tiny cluster 2
    >>> cluster, round(ratio, 3)
    (1, 0.844)
    """
    faces, voxels = np.asarray(faces, dtype=np.float64), np.asarray(voxels, dtype=np.float64)
    ratios = [field_ratio(np.array([faces.sum() - faces[c], faces[c]]), np.array([voxels.sum() - voxels[c], voxels[c]]), 0)
              if voxels[c] >= MIN_OBJECT_SHARE * voxels.sum() and voxels[c] else np.inf for c in range(len(faces))]
    best = int(np.argmin(ratios))
    return best, float(ratios[best])


class SecondTry(NamedTuple):
    """What a second try at level 1 (``SegmentConfig.field_retry``) found: the cluster that is the object, every
    cluster's centre (rows, in the space clustered in) and voxel count."""

    cluster: int
    centres: np.ndarray
    voxels: np.ndarray

    @property
    def merge(self) -> np.ndarray:
        """Each cluster's label in the object map: 1 the object, 0 the other clusters, its outside."""
        return (np.arange(len(self.centres)) == self.cluster).astype(np.int64)

    def object_centres(self) -> np.ndarray:
        """Level 1's two centres in its object map's order: the outside's (the other clusters' centres weighted by
        their voxel counts), the object's.

        >>> SecondTry(2, np.array([[0.0], [1.0], [5.0]]), np.array([30, 10, 4])).object_centres().ravel().tolist()
        [0.25, 5.0]
        """
        rest = np.delete(np.arange(len(self.centres)), self.cluster)
        outside = np.average(self.centres[rest], axis=0, weights=np.maximum(self.voxels[rest], 1))
        return np.stack([outside, self.centres[self.cluster]])


def second_try(faces: np.ndarray, voxels: np.ndarray, centres: np.ndarray) -> SecondTry | None:
    """The object of a second try at level 1 whose clusters cover ``faces`` face voxels and ``voxels`` voxels each, with
    centres ``centres``: the cluster least on the faces (:func:`least_on_faces`) where it lies in a field of view
    (ratio below :data:`FIELD_RATIO`), else None."""
    cluster, ratio = least_on_faces(faces, voxels)
    return SecondTry(cluster, np.asarray(centres), np.asarray(voxels)) if ratio < FIELD_RATIO else None


def in_no_field(faces: np.ndarray, voxels: np.ndarray, outside: int) -> bool:
    """Whether level 1's object lies in no field of view: :func:`field_ratio` (the counts as there) at least
    :data:`FIELD_RATIO`."""
    return field_ratio(faces, voxels, outside) >= FIELD_RATIO


def warn_if_no_field(faces: np.ndarray, voxels: np.ndarray, outside: int, *, volume: int, tried: int = 0) -> bool:
    """Warn (:class:`NoFieldWarning`) when level 1's object lies in no field of view (:func:`field_ratio` at least
    :data:`FIELD_RATIO`; the counts as there); returns whether it did. ``tried``: the clusters of a second try
    (``SegmentConfig.field_retry``) that found no object in a field either, which the warning names."""
    if in_no_field(faces, voxels, outside):
        ratio, share = field_ratio(faces, voxels, outside), _object_shares(faces, voxels, outside)[1]
        again = f", nor does any of {tried} clusters" if tried else ""
        warnings.warn(NoFieldWarning(
            f"volume {volume}: level 1's object meets the volume's faces as much as its size predicts ({ratio:.2f} "
            f"times its share of the volume, {share:.2f}){again}: the volume shows no object in a field of view, and the "
            "object is merely the cluster on fewer faces; --no-containment clusters every level over the whole volume"),
            stacklevel=3)
        return True
    return False


def object_order(centers: np.ndarray, outside: int) -> np.ndarray:
    """Level 1's two cluster centres in the order of its object map's labels: row 0 the outside's cluster
    (``outside``, 0 or 1), row 1 the object's.

    >>> object_order(np.array([[0.5, 0.0], [-0.2, 0.0]]), 0).tolist()
    [[0.5, 0.0], [-0.2, 0.0]]
    >>> object_order(np.array([[0.5, 0.0], [-0.2, 0.0]]), 1).tolist()
    [[-0.2, 0.0], [0.5, 0.0]]
    """
    centers = np.asarray(centers)
    if centers.shape[0] != 2 or outside not in (0, 1):
        raise ValueError(f"level 1 has two centres and an outside of 0 or 1, got {centers.shape[0]} and {outside}")
    return centers[[outside, 1 - outside]]


def level1_object(labels: np.ndarray, *, volume: np.ndarray | None = None, refine: int = 0,
                  outside: int | None = None, grow: int = 0) -> np.ndarray:
    """The object of a two-cluster level-1 map: (Z, Y, X) bool, holes filled.

    ``labels`` holds exactly two cluster ids (any integers). The one covering more face voxels of the
    volume is the outside (:func:`outside_cluster`; ``outside`` when the caller has found it already); the
    other, with every enclosed hole filled, is returned. With ``refine`` > 0
    passes, its boundary is first refined by ``volume``'s intensity (:func:`hypseg.inference.refine.refine_boundary`);
    with ``grow`` > 0 it is then grown by that many voxels (6-connected steps; ``SegmentConfig.contrast_grow``).

    Examples
    --------
    A cube of 1 around a cavity of 0, in a field of 0: the cavity belongs to the cube.

    >>> labels = np.zeros((7, 7, 7), dtype=int); labels[1:6, 1:6, 1:6] = 1; labels[3, 3, 3] = 0
    >>> obj = level1_object(labels)
    >>> int(obj.sum()), bool(obj[3, 3, 3]), bool(obj[0, 0, 0])
    (125, True, False)
    """
    labels = np.asarray(labels)
    if labels.ndim != 3:
        raise UserError(f"a level-1 map must be (Z, Y, X), got shape {labels.shape}")
    ids = np.unique(labels)
    if ids.size != 2:
        raise UserError(f"a level-1 map must hold exactly two clusters, got {ids.size}")
    inside = labels != (outside_cluster(labels, ids) if outside is None else outside)
    return ndimage.binary_fill_holes(moved_boundary(inside, volume=volume, refine=refine, grow=grow))


def moved_boundary(inside: np.ndarray, *, volume: np.ndarray | None = None, refine: int = 0, grow: int = 0) -> np.ndarray:
    """The level-1 object ``inside`` (bool) before its holes are filled: its boundary refined ``refine`` passes by
    ``volume``'s intensity (:func:`hypseg.inference.refine.refine_boundary`), then grown by ``grow`` voxels
    (6-connected steps; ``SegmentConfig.contrast_grow``). A voxel's result depends on voxels at most
    ``reach(refine) + grow`` away, so a block read with that halo gets the whole volume's result inside.

    >>> moved_boundary(np.eye(3, dtype=bool)[None], grow=1).astype(int)[0].tolist()
    [[1, 1, 0], [1, 1, 1], [0, 1, 1]]
    """
    if refine:
        if volume is None:
            raise UserError("refining the level-1 object's boundary needs the volume's intensity")
        inside = refine_boundary(volume, inside, passes=refine)
    return ndimage.binary_dilation(inside, iterations=int(grow)) if grow else inside


def object_kept(labels: np.ndarray) -> np.ndarray:
    """A finer level's map of the specimen around level 1's object (``SegmentConfig.contrast_divides``) in the
    labels of the object map: the object, 0 there, becomes 1 as at level 1, and the specimen's first cluster 0.

    >>> object_kept(np.array([0, 1, 2, 3])).tolist()
    [1, 0, 2, 3]
    """
    labels = np.asarray(labels)
    return np.where(labels <= 1, 1 - labels, labels).astype(labels.dtype)


def divided_labels(clusters: int, *, specimen: bool = False) -> list[int]:
    """The labels of a finer level's ``clusters - 1`` clusters inside level 1's object, in the order of their centres:
    1..k-1, or where the level divided the specimen around local contrast's object (``specimen``,
    ``SegmentConfig.contrast_divides``) 0, 2, ..., k-1 (:func:`object_kept`).

    >>> divided_labels(4), divided_labels(4, specimen=True)
    ([1, 2, 3], [0, 2, 3])
    """
    return [int(label) for label in object_kept(np.arange(1, clusters))] if specimen else list(range(1, clusters))


def restrict_supervoxels(segments: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A supervoxel map cut to ``mask``: the pieces inside renumbered 0..S'-1 (in label order), -1 elsewhere."""
    segments = np.asarray(segments)
    if segments.shape != mask.shape:
        raise UserError(f"supervoxels of shape {segments.shape} for a mask of {mask.shape}")
    inside = mask & (segments >= 0)
    out = np.full(segments.shape, -1, dtype=np.int64)
    out[inside] = np.unique(segments[inside], return_inverse=True)[1]
    return out


def check_inside_clusters(clusters: Sequence[int]) -> list[int]:
    """The cluster counts of levels inside the level-1 object, each at least 3 (the outside and two inside)."""
    ks = [int(k) for k in clusters]
    if any(k < 3 for k in ks):
        raise UserError(f"levels inside the level-1 object need at least 3 clusters (2 inside, the outside), got {ks}")
    return ks


def segment_inside(
    embeddings: Sequence[np.ndarray],
    objects: Sequence[np.ndarray],
    *,
    clusters: Sequence[int],
    segments: Sequence[np.ndarray] | None = None,
    **options,
) -> list[Segmentation]:
    """Segment every volume's object (one bool mask per volume, e.g. :func:`level1_object`) at each k of
    ``clusters``: label 0 outside, k - 1 clusters inside (labels 1..k-1).

    ``segments`` (supervoxel maps over the whole volume) are cut to the objects; the other ``options``
    go to :func:`hypseg.inference.segment_volumes` (``pooled``, ``voxel_weights``, ``c``, ...), and the
    returned segmentations are keyed by the full k.
    """
    ks = check_inside_clusters(clusters)
    objects = [np.asarray(o, dtype=bool) for o in objects]
    if len(objects) != len(embeddings):
        raise UserError(f"got {len(objects)} objects for {len(embeddings)} volumes")
    for i, obj in enumerate(objects):
        if not obj.any():
            raise UserError(f"volume {i}: the level-1 object is empty, so nothing lies inside it to segment")
    cut = None if segments is None else [restrict_supervoxels(s, o) for s, o in zip(segments, objects)]
    inner = segment_volumes(embeddings, clusters=[k - 1 for k in ks], masks=objects, segments=cut, **options)
    return [Segmentation({k: s.labels[k - 1] for k in ks}, {k: s.centers[k - 1] for k in ks}, s.voxels) for s in inner]
