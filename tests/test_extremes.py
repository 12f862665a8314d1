"""Lazy input and extreme values (issue 16): one behaviour for numpy and dask input, no overflow, no wrap."""

import importlib

import dask.array as da
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_superres import denoise, iter_denoise, upscale
from napari_superres._arrays import ChannelAxisWarning, UnitScale, run_to_end
from napari_superres.tiling import ROUNDING_BOUND
from napari_superres.upscale import iter_upscale, iter_upscale_axes, upscale_axes

I64, U64 = np.iinfo(np.int64), np.iinfo(np.uint64)
F64 = np.finfo(np.float64)
DTYPES = [np.uint8, np.uint16, np.int16, np.int64, np.uint64, np.float16, np.float32, np.float64]


def _extremes(dtype):
    """Values at and near the limits of ``dtype``, and ordinary ones."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        ends = st.sampled_from([int(info.min), int(info.max), int(info.min) + 1, int(info.max) - 1, 0])
        return ends | st.integers(int(info.min), int(info.max))
    info = np.finfo(dtype)
    ends = st.sampled_from([float(info.min), float(info.max), -1e308 if dtype == np.float64 else -1.0, 0.0, 1.0])
    return ends | st.floats(allow_nan=False, allow_infinity=False, width=8 * np.dtype(dtype).itemsize)


@st.composite
def lazy_cases(draw):
    """``(image, chunks, tile, method, scale)``: extreme values, maybe NaN or infinities, random blocks and chunks."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = draw(st.sampled_from([(), (2,)])) + (draw(st.integers(2, 40)), draw(st.integers(2, 40)))
    image = draw(arrays(dtype, shape, elements=_extremes(dtype)))
    if dtype.kind == "f" and draw(st.booleans()):
        where = draw(st.lists(st.integers(0, image.size - 1), min_size=1, max_size=3))
        image.flat[where] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    chunks = tuple(draw(st.integers(-(-n // 4), n)) for n in shape)  # up to 4 chunks an axis
    method = draw(st.sampled_from(["nearest", "bilinear", "bicubic", "lanczos", "tv", "axes"]))
    scale = 1 if method == "tv" else draw(st.sampled_from([1, 2, 3, 1.5]))
    return image, chunks, draw(st.sampled_from([16, 24, 512])), method, scale


def _run(image, tile, method, scale):
    """The result as numpy, or the refusal as ``(type, message)``."""
    try:
        if method == "tv":
            result = denoise(image, method="tv", sigma=0)
        elif method == "axes":  # the first axis only, by bicubic interpolation
            result = upscale_axes(image, (scale,) + (1,) * (image.ndim - 1), block=tile // 8)
        else:
            result = upscale(image, scale, method=method, tile=tile)
        return np.asarray(result)
    except (ValueError, MemoryError) as error:
        return type(error), str(error)


@settings(max_examples=80, deadline=None)
@given(lazy_cases())
def test_lazy_and_numpy_input_agree_and_never_wrap(case):
    image, chunks, tile, method, scale = case
    eager = _run(image, tile, method, scale)
    lazy = _run(da.from_array(image, chunks=chunks), tile, method, scale)
    if isinstance(eager, tuple) or isinstance(lazy, tuple):  # both refuse, for the same reason
        assert eager == lazy
        assert eager[0] is ValueError and "NaN or infinite" in eager[1]
        return
    assert lazy.dtype == eager.dtype == image.dtype
    if image.dtype.kind == "f":
        assert np.isfinite(eager).all()
    assert eager.min() >= image.min() and eager.max() <= image.max()  # no wrap, no overshoot
    size = max(abs(float(image.min())), abs(float(image.max())), 1.0)  # no span: it may overflow
    np.testing.assert_allclose(lazy / size, eager / size, rtol=0, atol=1e-9 + 1 / size)


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
@pytest.mark.parametrize("method", ["nearest", "bicubic"])
def test_full_range_integers_keep_their_extremes(dtype, method):
    info = np.iinfo(dtype)
    image = np.array([[info.min, info.max, info.max], [info.max, info.min, info.min]], dtype)
    for result in (upscale(image, 2, method=method), upscale_axes(image, (2, 1), method=method),
                   denoise(image, method="tv", sigma=0),
                   upscale(da.from_array(image, chunks=1), 2, method=method).compute()):
        assert result.dtype == dtype
        assert result.min() == info.min and result.max() == info.max
    np.testing.assert_array_equal(upscale(image, 2, method="nearest"), np.repeat(np.repeat(image, 2, 0), 2, 1))


def test_large_int64_values_come_back_within_float64_resolution():
    image = np.array([[2**62 + 12345, 2**62 + 2**40], [2**53 + 1, -(2**62) - 7]], np.int64)
    back = upscale(image, 1, method="nearest")
    assert back[0, 0] == image[0, 0] - 0 or abs(int(back[0, 0]) - int(image[0, 0])) <= 2**11
    assert back.max() == image.max() and back.min() == image.min()  # the ends exactly
    assert np.all(np.abs(back.astype(object) - image.astype(object)) <= 2**11)


@pytest.mark.parametrize("low, high", [(-1e308, 1e308), (-F64.max, F64.max), (0.0, F64.max), (1e307, F64.max)])
def test_float64_ranges_near_the_limit_stay_finite(low, high):
    image = np.array([[low, high], [high, low]])
    for method in ("bicubic", "lanczos"):
        result = upscale(image, 3, method=method)
        assert np.isfinite(result).all() and result.min() == low and result.max() == high
    np.testing.assert_array_equal(denoise(image, method="tv", sigma=0), image)
    assert np.isfinite(denoise(image, method="tv", sigma=high / 10)).all()


def test_unclipped_restore_stays_inside_the_dtype():
    values = UnitScale(np.array([0, 60000], np.float16), clip=False)
    restored = values.restore(np.array([-0.5, 0.5, 1.5]))
    assert restored.dtype == np.float16 and np.isfinite(restored).all()
    ints = UnitScale(np.array([I64.min, I64.max]), clip=False).restore(np.array([-1.0, 0.0, 1.0, 2.0]))
    np.testing.assert_array_equal(ints, [I64.min, I64.min, I64.max, I64.max])


@pytest.mark.parametrize("call", [
    lambda image: iter_upscale(image, 2),
    lambda image: iter_upscale(image, 2, method="espcn"),
    lambda image: iter_upscale_axes(image, (2, 1)),
    lambda image: iter_denoise(image, method="tv", sigma=0.1),
], ids=["bicubic", "espcn", "upscale_axes", "denoise tv"])
def test_lazy_nan_is_refused_with_its_count_when_the_work_starts(call):
    image = np.full((64, 64), 0.5)
    image[5, 5], image[40, 7] = np.nan, -np.inf
    lazy = da.from_array(image, chunks=32)
    steps = call(lazy)  # no pass over lazy data here (the GUI thread): in the worker, when it runs
    with pytest.raises(ValueError, match="has 2 NaN or infinite values"):
        run_to_end(steps)


def test_cli_refuses_a_zarr_with_nan_and_leaves_no_output(tmp_path):
    zarr = pytest.importorskip("zarr")
    from napari_superres.cli import main

    image = np.full((64, 64), 0.5)
    image[5, 5] = np.nan
    stored = zarr.create_array(tmp_path / "nan.zarr", shape=image.shape, chunks=(32, 32), dtype=image.dtype)
    stored[:] = image
    with pytest.raises(SystemExit, match="error: the image has 1 NaN or infinite values"):
        main(["upscale", str(tmp_path / "nan.zarr"), str(tmp_path / "out.zarr"), "--scale", "2"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.zarr"]


@pytest.mark.parametrize("shape", [(64, 64, 3), (48, 40, 4), (4, 32, 32, 3)])
def test_colour_without_channel_axis_warns(shape):
    image = np.zeros(shape, np.uint8)
    with pytest.warns(ChannelAxisWarning, match="channel_axis=-1"):
        upscale(image, 2)
    with pytest.warns(ChannelAxisWarning):
        denoise(image, method="tv", sigma=1)


@pytest.mark.parametrize("shape, channel_axis", [((3, 64, 64), None), ((4, 64, 64), None), ((64, 64), None),
                                                 ((8, 8, 3), None), ((64, 64, 3), -1), ((64, 4), None)])
def test_stacks_and_small_planes_do_not_warn(shape, channel_axis, recwarn):
    upscale(np.zeros(shape, np.uint8), 2, channel_axis=channel_axis)
    assert not [w for w in recwarn if issubclass(w.category, ChannelAxisWarning)]


def test_tile_at_the_halo_works_and_equals_one_block():
    image = (np.arange(40 * 50) % 251).astype(np.uint8).reshape(40, 50)
    tiled = upscale(image, 2, method="edsr", tile=17).astype(int)
    # Other tiles round a model's float32 sums differently: within ROUNDING_BOUND (napari_superres.tiling).
    assert np.abs(tiled - upscale(image, 2, method="edsr", tile=512)).max() <= ROUNDING_BOUND
    np.testing.assert_array_equal(upscale(image, 2, tile=16), upscale(image, 2))  # interpolation: exact


@pytest.mark.parametrize("tile", [0, -4, 8, 15, 16.0, True, "64"])
def test_tiles_that_are_no_tile_are_refused(tile):
    with pytest.raises(ValueError, match="tile must be a whole number of pixels ≥ 16"):
        iter_upscale(np.zeros((32, 32), np.uint8), 2, tile=tile)


@pytest.mark.parametrize("factors, channel_axis", [((4, 1, 1), None), ((3, 2, 2), None), ((2, 1.5, 1), -1),
                                                   ((2, 2, 2), -1)])
def test_iter_upscale_axes_reports_each_block_and_equals_upscale_axes(factors, channel_axis, monkeypatch,
                                                                      progress_and_result):
    module = importlib.import_module("napari_superres.upscale")

    rng = np.random.default_rng(0)
    shape = (6, 20, 18) if channel_axis is None else (5, 12, 14, 3)
    image = rng.integers(0, 4000, shape).astype(np.uint16)
    whole = upscale_axes(image, factors, channel_axis=channel_axis, block=10**6)
    monkeypatch.setattr(module, "AXES_BLOCK_VALUES", 500)  # many small blocks
    fractions, result = progress_and_result(iter_upscale_axes(image, factors, channel_axis=channel_axis))
    assert len(fractions) > 5 and fractions[-1] == 1 and np.all(np.diff(fractions) > 0)
    np.testing.assert_array_equal(result, whole)
    np.testing.assert_array_equal(upscale_axes(image, factors, channel_axis=channel_axis, block=1), whole)
    lazy = da.from_array(image, chunks=(2,) + image.shape[1:])
    fractions, from_lazy = progress_and_result(iter_upscale_axes(lazy, factors, channel_axis=channel_axis))
    assert fractions[-1] == 1 and np.all(np.diff(fractions) > 0)
    np.testing.assert_array_equal(from_lazy, whole)


def test_iter_upscale_axes_is_separable_imresize():
    from napari_superres import imresize

    rng = np.random.default_rng(1)
    image = rng.random((24, 30))
    expected = imresize(image, (2, 3), method="bicubic")
    np.testing.assert_allclose(upscale_axes(image, (2, 3), clip=False), expected, rtol=1e-12, atol=1e-12)


def test_iter_upscale_axes_checks_when_called_and_cancels_between_blocks():
    image = np.zeros((4, 64, 64), np.uint8)
    with pytest.raises(ValueError, match="one factor ≥ 1"):
        iter_upscale_axes(image, (2, 1))
    with pytest.raises(ValueError, match="block must be"):
        iter_upscale_axes(image, (2, 1, 1), block=0)
    with pytest.raises(MemoryError, match="process a crop"):
        iter_upscale_axes(image, (1, 10**5, 10**5))
    steps = iter_upscale_axes(image, (4, 1, 1), block=8)
    assert next(steps) < 1
    steps.close()  # cancelled after one block


def test_learned_model_along_two_axes_steps_block_by_block(progress_and_result):
    image = (np.arange(2 * 40 * 36) % 200).astype(np.uint8).reshape(40, 2, 36)  # planes are (Z, X)
    fractions, result = progress_and_result(iter_upscale_axes(image, (2, 1, 2), method="espcn"))
    assert fractions[-1] == 1 and result.shape == (80, 2, 72)
    expected = np.moveaxis(upscale(np.moveaxis(image, 1, 0), 2, method="espcn"), 0, 1)
    np.testing.assert_array_equal(result, expected)
    lazy = da.from_array(image, chunks=(20, 1, 36))
    fractions, result = progress_and_result(iter_upscale_axes(lazy, (2, 1, 2), method="espcn"))
    assert len(fractions) >= 2 and fractions[-1] == 1
    assert np.abs(result.astype(int) - expected).max() <= ROUNDING_BOUND  # other tiles (see tiling.ROUNDING_BOUND)
