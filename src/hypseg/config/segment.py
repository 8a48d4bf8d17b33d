"""How a trained model's embeddings become label maps: one :class:`LevelConfig` per level.

A level is one label map of ``clusters`` clusters, found from the embeddings of the level's patch
sides, either voxel by voxel or on the mean embeddings of SLIC supervoxels (optionally
purity-weighted), with one k-means fit per volume or one over all volumes together. With
containment (``in_object``), the first level (k = 2) reports its object with the holes filled, and a
finer level keeps that level's outside as label 0 and finds its other k - 1 clusters inside the object
(:mod:`hypseg.inference.hierarchy`; where local contrast found the object, the finer levels may divide the specimen
around it instead, :attr:`SegmentConfig.contrast_divides`). :class:`SegmentConfig` holds the levels in order and the settings
shared by all of them; the named presets live in :mod:`hypseg.config.recipes`.

>>> config = SegmentConfig(levels=(LevelConfig(2, patch_sides=(10,)), LevelConfig(4, patch_sides=(5,))))
>>> SegmentConfig.from_dict(config.to_dict()) == config
True
>>> config.with_levels(pooled=True).levels[1].pooled
True
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from hypseg.config._base import Config
from hypseg.errors import UserError

#: The smallest supervoxel tile: a box of 8^3 voxels holds one default 500-voxel supervoxel.
MIN_TILE = 8
#: Where a hyperbolic model's embeddings are clustered (:attr:`SegmentConfig.space`).
SPACES = ("ball", "tangent")
#: How a level's points are clustered (:attr:`LevelConfig.clusterer`).
CLUSTERERS = ("kmeans", "tied-mixture")
#: what the finer levels divide where local contrast found level 1's object (``SegmentConfig.contrast_divides``)
CONTRAST_PARTS = ("object", "specimen")
#: how local contrast's mixture assigns a voxel (``SegmentConfig.contrast_assign``)
CONTRAST_ASSIGNS = ("posterior", "likelihood")
#: what local contrast's mixture is fitted on (``SegmentConfig.contrast_feature``)
CONTRAST_FEATURES = ("embedding", "intensity", "both")
#: what level 1's voxel band decides by (``SegmentConfig.band_feature``)
BAND_FEATURES = ("embedding", "intensity")
#: which patch codes are averaged with their point-inverted patches' (``SegmentConfig.inversion``)
INVERSIONS = ("none", "finer", "every")


@dataclasses.dataclass(frozen=True)
class LevelConfig(Config):
    """How one level's label map is found.

    Parameters
    ----------
    clusters : int
        k, the number of clusters (labels 0..k-1).
    patch_sides : tuple of int
        The patch sides each voxel is embedded at; several are clustered on the product of their balls.
        Empty: the model's own patch side m.
    supervoxel_size : int or None
        Voxels per SLIC supervoxel whose mean embedding is clustered (every voxel then takes its
        supervoxel's cluster); None or 0 clusters every voxel.
    purity_power : float
        gamma of the purity-weighted supervoxel means (:func:`hypseg.inference.pooling.purity_weights`);
        0 takes plain means. Needs supervoxels.
    pooled : bool
        One k-means fit over all volumes (cluster j means the same in every volume), or one per volume. Inside level
        1's regions, volumes whose finer levels divide the specimen around local contrast's object
        (``SegmentConfig.contrast_divides``) are pooled apart from the others.
    in_object : bool
        Containment: on the first level (k = 2), report its object with the holes filled against the
        outside; on a finer level, cluster inside that object (label 0: the outside), or around it where local
        contrast found it (``SegmentConfig.contrast_divides``).
    clusterer : str
        ``"kmeans"`` (the latent space's k-means), or ``"tied-mixture"``: a Gaussian mixture whose
        components share one covariance (:class:`hypseg.clustering.TiedGaussianMixture`), which measures
        every direction against the spread within the clusters rather than the total spread. It clusters
        flat vectors: a Euclidean model's embeddings, or a ball's in the tangent space.
    """

    clusters: int
    patch_sides: tuple[int, ...] = ()
    supervoxel_size: int | None = None
    purity_power: float = 0.0
    pooled: bool = False
    in_object: bool = False
    clusterer: str = "kmeans"

    def __post_init__(self) -> None:
        if self.supervoxel_size == 0:
            object.__setattr__(self, "supervoxel_size", None)
        object.__setattr__(self, "patch_sides", tuple(int(p) for p in self.patch_sides))
        if self.clusters < 2:
            raise UserError(f"a level needs at least 2 clusters, got {self.clusters}")
        if any(p < 1 for p in self.patch_sides):
            raise UserError(f"LevelConfig: patch sides must be >= 1, got {list(self.patch_sides)}")
        if self.supervoxel_size is not None and self.supervoxel_size < 1:
            raise UserError(f"LevelConfig: supervoxel_size must be >= 1 voxel (0: every voxel), got {self.supervoxel_size}")
        if not self.purity_power >= 0:
            raise UserError(f"LevelConfig: purity_power must be >= 0, got {self.purity_power}")
        if self.clusterer not in CLUSTERERS:
            raise UserError(f"LevelConfig: clusterer must be one of {', '.join(CLUSTERERS)}, got {self.clusterer!r}")
        if self.purity_power and self.supervoxel_size is None:
            raise UserError("LevelConfig: a purity power weighs voxels within supervoxels: it needs supervoxels (a size above 0)")

    @property
    def settings(self) -> tuple:
        """Everything but the cluster count: levels with equal settings are clustered in one pass."""
        return (self.patch_sides, self.supervoxel_size, self.purity_power, self.pooled, self.in_object, self.clusterer)

    @property
    def weighting(self) -> tuple:
        """What the voxel weights depend on: levels with the same weighting share their weights."""
        return (self.patch_sides, self.supervoxel_size, self.purity_power)

    def describe(self) -> str:
        """One line: ``k = 4: p = 5, 500-voxel supervoxels (purity^8 means), per volume, in the level-1 object``."""
        sides = "p = " + (" x ".join(map(str, self.patch_sides)) if self.patch_sides else "m")
        voxels = "every voxel" if self.supervoxel_size is None else f"{self.supervoxel_size}-voxel supervoxels"
        if self.purity_power:
            voxels += f" (purity^{self.purity_power:g} means)"
        where = ", in the level-1 object" if self.in_object else ""
        how = ", tied Gaussian mixture" if self.clusterer == "tied-mixture" else ""
        return f"k = {self.clusters}: {sides}, {voxels}, {'pooled' if self.pooled else 'per volume'}{where}{how}"


@dataclasses.dataclass(frozen=True)
class SegmentConfig(Config):
    """A whole segmentation: its levels (in order, distinct cluster counts) and the shared settings.

    Parameters
    ----------
    levels : tuple of LevelConfig
        One label map each. With containment on any level, the first level has k = 2 and every other
        level at least 3 (the outside and two inside).
    nested : bool
        Each level refines the one above (k_{i+1} a multiple of k_i; excludes containment).
    subsample : int
        Points (voxels or supervoxels) each k-means is fitted on, drawn uniformly (all when fewer).
    n_init : int
        k-means restarts (the lowest inertia is kept).
    seed : int
        Seed of the subsample and of k-means.
    supervoxel_tile : int
        SLIC runs in boxes of at most this side (:func:`hypseg.data.supervoxels`, ``tile``), so that a
        volume larger than memory is cut chunk by chunk into the same supervoxels as whole.
    space : str
        Where a hyperbolic model's embeddings are clustered: ``"ball"``, with the Poincaré ball's distances
        and Fréchet means (hyperbolic k-means, the paper's), or ``"tangent"``, mapped to the tangent space at
        the origin by the log map and clustered there with arithmetic means and Euclidean k-means
        (:mod:`hypseg.inference.tangent`). A Euclidean model ignores it.
    refine : int
        Passes of the level-1 object's boundary refinement (:mod:`hypseg.inference.refine`): in each, every
        voxel within one voxel of the object's boundary takes the side whose local mean intensity is nearer its
        own, before the holes are filled. 0: the object as its supervoxels give it. Without containment there
        is no object, and it is ignored.
    voxel_band : int
        Before the refinement, every voxel within this many voxels (6-connected steps) of the boundary between
        level 1's two clusters takes the cluster whose centre is nearest its own embedding (or box mean,
        ``band_feature``), instead of its supervoxel's: a supervoxel that straddles the object's edge no longer goes wholly to one side. The object's
        voxels within as many voxels of the volume's faces decide alike (beyond the faces lies the outside). 0: the
        supervoxels decide alone. Ignored without containment and where level 1 is fitted by a tied mixture (whose
        clusters are not its nearest centres'), and a no-op on a level 1 clustered voxel by voxel.
    band_sides : tuple of int
        The patch sides whose embedding the voxel band's voxels decide by; empty: level 1's own. At other sides the
        two centres are the mean embeddings of level 1's clusters' voxels (as its clustering left them) at those
        sides, so they need a flat space: the tangent space, or a Euclidean model. Ignored where the band is
        (no ``voxel_band``, no containment, a tied-mixture level 1). With ``band_feature`` intensity, one side at most:
        the box side of the image's mean.
    band_feature : str
        What the voxel band's voxels decide by: their embedding (``"embedding"``, at ``band_sides``) or the volume's
        own mean over a box of side ``band_sides`` around them (``"intensity"``; empty sides: level 1's largest patch
        side), each voxel taking the level-1 cluster whose mean there is nearest its own. A patch across a bright,
        soft edge codes nearer the object than its mean intensity does, so the embedding's band leaves such an object
        too large; the box mean has no such bend. No embedding is computed for the band on intensity.
    field_retry : int
        Where level 1's object lies in no field of view (:func:`hypseg.inference.hierarchy.warn_if_no_field`: it meets
        the volume's faces as much as its size predicts), cluster level 1 of that volume again with this many clusters
        (at least 3; 0: never; the ``default`` preset's 3). The cluster least on the faces (:func:`hypseg.inference.hierarchy.least_on_faces`)
        becomes the object, against the others together, where it lies in a field; the voxel band's voxels then
        decide between its centre and the others'. A low-contrast object split between two clusters by its brighter
        rim or a gradient across the volume is found this way. Ignored without containment or with a tied-mixture
        level 1.
    contrast_sides : tuple of int
        Two sides (finer, coarser), or empty. Where level 1's object lies in no field of view and its second
        try (``field_retry``) finds none in a field either, cluster level 1 of that volume again voxel by voxel on
        local contrast (``contrast_feature``: the image's box mean at the finer side minus at the coarser, or each
        voxel's embedding at the finer patch side minus at the coarser, in the space the levels are clustered in,
        ``space``), fitted by a Gaussian mixture of ``contrast_components`` components with a
        shared covariance (:class:`hypseg.clustering.TiedGaussianMixture`, whose mixing weights let a component be
        rare); ``contrast_components`` says which is the object. A specimen that fills its field of view with small particles (a
        tomogram) is split this way into the particles and the rest, where two-means on the embedding splits a slow
        variation of the specimen instead. Ignored where ``field_retry`` is.
    contrast_components : int
        Components of local contrast's mixture (``contrast_sides``; at least 2). The largest is the specimen's bulk;
        of the others, the one whose voxels' local intensity contrast (the volume's box mean at the finer side minus
        at the coarser, :func:`hypseg.inference.recipe.local_contrast`) is strongest on average is the object, and
        every other component joins the outside; a component of less than a thousandth of the volume
        (:data:`hypseg.inference.recipe.MIN_CONTRAST_SHARE`) is never the object. With 2 that is the smaller component. With 3 the bulk stands
        between a brighter and a darker tail, of which the particles are one and the halo around them, or the
        particles of the other polarity, the other: the volume's intensity picks the particles' tail.
    contrast_divides : str
        What the finer levels inside level 1's object divide where local contrast found it (``contrast_sides``):
        ``"object"`` (the particles, as in a field of view) or ``"specimen"`` (everything else: the particles stay one
        cluster at every level). With ``"specimen"`` the object keeps label 1 at every level, and the specimen's
        clusters take labels 0, 2, ..., k - 1, so that each finer cluster lies inside one level-1 cluster; a pooled
        level pools such volumes apart from the others (:func:`hypseg.inference.recipe.pools_by_kind`). A volume
        with no object in a field of view has no outside to keep whole, and where its particles are of one kind the
        finer levels are better spent on the specimen around them.
    contrast_assign : str
        How local contrast's mixture (``contrast_sides``) assigns each voxel: to its most probable component
        (``"posterior"``) or to its most likely, the mixing weights left out (``"likelihood"``). The mixture's weight
        for a rare component is small, so by the posterior a voxel joins the particles only where their density far
        exceeds the bulk's, and a faint particle stays with the specimen; by the likelihood the particles reach to
        where the two densities are equal, and hold more of the faint ones.
    contrast_grow : int
        Voxels (6-connected steps) by which local contrast's object (``contrast_sides``) is grown after its boundary's
        refinement (``refine``), before its holes are filled: the blurred rim of a small particle differs less from its
        surroundings than its core, and the mixture leaves it to the specimen. 0: not grown.
    inversion : str
        Which patch codes are averaged with the code of the same patch point-inverted (every axis reversed through
        its centre), in the tangent space at the origin (:mod:`hypseg.inference.embed`): ``"none"``, ``"finer"`` (the
        codes at the finer levels' patch sides, unless level 1 reads that side too) or ``"every"`` (every side embedded).
        The part of a code that changes sign with the direction of an edge cancels, so k-means does not split a thin
        bright shell by which side of its patches is bright. The encoder runs twice per patch at those sides.
    contrast_feature : str
        What local contrast's mixture (``contrast_sides``) is fitted on: each voxel's embedding at the finer side minus
        its embedding at the coarser (``"embedding"``), or the volume's own local intensity contrast at the same two
        sides (``"intensity"``: its box mean at the finer side minus at the coarser,
        :func:`hypseg.inference.recipe.local_contrast` of the normalised volume, one value per voxel), or both side by
        side (``"both"``, each in its own units: the k-means that starts the mixture weighs the columns by them). With
        ``"intensity"`` the object of a volume that reaches local contrast does not depend on the embedding, and no
        embedding at the finer side is computed for it; whether a volume reaches it, and the finer levels, still do.
    """

    levels: tuple[LevelConfig, ...]
    nested: bool = False
    subsample: int = 50_000
    n_init: int = 3
    seed: int = 0
    supervoxel_tile: int = 128
    space: str = "ball"
    refine: int = 0
    voxel_band: int = 0
    band_sides: tuple[int, ...] = ()
    band_feature: str = "embedding"
    field_retry: int = 0
    contrast_sides: tuple[int, ...] = ()
    contrast_components: int = 2
    contrast_divides: str = "object"
    contrast_assign: str = "posterior"
    contrast_grow: int = 0
    contrast_feature: str = "embedding"
    inversion: str = "none"

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(self.levels))
        if not self.levels:
            raise UserError("SegmentConfig: give at least one level")
        ks = [level.clusters for level in self.levels]
        if len(set(ks)) != len(ks):
            raise UserError(f"every level needs its own cluster count, got {ks}")
        if self.contained:
            if ks[0] != 2:
                raise UserError(f"SegmentConfig: containment needs a first level of 2 clusters (the object and its outside), got {ks[0]}")
            if any(k < 3 for k in ks[1:]):
                raise UserError(f"SegmentConfig: levels inside the level-1 object need at least 3 clusters (2 inside, the outside), got {ks[1:]}")
            if self.nested:
                raise UserError("nested levels and containment exclude each other; turn containment off at every level "
                                "(--no-containment, or in_object=False)")
        if self.nested:
            ordered = sorted(ks)
            for a, b in zip(ordered, ordered[1:]):
                if b % a:
                    raise UserError(f"SegmentConfig: nested levels must divide each other, but {b} is not a multiple of {a}")
        if self.subsample < 1:
            raise UserError(f"SegmentConfig: subsample must be >= 1, got {self.subsample}")
        if self.n_init < 1:
            raise UserError(f"SegmentConfig: n_init must be >= 1, got {self.n_init}")
        if self.space not in SPACES:
            raise UserError(f"unknown clustering space {self.space!r}; choose one of {', '.join(SPACES)}")
        if self.refine < 0:
            raise UserError(f"SegmentConfig: refine must be >= 0 passes, got {self.refine}")
        if self.voxel_band < 0:
            raise UserError(f"SegmentConfig: voxel_band must be >= 0 voxels, got {self.voxel_band}")
        if any(isinstance(p, bool) or int(p) != p or p < 1 for p in self.band_sides):
            raise UserError(f"SegmentConfig: band_sides must be whole patch sides >= 1, got {list(self.band_sides)}")
        object.__setattr__(self, "band_sides", tuple(int(p) for p in self.band_sides))
        if self.inversion not in INVERSIONS:
            raise UserError(f"SegmentConfig: inversion must be one of {', '.join(INVERSIONS)}, got {self.inversion!r}")
        if self.band_feature not in BAND_FEATURES:
            raise UserError(f"SegmentConfig: band_feature must be one of {', '.join(BAND_FEATURES)}, got {self.band_feature!r}")
        if self.band_feature == "intensity" and len(self.band_sides) > 1:
            raise UserError(f"SegmentConfig: the voxel band on intensity takes one box side, got {list(self.band_sides)}")
        if isinstance(self.field_retry, bool) or int(self.field_retry) != self.field_retry or self.field_retry in (1, 2) \
                or self.field_retry < 0:
            raise UserError(f"SegmentConfig: field_retry must be 0 (no second try) or a whole number of clusters >= 3, "
                            f"got {self.field_retry}")
        object.__setattr__(self, "field_retry", int(self.field_retry))
        if (any(isinstance(p, bool) or int(p) != p or p < 1 for p in self.contrast_sides)
                or len(self.contrast_sides) not in (0, 2) or (self.contrast_sides and self.contrast_sides[0] == self.contrast_sides[1])):
            raise UserError(f"SegmentConfig: contrast_sides must be empty or two different whole patch sides >= 1, "
                            f"got {list(self.contrast_sides)}")
        object.__setattr__(self, "contrast_sides", tuple(int(p) for p in self.contrast_sides))
        if isinstance(self.contrast_components, bool) or int(self.contrast_components) != self.contrast_components \
                or self.contrast_components < 2:
            raise UserError(f"SegmentConfig: contrast_components must be a whole number of mixture components >= 2, "
                            f"got {self.contrast_components}")
        object.__setattr__(self, "contrast_components", int(self.contrast_components))
        if self.contrast_divides not in CONTRAST_PARTS:
            raise UserError(f"SegmentConfig: contrast_divides must be one of {', '.join(CONTRAST_PARTS)}, "
                            f"got {self.contrast_divides!r}")
        if self.contrast_assign not in CONTRAST_ASSIGNS:
            raise UserError(f"SegmentConfig: contrast_assign must be one of {', '.join(CONTRAST_ASSIGNS)}, "
                            f"got {self.contrast_assign!r}")
        if self.contrast_feature not in CONTRAST_FEATURES:
            raise UserError(f"SegmentConfig: contrast_feature must be one of {', '.join(CONTRAST_FEATURES)}, "
                            f"got {self.contrast_feature!r}")
        if isinstance(self.contrast_grow, bool) or int(self.contrast_grow) != self.contrast_grow or self.contrast_grow < 0:
            raise UserError(f"SegmentConfig: contrast_grow must be a whole number of voxels >= 0, got {self.contrast_grow}")
        object.__setattr__(self, "contrast_grow", int(self.contrast_grow))
        if self.supervoxel_tile < MIN_TILE:
            raise UserError(f"SegmentConfig: supervoxel_tile must be >= {MIN_TILE} voxels, got {self.supervoxel_tile}")

    @property
    def contrast_on_embedding(self) -> bool:
        """Whether local contrast's mixture reads the embedding's difference (``contrast_feature`` embedding or both)."""
        return self.contrast_feature != "intensity"

    @property
    def contrast_on_intensity(self) -> bool:
        """Whether local contrast's mixture reads the image's local contrast (``contrast_feature`` intensity or both)."""
        return self.contrast_feature != "embedding"

    @property
    def contrast_likeliest(self) -> bool:
        """Whether local contrast's mixture puts each voxel in its most likely component (``contrast_assign``)."""
        return self.contrast_assign == "likelihood"

    @property
    def clusters(self) -> list[int]:
        """The levels' cluster counts, in order."""
        return [level.clusters for level in self.levels]

    @property
    def contained(self) -> bool:
        """Whether any level uses containment (the first level's object)."""
        return any(level.in_object for level in self.levels)

    @property
    def banded(self) -> bool:
        """Whether level 1's voxels near its boundary decide alone (``voxel_band``, by ``band_feature``): with
        containment and k-means at level 1."""
        return bool(self.voxel_band) and self.contained and self.levels[0].clusterer == "kmeans"

    @property
    def band_elsewhere(self) -> bool:
        """Whether the voxel band decides by the embedding at other patch sides than level 1's (``band_sides``),
        against its clusters' mean embeddings there rather than level 1's own centres."""
        return self.banded and not self.band_on_intensity and self.band_sides not in ((), self.levels[0].patch_sides)

    @property
    def band_on_intensity(self) -> bool:
        """Whether the voxel band decides by the volume's box mean (``band_feature`` intensity)."""
        return self.banded and self.band_feature == "intensity"

    @property
    def band_box(self) -> int:
        """The box side of the voxel band on intensity: ``band_sides``' one side, else level 1's largest patch side."""
        if self.band_sides:
            return self.band_sides[0]
        if not self.levels[0].patch_sides:
            raise ValueError("level 1's patch sides are not resolved (resolve_patch_sides)")
        return max(self.levels[0].patch_sides)

    @property
    def retries(self) -> bool:
        """Whether level 1 is clustered again where its object lies in no field of view (``field_retry``): with
        containment and k-means at level 1."""
        return bool(self.field_retry) and self.contained and self.levels[0].clusterer == "kmeans"

    @property
    def contrasts(self) -> bool:
        """Whether level 1 is clustered by local contrast where neither its first nor its second try found an object
        in a field of view (``contrast_sides``): with the second try."""
        return bool(self.contrast_sides) and self.retries

    def groups(self) -> tuple[list[tuple[LevelConfig, ...]], list[tuple[LevelConfig, ...]]]:
        """The levels in the order they are clustered: (those clustered on their own, the first level
        among them; those clustered inside the first level's object, after it is found). Levels with
        equal :attr:`LevelConfig.settings` are fitted together, as one group."""
        out: tuple[list, list] = ([], [])
        for inside in (False, True):
            for settings in dict.fromkeys(level.settings for level in self.levels):
                group = tuple(level for i, level in enumerate(self.levels)
                              if level.settings == settings and (level.in_object and i > 0) == inside)
                if group:
                    out[inside].append(group)
        return out

    def with_clusters(self, clusters: Sequence[int]) -> SegmentConfig:
        """These cluster counts, one level each, in increasing order; level i keeps this config's level
        i's settings (the last level's for extra levels). Containment is kept only where the counts
        allow it (a first level of 2, the others at least 3); otherwise every level clusters on its own.
        """
        ks = sorted(int(k) for k in clusters)
        if not ks:
            raise UserError("give at least one cluster count")
        levels = [dataclasses.replace(self.levels[min(i, len(self.levels) - 1)], clusters=k) for i, k in enumerate(ks)]
        if ks[0] != 2 or any(k < 3 for k in ks[1:]):
            levels = [dataclasses.replace(level, in_object=False) for level in levels]
        return dataclasses.replace(self, levels=tuple(levels))

    def with_levels(self, **changes) -> SegmentConfig:
        """Every level with the same ``changes`` (fields of :class:`LevelConfig`, e.g. ``pooled=True``)."""
        return dataclasses.replace(self, levels=tuple(dataclasses.replace(level, **changes) for level in self.levels))

    def at_patch_sides(self, sides: Sequence[int]) -> SegmentConfig:
        """Every level at patch sides ``sides`` (empty: the model's own side), level 1's voxel band at level 1's own
        side (``band_sides`` empty; on intensity it keeps its box side), and local contrast on the embedding, where the config uses it, at the smallest side
        and twice it (``contrast_sides``; none at the model's own side, whose value is not known here). Local contrast
        on intensity alone keeps its box sides: they are the image's, not the model's."""
        sides = tuple(int(p) for p in sides)
        contrast = (self.contrast_sides if not self.contrast_on_embedding else
                    (min(sides), 2 * min(sides)) if sides and self.contrast_sides else ())
        band = self.band_sides if self.band_feature == "intensity" else ()
        return dataclasses.replace(self.with_levels(patch_sides=sides), band_sides=band, contrast_sides=contrast)

    def at_model_side(self) -> SegmentConfig:
        """:meth:`at_patch_sides` at the model's own side: for a model whose side divides none of the recipe's."""
        return self.at_patch_sides(())

    def inverts(self, sides: Sequence[int]) -> bool:
        """Whether the codes at patch ``sides`` are averaged with their point-inverted patches' (``inversion``).

        >>> config = SegmentConfig((LevelConfig(2, patch_sides=(10,)), LevelConfig(4, patch_sides=(5,))), inversion="finer")
        >>> config.inverts((5,)), config.inverts((10,)), config.inverts((3,))
        (True, False, False)
        """
        sides = tuple(int(p) for p in sides)
        if self.inversion == "every":
            return True
        return (self.inversion == "finer" and sides != self.levels[0].patch_sides
                and any(sides == level.patch_sides for level in self.levels[1:]))

    def describe(self) -> str:
        """One line per level (:meth:`LevelConfig.describe`), and one each for the tangent space, level 1's voxel band
        and its object's refinement where they are used."""
        lines = [level.describe() for level in self.levels]
        if self.space == "tangent":
            lines.append("a hyperbolic model's embeddings clustered in the tangent space at the origin")
        if self.inversion != "none":
            lines.append("each patch's code averaged with its point-inverted patch's" if self.inversion == "every" else
                         "the finer levels' codes averaged with their point-inverted patches'")
        if self.banded:
            if self.band_feature == "intensity":
                box = self.band_box if self.band_sides or self.levels[0].patch_sides else "level 1's patch side"
                at = f" by the volume's mean over a box of side {box}"
            else:
                at = f" at patch sides {','.join(map(str, self.band_sides))}" if self.band_sides else ""
            lines.append(f"level 1's voxels within {self.voxel_band} of its clusters' boundary take their nearest centre{at}")
        if self.retries:
            lines.append(f"where level 1's object lies in no field of view, level 1 clustered again with {self.field_retry} "
                         "clusters, the one least on the faces the object")
        if self.contrasts:
            fine, coarse = self.contrast_sides
            which = ("the smaller component the object" if self.contrast_components == 2 else
                     f"of its {self.contrast_components} components the one of strongest local intensity contrast "
                     "besides the largest the object")
            each = ", each voxel in its likeliest component" if self.contrast_likeliest else ""
            intensity = f"the volume's local intensity contrast (box mean at side {fine} minus side {coarse})"
            what = {"intensity": intensity, "embedding": f"its embedding at p = {fine} minus p = {coarse}",
                    "both": f"its embedding at p = {fine} minus p = {coarse} beside {intensity}"}[self.contrast_feature]
            lines.append(f"where that finds none either, level 1 clustered voxel by voxel on {what} "
                         f"by a tied Gaussian mixture{each}, {which}")
            if self.contrast_divides == "specimen" and len(self.levels) > 1 and self.levels[1].in_object:
                lines.append("the finer levels there divide the specimen around that object, which stays one cluster")
        if self.refine and self.contained:
            lines.append(f"the level-1 object's boundary refined by intensity, {self.refine} pass{'es' if self.refine > 1 else ''}")
        if self.contrasts and self.contrast_grow:
            lines.append(f"local contrast's object then grown by {self.contrast_grow} voxel{'s' if self.contrast_grow > 1 else ''}")
        return "\n".join(lines)
