"""SegmentConfig and its presets: TOML round trips, overrides, one-line errors; clipping training patches."""

from __future__ import annotations

import dataclasses

import pytest

from hypseg.config import (LevelConfig, SegmentConfig, clip_patch_sides, cpu_recipe, dumps_toml, segment_preset,
                           smoke_recipe)
from hypseg.config.recipes import clip_note
from hypseg.errors import UserError


def test_default_preset_is_the_benchmark_recipe_and_paper_the_papers_protocol():
    default = segment_preset("default")
    assert default.levels == (
        LevelConfig(2, patch_sides=(10,), supervoxel_size=500, purity_power=0.0, pooled=False, in_object=True),
        LevelConfig(4, patch_sides=(5,), supervoxel_size=500, purity_power=8.0, pooled=False, in_object=True),
        LevelConfig(8, patch_sides=(5,), supervoxel_size=500, purity_power=8.0, pooled=True, in_object=True),
    )
    paper = segment_preset("paper")
    assert paper.levels == tuple(LevelConfig(k, patch_sides=(5,)) for k in (2, 4, 8))
    assert not paper.contained and all(level.supervoxel_size is None and not level.pooled for level in paper.levels)
    assert default.space == "tangent" and paper.space == "ball"  # the paper clusters with hyperbolic k-means
    assert default.inversion == "finer" and paper.inversion == "none"  # the paper's codes as the encoder gives them
    assert default.describe().splitlines()[-8:] == ["a hyperbolic model's embeddings clustered in the tangent space at the origin",
                                                    "the finer levels' codes averaged with their point-inverted patches'",
                                                    "level 1's voxels within 2 of its clusters' boundary take their nearest centre by "
                                                    "the volume's mean over a box of side 5",
                                                    "where level 1's object lies in no field of view, level 1 clustered again with 3 "
                                                    "clusters, the one least on the faces the object",
                                                    "where that finds none either, level 1 clustered voxel by voxel on the volume's "
                                                    "local intensity contrast (box mean at side 3 minus side 10) by a tied Gaussian "
                                                    "mixture, of its 3 components the one of strongest local intensity contrast "
                                                    "besides the largest the object",
                                                    "the finer levels there divide the specimen around that object, which "
                                                    "stays one cluster",
                                                    "the level-1 object's boundary refined by intensity, 2 passes",
                                                    "local contrast's object then grown by 1 voxel"]
    assert default.field_retry == 3 and paper.field_retry == 0
    assert default.contrast_sides == (3, 10) and paper.contrast_sides == () and default.contrast_components == 3
    assert default.contrast_feature == "intensity"
    assert default.contrast_divides == "specimen" and default.contrast_grow == 1 and default.contrast_assign == "posterior"
    assert len(paper.describe().splitlines()) == 3


def test_a_config_saved_before_the_space_existed_clusters_in_the_ball(tmp_path):
    saved = segment_preset("default").to_dict()
    del saved["space"]
    assert SegmentConfig.from_dict(saved).space == "ball"
    (tmp_path / "old.toml").write_text(dumps_toml(saved))
    assert SegmentConfig.load_toml(tmp_path / "old.toml") == dataclasses.replace(segment_preset("default"), space="ball")


@pytest.mark.parametrize("name", ["default", "paper"])
def test_presets_round_trip_through_toml(tmp_path, name):
    config = dataclasses.replace(segment_preset(name), seed=3, subsample=1000)
    config.save_toml(tmp_path / "seg.toml")
    assert SegmentConfig.load_toml(tmp_path / "seg.toml") == config
    assert SegmentConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "text, message",
    [
        ('space = "ball"\n', "SegmentConfig: missing key 'levels'"),
        ("[[levels]]\npatch_sides = [5]\n", "LevelConfig: missing key 'levels.clusters'"),
    ],
)
def test_a_recipe_file_without_a_required_key_is_a_user_error_naming_file_and_key(tmp_path, text, message):
    path = tmp_path / "partial.toml"
    path.write_text(text)
    with pytest.raises(UserError) as err:
        SegmentConfig.load_toml(path)
    assert str(err.value) == f"{path}: {message}"


