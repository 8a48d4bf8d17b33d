"""Chunked segmentation (hypseg.inference.chunked): the label maps of the whole-volume run, chunk by
chunk, in one process or on a Dask cluster; the pieces it is built of; its one-line errors."""

from __future__ import annotations

import dataclasses
import errno
import json
import os

import numpy as np
import pytest
from scipy import ndimage
from typer.testing import CliRunner

from hypseg._malloc import OPT_OUT, worker_environment
from hypseg.cli.app import app
from helpers import cell_image, glibc, speckle_image, split_field_image, train_tiny_model
from hypseg.config import DataConfig, segment_preset
from hypseg.data.normalise import statistics, voxel_sample
from hypseg.data.supervoxels import supervoxels, tile_bounds
from hypseg.inference import chunked
from hypseg.inference.chunked import ChunkGrid, Job, LocalExecutor
from hypseg.inference.pipeline import segment_files
from hypseg.io import Volume, affine_from_spacing, load_labels, load_volume, save_labels, save_volume
from hypseg.io.blockwise import label_writer

runner = CliRunner()
TILE = 8


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    # 40 steps: untrained, every voxel looks alike and k-means has no clusters to agree on
    return train_tiny_model(tmp_path_factory.mktemp("run"), cell_image((16, 16, 16), seed=1), steps=40)


@pytest.fixture(scope="module")
def volume_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("vol") / "cell.mrc"
    save_volume(Volume(cell_image((20, 34, 28)), spacing=(2.0, 1.0, 1.0), affine=affine_from_spacing((2.0, 1.0, 1.0))), path)
    return path


def _recipe(name):
    return dataclasses.replace(segment_preset(name), supervoxel_tile=TILE)


def _agreement(a, b):
    manifest_a = json.loads((a / "segmentation.json").read_text())
    manifest_b = json.loads((b / "segmentation.json").read_text())
    shares = {}
    for k, name in manifest_a["cases"][0]["labels"].items():
        x, y = load_labels(a / name), load_labels(b / manifest_b["cases"][0]["labels"][k])
        assert x.dtype == y.dtype and x.shape == y.shape
        shares[k] = float((x == y).mean())
    return shares


@pytest.mark.parametrize("preset", ["default", "paper"])
def test_chunked_label_maps_agree_with_the_whole_volume_run(model_dir, volume_file, tmp_path, preset):
    whole = tmp_path / "whole"
    segment_files([volume_file], model_dir=model_dir, out=whole, config=_recipe(preset))
    for chunk in (TILE, 2 * TILE):
        out = tmp_path / f"chunk{chunk}"
        manifest = segment_files([volume_file], model_dir=model_dir, out=out, config=_recipe(preset), chunk=chunk)
        assert set(manifest["seconds"]) >= {"statistics", "embedding", "labels", "write"}
        assert not (out / ".work").exists()
        shares = _agreement(whole, out)
        assert min(shares.values()) >= 0.999, shares  # the bar; in practice every voxel
        assert np.allclose(np.load(whole / "cell_embedding.npy"), np.load(out / "cell_embedding.npy"), atol=1e-6)
        # the same centres, in the same space (the ball's points also where the default clusters in its tangent space)
        centres = [json.loads((folder / "segmentation.json").read_text())["cases"][0]["centers"] for folder in (whole, out)]
        assert centres[0].keys() == centres[1].keys()
        for k in centres[0]:
            np.testing.assert_allclose(centres[1][k], centres[0][k], rtol=1e-3, atol=1e-4)
            assert (np.linalg.norm(np.asarray(centres[1][k]), axis=-1) < 1).all()
    if preset == "default":
        assert np.array_equal(load_labels(whole / "cell_object.mrc"), load_labels(out / "cell_object.mrc"))


def test_codes_averaged_with_inverted_patches_are_the_same_chunk_by_chunk(model_dir, volume_file, tmp_path):
    from hypseg.inference.embed import embed_volume
    from hypseg.inference.model_io import load_model

    config = dataclasses.replace(_recipe("default"), inversion="finer")
    whole, out = tmp_path / "whole", tmp_path / "chunked"
    segment_files([volume_file], model_dir=model_dir, out=whole, config=config)
    segment_files([volume_file], model_dir=model_dir, out=out, config=config, chunk=TILE)
    assert min(_agreement(whole, out).values()) >= 0.999
    embedding = np.load(whole / "cell_embedding.npy")
    np.testing.assert_allclose(np.load(out / "cell_embedding.npy"), embedding, atol=1e-6)
    from hypseg.inference.recipe import resolve_patch_sides

    model = load_model(model_dir)  # the saved embedding is the finest level's, embedded as the setting says
    sides = resolve_patch_sides(config, patch_size=model.patch_size).levels[-1].patch_sides
    assert sides != resolve_patch_sides(config, patch_size=model.patch_size).levels[0].patch_sides
    finest = embed_volume(model.network, model.normalise(load_volume(volume_file).array), patch_size=sides[0], inversion=True)
    np.testing.assert_allclose(embedding, finest, atol=1e-6)


@pytest.mark.parametrize("variant", ["voxels inside the object", "containment on level 1 only", "tied mixture inside the object",
                                     "a voxel band on level 1", "a voxel band on level 1, unrefined",
                                     "a voxel band on level 1, in the ball", "a voxel band on level 1, which is not the object",
                                     "a voxel band on level 1 at the finer levels' side", "a voxel band on level 1 at a side of its own",
                                     "a voxel band on level 1 by box means", "a voxel band on level 1 by box means of side 3"])
def test_chunked_voxel_levels_and_partial_containment_agree_with_the_whole_volume_run(model_dir, volume_file, tmp_path, variant):
    config = _recipe("default")
    other_side = variant.endswith(("levels' side", "own", "side 3"))  # the band at another side than its default
    if variant == "voxels inside the object":  # chunks wholly outside the object have nothing to assign
        levels = (config.levels[0],) + tuple(dataclasses.replace(level, supervoxel_size=None, purity_power=0.0)
                                             for level in config.levels[1:])
    elif variant == "tied mixture inside the object":
        levels = (config.levels[0],) + tuple(dataclasses.replace(level, clusterer="tied-mixture") for level in config.levels[1:])
    elif variant.startswith("a voxel band"):  # chunks far from the object have an empty band
        levels = config.levels
        if variant.endswith("not the object"):
            levels = (dataclasses.replace(levels[0], in_object=False),) + levels[1:]
        config = dataclasses.replace(config, levels=levels, voxel_band=2, refine=0 if variant.endswith("unrefined") else config.refine,
                                     space="ball" if variant.endswith("ball") else config.space,
                                     band_sides=(5,) if variant.endswith("levels' side") else (2,) if variant.endswith("own") else
                                     (3,) if variant.endswith("side 3") else (),
                                     band_feature="intensity" if "box means" in variant else "embedding")
        segment_files([volume_file], model_dir=model_dir, out=tmp_path / "no band", config=dataclasses.replace(config, voxel_band=0))
        if other_side:  # and the band at level 1's own side, which the band at another side must differ from
            segment_files([volume_file], model_dir=model_dir, out=tmp_path / "own side", config=dataclasses.replace(config, band_sides=()))
    else:
        levels = (config.levels[0],) + tuple(dataclasses.replace(level, in_object=False) for level in config.levels[1:])
    config = dataclasses.replace(config, levels=levels)
    segment_files([volume_file], model_dir=model_dir, out=tmp_path / "whole", config=config)
    segment_files([volume_file], model_dir=model_dir, out=tmp_path / "chunked", config=config, chunk=TILE)
    assert min(_agreement(tmp_path / "whole", tmp_path / "chunked").values()) >= 0.999
    assert np.array_equal(load_labels(tmp_path / "whole" / "cell_object.mrc"), load_labels(tmp_path / "chunked" / "cell_object.mrc"))
    if variant.startswith("a voxel band"):  # the band moved the object, so the agreement says something
        assert not np.array_equal(load_labels(tmp_path / "whole" / "cell_object.mrc"), load_labels(tmp_path / "no band" / "cell_object.mrc"))
    if other_side:
        assert not np.array_equal(load_labels(tmp_path / "whole" / "cell_object.mrc"), load_labels(tmp_path / "own side" / "cell_object.mrc"))


