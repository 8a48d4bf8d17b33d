"""Bad input: one clear line naming the file and the problem."""

from __future__ import annotations

import re

import nibabel as nib
import numpy as np
import pytest

from hypseg.io import Volume, load_labels, load_volume, save_labels
from hypseg.io.read import volume_shape


def _msg(path, text):
    return "^" + re.escape(f"{path}: {text}") + "$"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.nii.gz"
    with pytest.raises(FileNotFoundError, match=_msg(path, "no such file")):
        load_volume(path)


def test_unknown_extension(tmp_path):
    path = tmp_path / "v.dcm"
    path.write_bytes(b"x")
    expected = "unknown volume format '.dcm'; expected one of .nii, .nii.gz, .mrc, .rec, .map, .tif, .tiff, .npy, .npz, .zarr"
    with pytest.raises(ValueError, match=_msg(path, expected)):
        load_volume(path)


@pytest.mark.parametrize(
    "name, fmt",
    [("v.nii.gz", "nifti"), ("v.nii", "nifti"), ("v.mrc", "mrc"), ("v.tif", "tiff"), ("v.npy", "npy"), ("v.npz", "npz")],
)
def test_corrupt_file(tmp_path, name, fmt):
    path = tmp_path / name
    path.write_bytes(b"this is not a volume file at all" * 3)
    with pytest.raises(ValueError, match="^" + re.escape(f"{path}: cannot read as {fmt}: ")) as info:
        load_volume(path)
    assert "\n" not in str(info.value)


def test_truncated_nifti(tmp_path):
    path = tmp_path / "t.nii"
    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.float32), np.eye(4)), str(path))
    path.write_bytes(path.read_bytes()[:600])
    with pytest.raises(ValueError, match="^" + re.escape(f"{path}: cannot read as nifti: ")):
        np.asarray(load_volume(path, mmap=False).array)


@pytest.mark.parametrize("dtype, offset, spread", [(np.float64, 1e9, 3.0), (np.int64, 10**12, 200)])
def test_values_that_float32_would_flatten_are_refused(tmp_path, dtype, offset, spread):
    """hypseg works in float32: a narrow range far from zero would read as (nearly) one value."""
    path = tmp_path / "offset.npy"
    values = np.linspace(0, spread, 8 * 8 * 8).reshape(8, 8, 8)
    np.save(path, (offset + values).astype(dtype))
    size = float(offset + spread)
    expected = (f"its values span only {float(spread):g} at a size of {size:g}, too little for float32 (the type hypseg works "
                "in, 24 bits); subtract an offset (e.g. the volume's mean) and save it again")
    with pytest.raises(ValueError, match=_msg(path, expected)):
        load_volume(path)
    np.save(path, (values * 1e4 + 1e6).astype(dtype))  # 30,000 float32 steps: kept
    assert np.ptp(np.asarray(load_volume(path).array)) == pytest.approx(spread * 1e4, rel=1e-3)


@pytest.mark.parametrize("scale, expected", [
    (1e39, "its values reach 5e+39, beyond float32's largest 3.4e+38 (the type hypseg works in); scale them down and save it again"),
    (1e-46, "its values span only 4e-46 at a size of 5e-46, too little for float32 (the type hypseg works in, 24 bits); "
            "scale them up and save it again"),
])
def test_values_beyond_float32s_range_are_refused_with_the_remedy(tmp_path, scale, expected):
    path = tmp_path / "far.npy"
    np.save(path, np.linspace(1.0, 5.0, 512).reshape(8, 8, 8) * scale)
    with pytest.raises(ValueError, match=_msg(path, expected)):
        load_volume(path)


def test_two_d_image(tmp_path):
    path = tmp_path / "slice.npy"
    np.save(path, np.random.default_rng(0).normal(size=(16, 16)))
    with pytest.raises(ValueError, match=_msg(path, "is a 2-D image (shape (16, 16)); hypseg needs a 3-D volume")):
        load_volume(path)
    single = tmp_path / "single.nii.gz"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).normal(size=(16, 16, 1)).astype(np.float32), np.eye(4)), str(single))
    with pytest.raises(ValueError, match=_msg(single, "is a 2-D image (shape (1, 16, 16)); hypseg needs a 3-D volume")):
        load_volume(single)
    thin = tmp_path / "thin.npy"  # 4-D, but only two axes longer than one: not a volume with channels
    np.save(thin, np.random.default_rng(0).normal(size=(1, 1, 16, 16)))
    with pytest.raises(ValueError, match=_msg(thin, "is a 2-D image (shape (1, 1, 16, 16)); hypseg needs a 3-D volume")):
        load_volume(thin)


@pytest.mark.parametrize("shape", [(0, 10, 10), (0, 0, 0), (10, 0, 10), (0, 6, 7, 8), (5, 6, 7, 0)])
def test_empty_array(tmp_path, shape):
    path = tmp_path / "empty.npy"
    np.save(path, np.zeros(shape, np.float32))
    expected = _msg(path, f"is empty (shape {shape}); hypseg needs a 3-D volume")
    for read in (load_volume, load_labels, volume_shape):
        with pytest.raises(ValueError, match=expected):
            read(path)


