"""OME metadata: the voxel size and origin of OME-Zarr (NGFF) images and the voxel size of OME-TIFF files."""

from __future__ import annotations

import re

import numpy as np
import pytest
import tifffile
import zarr

from hypseg.io import affine_from_spacing, load_volume, save_volume

SPACE = [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]


def _ngff(path, data, *, axes, transforms, version="0.4", extra=None, lower=True):
    """An OME-Zarr image at ``path``: ``data`` as dataset ``s0`` and, when ``lower``, a half-size ``s1`` after it."""
    group = zarr.open_group(str(path), mode="w", zarr_format=2 if version == "0.4" else 3)
    full = group.create_array("s0", shape=data.shape, dtype=data.dtype, chunks=tuple(min(4, n) for n in data.shape))
    full[...] = data
    datasets = [{"path": "s0", "coordinateTransformations": transforms}]
    if lower:
        half = data[..., ::2, ::2]
        group.create_array("s1", shape=half.shape, dtype=data.dtype)[...] = half
        datasets.append({"path": "s1", "coordinateTransformations": [{"type": "scale", "scale": [9.0] * data.ndim}]})
    multiscale = {"axes": axes, "datasets": datasets, **(extra or {})}
    if version == "0.4":
        group.attrs["multiscales"] = [{"version": "0.4", **multiscale}]
    else:
        group.attrs["ome"] = {"version": version, "multiscales": [multiscale]}
    return path


def _world(affine, index_xyz):
    return (np.asarray(affine) @ np.append(np.asarray(index_xyz, dtype=np.float64), 1.0))[:3]


@pytest.mark.parametrize("lazy", [False, True])
def test_ngff_scale_and_translation_become_spacing_and_origin(tmp_path, lazy):
    data = np.random.default_rng(0).normal(size=(6, 8, 10)).astype(np.float32)
    transforms = [{"type": "scale", "scale": [2.0, 1.5, 1.5]}, {"type": "translation", "translation": [10.0, 20.0, 30.0]}]
    vol = load_volume(_ngff(tmp_path / "img.zarr", data, axes=SPACE, transforms=transforms), lazy=lazy)
    np.testing.assert_array_equal(np.asarray(vol.array[...]), data)  # the first dataset: the full resolution
    assert vol.spacing == (2.0, 1.5, 1.5) and vol.metadata["unit"] == "micron"
    np.testing.assert_array_equal(vol.affine, affine_from_spacing((2.0, 1.5, 1.5), origin=(30.0, 20.0, 10.0)))
    # voxel (z, y, x) = (5, 7, 9) lies at translation + scale * index in NGFF's (z, y, x) world order
    np.testing.assert_allclose(_world(vol.affine, (9, 7, 5))[::-1], [10.0 + 2.0 * 5, 20.0 + 1.5 * 7, 30.0 + 1.5 * 9])
    back = load_volume(save_volume(vol, tmp_path / "copy.nii.gz"))  # the geometry travels to other formats
    np.testing.assert_allclose(back.affine, vol.affine)
    assert back.metadata["unit"] == "micron"


def test_an_ngff_axis_without_a_unit_takes_the_others(tmp_path):
    data = np.random.default_rng(2).normal(size=(6, 8, 10)).astype(np.float32)
    axes = [{"name": "z", "type": "space"}] + SPACE[1:]  # z's unit unstated, y and x in micrometres
    vol = load_volume(_ngff(tmp_path / "img.zarr", data, axes=axes, transforms=[{"type": "scale", "scale": [2.0, 1.5, 1.5]}]))
    assert vol.spacing == (2.0, 1.5, 1.5) and vol.metadata["unit"] == "micron"


def test_ngff_05_with_time_and_channel_axes_and_a_multiscale_transform(tmp_path):
    data = np.random.default_rng(1).normal(size=(1, 3, 6, 8, 10)).astype(np.float32)  # (t, c, z, y, x)
    axes = [{"name": "t", "type": "time", "unit": "second"}, {"name": "c", "type": "channel"}]
    axes += [{"name": "z", "type": "space", "unit": "nanometer"}] + SPACE[1:]  # z in nm, y and x in um
    transforms = [{"type": "scale", "scale": [1.0, 1.0, 500.0, 0.25, 0.25]}, {"type": "translation", "translation": [0, 0, 100.0, 1.0, 2.0]}]
    extra = {"coordinateTransformations": [{"type": "scale", "scale": [5.0, 1.0, 2.0, 2.0, 2.0]}]}  # after the dataset's
    path = _ngff(tmp_path / "img.zarr", data, axes=axes, transforms=transforms, version="0.5", extra=extra)
    message = f"{path}: is 4-D with 3 channels (axis 0 of shape (3, 6, 8, 10)); choose one with channel=0..2 (--channel from the command line)"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        load_volume(path)
    for lazy in (False, True):
        vol = load_volume(path, channel=2, lazy=lazy)
        np.testing.assert_array_equal(np.asarray(vol.array[...]), data[0, 2])
        np.testing.assert_allclose(vol.spacing, (1.0, 0.5, 0.5))  # 2 * 500 nm along z, in um like y and x
        np.testing.assert_allclose(vol.affine, affine_from_spacing((1.0, 0.5, 0.5), origin=(4.0, 2.0, 0.2)))
        assert vol.metadata["unit"] == "micron"