def test_a_two_worker_dask_cluster_gives_the_single_process_labels(model_dir, volume_file, tmp_path):
    single, dask = tmp_path / "single", tmp_path / "dask"
    segment_files([volume_file], model_dir=model_dir, out=single, config=_recipe("default"), chunk=2 * TILE)
    segment_files([volume_file], model_dir=model_dir, out=dask, config=_recipe("default"), chunk=2 * TILE, workers=2)
    shares = _agreement(single, dask)
    assert min(shares.values()) >= 0.9999, shares  # stated bar: a worker's thread count may move a last float bit


def _plus(value, *, offset):
    return value + offset


def _entry(item, *, table):
    return table[item]


def test_a_dask_map_after_maps_that_shared_a_value_sees_its_own():
    """Maps in a row sharing values under reused keys (an equal value: the same content hash; a dict: scattered item
    by item under its own keys, as the chunked stages' per-volume fits would be): an earlier call's release must
    neither cancel a later call's tasks nor leave them an earlier call's value."""
    executor = chunked.DaskExecutor(workers=1)
    try:
        results = [executor.map(_plus, [1, 2, 3], desc="plus", shared={"offset": 10}) for _ in range(30)]
        tables = [executor.map(_entry, [0, 1], desc="fits", shared={"table": {0: f"a{i}", 1: f"b{i}"}}) for i in range(10)]
    finally:
        executor.close()
    assert results == [[11, 12, 13]] * 30
    assert tables == [[f"a{i}", f"b{i}"] for i in range(10)]


def _interrupts_and_warnings(_item):
    import logging
    import signal

    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN, logging.getLogger("distributed.worker.state_machine").level


def test_a_local_clusters_workers_ignore_ctrl_c_and_stay_quiet_about_cancelled_tasks():
    """Ctrl+C reaches every process of the terminal's group: the workers must leave it to this process (no traceback
    of their own), and closing them mid-task must not warn; a worker its nanny restarts too."""
    import logging

    executor = chunked.DaskExecutor(workers=1)
    try:
        seen = executor.map(_interrupts_and_warnings, [0], desc="signals")
        executor.client.restart()  # as a nanny restarts a worker that died (its memory limit)
        again = executor.map(_interrupts_and_warnings, [0], desc="signals")
    finally:
        executor.close()
    assert seen == again == [(True, logging.ERROR)]


def test_the_nannys_kill_warning_is_dropped_and_its_other_lines_kept():
    """Closing a cluster of busy workers (an interrupted run) has each nanny warn that it kills its worker, maybe after
    the close returned; hypseg's own line says what happened."""
    import logging

    from hypseg.inference import _dask_worker  # Dask's logging set up, as in a run

    _dask_worker.quiet_nanny_kills()
    _dask_worker.quiet_nanny_kills()
    nanny = logging.getLogger("distributed.nanny")
    assert sum(isinstance(f, _dask_worker._NannyKills) for f in nanny.filters) == 1
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    handler = Keep(level=logging.WARNING)
    nanny.addHandler(handler)
    try:
        nanny.warning("Worker process still alive after %.1f seconds, killing", 4.0)
        nanny.warning("Restarting worker")
    finally:
        nanny.removeHandler(handler)
    assert seen == ["Restarting worker"]


def test_a_local_cluster_does_not_reach_for_dasks_dashboard_port():
    """Another cluster (a second hypseg run, a notebook) may hold port 8787; Dask would warn that it moves."""
    import socket
    import warnings

    held = socket.socket()
    try:
        try:
            held.bind(("", 8787))
            held.listen()
        except OSError:  # already held by someone else: the case this test is about
            pass
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            executor = chunked.DaskExecutor(workers=1)
            try:
                assert executor.map(_plus, [1], desc="plus", shared={"offset": 1}) == [2]
                port = executor._cluster.scheduler.http_server.port
            finally:
                executor.close()
    finally:
        held.close()
    assert port != 8787
    assert not [w for w in seen if "8787" in str(w.message)]


_ALLOCATOR = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX")


def _started_with(_item):
    """The allocator's variables this worker process started with (glibc reads them at start only)."""
    with open("/proc/self/environ", "rb") as handle:
        started = dict(entry.decode().partition("=")[::2] for entry in handle.read().split(b"\0") if entry)
    return {name: started.get(name) for name in _ALLOCATOR}


