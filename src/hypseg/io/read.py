"""Reading volumes and label maps, with the checks that turn bad input into one clear line.

Every problem raises :class:`FileNotFoundError` or :class:`~hypseg.errors.UserError` whose message starts with the
file's path and says what is wrong: a missing file, an unknown suffix, a file the format's library
cannot parse, an empty array, a 2-D image, a 4-D volume without a chosen channel (or whose channel axis
cannot be told from its shape), NaN or Inf voxels, a constant volume.

The channel axis of a 4-D file is the one its format names (NIfTI's fourth axis, a TIFF C, S or T axis,
an OME-Zarr channel or time axis, an MRC volume stack's first axis). Where the format does not say
(``.npy``, ``.npz``, a plain Zarr array, a TIFF of unnamed axes) it is the first or the last axis,
whichever is at most half as long as each of the other three: the C of a CZYX or ZYXC microscopy
layout, which has a few channels and many voxels along each spatial axis. When neither or both qualify,
the caller chooses it with ``channel_axis``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hypseg._words import count
from hypseg.errors import UserError
from hypseg.io._raw import BoxReader, ChannelView, MissingDependency, RawVolume
from hypseg.io.formats import format_of
from hypseg.io.volume import Volume

#: voxels checked per block when scanning for NaN/Inf and the value range (bounded memory)
_BLOCK_VOXELS = 1 << 22


def load_volume(
    path: str | os.PathLike,
    *,
    channel: int | None = None,
    channel_axis: int | None = None,
    mmap: bool = True,
    lazy: bool = False,
) -> Volume:
    """Read a 3-D volume as a :class:`~hypseg.io.Volume` (float32, axes (Z, Y, X)).

    Parameters
    ----------
    path : path-like
        ``.nii``/``.nii.gz``, ``.mrc``/``.rec``/``.map``, ``.tif``/``.tiff``, ``.npy``/``.npz`` or ``.zarr``.
    channel : int, optional
        Which channel of a 4-D file to use; required when the file has more than one channel. The
        channel axis is the one the format names, else the first or last axis that is at most half as
        long as each other axis (see the module's docstring).
    channel_axis : int, optional
        The channel axis of a 4-D file whose format does not name one (0 for CZYX, 3 or -1 for ZYXC),
        for shapes where the guess cannot tell; contradicting the axis the format names is an error.
    mmap : bool
        Memory-map the data where the format allows it (uncompressed NIfTI, MRC, uncompressed TIFF,
        ``.npy``). A float32 file then stays on disk until used; other dtypes are converted in memory.
    lazy : bool
        Return a :class:`LazyArray` that reads only the boxes asked for, converting them to float32
        (MRC, ``.npy``, uncompressed TIFF and NIfTI by memory map, Zarr chunk by chunk, a compressed TIFF
        stack the pages of the box's z-range; a compressed NIfTI is decompressed on every read). Nothing
        but the value scan reads the whole file.

    Returns
    -------
    Volume

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    UserError
        For an unknown suffix, an unreadable file, an empty array, a 2-D image, a 4-D volume without
        ``channel`` or whose channel axis is unclear, NaN/Inf voxels or a constant volume; the message
        names the file.
    """
    path = Path(path)
    raw = _read_raw(path, mmap=mmap or lazy)
    array = _pick_channel(raw, channel=channel, channel_axis=channel_axis, path=path)
    lo, hi = _scan_values(array, path=path)
    if lo == hi:
        raise UserError(f"{path}: is constant (every voxel is {lo:g}); there is nothing to learn or segment")
    _check_float32(np.dtype(array.dtype), lo, hi, path=path)
    metadata = dict(raw.metadata)
    if channel is not None:
        metadata["channel"] = int(channel)
    if channel_axis is not None:  # how it was read, so that a segmentation folder can read it again
        metadata["channel_axis"] = int(channel_axis)
    if lazy:
        array = LazyArray(path, channel=channel, channel_axis=channel_axis, shape=array.shape)
    else:
        array = (array if isinstance(array, np.ndarray) else np.asarray(array[...])).astype(np.float32, copy=False)
    return Volume(
        array=array,
        spacing=_positive_spacing(raw.spacing),
        affine=raw.affine,
        format=format_of(path).name,
        path=path,
        metadata=metadata,
    )


def volume_shape(
    path: str | os.PathLike, *, channel: int | None = None, channel_axis: int | None = None
) -> tuple[int, int, int]:
    """The (Z, Y, X) shape of a volume file from its header, without reading or checking its values."""
    path = Path(path)
    array = _pick_channel(_read_raw(path, mmap=True), channel=channel, channel_axis=channel_axis, path=path)
    return tuple(int(n) for n in array.shape)


def load_labels(path: str | os.PathLike, *, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Read an integer label map ``(Z, Y, X)`` (same axis order as :func:`load_volume`).

    Parameters
    ----------
    path : path-like
    shape : tuple of int, optional
        The shape of the volume the labels belong to; a different shape is an error naming the file.

    Returns
    -------
    ndarray of an integer dtype
        The stored integer dtype; float files must hold whole numbers and are converted to int32.
    """
    path = Path(path)
    raw = _read_raw(path, mmap=False)
    array = np.asarray(_pick_channel(raw, channel=None, channel_axis=None, path=path))
    if not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.bool_):
            array = array.astype(np.uint8)
        else:
            values = np.asarray(array, dtype=np.float64)
            if not np.all(np.isfinite(values)) or np.any(values != np.round(values)):
                raise UserError(f"{path}: is not a label map (it holds non-integer values)")
            array = values.astype(np.int32)
    if shape is not None and tuple(array.shape) != tuple(shape):
        order = " (z, y, x: NIfTI's x, y, z reversed)" if format_of(path).name == "nifti" else ""
        raise UserError(f"{path}: label map shape {tuple(array.shape)} differs from its volume's shape {tuple(shape)}{order}")
    return np.asarray(array)


def read_affine(path: str | os.PathLike) -> np.ndarray:
    """The affine of a volume or label file (as :func:`load_volume` gives it), read without its voxels where the format
    allows (memory-mapped or lazily read)."""
    return np.asarray(_read_raw(Path(path), mmap=True).affine, dtype=np.float64)


def _read_raw(path: Path, *, mmap: bool) -> RawVolume:
    fmt = format_of(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if fmt.name != "zarr" and path.is_dir():
        raise UserError(f"{path}: is a folder, not a {fmt.name} file")
    try:
        return fmt.read(path, mmap=mmap)
    except MissingDependency as err:
        raise UserError(f"{path}: {err}") from None
    except Exception as err:  # noqa: BLE001 - any failure of a format library means "unreadable file"
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"{path}: cannot read as {fmt.name}: {reason}") from err


def _pick_channel(raw: RawVolume, *, channel: int | None, channel_axis: int | None, path: Path) -> np.ndarray:
    """The (Z, Y, X) array of ``raw``: one channel of a 4-D array, after the checks of shape and dtype."""
    array = raw.array
    shape = tuple(int(n) for n in array.shape)
    if 0 in shape:
        raise UserError(f"{path}: is empty (shape {shape}); hypseg needs a 3-D volume")
    if array.ndim == 4 and sum(n > 1 for n in shape) <= 2:
        raise UserError(f"{path}: is a 2-D image (shape {shape}); hypseg needs a 3-D volume")
    if array.ndim == 4:
        axis = _channel_axis(shape, named=raw.channel_axis, chosen=channel_axis, path=path)
        n = shape[axis]
        if channel is None and n == 1:
            channel = 0
        if channel is None:
            raise UserError(f"{path}: is 4-D with {n} channels (axis {axis} of shape {shape}{_read_order(path)}); choose one with "
                            f"channel=0..{n - 1} (--channel from the command line)")
        if not 0 <= channel < n:
            raise UserError(f"{path}: has {n} channels; channel {channel} does not exist")
        # a view of a NumPy array or memory map; a lazy array (Zarr) would read the whole channel here
        if isinstance(array, np.ndarray):
            array = array[(slice(None),) * axis + (channel,)]
        else:
            array = ChannelView(array, channel, axis=axis)
    elif array.ndim == 3 and (channel is not None or channel_axis is not None):
        given = (f"channel={channel} (--channel)" if channel is not None
                 else f"channel_axis={channel_axis} (--channel-axis)")
        raise UserError(f"{path}: is 3-D with a single channel; {given} does not apply")
    if array.ndim < 2 or array.ndim > 4:
        raise UserError(f"{path}: has {array.ndim} dimension{'' if array.ndim == 1 else 's'} (shape {shape}); hypseg needs a 3-D volume")
    if array.ndim == 2 or (array.ndim == 3 and min(array.shape) == 1):
        raise UserError(f"{path}: is a 2-D image (shape {tuple(array.shape)}); hypseg needs a 3-D volume")
    if not (np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_)) or np.iscomplexobj(array):
        raise UserError(f"{path}: holds {array.dtype} values; hypseg needs real numbers")
    return array


