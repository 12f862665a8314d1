"""Dask and zarr input: lazy results, block by block, equal to the in-memory ones; a distributed cluster runs them."""

import dask.array as da
import numpy as np
import pytest

from napari_superres import denoise, upscale
from napari_superres.io import read_image
from napari_superres.lazy import compute, is_lazy, map_planes
from napari_superres.tiling import ROUNDING_BOUND


def assert_same_up_to_rounding(actual, expected, method="espcn"):
    """Interpolations: the same bytes; learned models: within ``ROUNDING_BOUND`` levels.

    Other tiles, threads or processes round a model's float32 sums differently (see napari_superres.tiling).
    """
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    if method in ("bicubic", "lanczos"):
        np.testing.assert_array_equal(actual, expected)
    else:
        assert np.abs(actual.astype(np.int64) - expected).max() <= ROUNDING_BOUND


@pytest.mark.parametrize("method", ["bicubic", "lanczos", "espcn"])
def test_lazy_upscale_equals_the_in_memory_result(stack, method):
    expected = upscale(stack, 2, method=method, channel_axis=-1)
    lazy = upscale(da.from_array(stack, chunks=(1, 35, 50, 3)), 2, method=method, channel_axis=-1, tile=34)
    assert is_lazy(lazy) and lazy.numblocks[1:3] == (2, 3)  # 34 + 36 rows, 34 + 34 + 35 columns
    assert_same_up_to_rounding(lazy.compute(), expected, method)


def test_blocks_leave_no_seams_in_memory(stack):
    whole = upscale(stack[0], 2, method="espcn", channel_axis=-1, tile=1024)
    blocks = upscale(stack[0], 2, method="espcn", channel_axis=-1, tile=24)  # 3 x 5 blocks, each with its halo
    assert_same_up_to_rounding(blocks, whole)  # a seam (a block without its halo) is many levels off


def test_lazy_gray_uint16_denoising_keeps_dtype_and_matches(stack):
    gray = (stack[..., 0].astype(np.uint16) * 200 + 1000)
    lazy = denoise(da.from_array(gray, chunks=(1, 64, 64)), method="nlm", sigma=800)
    assert lazy.dtype == np.uint16 and is_lazy(lazy)
    np.testing.assert_array_equal(lazy.compute(), denoise(gray, method="nlm", sigma=800))


def test_global_methods_run_one_block_a_plane(stack):
    lazy = denoise(da.from_array(stack[..., 0], chunks=(1, 16, 16)), method="tv", sigma=10)
    assert lazy.numblocks == (3, 1, 1)
    np.testing.assert_array_equal(lazy.compute(), denoise(stack[..., 0], method="tv", sigma=10))


def test_zarr_input(stack, tmp_path):
    zarr = pytest.importorskip("zarr")
    stored = zarr.create_array(tmp_path / "in.zarr", shape=stack.shape, chunks=(1, 64, 64, 3), dtype=stack.dtype)
    stored[:] = stack
    lazy = upscale(zarr.open_array(tmp_path / "in.zarr", mode="r"), 2, method="bilinear", channel_axis=-1)
    assert is_lazy(lazy)
    lazy.to_zarr(str(tmp_path / "out.zarr"))
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "out.zarr")[:],
                                  upscale(stack, 2, method="bilinear", channel_axis=-1))


def test_block_by_block_compute_reports_progress():
    image = np.arange(40 * 30, dtype=np.float32).reshape(40, 30)
    lazy = map_planes(lambda plane: plane * 2, image, scale=1, halo=2, block=10)
    steps = []
    out = np.empty(lazy.shape, lazy.dtype)
    from napari_superres.lazy import iter_blocks

    generator = iter_blocks(lazy, out)
    try:
        while True:
            steps.append(next(generator))
    except StopIteration:
        pass
    assert steps[-1] == 1 and len(steps) == 12
    np.testing.assert_array_equal(out, image * 2)
    np.testing.assert_array_equal(compute(lazy), image * 2)


@pytest.mark.timeout(240)
def test_distributed_cluster_runs_the_same_graph(stack):
    distributed = pytest.importorskip("distributed")
    expected = upscale(stack, 2, method="espcn", channel_axis=-1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            lazy = upscale(da.from_array(stack, chunks=(1, 35, 50, 3)), 2, method="espcn", channel_axis=-1, tile=32)
            result = client.compute(lazy).result()
            workers = {w for w, keys in client.has_what().items()}
    assert len(workers) == 2
    assert_same_up_to_rounding(result, expected)


def test_cli_zarr_to_zarr_on_a_distributed_cluster(stack, tmp_path):
    zarr = pytest.importorskip("zarr")
    distributed = pytest.importorskip("distributed")
    from napari_superres.cli import main

    zarr.create_array(tmp_path / "in.zarr", shape=stack.shape, chunks=(1, 70, 103, 3), dtype=stack.dtype)[:] = stack
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        main(["upscale", str(tmp_path / "in.zarr"), str(tmp_path / "out.zarr"), "--scale", "2", "--method", "espcn",
              "--channel-axis", "-1", "--tile", "48", "--scheduler", cluster.scheduler_address])
    out = zarr.open_array(tmp_path / "out.zarr", mode="r")
    assert_same_up_to_rounding(out[:], upscale(stack, 2, method="espcn", channel_axis=-1))
    record = out.attrs["napari_superres"]
    assert record["task"] == "upscale" and record["method"] == "espcn" and record["source"].endswith("in.zarr")
    main(["upscale", str(tmp_path / "in.zarr"), str(tmp_path / "out.tif"), "--scale", "2", "--method", "espcn",
          "--channel-axis", "-1", "--tile", "48"])  # a TIFF is written block by block too
    assert_same_up_to_rounding(read_image(tmp_path / "out.tif"), out[:])