@glibc
@pytest.mark.parametrize("opt_out", ["", "1"])
def test_a_local_clusters_workers_start_keeping_freed_memory_and_leave_this_process_environment(monkeypatch, opt_out):
    import dask
    from distributed import system

    monkeypatch.setenv(OPT_OUT, opt_out)
    for name in (*_ALLOCATOR, "PYTHONHASHSEED"):
        monkeypatch.delenv(name, raising=False)
    executor = chunked.DaskExecutor(workers=2)
    try:
        seen = executor.map(_started_with, [0, 1], desc="environment")
        limits = {w["memory_limit"] for w in executor.client.scheduler_info()["workers"].values()}
    finally:
        executor.close()
    assert limits == {system.MEMORY_LIMIT // 2}  # Dask's own limit for a worker of two
    if opt_out:  # Dask's own start environment
        dasks = dask.config.get("distributed.nanny.pre-spawn-environ")
        assert seen == [{name: None if dasks.get(name) is None else str(dasks[name]) for name in _ALLOCATOR}] * 2
    else:
        assert seen == [worker_environment(system.MEMORY_LIMIT // 2)] * 2
    assert all(name not in os.environ for name in (*_ALLOCATOR, "PYTHONHASHSEED"))  # the nanny's settings did not stay here


def _contained_in_chunks(work, labels, volume, *, tile: int, refine: int, stats):
    """Stage 6 (containment) run chunk by chunk on a level-1 map ``labels`` of ``volume``, as the work folder holds
    it: the job, the number of chunks, and the two clusters' face counts."""
    grid = ChunkGrid(labels.shape, tile=tile)
    job = Job(work=work, volumes=(volume,), model_dir="", device="cpu",
              config=dataclasses.replace(segment_preset("default"), refine=refine, voxel_band=0), grids=(grid,), stats=(stats,),
              scales=((0.0, 1.0),), side_sets=((5,),), sizes=(), embed_tile=None, halo=0, data=DataConfig(), run_id="run")
    (work / "state.json").write_text(json.dumps({"run": "run"}))
    np.save(job.file(0, "k2"), labels)
    np.save(job.file(0, "object"), np.zeros(labels.shape, np.uint8))
    items = [(0, c) for c in grid.chunks()]
    faces = np.bincount(labels[chunked._face_mask(labels.shape, tuple(slice(0, n) for n in labels.shape))], minlength=3)
    chunked._contain(job, LocalExecutor(), items, 2, {0: chunked.Level1("k2", int(np.argmax(faces[:2])))}, True)
    return job, len(items), faces


def test_holes_are_filled_across_chunk_faces_as_binary_fill_holes_fills_them(tmp_path):
    shape = (21, 30, 26)
    rng = np.random.default_rng(3)
    labels = (ndimage.gaussian_filter(rng.normal(size=shape), 1.5) > 0.05).astype(np.uint16)
    labels[:, :, 0] = 0  # the outside reaches the faces
    grid_points = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"))
    for centre in ((7, 14, 7), (13, 20, 18)):  # hollow shells across chunk corners: holes spanning chunks
        r = np.sqrt(((grid_points - np.array(centre)[:, None, None, None]) ** 2).sum(0))
        labels[(r >= 5) & (r < 6.5)] = 1
    job, chunks, faces = _contained_in_chunks(tmp_path, labels, np.zeros(shape), tile=7, refine=0, stats=())
    outside = int(np.argmax(faces[:2]))
    expected = ndimage.binary_fill_holes(labels != outside)
    assert chunks > 20 and expected.sum() > (labels != outside).sum()  # several chunks, and holes to fill
    assert np.array_equal(np.load(job.file(0, "object")).astype(bool), expected)
    assert np.array_equal(np.load(job.file(0, "k2")), expected.astype(np.uint16))


@pytest.mark.parametrize("passes", [1, 2])
def test_the_refined_object_chunk_by_chunk_is_the_whole_volume_one(tmp_path, passes):
    from hypseg.data.normalise import apply
    from hypseg.inference.hierarchy import level1_object

    shape = (23, 30, 26)
    rng = np.random.default_rng(5)
    volume = (ndimage.gaussian_filter(rng.normal(size=shape), 2.0) * 40 + rng.normal(size=shape)).astype(np.float32)
    labels = (ndimage.gaussian_filter(rng.normal(size=shape), 2.5) > 0.0).astype(np.uint16)  # a blurred guess
    labels[:, :, 0] = 0
    stats = statistics(voxel_sample(volume), config=DataConfig())
    job, chunks, _ = _contained_in_chunks(tmp_path, labels, volume, tile=8, refine=passes, stats=stats)
    expected = level1_object(labels, volume=apply(volume, config=DataConfig(), stats=stats), refine=passes)
    assert chunks > 20 and not np.array_equal(expected, level1_object(labels))  # several chunks; it refined
    assert np.array_equal(np.load(job.file(0, "object")).astype(bool), expected)
    assert np.array_equal(np.load(job.file(0, "k2")), expected.astype(np.uint16))  # the level-1 map is the object
    assert sorted(p.name for p in tmp_path.glob("*.npy")) == ["reaches_face.npy", "v0_k2.npy", "v0_object.npy"]


def test_tiled_supervoxels_stay_inside_their_tiles_and_are_each_tiles_own_slic():
    x = np.random.default_rng(0).normal(size=(20, 30, 17)).astype(np.float32)
    tiled = supervoxels(x, size=60, tile=8)
    edges = [tile_bounds(n, 8) for n in x.shape]
    sample = voxel_sample(x).astype(np.float64)
    start = 0
    for i in range(len(edges[0]) - 1):
        for j in range(len(edges[1]) - 1):
            for k in range(len(edges[2]) - 1):
                box = tuple(slice(e[a], e[a + 1]) for e, a in zip(edges, (i, j, k)))
                alone = supervoxels(x[box], size=60, scale=(sample.mean(), sample.std()))
                np.testing.assert_array_equal(tiled[box], alone + start)
                start += int(alone.max()) + 1
    assert tiled.max() + 1 == start
    assert np.array_equal(supervoxels(x, size=60, tile=64), supervoxels(x, size=60))  # one tile: plain SLIC


def test_embedding_a_region_equals_cropping_the_whole_embedding(model_dir):
    from hypseg.inference.embed import embed_volume
    from hypseg.inference.model_io import load_model

    network = load_model(model_dir).network
    x = cell_image((18, 20, 16))
    region = (slice(3, 11), slice(0, 20), slice(9, 16))
    for p in (5, 10):
        whole = embed_volume(network, x, patch_size=p, tile=7)
        np.testing.assert_allclose(embed_volume(network, x, patch_size=p, tile=7, region=region), whole[region], atol=1e-6)


def test_normalisation_statistics_come_from_a_regular_grid_above_the_sample_size():
    x = np.random.default_rng(1).gamma(2.0, size=(9, 10, 11)).astype(np.float32)
    assert np.array_equal(voxel_sample(x), x.ravel())
    sampled = voxel_sample(x, max_voxels=200)
    assert np.array_equal(np.sort(sampled), np.sort(x[::2, ::2, ::2].ravel()))  # stride 2: 5 * 5 * 6 = 150 voxels
    config = DataConfig(normalisation="percentile")
    assert statistics(x, config=config) == tuple(np.percentile(x.ravel(), [1.0, 99.0]).tolist())


@pytest.mark.parametrize("suffix", [".mrc", ".npy", ".tif", ".nii", ".nii.gz", ".zarr"])
def test_a_label_map_written_box_by_box_reads_back_as_the_whole_write(tmp_path, suffix):
    labels = np.random.default_rng(2).integers(0, 7, size=(10, 13, 9)).astype(np.uint8)
    like = Volume(np.zeros(labels.shape, np.float32), spacing=(3.0, 2.0, 0.5), affine=affine_from_spacing((3.0, 2.0, 0.5), (4.0, 5.0, 6.0)),
                  metadata={"unit": "mm"})
    writer = label_writer(tmp_path / f"boxes{suffix}", shape=labels.shape, dtype=np.uint8, like=like)
    for z in range(0, 10, 4):
        for x in range(0, 9, 5):
            box = (slice(z, z + 4), slice(0, 13), slice(x, x + 5))
            writer.write(box, labels[box])
    writer.close()
    save_labels(labels, like=like, path=tmp_path / f"whole{suffix}")
    boxes, whole = load_volume(tmp_path / f"boxes{suffix}"), load_volume(tmp_path / f"whole{suffix}")
    np.testing.assert_array_equal(load_labels(tmp_path / f"boxes{suffix}"), labels)
    np.testing.assert_allclose(boxes.affine, whole.affine)
    assert boxes.spacing == whole.spacing and boxes.metadata == whole.metadata


def test_ome_zarr_label_maps_carry_ngff_multiscale_metadata_whole_or_box_by_box(tmp_path):
    zarr = pytest.importorskip("zarr")
    like = Volume(np.zeros((4, 5, 6), np.float32), spacing=(3.0, 2.0, 1.0), affine=affine_from_spacing((3.0, 2.0, 1.0), (7.0, 8.0, 9.0)),
                  metadata={"unit": "angstrom"})
    label_writer(tmp_path / "l.zarr", shape=(4, 5, 6), dtype=np.uint8, like=like).close()
    save_labels(np.ones((4, 5, 6), np.uint8), like=like, path=tmp_path / "whole.zarr")  # a label map written whole too
    for name in ("l", "whole"):
        (scales,) = zarr.open_group(str(tmp_path / f"{name}.zarr"), mode="r").attrs["multiscales"]
        assert scales["name"] == name
        assert [a["name"] for a in scales["axes"]] == ["z", "y", "x"] and scales["axes"][0]["unit"] == "angstrom"
        transforms = scales["datasets"][0]["coordinateTransformations"]
        assert transforms == [{"type": "scale", "scale": [3.0, 2.0, 1.0]}, {"type": "translation", "translation": [9.0, 8.0, 7.0]}]
    np.testing.assert_array_equal(load_labels(tmp_path / "whole.zarr"), np.ones((4, 5, 6), np.uint8))


def test_a_lazy_volume_reads_the_boxes_of_the_loaded_one(tmp_path):
    vol = Volume(cell_image((12, 14, 10)), spacing=(1.0, 1.0, 1.0), affine=np.eye(4))
    for suffix in (".mrc", ".zarr", ".tif", ".nii", ".npy"):
        save_volume(vol, tmp_path / f"v{suffix}")
        lazy = load_volume(tmp_path / f"v{suffix}", lazy=True).array
        whole = load_volume(tmp_path / f"v{suffix}").array
        assert lazy.shape == whole.shape and lazy.dtype == np.float32
        np.testing.assert_array_equal(lazy[2:7, 3:14, 1:4], whole[2:7, 3:14, 1:4])


def test_a_lazy_compressed_tiff_decodes_only_the_pages_of_the_box(tmp_path, monkeypatch):
    import tifffile

    from hypseg.io import tiff

    array = cell_image((12, 14, 10))
    tifffile.imwrite(tmp_path / "c.tif", array, compression="zlib")
    asked = []
    read_pages = tiff.read_pages
    monkeypatch.setattr(tiff, "read_pages", lambda path, start, stop: asked.append((start, stop)) or read_pages(path, start, stop))
    lazy = load_volume(tmp_path / "c.tif", lazy=True).array
    asked.clear()  # the value scan reads every page once, a block of pages at a time
    np.testing.assert_array_equal(lazy[4:9, 2:11, 3:7], array[4:9, 2:11, 3:7])
    np.testing.assert_array_equal(lazy[6], array[6])
    assert asked == [(4, 9), (6, 7)]


def _segment(*args):
    return runner.invoke(app, ["segment", *map(str, args)])


def _error(result):
    assert result.exit_code == 2, result.output
    return result.output.strip().splitlines()[-1]


def test_a_chunk_that_is_not_a_multiple_of_the_tile_is_one_line_and_one_larger_than_the_volume_is_one_chunk(model_dir, volume_file, tmp_path):
    out = tmp_path / "seg"
    assert _error(_segment(volume_file, "-m", model_dir, "-o", out, "--chunk", 100)) == \
        "hypseg: error: --chunk 100 must be a positive multiple of the supervoxel tile (128 voxels)"
    assert not out.exists()
    assert _segment(volume_file, "-m", model_dir, "-o", out, "--chunk", 128).exit_code == 0
    assert _segment(volume_file, "-m", model_dir, "-o", tmp_path / "large", "--chunk", 256).exit_code == 0  # 20 x 34 x 28
    for name in sorted(p.name for p in out.glob("*_k*")):
        np.testing.assert_array_equal(load_labels(tmp_path / "large" / name), load_labels(out / name))


def test_a_zarr_group_without_the_array_named_is_one_line(model_dir, tmp_path):
    zarr = pytest.importorskip("zarr")
    group = zarr.open_group(str(tmp_path / "two.zarr"), mode="w")
    for name in ("raw", "denoised"):
        (getattr(group, "create_array", None) or group.create_dataset)(name, shape=(9, 9, 9), dtype="f4")
    message = _error(_segment(tmp_path / "two.zarr", "-m", model_dir, "-o", tmp_path / "seg", "--chunk", 128))
    assert message == f"hypseg: error: {tmp_path / 'two.zarr'}: cannot read as zarr: holds arrays denoised, raw; expected one array or one named 'array'"


def test_an_unreachable_scheduler_is_one_line_after_the_timeout(model_dir, volume_file, tmp_path):
    result = _segment(volume_file, "-m", model_dir, "-o", tmp_path / "seg", "--scheduler", "tcp://127.0.0.1:9",
                      "--scheduler-timeout", 1)
    assert _error(result).startswith("hypseg: error: cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 1 s")
    assert not (tmp_path / "seg").exists()


@pytest.fixture
def small_tiles(tmp_path):
    """A recipe file whose supervoxel tile lets the test volume be cut into chunks of 8."""
    path = tmp_path / "recipe.toml"
    _recipe("default").save_toml(path)
    return path


def test_too_little_disk_is_refused_before_anything_is_written(model_dir, volume_file, tmp_path, monkeypatch, small_tiles):
    import shutil

    from hypseg.inference import pipeline

    monkeypatch.setattr(pipeline.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 1000, 1000))
    message = _error(_segment(volume_file, "-m", model_dir, "-o", tmp_path / "seg", "--chunk", 8, "-r", small_tiles))
    assert message.startswith(f"hypseg: error: {tmp_path / 'seg'}: segmenting chunk by chunk needs about ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.toml"]


def test_a_disk_that_fills_up_while_writing_leaves_no_partial_output(model_dir, volume_file, tmp_path, monkeypatch, small_tiles):
    from hypseg.inference import pipeline

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pipeline, "label_writer", full)
    message = _error(_segment(volume_file, "-m", model_dir, "-o", tmp_path / "seg", "--chunk", 8, "-r", small_tiles))
    assert message == f"hypseg: error: {tmp_path / 'seg'}: no space left on the device (No space left on device); nothing was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.toml"]


