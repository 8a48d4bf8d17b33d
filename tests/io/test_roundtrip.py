"""Volume and label round trips for every format: data, integer dtype, spacing and affine survive."""

from __future__ import annotations

import mrcfile
import nibabel as nib
import numpy as np
import pytest

from hypseg.io import Volume, load_labels, load_volume, save_labels, save_volume, spacing_from_affine


def _volume(rng, *, affine=None, spacing=(0.5, 0.75, 1.25), shape=(6, 7, 8)):
    array = rng.normal(size=shape).astype(np.float32)
    if affine is None:
        return Volume.from_array(array, spacing=spacing)
    return Volume(array=array, spacing=spacing_from_affine(affine), affine=affine)


def _oblique_affine():
    theta = 0.3
    rot = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([1.25, 0.75, 0.5])  # x, y, z sizes
    affine[:3, 3] = [-10.0, 4.5, 2.0]
    return affine


# suffix, whether a rotated affine with origin survives, label dtypes the format keeps
CASES = [
    (".nii", True, [np.uint8, np.int16, np.int32, np.int64]),
    (".nii.gz", True, [np.uint8, np.int16, np.int32]),
    (".mrc", False, [np.int8, np.int16, np.uint16]),
    (".rec", False, [np.int16]),
    (".map", False, [np.int16]),
    (".tif", False, [np.uint8, np.uint16, np.int16, np.int32, np.int64]),
    (".tiff", False, [np.uint16]),
    (".npz", True, [np.uint8, np.int32, np.int64]),
]


@pytest.mark.parametrize("suffix, oblique, label_dtypes", CASES)
def test_volume_and_labels_round_trip(tmp_path, suffix, oblique, label_dtypes):
    rng = np.random.default_rng(0)
    if oblique:
        vol = _volume(rng, affine=_oblique_affine())
    elif suffix in (".mrc", ".rec", ".map"):
        affine = np.diag([1.25, 0.75, 0.5, 1.0])
        affine[:3, 3] = [3.0, -2.0, 1.0]  # MRC keeps an origin
        vol = _volume(rng, affine=affine)
    else:
        vol = _volume(rng)
    path = save_volume(vol, tmp_path / f"v{suffix}")
    back = load_volume(path)
    np.testing.assert_array_equal(back.array, vol.array)
    assert back.array.dtype == np.float32 and back.shape == vol.shape
    np.testing.assert_allclose(back.spacing, vol.spacing, rtol=1e-6)
    np.testing.assert_allclose(back.affine, vol.affine, rtol=1e-6, atol=1e-6)
    for dtype in label_dtypes:
        labels = rng.integers(0, 6, size=vol.shape).astype(dtype)
        lpath = save_labels(labels, like=back, path=tmp_path / f"l_{np.dtype(dtype).name}{suffix}")
        got = load_labels(lpath, shape=vol.shape)
        assert got.dtype == dtype
        np.testing.assert_array_equal(got, labels)
        geo = load_volume(lpath)  # the label map carries the input's geometry
        np.testing.assert_allclose(geo.spacing, vol.spacing, rtol=1e-6)
        np.testing.assert_allclose(geo.affine, vol.affine, rtol=1e-6, atol=1e-6)
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_npy_round_trip_and_mmap(tmp_path):
    rng = np.random.default_rng(1)
    vol = _volume(rng, spacing=(1.0, 1.0, 1.0))
    path = save_volume(vol, tmp_path / "v.npy")
    back = load_volume(path)
    assert isinstance(back.array, np.memmap)  # float32 on disk: not loaded
    np.testing.assert_array_equal(back.array, vol.array)
    np.testing.assert_array_equal(back.affine, np.eye(4))
    labels = rng.integers(0, 300, size=vol.shape).astype(np.int16)
    np.testing.assert_array_equal(load_labels(save_labels(labels, like=back, path=tmp_path / "l.npy")), labels)


def test_zarr_round_trip(tmp_path):
    """Runs under ``make test`` (the test extra installs zarr): no skip hides a broken format."""
    rng = np.random.default_rng(2)
    vol = _volume(rng, affine=_oblique_affine(), shape=(5, 70, 9))  # more than one chunk along y
    path = save_volume(vol, tmp_path / "v.zarr")
    back = load_volume(path)
    np.testing.assert_array_equal(back.array, vol.array)
    np.testing.assert_allclose(back.affine, vol.affine)
    np.testing.assert_allclose(back.spacing, vol.spacing)
    labels = rng.integers(0, 4, size=vol.shape).astype(np.uint16)
    lpath = save_labels(labels, like=back, path=tmp_path / "l.zarr")
    np.testing.assert_array_equal(load_labels(lpath), labels)
    # overwriting an existing store replaces it
    save_labels(labels + 1, like=back, path=lpath)
    np.testing.assert_array_equal(load_labels(lpath), labels + 1)