def test_an_unknown_preset_is_a_one_line_user_error_naming_the_known_ones():
    with pytest.raises(UserError) as err:
        segment_preset("fast")
    assert str(err.value) == "unknown segmentation recipe 'fast'; choose one of default, paper"


def test_with_clusters_keeps_each_levels_settings_and_containment_only_where_it_fits():
    default = segment_preset("default")
    two = default.with_clusters([3, 2])
    assert two.clusters == [2, 3] and two.levels[0] == default.levels[0]
    assert two.levels[1] == dataclasses.replace(default.levels[1], clusters=3)
    more = default.with_clusters([2, 4, 8, 16])
    assert more.levels[3] == dataclasses.replace(default.levels[2], clusters=16)
    alone = default.with_clusters([3])  # no level of 2 clusters: no object to cluster inside
    assert alone.levels == (dataclasses.replace(default.levels[0], clusters=3, in_object=False),)


def test_with_levels_changes_every_level():
    config = segment_preset("default").with_levels(pooled=True, patch_sides=(8,))
    assert all(level.pooled and level.patch_sides == (8,) for level in config.levels)
    assert [level.purity_power for level in config.levels] == [0.0, 8.0, 8.0]


def test_a_supervoxel_size_of_zero_means_every_voxel():
    assert LevelConfig(2, supervoxel_size=0).supervoxel_size is None


@pytest.mark.parametrize("make, message", [
    (lambda: LevelConfig(4, purity_power=8.0),
     "LevelConfig: a purity power weighs voxels within supervoxels: it needs supervoxels (a size above 0)"),
    (lambda: LevelConfig(1), "a level needs at least 2 clusters, got 1"),
    (lambda: LevelConfig(2, clusterer="gmm"), "LevelConfig: clusterer must be one of kmeans, tied-mixture, got 'gmm'"),
    (lambda: SegmentConfig(levels=(LevelConfig(2), LevelConfig(2, pooled=True))),
     "every level needs its own cluster count, got [2, 2]"),
    (lambda: SegmentConfig(levels=(LevelConfig(3, in_object=True),)),
     "SegmentConfig: containment needs a first level of 2 clusters (the object and its outside), got 3"),
    (lambda: SegmentConfig(levels=(LevelConfig(2), LevelConfig(4, in_object=True)), nested=True),
     "nested levels and containment exclude each other; turn containment off at every level "
     "(--no-containment, or in_object=False)"),
    (lambda: SegmentConfig(levels=(LevelConfig(2), LevelConfig(3)), nested=True),
     "SegmentConfig: nested levels must divide each other, but 3 is not a multiple of 2"),
])
def test_bad_segment_configs_are_one_line_user_errors(make, message):
    with pytest.raises(UserError) as err:
        make()
    assert str(err.value) == message


def test_clipping_leaves_fitting_volumes_alone_and_clips_to_the_smallest_side():
    recipe = cpu_recipe()  # patch sides 5..34
    assert clip_patch_sides(recipe, [(50, 50, 50), (34, 40, 64)]) == recipe
    assert clip_note(recipe, recipe) is None
    clipped = clip_patch_sides(recipe, [(50, 50, 50), (12, 64, 64)])
    assert clipped == dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, patch_max=12.0))
    assert clip_note(recipe, clipped) == ("note: the smallest volume side is 12 voxels, so training patch sides are "
                                          "clipped from 34 to 12")
    wide = dataclasses.replace(recipe, data=dataclasses.replace(recipe.data, patch_min=10.0))
    assert clip_patch_sides(wide, [(8, 8, 8)]).data.patch_min == 8.0


def test_a_volume_below_the_smallest_patch_side_is_a_one_line_error():
    with pytest.raises(UserError) as err:
        clip_patch_sides(smoke_recipe(), [(20, 20, 20), (7, 30, 30)])
    assert str(err.value) == "a volume of shape (7, 30, 30) is too small to train on: every side must be at least 8 voxels"