def test_device_auto_is_the_cpu_without_cuda_and_a_bad_name_is_one_line(model_dir, volume_file, tmp_path):
    import torch

    from hypseg.device import resolve_device

    if not torch.cuda.is_available():  # this machine and CI: auto is the CPU, and asking for CUDA is one line
        assert resolve_device("auto") == "cpu"
        assert _error(_segment(volume_file, "-m", model_dir, "-o", tmp_path / "seg", "--device", "cuda")) == \
            "hypseg: error: device 'cuda' was requested but CUDA is not available on this machine"
    assert _error(_segment(volume_file, "-m", model_dir, "-o", tmp_path / "seg", "--device", "gpu")) == \
        "hypseg: error: unknown device 'gpu'; choose auto, cpu, cuda or cuda:N"


def test_supervoxel_means_on_a_named_device_equal_the_default_ones():
    from hypseg.inference.pooling import pool_embedding

    rng = np.random.default_rng(4)
    emb = (rng.normal(size=(6, 7, 8, 2)) * 0.2).astype(np.float32)
    segs = rng.integers(0, 9, size=(6, 7, 8))
    weights = rng.uniform(0.1, 1.0, size=(6, 7, 8)).astype(np.float32)
    default = pool_embedding(emb, segs, voxel_weights=weights)
    named = pool_embedding(emb, segs, voxel_weights=weights, device="cpu")
    np.testing.assert_allclose(named.points, default.points, rtol=0, atol=1e-12)