@pytest.mark.parametrize("channels, channel", [(1, None), (3, 2)])
def test_a_channel_of_a_4d_zarr_reads_box_by_box(tmp_path, channels, channel):
    import zarr

    data = np.random.default_rng(3).normal(size=(channels, 6, 40, 9)).astype(np.float32)
    store = zarr.open_array(store=str(tmp_path / "c.zarr"), mode="w", shape=data.shape, chunks=(1, 6, 10, 9), dtype=data.dtype)
    store[...] = data
    want = data[0 if channel is None else channel]
    np.testing.assert_array_equal(load_volume(tmp_path / "c.zarr", channel=channel).array, want)
    lazy = load_volume(tmp_path / "c.zarr", channel=channel, lazy=True).array
    np.testing.assert_array_equal(lazy[1:4, 12:31, 2], want[1:4, 12:31, 2])
    from hypseg.io._raw import ChannelView
    from hypseg.io.read import _pick_channel, _read_raw

    raw = _read_raw(tmp_path / "c.zarr", mmap=True)  # what a lazy read indexes: a view, not the channel read whole
    assert isinstance(_pick_channel(raw, channel=channel, channel_axis=None, path=tmp_path / "c.zarr"), ChannelView)


def test_a_channel_view_passes_each_box_to_the_array_with_its_channel():
    from hypseg.io._raw import ChannelView

    class Recorder:
        shape, dtype, ndim = (2, 4, 5, 6), np.dtype(np.float32), 4
        seen = []

        def __getitem__(self, index):
            self.seen.append(index)
            return np.zeros((1,))

    view = ChannelView(Recorder(), 1)
    view[2:3, ..., 4]
    view[0]
    assert view.shape == (4, 5, 6) and Recorder.seen == [(1, slice(2, 3), Ellipsis, 4), (1, 0)]


