"""The writer: a labels layer as a label map in the formats the command line writes, with its geometry."""

from __future__ import annotations

import numpy as np
import pytest
from napari_plugin.helpers import ORIGIN, SPACING, write_input

from hypseg.io import affine_from_spacing, load_labels, load_volume
from hypseg.napari._layers import layer_geometry
from hypseg.napari._writer import LabelsNotWritten, write_labels

SUFFIXES = (".nii.gz", ".mrc", ".tif", ".npy", ".zarr")


def _labels(shape=(6, 7, 8)):
    return np.random.default_rng(0).integers(0, 5, size=shape).astype(np.int32)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_labels_layer_round_trips_with_its_scale_and_translation(tmp_path, suffix):
    from napari.layers import Labels

    labels = _labels()
    layer = Labels(labels, scale=SPACING, translate=ORIGIN[::-1])
    data, attributes, _ = layer.as_layer_data_tuple()
    [written] = write_labels(tmp_path / f"out{suffix}", data, attributes)
    assert written == str(tmp_path / f"out{suffix}")
    back = load_labels(written)
    np.testing.assert_array_equal(back, labels)
    assert np.issubdtype(back.dtype, np.unsignedinteger) and back.itemsize <= 2  # narrowed, as hypseg segment writes
    if suffix == ".npy":  # a .npy file holds no geometry
        return
    geometry = load_volume(written)
    assert geometry.spacing == SPACING
    if suffix != ".tif":  # an ImageJ TIFF stores the voxel size but no origin
        np.testing.assert_allclose(geometry.affine, affine_from_spacing(SPACING, origin=ORIGIN))


def test_a_rotated_layer_keeps_its_whole_transform(tmp_path):
    from napari.layers import Labels

    layer = Labels(_labels(), scale=(2.0, 1.0, 0.5), translate=(1.0, 2.0, 3.0), rotate=30.0,
                   affine=np.diag([1.0, -1.0, 1.0, 1.0]))
    data, attributes, _ = layer.as_layer_data_tuple()
    [written] = write_labels(tmp_path / "rotated.nii.gz", data, attributes)
    # read back as napari would place it: the same data-to-world transform as the layer's
    geometry = layer_geometry(load_volume(written).affine)
    np.testing.assert_allclose(geometry["affine"], layer._data_to_world.affine_matrix, atol=1e-6)


def test_a_layer_read_from_a_segmentation_keeps_the_inputs_unit(tiny_model, small_image, tmp_path):
    from napari.layers import Labels
    from napari_plugin.helpers import segment_folder

    from hypseg.napari._reader import read_segmentation_folder

    image = write_input(tmp_path, "cell.mrc", small_image)  # MRC: Angstrom
    seg = segment_folder(tiny_model, [image], tmp_path / "seg")
    data, kwargs, _ = next(layer for layer in read_segmentation_folder(str(seg)) if layer[1]["name"] == "k=4")
    layer = Labels(data, **kwargs)
    [written] = write_labels(tmp_path / "edited.tif", *layer.as_layer_data_tuple()[:2])
    saved = load_volume(written)
    assert saved.metadata["unit"] == "angstrom" and saved.spacing == SPACING
    np.testing.assert_array_equal(load_labels(written), load_labels(seg / "cell_k4.mrc"))


def test_napari_saves_a_labels_layer_through_the_plugin(tmp_path):
    from napari.components import ViewerModel

    viewer = ViewerModel()
    viewer.add_labels(_labels(), name="k=4", scale=SPACING)
    written = viewer.layers.save(str(tmp_path / "k4.mrc"), plugin="hypseg")
    assert written == [str(tmp_path / "k4.mrc")]
    assert load_volume(written[0]).spacing == SPACING


@pytest.mark.parametrize(("data", "attributes", "message"), [
    (np.zeros((4, 5), dtype=np.int32), {}, "hypseg writes 3-D label maps (Z, Y, X); this layer has shape (4, 5)"),
    (np.full((2, 3, 4), -1, dtype=np.int32), {}, "labels must not be negative (the smallest is -1)"),
    ([np.zeros((4, 4, 4), dtype=np.int32)], {"multiscale": True},
     "a multiscale labels layer cannot be saved as one label map; save its first level"),
])
def test_layers_hypseg_cannot_write_are_refused_with_one_line(tmp_path, data, attributes, message):
    path = tmp_path / "out.nii.gz"
    with pytest.raises(LabelsNotWritten) as error:  # not a ValueError: napari would drop its message
        write_labels(path, data, attributes)
    assert not isinstance(error.value, ValueError)
    assert str(error.value) == f"{path}: {message}"
    assert not list(tmp_path.iterdir())


def test_an_unknown_suffix_is_named(tmp_path):
    with pytest.raises(LabelsNotWritten, match=r"out\.png: unknown volume format '\.png'"):
        write_labels(tmp_path / "out.png", _labels(), {})


def test_napari_shows_why_a_layer_was_not_written(tmp_path):
    """Through napari's own save, the reason reaches the user (a ValueError would read as "not a valid writer")."""
    from napari.components import ViewerModel

    viewer = ViewerModel()
    viewer.add_labels(np.full((8, 8, 8), -1, dtype=np.int32), name="negative")
    with pytest.raises(LabelsNotWritten, match="labels must not be negative"):
        viewer.layers.save(str(tmp_path / "neg.nii.gz"), plugin="hypseg")
    assert not list(tmp_path.iterdir())