def _interrupt_embedding(monkeypatch, at: int) -> list:
    """Make the ``at``-th chunk's embedding task raise KeyboardInterrupt, once; returns the chunks asked for."""
    real, calls, raised = chunked._embed_task, [], []

    def task(job, item):
        calls.append(item)
        if len(calls) == at and not raised:
            raised.append(item)
            raise KeyboardInterrupt
        return real(job, item)

    monkeypatch.setattr(chunked, "_embed_task", task)
    return calls


def test_an_interrupted_run_resumes_from_its_finished_chunks_with_the_uninterrupted_labels(
        model_dir, volume_file, tmp_path, monkeypatch, capsys):
    config = _recipe("default")
    segment_files([volume_file], model_dir=model_dir, out=tmp_path / "whole", config=config, chunk=TILE)
    calls = _interrupt_embedding(monkeypatch, at=3)
    out, work = tmp_path / "seg", tmp_path / ".seg.partial"
    with pytest.raises(KeyboardInterrupt):
        segment_files([volume_file], model_dir=model_dir, out=out, config=config, chunk=TILE)
    assert not out.exists() and len(list((work / "done").glob("*.json"))) == 2
    assert f"the 2 chunks embedded so far are kept in {work}" in capsys.readouterr().err
    finished = calls[:2]
    calls.clear()
    segment_files([volume_file], model_dir=model_dir, out=out, config=config, chunk=TILE, resume=True, progress=True)
    chunks = ChunkGrid((20, 34, 28), tile=TILE, group=1).chunks()
    assert len(calls) == len(chunks) - 2 and not set(calls) & set(finished)
    said = f"embedding (2 of {len(chunks)} chunks kept from the stopped run): {len(chunks) - 2}/{len(chunks) - 2} chunk in "
    assert said in capsys.readouterr().err  # a resumed run says what it kept
    assert set(_agreement(tmp_path / "whole", out).values()) == {1.0}
    assert not work.exists()


def test_a_stopped_run_is_resumed_only_with_resume_and_the_same_settings(model_dir, volume_file, tmp_path, monkeypatch,
                                                                         small_tiles):
    _interrupt_embedding(monkeypatch, at=2)
    out, work = tmp_path / "seg", tmp_path / ".seg.partial"
    args = [volume_file, "-m", model_dir, "-o", out, "--chunk", TILE, "-r", small_tiles]
    with pytest.raises(KeyboardInterrupt):
        segment_files([volume_file], model_dir=model_dir, out=out, config=_recipe("default"), chunk=TILE)
    assert _error(_segment(*args)) == (f"hypseg: error: {work}: holds the chunks of a run that stopped before its end; "
                                       "continue it with --resume, or start over with --overwrite")
    assert _error(_segment(*args, "--seed", 3, "--resume")) == (
        f"hypseg: error: {work}: holds an interrupted run of other volumes, model or settings; "
        "start over without --resume (and with --overwrite)")
    assert len(list((work / "done").glob("*.json"))) == 1 and not out.exists()
    (work / "v0_emb5.npy").rename(work / "emb5.npy")
    assert _error(_segment(*args, "--resume")) == (f"hypseg: error: {work}: is incomplete (v0_emb5.npy is missing); "
                                                   "start over without --resume (and with --overwrite)")
    monkeypatch.undo()
    result = _segment(*args, "--seed", 3, "--overwrite")
    assert result.exit_code == 0, result.output
    assert out.exists() and not work.exists()
    assert _error(_segment(*args, "--seed", 3, "--resume")) == (  # the same command again, once it has finished
        f"hypseg: error: {out} holds a finished segmentation: there is nothing to resume; pass --overwrite instead to "
        "segment again")
    _interrupt_embedding(monkeypatch, at=2)  # a run to replace it stops: its chunks are not to be given up
    with pytest.raises(KeyboardInterrupt):
        segment_files([volume_file], model_dir=model_dir, out=out, config=_recipe("default"), chunk=TILE, overwrite=True)
    monkeypatch.undo()
    assert _error(_segment(*args, "--resume")) == (
        f"hypseg: error: {out} holds a finished segmentation, and {work} the chunks of a run that was to replace it; "
        "pass --overwrite with --resume to continue that run")
    result = _segment(*args, "--resume", "--overwrite")
    assert result.exit_code == 0, result.output
    assert "1 of" in result.output and "chunks kept from the stopped run" in result.output and not work.exists()


def test_a_run_that_is_not_chunked_neither_ignores_nor_keeps_a_stopped_chunked_runs_chunks(model_dir, volume_file, tmp_path,
                                                                                          monkeypatch, small_tiles):
    _interrupt_embedding(monkeypatch, at=2)
    out, work = tmp_path / "seg", tmp_path / ".seg.partial"
    with pytest.raises(KeyboardInterrupt):
        segment_files([volume_file], model_dir=model_dir, out=out, config=_recipe("default"), chunk=TILE)
    monkeypatch.undo()
    args = [volume_file, "-m", model_dir, "-o", out, "-r", small_tiles]  # no --chunk: a small volume runs whole
    assert _error(_segment(*args)) == (f"hypseg: error: {work}: holds the chunks of a run that stopped before its end; "
                                       "continue it with --resume and the options that started it, or start over with --overwrite")
    assert _error(_segment(*args, "--resume")) == (
        f"hypseg: error: {work}: holds the chunks of a chunked run; continue it with the options that started it "
        "(--chunk, --workers or --scheduler) and --resume, or start over with --overwrite")
    assert work.exists() and not out.exists()
    result = _segment(*args, "--overwrite")
    assert result.exit_code == 0, result.output
    assert out.exists() and not work.exists()