def test_mrc_labels_open_in_mrcfile_with_input_geometry(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.normal(size=(4, 5, 6)).astype(np.float32)  # (z, y, x)
    src = tmp_path / "tomo.mrc"
    with mrcfile.new(src) as mrc:
        mrc.set_data(data)
        mrc.voxel_size = (2.5, 3.5, 4.5)  # x, y, z in Angstrom
    vol = load_volume(src)
    assert isinstance(vol.array, np.memmap)
    np.testing.assert_array_equal(vol.array, data)
    assert vol.spacing == (4.5, 3.5, 2.5)
    labels = (data > 0).astype(np.int16) + (data > 1)
    out = save_labels(labels, like=vol, path=tmp_path / "tomo_level1.mrc")
    with mrcfile.open(out) as mrc:
        np.testing.assert_array_equal(mrc.data, labels)  # same (z, y, x) axis order
        assert mrc.data.dtype == np.int16
        assert (float(mrc.voxel_size.x), float(mrc.voxel_size.y), float(mrc.voxel_size.z)) == pytest.approx((2.5, 3.5, 4.5))
        assert (int(mrc.header.mapc), int(mrc.header.mapr), int(mrc.header.maps)) == (1, 2, 3)


def _transposed_mrc(path, data):
    """``data`` (z, y, x) stored with columns along z and sections along x (MAPC, MAPR, MAPS = 3, 2, 1), started at
    (10, -5, 3) with an origin."""
    with mrcfile.new(path) as mrc:
        mrc.set_data(np.ascontiguousarray(data.transpose(2, 1, 0)))
        header = mrc.header
        header.mapc, header.mapr, header.maps = 3, 2, 1
        header.mx, header.my, header.mz = data.shape[2], data.shape[1], data.shape[0]
        mrc.voxel_size = (2.5, 3.5, 4.5)
        header.nxstart, header.nystart, header.nzstart = 10, -5, 3
        header.origin = (1.0, 2.0, 3.0)


def _mrc_geometry(path):
    with mrcfile.open(path) as mrc:
        h = mrc.header
        return (np.array(mrc.data), (int(h.mapc), int(h.mapr), int(h.maps)), (int(h.nxstart), int(h.nystart), int(h.nzstart)),
                tuple(float(v) for v in (mrc.voxel_size.x, mrc.voxel_size.y, mrc.voxel_size.z)),
                tuple(float(v) for v in (h.origin.x, h.origin.y, h.origin.z)))


@pytest.mark.parametrize("box_by_box", [False, True])
def test_mrc_labels_keep_the_inputs_axis_order_and_start_indices(tmp_path, box_by_box):
    """A label map lies on its input in a viewer that reads the data block as stored, or places a map by its start
    indices: both come back as the input had them, the voxels in the input's order."""
    from hypseg.io.blockwise import label_writer

    data = np.random.default_rng(6).normal(size=(4, 5, 6)).astype(np.float32)  # (z, y, x)
    _transposed_mrc(tmp_path / "tomo.mrc", data)
    vol = load_volume(tmp_path / "tomo.mrc")
    np.testing.assert_array_equal(vol.array, data)
    assert vol.spacing == (4.5, 3.5, 2.5)
    labels = ((data > 0).astype(np.int16) + (data > 1)).astype(np.int16)
    out = tmp_path / "tomo_k3.mrc"
    if box_by_box:
        writer = label_writer(out, shape=labels.shape, dtype=np.int16, like=vol)
        for box in ((slice(0, 2), slice(0, 5), slice(0, 6)), (slice(2, 4), slice(0, 5), slice(0, 6))):
            writer.write(box, labels[box])
        writer.close()
    else:
        save_labels(labels, like=vol, path=out)
    stored, mapping, start, voxel, origin = _mrc_geometry(out)
    np.testing.assert_array_equal(stored, labels.transpose(2, 1, 0))
    assert (mapping, start, voxel, origin) == ((3, 2, 1), (10, -5, 3), (2.5, 3.5, 4.5), (1.0, 2.0, 3.0))
    np.testing.assert_array_equal(load_labels(out), labels)


def test_a_moved_mrc_volume_keeps_the_axis_order_but_not_the_start_indices(tmp_path):
    """A crop starts elsewhere, which its origin says; the input's start indices would place it twice."""
    data = np.random.default_rng(7).normal(size=(4, 5, 6)).astype(np.float32)
    _transposed_mrc(tmp_path / "tomo.mrc", data)
    vol = load_volume(tmp_path / "tomo.mrc")
    moved = vol.affine.copy()
    moved[:3, 3] += [2.5, 0.0, 0.0]
    crop = Volume(array=vol.array[:, :, 1:], spacing=vol.spacing, affine=moved, metadata=vol.metadata)
    stored, mapping, start, _, origin = _mrc_geometry(save_labels(np.ones(crop.shape, np.int16), like=crop, path=tmp_path / "c.mrc"))
    assert stored.shape == (5, 5, 4) and mapping == (3, 2, 1) and start == (0, 0, 0) and origin == (3.5, 2.0, 3.0)


def test_mrc_wide_integer_labels_are_narrowed_or_refused(tmp_path):
    vol = _volume(np.random.default_rng(4))
    labels = np.zeros(vol.shape, dtype=np.int64)
    labels[0, 0, 0] = 7
    np.testing.assert_array_equal(load_labels(save_labels(labels, like=vol, path=tmp_path / "a.mrc")), labels)
    labels[0, 0, 0] = 100_000
    with pytest.raises(ValueError, match=r"b\.mrc: MRC stores integers up to 16 bits; values 0\.\.100000 do not fit"):
        save_labels(labels, like=vol, path=tmp_path / "b.mrc")
    assert not list(tmp_path.glob("*b*"))  # nothing half-written


def test_nifti_axis_order_is_reversed_nibabel_order(tmp_path):
    data_xyz = np.random.default_rng(5).normal(size=(3, 4, 5)).astype(np.float32)
    affine = np.diag([2.0, 3.0, 4.0, 1.0])
    nib.save(nib.Nifti1Image(data_xyz, affine), str(tmp_path / "a.nii"))
    vol = load_volume(tmp_path / "a.nii")
    assert vol.shape == (5, 4, 3)
    np.testing.assert_array_equal(vol.array, data_xyz.T)
    assert vol.spacing == (4.0, 3.0, 2.0)
    assert vol.metadata["unit"] in ("unknown", "mm")
    np.testing.assert_array_equal(vol.affine, affine)


def test_four_d_channel_selection(tmp_path):
    rng = np.random.default_rng(6)
    data = rng.normal(size=(3, 4, 5, 2)).astype(np.float32)  # nibabel (x, y, z, c)
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(tmp_path / "m.nii.gz"))
    vol = load_volume(tmp_path / "m.nii.gz", channel=1)
    np.testing.assert_array_equal(vol.array, data[..., 1].T)
    assert vol.metadata["channel"] == 1
    stack = rng.normal(size=(2, 4, 5, 6)).astype(np.float32)  # (c, z, y, x)
    np.save(tmp_path / "s.npy", stack)
    np.testing.assert_array_equal(load_volume(tmp_path / "s.npy", channel=0).array, stack[0])