def test_a_voxel_band_is_described_and_its_bad_values_are_one_line():
    banded = dataclasses.replace(segment_preset("default"), voxel_band=3)
    assert segment_preset("default").voxel_band == 2
    assert ("level 1's voxels within 3 of its clusters' boundary take their nearest centre by the volume's mean over a box "
            "of side 5" in banded.describe().splitlines())
    assert SegmentConfig.from_dict(banded.to_dict()) == banded
    with pytest.raises(UserError, match=r"^SegmentConfig: voxel_band must be >= 0 voxels, got -1$"):
        dataclasses.replace(segment_preset("default"), voxel_band=-1)
    tied = segment_preset("default").with_levels(clusterer="tied-mixture")  # a mixture's clusters are not nearest centres'
    assert segment_preset("default").banded and not tied.banded and not tied.with_levels(in_object=False).banded
    assert not any("voxels within" in line for line in tied.describe().splitlines())
    assert dataclasses.replace(segment_preset("paper"), voxel_band=1).describe() == segment_preset("paper").describe()


def test_band_sides_are_described_kept_in_a_recipe_file_and_refused_below_one():
    on_embedding = dataclasses.replace(segment_preset("default"), band_feature="embedding", band_sides=())
    at5 = dataclasses.replace(on_embedding, band_sides=[5])
    assert at5.band_sides == (5,) and on_embedding.band_sides == ()
    assert ("level 1's voxels within 2 of its clusters' boundary take their nearest centre at patch sides 5"
            in at5.describe().splitlines())
    assert SegmentConfig.from_dict(at5.to_dict()) == at5
    for bad in ((0,), (5.9,), (True,)):
        with pytest.raises(UserError, match=r"^SegmentConfig: band_sides must be whole patch sides >= 1, got \["):
            dataclasses.replace(segment_preset("default"), band_sides=bad)
    assert dataclasses.replace(segment_preset("default"), band_sides=(5.0,)).band_sides == (5,)
    # elsewhere only at sides other than level 1's, and only where there is a band
    assert at5.band_elsewhere and not on_embedding.band_elsewhere and not segment_preset("default").band_elsewhere
    assert not dataclasses.replace(on_embedding, band_sides=(10,)).band_elsewhere
    assert not dataclasses.replace(at5, voxel_band=0).band_elsewhere and not at5.with_levels(in_object=False).band_elsewhere


def test_a_band_on_intensity_is_described_kept_in_a_recipe_file_keeps_its_box_under_new_sides_and_refuses_two():
    default = segment_preset("default")
    assert default.band_on_intensity and default.band_box == 5  # the default's band: the box mean at side 5
    box = dataclasses.replace(default, band_sides=())
    assert box.band_on_intensity and not box.band_elsewhere and box.band_box == 10  # level 1's side
    assert ("level 1's voxels within 2 of its clusters' boundary take their nearest centre by the volume's mean over a box "
            "of side 10" in box.describe().splitlines())
    at3 = dataclasses.replace(box, band_sides=(3,))
    assert at3.band_box == 3 and not at3.band_elsewhere  # no embedding at 3 is asked for
    assert SegmentConfig.from_dict(at3.to_dict()) == at3
    assert at3.at_patch_sides([4]).band_sides == (3,) and at3.at_model_side().band_sides == (3,)  # the image's side
    assert not dataclasses.replace(box, voxel_band=0).band_on_intensity and not box.with_levels(in_object=False).band_on_intensity
    with pytest.raises(UserError, match=r"^SegmentConfig: the voxel band on intensity takes one box side, got \[3, 5\]$"):
        dataclasses.replace(box, band_sides=(3, 5))
    with pytest.raises(UserError, match=r"^SegmentConfig: band_feature must be one of embedding, intensity, got 'mean'$"):
        dataclasses.replace(default, band_feature="mean")
    saved = box.to_dict()  # a recipe file from before the setting held no box side; its band decided by the embedding
    del saved["band_feature"]
    assert SegmentConfig.from_dict(saved) == dataclasses.replace(box, band_feature="embedding")
    with pytest.raises(ValueError, match=r"^level 1's patch sides are not resolved"):
        box.at_model_side().band_box