def test_a_run_stopped_before_any_chunk_was_finished_leaves_nothing(model_dir, volume_file, tmp_path, monkeypatch):
    _interrupt_embedding(monkeypatch, at=1)
    with pytest.raises(KeyboardInterrupt):
        segment_files([volume_file], model_dir=model_dir, out=tmp_path / "seg", config=_recipe("default"), chunk=TILE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("shape, dtype", [((7, 9, 11, 2), np.float32), ((7, 9, 11), np.int32), ((5, 6, 7), np.uint16)])
def test_boxes_stored_by_positioned_writes_read_back_as_numpy_assignment(tmp_path, shape, dtype):
    rng = np.random.default_rng(0)
    chunked._create(tmp_path / "a.npy", shape, dtype)
    want = np.zeros(shape, dtype)
    for _ in range(10):
        lo = [int(rng.integers(0, n)) for n in shape[:3]]
        box = tuple(slice(a, int(rng.integers(a + 1, n + 1))) for a, n in zip(lo, shape[:3]))
        block = rng.integers(0, 100, size=tuple(b.stop - b.start for b in box) + shape[3:]).astype(dtype)
        chunked._store(tmp_path / "a.npy", box, block)
        want[box] = block
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), want)
    with pytest.raises(ValueError, match="cannot store a block of shape"):
        chunked._store(tmp_path / "a.npy", (slice(0, 1),) * 3, np.zeros((2, 1, 1) + shape[3:], dtype))


def test_a_leftover_work_folder_without_finished_chunks_is_replaced_quietly(model_dir, volume_file, tmp_path, small_tiles):
    (tmp_path / ".seg.partial" / "done").mkdir(parents=True)  # a run killed before its first chunk
    result = _segment(volume_file, "-m", model_dir, "-o", tmp_path / "seg", "--chunk", TILE, "-r", small_tiles)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["recipe.toml", "seg"]


def test_markers_and_tasks_of_another_run_are_not_trusted(tmp_path):
    grid = ChunkGrid((8, 8, 8), tile=8)
    job = Job(work=tmp_path, volumes=(), model_dir="", device="cpu", config=_recipe("default"), grids=(grid,), stats=(),
              scales=(), side_sets=(), sizes=(), embed_tile=None, halo=0, data=DataConfig(), run_id="new")
    (tmp_path / "done").mkdir()
    (tmp_path / "state.json").write_text(json.dumps({"run": "new"}))
    chunked._mark_done(job, (0, (0, 0, 0)), {500: [((0, 0, 0), 7)]})
    assert chunked._read_done(job, (0, (0, 0, 0))) == {500: [((0, 0, 0), 7)]}
    old = dataclasses.replace(job, run_id="old")
    assert chunked._read_done(old, (0, (0, 0, 0))) is None
    chunked._check_run(job)
    with pytest.raises(RuntimeError, match="now belongs to another run; this task of run old stops"):
        chunked._check_run(old)


@pytest.mark.filterwarnings("ignore::hypseg.clustering.exceptions.EmptyClusterWarning")  # all points alike
def test_a_collapsed_model_is_named_in_a_chunked_run_as_in_a_whole_one(model_dir, volume_file, tmp_path):
    import re

    from helpers import collapsed_copy
    from hypseg.inference.embed import CollapsedModelWarning

    collapsed = collapsed_copy(model_dir, tmp_path / "collapsed")
    config = _recipe("default").with_levels(in_object=False)  # one cluster only: nothing to contain
    for chunk in (None, TILE):
        with pytest.warns(CollapsedModelWarning, match=re.escape("volume 0: the model embeds every voxel alike (spread 0")):
            segment_files([volume_file], model_dir=collapsed, out=tmp_path / f"seg{chunk}", config=config, chunk=chunk)