def test_save_does_not_clobber_on_failure(tmp_path):
    vol = _volume(np.random.default_rng(7))
    path = save_volume(vol, tmp_path / "v.nii.gz")
    before = path.read_bytes()
    with pytest.raises(ValueError):
        save_labels(np.zeros(vol.shape, dtype=np.float32), like=vol, path=path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.nii.gz"]


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("box_by_box", [False, True])
def test_nifti_labels_keep_the_input_header_codes_units_and_qform(tmp_path, suffix, box_by_box):
    from hypseg.io.blockwise import label_writer

    sform = np.array([[0.0, 0.0, 2.0, 10.0], [0.0, 1.5, 0.0, -4.0], [-0.5, 0.0, 0.0, 7.0], [0.0, 0.0, 0.0, 1.0]])
    qform = np.diag([0.5, 1.5, 2.0, 1.0])
    image = nib.Nifti1Image(np.arange(60, dtype=np.float32).reshape(3, 4, 5), None)
    image.set_sform(sform, code=4)  # MNI
    image.set_qform(qform, code=1)  # scanner
    image.header.set_xyzt_units(xyz="mm", t="sec")
    nib.save(image, str(tmp_path / f"in{suffix}"))
    vol = load_volume(tmp_path / f"in{suffix}")
    labels = np.arange(60, dtype=np.uint8).reshape(vol.shape)
    out = tmp_path / f"labels{suffix}"
    if box_by_box:
        writer = label_writer(out, shape=labels.shape, dtype=np.uint8, like=vol)
        writer.write((slice(0, 5), slice(0, 4), slice(0, 3)), labels)
        writer.close()
    else:
        save_labels(labels, like=vol, path=out)
    written, read = nib.load(str(out)), nib.load(str(tmp_path / f"in{suffix}"))
    np.testing.assert_array_equal(np.asarray(written.dataobj).T, labels)
    for method in ("get_sform", "get_qform"):
        (a, code_a), (b, code_b) = getattr(written, method)(coded=True), getattr(read, method)(coded=True)
        np.testing.assert_allclose(a, b)
        assert int(code_a) == int(code_b)
    assert written.header.get_xyzt_units() == ("mm", "sec")
    np.testing.assert_allclose(written.affine, read.affine)


def test_labels_of_a_volume_from_no_nifti_file_get_its_affine_as_before(tmp_path):
    vol = Volume(np.zeros((2, 3, 4), np.float32), spacing=(2.0, 1.0, 0.5), affine=np.diag([0.5, 1.0, 2.0, 1.0]), metadata={"unit": "mm"})
    save_labels(np.ones((2, 3, 4), np.uint8), like=vol, path=tmp_path / "l.nii.gz")
    written = nib.load(str(tmp_path / "l.nii.gz"))
    np.testing.assert_allclose(written.affine, vol.affine)
    assert written.header.get_xyzt_units()[0] == "mm" and int(written.get_sform(coded=True)[1]) == 2  # aligned, nibabel's default


@pytest.mark.parametrize("box_by_box", [False, True])
@pytest.mark.parametrize("codes", [(1, 0), (1, 4)])  # qform only, and both
def test_nifti_labels_of_a_moved_volume_take_its_affine_as_their_qform_too(tmp_path, box_by_box, codes):
    from hypseg.io.blockwise import label_writer

    qcode, scode = codes
    image = nib.Nifti1Image(np.arange(60, dtype=np.float32).reshape(3, 4, 5), None)
    image.set_qform(np.diag([0.5, 1.5, 2.0, 1.0]), code=qcode)
    image.set_sform(np.diag([0.5, 1.5, 2.0, 1.0]), code=scode)
    nib.save(image, str(tmp_path / "in.nii"))
    vol = load_volume(tmp_path / "in.nii")
    vol.affine = vol.affine.copy()
    vol.affine[:3, 3] += 50.0  # as a crop of it would be
    labels = np.ones(vol.shape, np.uint8)
    if box_by_box:
        writer = label_writer(tmp_path / "l.nii", shape=labels.shape, dtype=np.uint8, like=vol)
        writer.write((slice(None),) * 3, labels)
        writer.close()
    else:
        save_labels(labels, like=vol, path=tmp_path / "l.nii")
    written = nib.load(str(tmp_path / "l.nii"))
    np.testing.assert_allclose(written.get_qform(), vol.affine)
    assert int(written.get_qform(coded=True)[1]) == qcode and int(written.get_sform(coded=True)[1]) == scode
    np.testing.assert_allclose(written.affine, vol.affine)
