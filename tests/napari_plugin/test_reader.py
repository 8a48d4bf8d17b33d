"""The reader: a ``hypseg segment`` folder as napari layers, with the input's geometry and the tree."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from napari_plugin.helpers import ORIGIN, SPACING, segment_folder, write_input

from hypseg.errors import UserError
from hypseg.io import load_labels
from hypseg.napari._reader import MANIFEST, napari_get_reader, parent_clusters, read_segmentation_folder


@pytest.fixture(scope="module")
def mrc_segmentation(tiny_model, small_image, tmp_path_factory):
    """One MRC volume (voxel size and origin), segmented at k = 2, 4 with containment."""
    root = tmp_path_factory.mktemp("mrc")
    image = write_input(root, "cell.mrc", small_image)
    return segment_folder(tiny_model, [image], root / "seg")


def _by_name(layers):
    return {kwargs["name"]: (data, kwargs, kind) for data, kwargs, kind in layers}


def test_the_manifest_name_is_the_pipelines():
    from hypseg.inference.pipeline import MANIFEST as written

    assert MANIFEST == written


def test_a_segment_folder_opens_as_the_image_and_one_labels_layer_per_level(mrc_segmentation, small_image):
    layers = _by_name(napari_get_reader(str(mrc_segmentation))(str(mrc_segmentation)))
    assert list(layers) == ["cell", "k=2", "k=4", "object"]
    assert [kind for _, _, kind in layers.values()] == ["image", "labels", "labels", "labels"]
    np.testing.assert_allclose(layers["cell"][0], small_image)
    for name, (data, kwargs, _) in layers.items():
        assert data.shape == small_image.shape
        assert kwargs["scale"] == SPACING  # (dz, dy, dx)
        assert kwargs["translate"] == ORIGIN[::-1]  # the origin (x, y, z) in array order
        assert kwargs["units"] == ("angstrom",) * 3 and kwargs["axis_labels"] == ("z", "y", "x")  # MRC's unit
    for k in (2, 4):
        data, kwargs, _ = layers[f"k={k}"]
        np.testing.assert_array_equal(data, load_labels(mrc_segmentation / f"cell_k{k}.mrc"))
        assert kwargs["metadata"]["hypseg"]["clusters"] == k and kwargs["metadata"]["hypseg"]["unit"] == "angstrom"
        assert kwargs["colormap"][0] == (0.0, 0.0, 0.0, 0.0)  # containment: label 0 is the outside, left transparent
    assert [kwargs["visible"] for _, kwargs, _ in layers.values() if "visible" in kwargs] == [False, True, False]


def test_the_reader_takes_the_manifest_file_and_declines_other_paths(mrc_segmentation, tmp_path):
    assert napari_get_reader([str(mrc_segmentation / MANIFEST)]) is read_segmentation_folder
    assert napari_get_reader(str(tmp_path)) is None
    assert napari_get_reader(str(mrc_segmentation / "cell_k2.mrc")) is None
    assert napari_get_reader([str(mrc_segmentation), str(tmp_path)]) is None
    with pytest.raises(UserError, match=f"^{tmp_path}: not a hypseg segmentation folder \\(segmentation.json is missing\\)$"):
        read_segmentation_folder(str(tmp_path))


def test_a_missing_label_map_is_named(mrc_segmentation, tmp_path):
    broken = shutil.copytree(mrc_segmentation, tmp_path / "seg")
    (broken / "cell_k4.mrc").unlink()
    with pytest.raises(UserError, match=f"^{broken / 'cell_k4.mrc'}: label map listed in {broken / MANIFEST} is missing$"):
        read_segmentation_folder(str(broken))


def test_labels_keep_their_geometry_when_the_input_has_moved(mrc_segmentation, tmp_path):
    moved = shutil.copytree(mrc_segmentation, tmp_path / "seg")
    manifest = json.loads((moved / MANIFEST).read_text())
    manifest["cases"][0]["image"] = str(tmp_path / "gone.mrc")
    (moved / MANIFEST).write_text(json.dumps(manifest))
    layers = _by_name(read_segmentation_folder(str(moved)))
    assert list(layers) == ["k=2", "k=4", "object"]
    assert layers["k=4"][1]["scale"] == SPACING and layers["k=4"][1]["translate"] == ORIGIN[::-1]


def test_an_oblique_nifti_is_placed_by_its_affine_and_several_cases_are_prefixed(tiny_model, small_image, tmp_path):
    oblique = np.array([[0.0, 0.0, 2.0, 5.0], [0.0, 1.5, 0.0, 6.0], [-0.5, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 1.0]])
    first = write_input(tmp_path, "a.nii.gz", small_image, affine=oblique)
    second = write_input(tmp_path, "b.nii.gz", small_image[::-1].copy())
    seg = segment_folder(tiny_model, [first, second], tmp_path / "seg")
    layers = _by_name(read_segmentation_folder(str(seg)))
    assert list(layers) == ["a", "a k=2", "a k=4", "a object", "b", "b k=2", "b k=4", "b object"]
    # napari's transform acts on the index (z, y, x) and gives world (z, y, x): hypseg's, axes reversed
    expected = oblique[[2, 1, 0, 3]][:, [2, 1, 0, 3]]
    for name in ("a", "a k=2", "a object"):
        assert set(layers[name][1]) >= {"affine"} and not {"scale", "translate"} & set(layers[name][1])
        np.testing.assert_allclose(layers[name][1]["affine"], expected)
    assert layers["b k=2"][1]["scale"] == SPACING


def test_a_zarr_segmentation_opens_with_its_image(tiny_model, small_image, tmp_path):
    image = write_input(tmp_path, "cell.zarr", small_image)  # a folder, as are its label maps
    folder = segment_folder(tiny_model, [image], tmp_path / "seg")
    layers = _by_name(read_segmentation_folder(str(folder)))
    assert list(layers) == ["cell", "k=2", "k=4", "object"]
    np.testing.assert_allclose(layers["cell"][0], small_image)
    np.testing.assert_array_equal(layers["k=4"][0], load_labels(folder / "cell_k4.zarr"))
    assert all(kwargs["scale"] == SPACING for _, kwargs, _ in layers.values())


def test_a_channel_of_a_4d_input_is_segmented_recorded_and_shown(tiny_model, small_image, tmp_path):
    from hypseg.config import segment_preset
    from hypseg.inference.pipeline import segment_files

    stack = np.stack([np.flip(small_image, axis=0), small_image], axis=-1)  # Z, Y, X, C
    np.save(tmp_path / "two.npy", stack)
    np.save(tmp_path / "one.npy", small_image)
    config = segment_preset("paper").with_clusters([2, 3]).with_levels(patch_sides=(10,))
    manifest = segment_files([tmp_path / "two.npy"], model_dir=tiny_model, out=tmp_path / "seg", config=config,
                             channel=1)
    segment_files([tmp_path / "one.npy"], model_dir=tiny_model, out=tmp_path / "alone", config=config)
    assert manifest["cases"][0]["channel"] == 1 and "channel_axis" not in manifest["cases"][0]
    for k in (2, 3):
        np.testing.assert_array_equal(np.load(tmp_path / "seg" / f"two_k{k}.npy"), np.load(tmp_path / "alone" / f"one_k{k}.npy"))
    layers = _by_name(read_segmentation_folder(str(tmp_path / "seg")))
    np.testing.assert_allclose(layers["two"][0], small_image)


def test_nested_levels_carry_each_clusters_parent(tiny_model, small_image, tmp_path):
    image = write_input(tmp_path, "cell.tif", small_image)
    seg = segment_folder(tiny_model, [image], tmp_path / "seg", clusters=(2, 4, 8), nested=True, containment=False)
    layers = _by_name(read_segmentation_folder(str(seg)))
    assert list(layers) == ["cell", "k=2", "k=4", "k=8"]
    assert "features" not in layers["k=2"][1]
    assert layers["k=2"][1]["colormap"][0][3] == 1.0  # no containment: cluster 0 is drawn like any other
    for k, parent_k in ((4, 2), (8, 4)):
        child, kwargs, _ = layers[f"k={k}"]
        parent = layers[f"k={parent_k}"][0]
        table = kwargs["features"]
        assert table["index"] == sorted(np.unique(child).tolist())
        for c, p in zip(table["index"], table[f"parent (k={parent_k})"]):
            assert set(np.unique(parent[child == c]).tolist()) == {p}  # every voxel of the child lies in its parent
        assert kwargs["metadata"]["hypseg"]["parent"]["clusters"] == parent_k


def test_parent_clusters_takes_the_parent_holding_most_of_each_child():
    child = np.array([0, 0, 0, 1, 1, 3]).reshape(1, 2, 3)
    parent = np.array([1, 1, 0, 0, 0, 2]).reshape(1, 2, 3)
    assert parent_clusters(child, parent) == {0: 1, 1: 0, 3: 2}


def test_napari_opens_the_folder_through_the_plugin(mrc_segmentation, small_image):
    from napari.components import ViewerModel

    viewer = ViewerModel()
    viewer.open(str(mrc_segmentation / MANIFEST), plugin=None)  # the manifest file: hypseg is its only reader
    assert [layer.name for layer in viewer.layers] == ["cell", "k=2", "k=4", "object"]
    viewer.open(str(mrc_segmentation), plugin="hypseg")  # the folder: napari's builtins claim folders too
    assert len(viewer.layers) == 8
    for layer in viewer.layers:
        np.testing.assert_allclose(layer.scale, SPACING)
        np.testing.assert_allclose(layer.translate, ORIGIN[::-1])
        assert tuple(layer.axis_labels) == ("z", "y", "x") and [str(u) for u in layer.units] == ["angstrom"] * 3
        assert layer.data.shape == small_image.shape
    assert viewer.layers["k=4"].colormap.map(np.array([1]))[0, 3] == 1.0


def test_a_folder_saved_from_python_with_a_volume_made_in_memory_opens_with_that_image(tiny_model, small_image, tmp_path,
                                                                                      monkeypatch):
    import hypseg
    from hypseg.io import Volume

    result = hypseg.segment(small_image, hypseg.load_model(tiny_model), recipe="default")
    hypseg.save_labels(result, tmp_path / "seg", like=Volume.from_array(small_image, spacing=(2.0, 1.0, 1.0)))
    monkeypatch.chdir("/")  # the image is named relative to the folder, wherever napari runs
    layers = _by_name(read_segmentation_folder(str(tmp_path / "seg")))
    assert list(layers) == ["volume0", "k=2", "k=4", "k=8", "object"]
    np.testing.assert_allclose(layers["volume0"][0], small_image)
    assert all(kwargs["scale"] == (2.0, 1.0, 1.0) for _, kwargs, _ in layers.values())
    for k in (2, 4, 8):
        np.testing.assert_array_equal(layers[f"k={k}"][0], result.volumes[0].labels[k])


def test_finer_levels_that_divided_the_specimen_draw_their_label_0(mrc_segmentation, tmp_path):
    """Where local contrast found level 1's object and the finer levels divided the specimen around it
    (``contrast_divides = "specimen"``), their label 0 is a cluster of the specimen and is drawn; level 1's stays the
    transparent outside."""
    folder = tmp_path / "seg"
    shutil.copytree(mrc_segmentation, folder)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert "finer_levels_divide" not in manifest["cases"][0]  # this volume's level 1 is no local contrast's
    manifest["cases"][0]["level1_by_contrast"] = True
    manifest["cases"][0]["finer_levels_divide"] = "specimen"  # as hypseg segment records it
    (folder / MANIFEST).write_text(json.dumps(manifest))
    layers = _by_name(read_segmentation_folder(str(folder)))
    assert layers["k=2"][1]["colormap"][0] == (0.0, 0.0, 0.0, 0.0) and layers["k=4"][1]["colormap"][0][3] == 1.0