def test_a_volume_with_no_object_in_a_field_is_warned_about_chunked_as_whole(model_dir, tmp_path):
    from hypseg.inference.hierarchy import NoFieldWarning

    # speckle: however many clusters, each meets the faces as much as its size predicts
    image = ndimage.gaussian_filter(np.random.default_rng(2).normal(0, 1.0, (20, 34, 28)), 1.5).astype(np.float32)
    path = tmp_path / "slabs.mrc"
    save_volume(Volume(image, spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path)
    messages = []
    for name, chunk in (("whole", None), ("chunked", TILE)):
        with pytest.warns(NoFieldWarning) as caught:
            segment_files([path], model_dir=model_dir, out=tmp_path / name,
                          config=dataclasses.replace(_recipe("default"), contrast_sides=()), chunk=chunk)  # no third try
        messages.append([str(w.message) for w in caught if w.category is NoFieldWarning])
    assert len(messages[0]) == 1 and messages[0] == messages[1] and "nor does any of 3 clusters" in messages[0][0]


def test_the_work_files_disk_estimate_counts_the_band_sides_embedding():
    from hypseg.inference.recipe import embedded_sides

    plain = dataclasses.replace(_recipe("default"), band_feature="embedding", band_sides=())
    at2 = dataclasses.replace(plain, band_sides=(2,))
    assert embedded_sides(at2) == embedded_sides(plain) + ((2,),)
    assert chunked.work_bytes_per_voxel(at2, 2) - chunked.work_bytes_per_voxel(plain, 2) == 4 * 2  # one more float32 embedding
    assert chunked.work_bytes_per_voxel(dataclasses.replace(plain, band_sides=(5,)), 2) == chunked.work_bytes_per_voxel(plain, 2)
    on_intensity = dataclasses.replace(plain, band_sides=(2,), band_feature="intensity")
    assert chunked.work_bytes_per_voxel(_recipe("default"), 2) == chunked.work_bytes_per_voxel(on_intensity, 2)  # the default's
    assert embedded_sides(on_intensity) == embedded_sides(plain)  # no embedding for the band on intensity
    assert chunked.work_bytes_per_voxel(on_intensity, 2) - chunked.work_bytes_per_voxel(plain, 2) == 4  # its float32 box mean


@pytest.mark.parametrize("band", ["no band", "a band", "a band at another side", "a band by box means"])
def test_a_second_try_of_level_1_finds_the_object_chunked_as_whole(model_dir, tmp_path, band):
    """Two slabs of the field, differing more than the cube between them differs from either: level 1's two clusters
    are the slabs (no object in a field of view), three find the cube, chunk by chunk as in the whole volume. Two such
    volumes, each holding more supervoxels than a fit's subsample: each draws its own."""
    import warnings

    from hypseg.inference.hierarchy import NoFieldWarning

    paths = [tmp_path / "slabs.mrc", tmp_path / "other.mrc"]
    for seed, path in enumerate(paths, 2):
        image, cube = split_field_image(seed=seed)
        save_volume(Volume(image, spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path)
    config = dataclasses.replace(_recipe("default"), field_retry=3, voxel_band=0 if band == "no band" else 2, subsample=200,
                                 band_sides=(2,) if band.endswith("side") else (),
                                 band_feature="intensity" if band.endswith("box means") else "embedding").with_levels(supervoxel_size=64)
    for name, chunk in (("whole", None), ("chunked", TILE)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", NoFieldWarning)  # the second try found the object
            segment_files(paths, model_dir=model_dir, out=tmp_path / name, config=config, chunk=chunk)
    manifests = [json.loads((tmp_path / folder / "segmentation.json").read_text()) for folder in ("whole", "chunked")]
    for i, stem in enumerate(("slabs", "other")):
        for k, file in manifests[0]["cases"][i]["labels"].items():
            assert np.array_equal(load_labels(tmp_path / "whole" / file),
                                  load_labels(tmp_path / "chunked" / manifests[1]["cases"][i]["labels"][k])), (stem, k)
        obj = load_labels(tmp_path / "whole" / f"{stem}_object.mrc")
        assert np.array_equal(obj, load_labels(tmp_path / "chunked" / f"{stem}_object.mrc"))
        assert (obj.astype(bool) == cube).mean() > 0.85  # the cube, not a slab (at its edges the patches blur)
        cases = [manifest["cases"][i] for manifest in manifests]
        np.testing.assert_allclose(cases[1]["centers"]["2"], cases[0]["centers"]["2"], rtol=1e-3, atol=1e-4)
        assert cases[0]["level1_retried"] is True and cases[1]["level1_retried"] is True  # the manifest says so
    with pytest.warns(NoFieldWarning):  # without the second try, level 1's object is a slab
        segment_files(paths[:1], model_dir=model_dir, out=tmp_path / "plain", config=dataclasses.replace(config, field_retry=0))
    assert (load_labels(tmp_path / "plain" / "slabs_object.mrc").astype(bool) == cube).mean() < 0.6
    assert "level1_retried" not in json.loads((tmp_path / "plain" / "segmentation.json").read_text())["cases"][0]


def test_supervoxel_means_are_computed_once_per_setting(model_dir, tmp_path, monkeypatch):
    """Level 1's second try clusters level 1's own supervoxel means, and levels 2-3 (the same sides, size and purity
    inside the object) share theirs: two passes of the means over the chunks, not four."""
    calls = []
    points_task = chunked._points_task
    monkeypatch.setattr(chunked, "_points_task", lambda *args, **kw: calls.append(args[-1]) or points_task(*args, **kw))
    path = tmp_path / "slabs.mrc"
    save_volume(Volume(split_field_image()[0], spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path)
    config = dataclasses.replace(_recipe("default"), field_retry=3).with_levels(supervoxel_size=64)
    manifest = segment_files([path], model_dir=model_dir, out=tmp_path / "seg", config=config, chunk=TILE)
    assert manifest["cases"][0]["level1_retried"] is True
    chunks = len(ChunkGrid((20, 34, 28), tile=TILE).chunks())
    assert len(calls) == 2 * chunks and len(set(calls)) == chunks  # level 1's pass and the inside levels' pass


@pytest.mark.parametrize("sides", [(5, 10), (4, 8), (3, 7)])
def test_local_contrast_chunk_by_chunk_is_the_whole_volumes(sides):
    """Boxes smaller than the halo, on the faces and inside, odd and even sides: each box's local contrast, read with
    its halo, equals the whole volume's there; the normalisation applies to the slab as to the volume."""
    from hypseg.inference.chunked import box_contrast
    from hypseg.inference.recipe import local_contrast

    volume = np.random.default_rng(0).normal(size=(13, 18, 11)).astype(np.float32)
    whole = local_contrast(2.0 * volume + 1.0, sides)
    grid = ChunkGrid(volume.shape, tile=4)
    pieces = np.full(volume.shape, np.nan)
    for chunk in grid.chunks():
        box = grid.box(chunk)
        pieces[box] = box_contrast(volume, box, sides, lambda slab: 2.0 * slab + 1.0)
    np.testing.assert_allclose(pieces, whole, rtol=0, atol=1e-12)


@pytest.mark.parametrize("components, assign, grow, feature", [(2, "posterior", 0, "embedding"), (3, "posterior", 0, "embedding"),
                                                                (3, "likelihood", 2, "embedding"), (3, "posterior", 1, "intensity"),
                                                                (3, "posterior", 1, "both")])
def test_level_1_by_local_contrast_is_the_same_chunk_by_chunk(model_dir, tmp_path, components, assign, grow, feature):
    """A speckled field with small bright cubes, no object in a field of view at two or three clusters: level 1 by local
    contrast (its p = 5 embedding minus its p = 10, or its box means'), chunk by chunk as in the whole volume, over a
    fit's subsample; with three components the volume's intensity, read chunk by chunk with a halo, picks the object
    among them; each voxel in its most probable or its most likely component, and the object grown after its
    refinement."""
    import warnings

    from hypseg.inference.hierarchy import NoFieldWarning

    path = tmp_path / "speckle.mrc"
    save_volume(Volume(speckle_image(), spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path)
    config = dataclasses.replace(_recipe("default"), contrast_sides=(5, 10), contrast_components=components,
                                 contrast_assign=assign, contrast_grow=grow, contrast_feature=feature,
                                 subsample=3000).with_levels(supervoxel_size=64)
    for name, chunk in (("whole", None), ("chunked", TILE)):
        with warnings.catch_warnings():
            warnings.simplefilter("error", NoFieldWarning)  # local contrast found an object: nothing to warn about
            segment_files([path], model_dir=model_dir, out=tmp_path / name, config=config, chunk=chunk)
    cases = [json.loads((tmp_path / folder / "segmentation.json").read_text())["cases"][0] for folder in ("whole", "chunked")]
    assert cases[0]["level1_by_contrast"] is True and cases[1]["level1_by_contrast"] is True
    for k, file in cases[0]["labels"].items():
        assert np.array_equal(load_labels(tmp_path / "whole" / file), load_labels(tmp_path / "chunked" / cases[1]["labels"][k])), k
    obj = load_labels(tmp_path / "whole" / "speckle_object.mrc").astype(bool)
    assert np.array_equal(obj, load_labels(tmp_path / "chunked" / "speckle_object.mrc").astype(bool)) and 0 < obj.mean() < 0.5
    np.testing.assert_allclose(cases[1]["centers"]["2"], cases[0]["centers"]["2"], rtol=1e-3, atol=1e-4)
    with pytest.warns(NoFieldWarning, match="nor does any of 3 clusters"):  # without it: no object in a field
        segment_files([path], model_dir=model_dir, out=tmp_path / "plain", config=dataclasses.replace(config, contrast_sides=()))
    assert "level1_by_contrast" not in json.loads((tmp_path / "plain" / "segmentation.json").read_text())["cases"][0]


def test_level_1_alone_on_intensity_embeds_one_side_and_segments_chunk_by_chunk_as_the_whole_volume(model_dir, tmp_path):
    """Level 1 alone with local contrast fitted on intensity: a chunked run embeds at level 1's side only, stores the
    local intensity contrast instead of a second embedding, and gives the whole volume's maps."""
    from hypseg.inference.recipe import embedded_sides

    path = tmp_path / "speckle.mrc"
    save_volume(Volume(speckle_image(), spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path)
    config = dataclasses.replace(_recipe("default"), subsample=3000).with_levels(supervoxel_size=64).with_clusters([2])
    embedding = dataclasses.replace(config, contrast_feature="embedding", contrast_sides=(5, 10))
    assert config.contrast_feature == "intensity"  # the default
    assert embedded_sides(config) == ((10,),) and embedded_sides(embedding) == ((10,), (5,))
    assert chunked.work_bytes_per_voxel(embedding, 2) - chunked.work_bytes_per_voxel(config, 2) == 4 * 2 - 4
    for name, chunk in (("whole", None), ("chunked", TILE)):
        segment_files([path], model_dir=model_dir, out=tmp_path / name, config=config, chunk=chunk)
    cases = [json.loads((tmp_path / folder / "segmentation.json").read_text())["cases"][0] for folder in ("whole", "chunked")]
    assert cases[0]["level1_by_contrast"] is True and cases[1]["level1_by_contrast"] is True
    assert np.array_equal(load_labels(tmp_path / "whole" / cases[0]["labels"]["2"]),
                          load_labels(tmp_path / "chunked" / cases[1]["labels"]["2"]))


def test_finer_levels_divide_the_specimen_the_same_chunk_by_chunk(model_dir, tmp_path):
    """With ``contrast_divides = "specimen"`` the finer levels leave local contrast's object whole, as label 1 at every
    level, and divide the rest into labels 0, 2, ..., k - 1; chunk by chunk as in the whole volume."""
    path = tmp_path / "speckle.mrc"
    save_volume(Volume(speckle_image(), spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path)
    config = dataclasses.replace(_recipe("default"), contrast_sides=(5, 10), contrast_components=3, subsample=3000,
                                 contrast_divides="specimen").with_levels(supervoxel_size=64)
    for name, chunk in (("whole", None), ("chunked", TILE)):
        segment_files([path], model_dir=model_dir, out=tmp_path / name, config=config, chunk=chunk)
    cases = [json.loads((tmp_path / folder / "segmentation.json").read_text())["cases"][0] for folder in ("whole", "chunked")]
    assert all(case["level1_by_contrast"] is True and case["finer_levels_divide"] == "specimen" for case in cases)
    obj = load_labels(tmp_path / "whole" / "speckle_object.mrc").astype(bool)
    for k, file in cases[0]["labels"].items():
        labels = load_labels(tmp_path / "whole" / file)
        assert np.array_equal(labels, load_labels(tmp_path / "chunked" / cases[1]["labels"][k])), k
        assert np.array_equal(labels == 1, obj), k  # the object is label 1 at every level
        assert set(np.unique(labels[~obj]).tolist()) == {0, *range(2, int(k))}, k  # the specimen divided
        if k != "2":
            np.testing.assert_allclose(cases[1]["centers"][k], cases[0]["centers"][k], rtol=1e-3, atol=1e-4)
    plain = dataclasses.replace(config, contrast_divides="object")
    segment_files([path], model_dir=model_dir, out=tmp_path / "object", config=plain)
    case = json.loads((tmp_path / "object" / "segmentation.json").read_text())["cases"][0]
    assert case["level1_by_contrast"] is True and "finer_levels_divide" not in case
    finest = load_labels(tmp_path / "object" / case["labels"][max(case["labels"], key=int)])
    assert np.array_equal(finest == 0, ~obj)  # by default the object is divided and the rest stays whole


def test_a_pooled_level_pools_the_volumes_of_one_kind(model_dir, tmp_path):
    """Level 3 of the default pools its volumes. Where one volume's finer levels divide the specimen around local
    contrast's object and another's divide an object in a field of view, each kind is pooled apart: the speckled
    volume segments in the pair as it does alone, and chunk by chunk as in the whole volume."""
    paths = [tmp_path / "speckle.mrc", tmp_path / "slabs.mrc"]
    for path, image in zip(paths, (speckle_image(), split_field_image()[0])):
        save_volume(Volume(image, spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path)
    config = dataclasses.replace(_recipe("default"), subsample=3000).with_levels(supervoxel_size=64)
    assert config.levels[-1].pooled and config.contrast_divides == "specimen"
    for name, chunk, inputs in (("whole", None, paths), ("chunked", TILE, paths), ("alone", None, paths[:1])):
        segment_files(inputs, model_dir=model_dir, out=tmp_path / name, config=config, chunk=chunk)
    cases = {name: json.loads((tmp_path / name / "segmentation.json").read_text())["cases"]
             for name in ("whole", "chunked", "alone")}
    assert cases["whole"][0]["level1_by_contrast"] is True and "level1_by_contrast" not in cases["whole"][1]
    for i, case in enumerate(cases["whole"]):
        for k, file in case["labels"].items():
            whole = load_labels(tmp_path / "whole" / file)
            assert np.array_equal(whole, load_labels(tmp_path / "chunked" / cases["chunked"][i]["labels"][k])), (i, k)
            if i == 0:
                assert np.array_equal(whole, load_labels(tmp_path / "alone" / cases["alone"][0]["labels"][k])), k


def test_growth_touches_local_contrasts_object_alone(model_dir, tmp_path):
    """``contrast_grow`` grows the object local contrast found (the speckled volume's: it holds its ungrown self and
    more) and leaves a volume whose object lies in a field of view as it was, chunk by chunk as in the whole volume."""
    paths = [tmp_path / "speckle.mrc", tmp_path / "slabs.mrc"]
    for path, image in zip(paths, (speckle_image(), split_field_image()[0])):
        save_volume(Volume(image, spacing=(1.0, 1.0, 1.0), affine=affine_from_spacing((1.0, 1.0, 1.0))), path)
    config = dataclasses.replace(_recipe("default"), subsample=3000, contrast_grow=0).with_levels(supervoxel_size=64)
    runs = (("plain", config, None), ("grown", dataclasses.replace(config, contrast_grow=1), None),
            ("grown-chunked", dataclasses.replace(config, contrast_grow=1), TILE))
    for name, recipe, chunk in runs:
        segment_files(paths, model_dir=model_dir, out=tmp_path / name, config=recipe, chunk=chunk)
    objects = {name: [load_labels(tmp_path / name / f"{stem}_object.mrc").astype(bool) for stem in ("speckle", "slabs")]
               for name, _, _ in runs}
    plain, grown = objects["plain"][0], objects["grown"][0]
    assert (grown & plain).sum() == plain.sum() and grown.sum() > plain.sum()
    assert np.array_equal(objects["grown"][1], objects["plain"][1])
    assert all(np.array_equal(a, b) for a, b in zip(objects["grown"], objects["grown-chunked"]))
