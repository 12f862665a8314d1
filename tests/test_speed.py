"""The fast paths keep the results: strided resizing, numpy blocks without dask, float32 plumbing, threads."""

import dask.array as da
import numpy as np
import pytest

from napari_superres import imresize, upscale
from napari_superres._arrays import UnitScale
from napari_superres.lazy import iter_map_planes, map_planes
from napari_superres.resize import (
    INTERPOLATION_METHODS,
    _contributions,
    _gather_taps,
    _sums_exact_in_float32,
    resize_axis,
)
from napari_superres.tiling import ROUNDING_BOUND


@pytest.mark.parametrize("scale", [4, 3, 2, 1.5, 1, 2.37, 1 / 2, 1 / 3, 1 / 4])
@pytest.mark.parametrize("padding", ["replicate", "symmetric"])
def test_strided_resize_is_the_gathered_sum_bit_for_bit(scale, padding):
    rng = np.random.default_rng(0)
    for shape, axis in [((21, 30), 0), ((21, 30), 1), ((9, 7, 3), 1), ((3, 9, 5), 2)]:
        x = rng.random(shape)
        n = int(np.ceil(shape[axis] * scale))
        for method in INTERPOLATION_METHODS:
            weights, indices = _contributions(shape[axis], n, scale, method, True, padding)
            expected = _gather_taps(x, axis, n, weights, indices, np.float64)
            np.testing.assert_array_equal(resize_axis(x, axis, n, scale, method, padding=padding), expected)


def test_float32_is_resized_in_float32_close_to_float64():
    x = np.random.default_rng(1).random((30, 40, 3)).astype(np.float32)
    out = imresize(x, 4, channel_axis=-1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, imresize(x.astype(np.float64), 4, channel_axis=-1), atol=2e-6)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16])
@pytest.mark.parametrize("scale", [2, 4, 8, 3, 1 / 2, 1 / 4, 1 / 3])
def test_integers_resized_in_float32_where_exact_give_the_float64_result(dtype, scale, monkeypatch):
    info = np.iinfo(dtype)
    image = np.random.default_rng(5).integers(info.min, int(info.max) + 1, (23, 34, 3)).astype(dtype)
    fast = imresize(image, scale, channel_axis=-1)
    monkeypatch.setattr("napari_superres.resize._sums_exact_in_float32", lambda *args: False)
    np.testing.assert_array_equal(fast, imresize(image, scale, channel_axis=-1))


@pytest.mark.parametrize("dtype, scale, exact", [(np.uint8, 4, True), (np.uint8, 8, True), (np.uint8, 1 / 4, True),
                                                 (np.uint8, 3, False), (np.uint8, 1 / 3, False),
                                                 (np.uint16, 2, True), (np.uint16, 4, False)])
def test_float32_exactness_needs_binary_weights_and_small_sums(dtype, scale, exact):
    # x2/x4/x8 and 1/2, 1/4 weights are multiples of 2**-7 ... 2**-13; x3's are not binary fractions.
    n = 40
    assert _sums_exact_in_float32(np.dtype(dtype), n, int(np.ceil(n * scale)), scale, "bicubic", True) == exact


@pytest.mark.parametrize("tile", [None, 16])
def test_upscale_interpolates_integers_as_matlab_does(tile):
    # MATLAB rounds uint8 after each axis; the unit-range float path would not.
    image = np.random.default_rng(6).integers(20, 230, (50, 41, 3)).astype(np.uint8)
    expected = imresize(image, 4, channel_axis=-1).clip(image.min(), image.max())
    np.testing.assert_array_equal(upscale(image, 4, method="bicubic", channel_axis=-1, tile=tile), expected)
    unclipped = upscale(image, 4, method="bicubic", channel_axis=-1, tile=tile, clip=False)
    np.testing.assert_array_equal(unclipped, imresize(image, 4, channel_axis=-1))


def _neighbourly(plane):
    """A process whose every output pixel depends on its neighbours (halo 1), enlarged x2."""
    box = plane.astype(np.float64)
    box[1:-1, 1:-1] += plane[:-2, 1:-1] + plane[2:, 1:-1] + plane[1:-1, :-2] + plane[1:-1, 2:]
    return np.repeat(np.repeat(box, 2, axis=0), 2, axis=1).astype(plane.dtype)


@pytest.mark.parametrize("shape, channel_axis", [((45, 38), None), ((2, 45, 38, 3), -1), ((3, 45, 38), 0),
                                                 ((45, 2, 38), 1)])
def test_numpy_blocks_are_the_dask_graph_without_dask(shape, channel_axis, monkeypatch, progress_and_result):
    image = np.random.default_rng(2).integers(0, 200, shape).astype(np.uint16)
    options = dict(scale=2, halo=1, channel_axis=channel_axis, block=16)
    expected = map_planes(_neighbourly, image, **options).compute(scheduler="synchronous")
    monkeypatch.setattr("napari_superres.lazy.map_planes", None)  # numpy input must not need it
    fractions, result = progress_and_result(iter_map_planes(_neighbourly, image, **options))
    np.testing.assert_array_equal(result, expected)
    assert result.flags.c_contiguous and fractions[-1] == 1 and np.all(np.diff(fractions) > 0)


def test_numpy_upscale_builds_no_dask_graph(monkeypatch):
    image = np.random.default_rng(3).integers(0, 256, (40, 40, 3)).astype(np.uint8)
    lazy = upscale(da.from_array(image, chunks=(16, 16, 3)), 2, method="espcn", channel_axis=-1, tile=16).compute()
    monkeypatch.setattr("napari_superres.lazy.map_planes", None)
    np.testing.assert_array_equal(upscale(image, 2, method="espcn", channel_axis=-1, tile=16), lazy)


@pytest.mark.parametrize("dtype, working", [(np.uint8, np.float32), (np.int16, np.float32), (np.uint16, np.float32),
                                            (np.float32, np.float32), (np.int32, np.float64),
                                            (np.float64, np.float64)])
def test_working_precision_is_float32_only_where_it_holds_the_levels(dtype, working):
    assert UnitScale(np.array([0, 100], dtype)).working_dtype == working
    huge = UnitScale(np.array([-3e38, 3e38], np.float32))
    assert huge.working_dtype == np.float64  # its span overflows float32


def test_float32_plumbing_keeps_uint16_levels():
    image = np.random.default_rng(4).integers(0, 65536, (24, 24)).astype(np.uint16)
    values = UnitScale(image)
    np.testing.assert_array_equal(values.restore(values.to_unit(image, np.float32)), image)


def test_threads_limit_torch_for_the_call_only():
    import torch

    before = torch.get_num_threads()
    image = np.random.default_rng(5).integers(0, 256, (24, 24)).astype(np.uint8)
    one = upscale(image, 2, method="espcn", threads=1)
    assert torch.get_num_threads() == before
    assert np.abs(one.astype(int) - upscale(image, 2, method="espcn")).max() <= ROUNDING_BOUND
    with pytest.raises(ValueError, match="threads must be a whole number"):
        upscale(image, 2, method="espcn", threads=0)


def test_dask_workers_share_the_cores_among_their_threads():
    distributed = pytest.importorskip("distributed")
    from napari_superres.device import usable_cores
    from napari_superres.lazy import _worker_share

    assert _worker_share() is None  # not in a worker: torch's own default (all cores)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        shares = client.gather(client.map(lambda _: _worker_share(), range(4)))
    assert shares == [max(1, usable_cores() // 2)] * 4