def test_fewer_dimensions_than_an_image(tmp_path):
    path = tmp_path / "line.npy"
    np.save(path, np.arange(5.0))
    with pytest.raises(ValueError, match=_msg(path, "has 1 dimension (shape (5,)); hypseg needs a 3-D volume")):
        load_volume(path)


def test_four_d_without_channel(tmp_path):
    path = tmp_path / "multi.nii.gz"
    nib.save(nib.Nifti1Image(np.ones((5, 6, 7, 3), np.float32), np.eye(4)), str(path))
    with pytest.raises(ValueError, match=_msg(path, "is 4-D with 3 channels (axis 0 of shape (3, 7, 6, 5), read as c, z, y, x: the file's x, y, z, c reversed); choose one with channel=0..2 (--channel from the command line)")):
        load_volume(path)
    with pytest.raises(ValueError, match=_msg(path, "has 3 channels; channel 3 does not exist")):
        load_volume(path, channel=3)
    with pytest.raises(ValueError, match=_msg(path, "its format names axis 0 as the channel axis (shape (3, 7, 6, 5), read as c, z, y, x: the file's x, y, "
                                              "z, c reversed), not axis 3; leave out channel_axis (--channel-axis)")):
        load_volume(path, channel=0, channel_axis=3)


def test_four_d_whose_channel_axis_the_shape_cannot_tell(tmp_path):
    path = tmp_path / "rgb.npy"
    np.save(path, np.ones((4, 64, 64, 3), np.float32))  # CZYX with a 3-voxel x, or ZYXC with a 4-slice z?
    unclear = (
        "is 4-D (shape (4, 64, 64, 3)) and its channel axis cannot be told from the shape (neither or both of the first "
        "and last axes are at most half as long as the others); choose it with channel_axis=0..3, 0 for CZYX, 1 for ZCYX, 3 for ZYXC (--channel-axis from the command line)"
    )
    for channel in (None, 1):
        with pytest.raises(ValueError, match=_msg(path, unclear)):
            load_volume(path, channel=channel)
    with pytest.raises(ValueError, match=_msg(path, "is 4-D (shape (4, 64, 64, 3)); channel_axis=4 is not one of its axes 0..3")):
        load_volume(path, channel=0, channel_axis=4)
    with pytest.raises(ValueError, match=_msg(path, "has 3 channels; channel 3 does not exist")):
        load_volume(path, channel=3, channel_axis=-1)
    flat = tmp_path / "flat.npy"
    np.save(flat, np.random.default_rng(0).normal(size=(6, 6, 6)))
    with pytest.raises(ValueError, match=_msg(flat, "is 3-D with a single channel; channel_axis=0 (--channel-axis) does not apply")):
        load_volume(flat, channel_axis=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf(tmp_path, bad):
    data = np.random.default_rng(0).normal(size=(6, 6, 6)).astype(np.float32)
    data[1, 2, 3] = bad
    data[4, 4, 4] = bad
    path = tmp_path / "v.npy"
    np.save(path, data)
    with pytest.raises(ValueError, match=_msg(path, "contains 2 NaN or Inf voxels")):
        load_volume(path)


def test_constant_volume(tmp_path):
    path = tmp_path / "flat.nii.gz"
    nib.save(nib.Nifti1Image(np.full((6, 6, 6), 3.0, np.float32), np.eye(4)), str(path))
    with pytest.raises(ValueError, match=_msg(path, "is constant (every voxel is 3); there is nothing to learn or segment")):
        load_volume(path)


def test_truth_shape_mismatch(tmp_path):
    path = tmp_path / "truth.npy"
    np.save(path, np.zeros((4, 5, 6), dtype=np.uint8))
    with pytest.raises(ValueError, match=_msg(path, "label map shape (4, 5, 6) differs from its volume's shape (4, 5, 7)")):
        load_labels(path, shape=(4, 5, 7))


def test_non_integer_labels(tmp_path):
    path = tmp_path / "truth.npy"
    np.save(path, np.full((4, 5, 6), 0.5))
    with pytest.raises(ValueError, match=_msg(path, "is not a label map (it holds non-integer values)")):
        load_labels(path)


def test_save_labels_checks(tmp_path):
    like = Volume.from_array(np.random.default_rng(0).normal(size=(4, 5, 6)))
    path = tmp_path / "l.nii.gz"
    with pytest.raises(ValueError, match=_msg(path, "labels of shape (4, 5, 5) do not match the volume's shape (4, 5, 6)")):
        save_labels(np.zeros((4, 5, 5), np.uint8), like=like, path=path)
    with pytest.raises(ValueError, match=_msg(path, "labels must have an integer dtype, got float64")):
        save_labels(np.zeros((4, 5, 6)), like=like, path=path)
    with pytest.raises(FileNotFoundError, match="the folder .* does not exist"):
        save_labels(np.zeros((4, 5, 6), np.uint8), like=like, path=tmp_path / "no" / "l.nii.gz")


def test_zarr_missing_dependency_message(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "zarr":
            raise ImportError("no zarr")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    path = tmp_path / "v.zarr"
    path.mkdir()
    with pytest.raises(ValueError, match=_msg(path, "Zarr volumes need the optional dependency zarr: pip install 'hypseg[zarr]'")):
        load_volume(path)
