"""The channel axis of a 4-D volume: the one its format names, else the first or last that is much shorter."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pytest
import tifffile

from hypseg.io import load_volume
from hypseg.io.read import volume_shape


def _stack(shape):
    return np.random.default_rng(0).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize(
    "shape, axis",
    [((28, 32, 36, 2), 3), ((2, 28, 32, 36), 0), ((3, 6, 7, 8), 0), ((6, 7, 8, 3), 3), ((28, 32, 36, 1), 3)],
)
def test_a_npy_stack_reads_the_channel_of_its_short_end_axis(tmp_path, shape, axis):
    data = _stack(shape)
    path = tmp_path / "s.npy"
    np.save(path, data)
    n = shape[axis]
    channel = n - 1
    want = np.take(data, channel, axis=axis)
    vol = load_volume(path, channel=channel)
    np.testing.assert_array_equal(vol.array, want)
    assert vol.metadata["channel"] == channel and volume_shape(path, channel=channel) == want.shape
    lazy = load_volume(path, channel=channel, lazy=True).array
    np.testing.assert_array_equal(lazy[1:4, 2, 3:5], want[1:4, 2, 3:5])
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(lazy))[...], want)  # a Dask worker reads the same
    if n > 1:
        message = f"{path}: is 4-D with {n} channels (axis {axis} of shape {shape}); choose one with channel=0..{n - 1} (--channel from the command line)"
        with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
            load_volume(path)
    else:
        np.testing.assert_array_equal(load_volume(path).array, want)  # one channel needs no choice


def test_channel_axis_settles_a_shape_the_guess_cannot_tell(tmp_path):
    data = _stack((4, 64, 64, 3))
    path = tmp_path / "s.npy"
    np.save(path, data)
    np.testing.assert_array_equal(load_volume(path, channel=2, channel_axis=0).array, data[2])
    np.testing.assert_array_equal(load_volume(path, channel=2, channel_axis=-1).array, data[..., 2])
    np.testing.assert_array_equal(load_volume(path, channel=2, channel_axis=3, lazy=True).array[...], data[..., 2])
    assert volume_shape(path, channel=1, channel_axis=3) == (4, 64, 64)


def test_a_tiff_of_unnamed_axes_is_guessed_and_a_named_c_axis_is_taken(tmp_path):
    zyxc = _stack((28, 32, 36, 2))
    tifffile.imwrite(tmp_path / "plain.tif", zyxc)  # tifffile reads its axes as QQYX: nothing named
    np.testing.assert_array_equal(load_volume(tmp_path / "plain.tif", channel=1).array, zyxc[..., 1])
    zcyx = _stack((28, 2, 32, 36))
    tifffile.imwrite(tmp_path / "hyper.tif", zcyx, imagej=True, metadata={"axes": "ZCYX"})
    np.testing.assert_array_equal(load_volume(tmp_path / "hyper.tif", channel=1).array, zcyx[:, 1])
    message = f"{tmp_path / 'hyper.tif'}: is 4-D with 2 channels (axis 1 of shape (28, 2, 32, 36)); choose one with channel=0..1 (--channel from the command line)"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        load_volume(tmp_path / "hyper.tif")


def test_a_plain_zarr_stack_with_channels_last_reads_box_by_box(tmp_path):
    import zarr

    from hypseg.io._raw import ChannelView
    from hypseg.io.read import _pick_channel, _read_raw

    data = _stack((6, 40, 9, 2))
    store = zarr.open_array(store=str(tmp_path / "c.zarr"), mode="w", shape=data.shape, chunks=(6, 10, 9, 1), dtype=data.dtype)
    store[...] = data
    np.testing.assert_array_equal(load_volume(tmp_path / "c.zarr", channel=1).array, data[..., 1])
    view = _pick_channel(_read_raw(tmp_path / "c.zarr", mmap=True), channel=1, channel_axis=None, path=tmp_path / "c.zarr")
    assert isinstance(view, ChannelView) and view.shape == (6, 40, 9)
    np.testing.assert_array_equal(view[1:4, ..., 2], data[1:4, :, 2, 1])


def test_a_channel_view_along_the_last_axis_spells_out_the_index():
    from hypseg.io._raw import ChannelView

    class Recorder:
        shape, dtype, ndim = (4, 5, 6, 2), np.dtype(np.float32), 4
        seen = []

        def __getitem__(self, index):
            self.seen.append(index)
            return np.zeros((1,))

    view = ChannelView(Recorder(), 1, axis=-1)
    view[2:3, ..., 4]
    view[0]
    everything = slice(None)
    assert view.shape == (4, 5, 6) and view.ndim == 3
    assert Recorder.seen == [(slice(2, 3), everything, 4, 1), (0, everything, everything, 1)]