def test_a_second_try_of_level_1_is_described_kept_in_a_recipe_file_and_refused_below_three_clusters():
    retry = segment_preset("default")
    assert retry.retries and not dataclasses.replace(retry, field_retry=0).retries
    assert ("where level 1's object lies in no field of view, level 1 clustered again with 3 clusters, the one least on "
            "the faces the object" in retry.describe().splitlines())
    assert SegmentConfig.from_dict(retry.to_dict()) == retry
    for bad in (1, 2, -1, 3.5, True):
        with pytest.raises(UserError, match=r"^SegmentConfig: field_retry must be 0 \(no second try\) or a whole number "
                                            r"of clusters >= 3, got "):
            dataclasses.replace(segment_preset("default"), field_retry=bad)
    # only where level 1 has an object to find: containment, and k-means' clusters
    assert not retry.with_levels(in_object=False).retries and not retry.with_levels(clusterer="tied-mixture").retries
    assert (retry.with_levels(in_object=False).describe()
            == dataclasses.replace(retry, field_retry=0).with_levels(in_object=False).describe())
    saved = retry.to_dict()  # a recipe file written before the second try existed has none
    del saved["field_retry"]
    assert SegmentConfig.from_dict(saved) == dataclasses.replace(retry, field_retry=0)


def test_level_1_by_local_contrast_is_described_kept_and_checked():
    contrast = dataclasses.replace(segment_preset("default"), contrast_sides=(5, 10), contrast_components=2,
                                   contrast_feature="embedding")
    assert contrast.contrasts and not dataclasses.replace(contrast, field_retry=0).contrasts  # only after a second try
    assert ("where that finds none either, level 1 clustered voxel by voxel on its embedding at p = 5 minus p = 10 by a "
            "tied Gaussian mixture, the smaller component the object" in contrast.describe().splitlines())
    assert SegmentConfig.from_dict(contrast.to_dict()) == contrast
    for bad in ((5,), (5, 5), (0, 10), (5, 10, 15), (5.5, 10)):
        with pytest.raises(UserError, match=r"^SegmentConfig: contrast_sides must be empty or two different whole patch "
                                            r"sides >= 1, got "):
            dataclasses.replace(contrast, contrast_sides=bad)
    saved = contrast.to_dict()  # a recipe file written before the setting existed has none
    del saved["contrast_sides"]
    assert SegmentConfig.from_dict(saved) == dataclasses.replace(contrast, contrast_sides=())


def test_local_contrasts_components_are_described_kept_and_checked():
    three = dataclasses.replace(segment_preset("default"), contrast_sides=(5, 10), contrast_components=3,
                                contrast_feature="embedding")
    assert ("where that finds none either, level 1 clustered voxel by voxel on its embedding at p = 5 minus p = 10 by a "
            "tied Gaussian mixture, of its 3 components the one of strongest local intensity contrast besides the largest "
            "the object" in three.describe().splitlines())
    assert SegmentConfig.from_dict(three.to_dict()) == three
    for bad in (1, 0, 2.5, True):
        with pytest.raises(UserError, match=r"^SegmentConfig: contrast_components must be a whole number of mixture "
                                            r"components >= 2, got "):
            dataclasses.replace(three, contrast_components=bad)
    saved = three.to_dict()  # a recipe file written before the setting existed: two components, the smaller the object
    del saved["contrast_components"]
    assert SegmentConfig.from_dict(saved) == dataclasses.replace(three, contrast_components=2)


def test_what_the_finer_levels_divide_is_described_kept_and_checked():
    specimen = dataclasses.replace(segment_preset("default"), contrast_sides=(5, 10), contrast_divides="specimen")
    lines = specimen.describe().splitlines()
    assert "the finer levels there divide the specimen around that object, which stays one cluster" in lines
    assert not any("specimen" in line for line in dataclasses.replace(specimen, contrast_divides="object").describe().splitlines())
    assert SegmentConfig.from_dict(specimen.to_dict()) == specimen
    with pytest.raises(UserError, match=r"^SegmentConfig: contrast_divides must be one of object, specimen, got 'bulk'$"):
        dataclasses.replace(specimen, contrast_divides="bulk")
    saved = specimen.to_dict()  # a recipe file written before the setting existed: the object divided
    del saved["contrast_divides"]
    assert SegmentConfig.from_dict(saved) == dataclasses.replace(specimen, contrast_divides="object")