def test_hypseg_attributes_take_precedence_over_ngff(tmp_path):
    data = np.random.default_rng(2).normal(size=(6, 8, 10)).astype(np.float32)
    transforms = [{"type": "scale", "scale": [2.0, 1.5, 1.5]}, {"type": "translation", "translation": [10.0, 20.0, 30.0]}]
    path = _ngff(tmp_path / "img.zarr", data, axes=SPACE, transforms=transforms, lower=False)
    zarr.open_array(str(path / "s0"), mode="r+").attrs.update({"spacing": [3.0, 1.0, 0.5]})
    vol = load_volume(path)
    assert vol.spacing == (3.0, 1.0, 0.5)
    np.testing.assert_array_equal(vol.affine, affine_from_spacing((3.0, 1.0, 0.5), origin=(30.0, 20.0, 10.0)))
    mine = affine_from_spacing((4.0, 4.0, 4.0), origin=(1.0, 2.0, 3.0))
    zarr.open_array(str(path / "s0"), mode="r+").attrs.update({"affine": mine.tolist(), "unit": "mm"})
    vol = load_volume(path)
    np.testing.assert_array_equal(vol.affine, mine)
    assert vol.metadata["unit"] == "mm"


def test_ngff_transformations_hypseg_cannot_follow_are_one_line_errors(tmp_path):
    data = np.ones((2, 4, 4, 4), np.float32)
    axes = [{"name": "t", "type": "time"}, *SPACE]
    path = _ngff(tmp_path / "a.zarr", np.ones((4, 4, 4), np.float32), axes=SPACE, transforms=[{"type": "scale", "scale": [1.0, 2.0]}])
    with pytest.raises(ValueError, match="^" + re.escape(f"{path}: cannot read as zarr: its OME-NGFF scale has 2 values for 3 axes") + "$"):
        load_volume(path)
    path = _ngff(tmp_path / "b.zarr", data, axes=axes, transforms=[{"type": "scale", "path": "scale.bin"}])
    expected = f"{path}: cannot read as zarr: its OME-NGFF scale is stored apart (path 'scale.bin'); hypseg reads it inline only"
    with pytest.raises(ValueError, match="^" + re.escape(expected) + "$"):
        load_volume(path)
    five = np.ones((2, 3, 4, 4, 4), np.float32)
    path = _ngff(tmp_path / "c.zarr", five, axes=[axes[0], {"name": "c", "type": "channel"}, *SPACE], transforms=[])
    expected = f"{path}: cannot read as zarr: has more than one non-space axis of more than one point (t of 2, c of 3); hypseg reads one 3-D volume"
    with pytest.raises(ValueError, match="^" + re.escape(expected) + "$"):
        load_volume(path)


def test_ome_tiff_physical_size_is_the_spacing(tmp_path):
    data = np.random.default_rng(3).normal(size=(5, 6, 7)).astype(np.float32)
    sizes = {"PhysicalSizeX": 0.5, "PhysicalSizeY": 0.25, "PhysicalSizeZ": 2.0}
    tifffile.imwrite(tmp_path / "a.ome.tif", data, ome=True, metadata={"axes": "ZYX", **sizes})
    vol = load_volume(tmp_path / "a.ome.tif")
    np.testing.assert_array_equal(vol.array, data)
    assert vol.spacing == (2.0, 0.25, 0.5) and vol.metadata["unit"] == "micron"  # OME's default, µm
    np.testing.assert_array_equal(vol.affine, affine_from_spacing((2.0, 0.25, 0.5)))
    back = load_volume(save_volume(vol, tmp_path / "copy.tif"))  # ImageJ keeps it
    assert back.spacing == pytest.approx(vol.spacing) and back.metadata["unit"] == "micron"
    tifffile.imwrite(tmp_path / "b.ome.tif", data, ome=True, metadata={"axes": "ZYX", **sizes, "PhysicalSizeZ": 1500, "PhysicalSizeZUnit": "nm"})
    assert load_volume(tmp_path / "b.ome.tif").spacing == pytest.approx((1.5, 0.25, 0.5))
    stacked = np.random.default_rng(4).normal(size=(2, 5, 6, 7)).astype(np.float32)
    tifffile.imwrite(tmp_path / "c.ome.tif", stacked, ome=True, metadata={"axes": "CZYX", **sizes})
    vol = load_volume(tmp_path / "c.ome.tif", channel=1)
    np.testing.assert_array_equal(vol.array, stacked[1])
    assert vol.spacing == (2.0, 0.25, 0.5)


def test_ome_tiff_units_that_cannot_be_brought_together_are_an_error(tmp_path):
    data = np.random.default_rng(5).normal(size=(5, 6, 7)).astype(np.float32)
    meta = {"axes": "ZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5, "PhysicalSizeZ": 2.0, "PhysicalSizeZUnit": "ly"}
    tifffile.imwrite(tmp_path / "a.ome.tif", data, ome=True, metadata=meta)
    expected = f"{tmp_path / 'a.ome.tif'}: cannot read as tiff: its axes have lengths in units ly, micron, micron, and ly cannot be converted"
    with pytest.raises(ValueError, match="^" + re.escape(expected) + "$"):
        load_volume(tmp_path / "a.ome.tif")