def _read_order(path: Path) -> str:
    """For a NIfTI file, how the shape in a message relates to the file's own, whose axes run the other way."""
    return ", read as c, z, y, x: the file's x, y, z, c reversed" if format_of(path).name == "nifti" else ""


def _channel_axis(shape: tuple[int, ...], *, named: int | None, chosen: int | None, path: Path) -> int:
    """The channel axis of a 4-D ``shape``: the caller's choice, the format's, or a guess from the shape.

    The guess is the first or the last axis, whichever is at most half as long as each of the other
    three (CZYX or ZYXC: few channels, many voxels per spatial axis); neither or both is an error that
    asks for ``channel_axis``, since a wrong guess would segment a stack of the wrong slices.
    """
    if chosen is not None:
        if not -4 <= chosen < 4:
            raise UserError(f"{path}: is 4-D (shape {shape}); channel_axis={chosen} is not one of its axes 0..3")
        chosen %= 4
        if named is not None and chosen != named:
            raise UserError(f"{path}: its format names axis {named} as the channel axis (shape {shape}{_read_order(path)}), not "
                            f"axis {chosen}; leave out channel_axis (--channel-axis)")
        return chosen
    if named is not None:
        return named
    fits = [a for a in (0, 3) if 2 * shape[a] <= min(n for b, n in enumerate(shape) if b != a)]
    if len(fits) != 1:
        raise UserError(
            f"{path}: is 4-D (shape {shape}) and its channel axis cannot be told from the shape (neither or both of "
            "the first and last axes are at most half as long as the others); choose it with channel_axis=0..3, 0 for CZYX, "
            "1 for ZCYX, 3 for ZYXC (--channel-axis from the command line)"
        )
    return fits[0]