def test_how_local_contrast_assigns_a_voxel_is_described_kept_and_checked():
    likely = dataclasses.replace(segment_preset("default"), contrast_sides=(5, 10), contrast_assign="likelihood")
    assert any("tied Gaussian mixture, each voxel in its likeliest component" in line for line in likely.describe().splitlines())
    assert not any("likeliest" in line for line in dataclasses.replace(likely, contrast_assign="posterior").describe().splitlines())
    assert SegmentConfig.from_dict(likely.to_dict()) == likely
    with pytest.raises(UserError, match=r"^SegmentConfig: contrast_assign must be one of posterior, likelihood, got 'map'$"):
        dataclasses.replace(likely, contrast_assign="map")
    saved = likely.to_dict()  # a recipe file written before the setting existed: the posterior
    del saved["contrast_assign"]
    assert SegmentConfig.from_dict(saved) == dataclasses.replace(likely, contrast_assign="posterior")


def test_local_contrasts_growth_is_described_kept_and_checked():
    grown = dataclasses.replace(segment_preset("default"), contrast_sides=(5, 10), contrast_grow=2)
    assert grown.describe().splitlines()[-1] == "local contrast's object then grown by 2 voxels"
    assert not any("grown" in line for line in dataclasses.replace(grown, contrast_grow=0).describe().splitlines())
    assert SegmentConfig.from_dict(grown.to_dict()) == grown
    for bad in (-1, 1.5, True):
        with pytest.raises(UserError, match=r"^SegmentConfig: contrast_grow must be a whole number of voxels >= 0, got "):
            dataclasses.replace(grown, contrast_grow=bad)
    saved = grown.to_dict()  # a recipe file written before the setting existed: not grown
    del saved["contrast_grow"]
    assert SegmentConfig.from_dict(saved) == dataclasses.replace(grown, contrast_grow=0)


def test_what_local_contrast_is_fitted_on_is_described_kept_and_checked():
    default = segment_preset("default")
    assert default.contrast_feature == "intensity" and default.contrast_sides == (3, 10)
    embedding = dataclasses.replace(default, contrast_feature="embedding", contrast_sides=(5, 10))
    by_intensity = dataclasses.replace(embedding, contrast_feature="intensity")
    assert any("voxel by voxel on the volume's local intensity contrast (box mean at side 5 minus side 10) by a tied" in line
               for line in by_intensity.describe().splitlines())
    assert any("voxel by voxel on its embedding at p = 5 minus p = 10 by a tied" in line for line in embedding.describe().splitlines())
    assert any("on its embedding at p = 5 minus p = 10 beside the volume's local intensity contrast (box mean at side 5" in line
               for line in dataclasses.replace(embedding, contrast_feature="both").describe().splitlines())
    assert SegmentConfig.from_dict(by_intensity.to_dict()) == by_intensity
    with pytest.raises(UserError, match=r"^SegmentConfig: contrast_feature must be one of embedding, intensity, both, got 'mean'$"):
        dataclasses.replace(by_intensity, contrast_feature="mean")
    saved = by_intensity.to_dict()  # a recipe file written before the setting existed: the embedding
    del saved["contrast_feature"]
    assert SegmentConfig.from_dict(saved) == embedding


def test_patch_sides_move_the_band_and_local_contrast_with_them():
    by_intensity = segment_preset("default")  # local contrast on the image's box means keeps its sides
    assert by_intensity.at_patch_sides([4, 8]).contrast_sides == by_intensity.at_model_side().contrast_sides == (3, 10)
    assert dataclasses.replace(by_intensity, contrast_feature="both").at_patch_sides([4, 8]).contrast_sides == (4, 8)
    assert dataclasses.replace(by_intensity, contrast_sides=()).at_patch_sides([4, 8]).contrast_sides == ()
    default = dataclasses.replace(by_intensity, band_sides=(5,), band_feature="embedding", contrast_feature="embedding",
                                  contrast_sides=(5, 10))
    four = default.at_patch_sides([4, 8])
    assert [level.patch_sides for level in four.levels] == [(4, 8)] * 3
    assert four.band_sides == () and four.contrast_sides == (4, 8)  # the band at level 1's side; contrast at 4 and 8
    assert default.at_model_side() == dataclasses.replace(four.with_levels(patch_sides=()), contrast_sides=())
    off = dataclasses.replace(default, contrast_sides=())
    assert off.at_patch_sides([4]).contrast_sides == ()  # a recipe without local contrast keeps none