def _scan_values(array: np.ndarray, *, path: Path) -> tuple[float, float]:
    """(min, max) of ``array``, block by block along the first axis; NaN/Inf is an error."""
    step = max(1, _BLOCK_VOXELS // max(1, array[0].size))
    lo, hi, bad = np.inf, -np.inf, 0
    for start in range(0, array.shape[0], step):
        block = np.asarray(array[start : start + step])
        if np.issubdtype(block.dtype, np.floating):
            finite = np.isfinite(block)
            bad += int(block.size - np.count_nonzero(finite))
            if bad:
                continue
        lo = min(lo, float(block.min()))
        hi = max(hi, float(block.max()))
    if bad:
        raise UserError(f"{path}: contains {count(bad, 'NaN or Inf voxel')}")
    return lo, hi


#: the fewest float32 steps a volume's range may span: 8 bits, the least a detector records
_FLOAT32_STEPS = 256


def _check_float32(dtype: np.dtype, lo: float, hi: float, *, path: Path) -> None:
    """Refuse a volume whose values float32, the type hypseg works in, would flatten: a float64 or wide integer file
    whose range is small beside its size (3 around 1e9 is one float32 value) would read as nearly constant."""
    if np.result_type(dtype, np.float32) == np.float32:
        return
    size = max(abs(lo), abs(hi))
    largest = float(np.finfo(np.float32).max)
    if size > largest:
        raise UserError(f"{path}: its values reach {size:g}, beyond float32's largest {largest:.3g} (the type hypseg works "
                        "in); scale them down and save it again")
    steps = (hi - lo) / float(np.spacing(np.float32(size)))
    if steps < _FLOAT32_STEPS:
        remedy = ("subtract an offset (e.g. the volume's mean)" if hi - lo < size / 2
                  else "scale them up")  # a range that is all of its size: too small, not too far from zero
        raise UserError(f"{path}: its values span only {hi - lo:g} at a size of {size:g}, too little for float32 (the type "
                        f"hypseg works in, 24 bits); {remedy} and save it again")


def _positive_spacing(spacing: tuple[float, ...]) -> tuple[float, float, float]:
    out = tuple(float(s) if np.isfinite(s) and s > 0 else 1.0 for s in spacing)
    return out  # type: ignore[return-value]


class LazyArray(BoxReader):
    """A volume file as a read-only float32 array of shape (Z, Y, X) that reads only what is indexed.

    Every read opens the file anew (a memory map is dropped as soon as the box is copied out), so the
    memory of a process that reads a large volume box by box stays that of one box. It pickles as its
    path, so that other processes (Dask workers) open the file themselves.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "v.npy"; np.save(path, np.arange(24, dtype=np.int16).reshape(2, 3, 4))
    >>> lazy = load_volume(path, lazy=True).array
    >>> lazy.shape, lazy.dtype, lazy[1, 2, 1:3].tolist()
    ((2, 3, 4), dtype('float32'), [21.0, 22.0])
    """

    dtype = np.dtype(np.float32)

    def __init__(self, path: Path, *, channel: int | None, channel_axis: int | None = None, shape: tuple[int, ...]) -> None:
        self.path = Path(path).resolve()  # a Dask worker elsewhere opens it by this name
        self.channel = channel
        self.channel_axis = channel_axis
        self.shape = tuple(int(n) for n in shape)

    def __getitem__(self, index) -> np.ndarray:
        raw = _pick_channel(_read_raw(self.path, mmap=True), channel=self.channel, channel_axis=self.channel_axis, path=self.path)
        return np.array(raw[index], dtype=np.float32)

    def __repr__(self) -> str:
        return f"LazyArray({str(self.path)!r}, shape={self.shape})"
