"""The compiled enlargement kernels (numba, optional): the numpy passes' bytes, taken only where they apply."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from napari_superres import resize

pytest.importorskip("numba")


@pytest.fixture
def compiled(monkeypatch):
    """Kernels loaded at once, and a record of the imresize calls that took them."""
    kernels = resize._load_kernels()
    calls = []
    monkeypatch.setattr(resize, "COMPILE_AFTER", 0)
    monkeypatch.setattr(kernels, "enlarge", lambda *args, real=kernels.enlarge: calls.append(args) or real(*args))
    return calls


def _numpy_only(monkeypatch):
    monkeypatch.setattr(resize, "_load_kernels", lambda: None)


def _random(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    if np.issubdtype(dtype, np.floating):
        return (rng.standard_normal(shape) * 10.0 ** rng.integers(-3, 4, shape)).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, int(info.max) + 1, shape).astype(dtype)


@pytest.mark.parametrize("dtype, scale, method, padding", [
    (np.uint8, 4, "bicubic", "replicate"), (np.uint8, 2, "bicubic", "symmetric"),
    (np.uint8, 8, "bilinear", "replicate"), (np.uint8, (2, 4), "nearest", "symmetric"),
    (np.int8, 4, "bicubic", "symmetric"), (np.uint16, 2, "bicubic", "replicate"),
    (np.float32, 4, "bicubic", "replicate"), (np.float32, 2, "bicubic", "symmetric"),
])
@pytest.mark.parametrize("shape, channel_axis", [((23, 34, 3), -1), ((3, 17, 9), 0), ((31, 20), None), ((1, 1, 2), -1)])
def test_compiled_enlargement_is_the_numpy_result_bit_for_bit(compiled, monkeypatch, dtype, scale, method, padding,
                                                              shape, channel_axis):
    image = _random(dtype, shape)
    fast = resize.imresize(image, scale, method=method, padding=padding, channel_axis=channel_axis)
    assert len(compiled) == 1
    _numpy_only(monkeypatch)
    slow = resize.imresize(image, scale, method=method, padding=padding, channel_axis=channel_axis)
    assert fast.dtype == slow.dtype == dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("dtype, scale, method", [
    (np.uint8, 3, "bicubic"),        # x3 weights are no binary fractions: float32 sums would not be exact
    (np.uint8, 1 / 4, "bicubic"),    # a reduction
    (np.uint8, 4, "lanczos"),        # 6 taps
    (np.uint16, 4, "bicubic"),       # sums past float32's integers
    (np.float64, 4, "bicubic"),      # float64 keeps MATLAB's double sums
    (np.float32, 2, "bilinear"),     # zero weights, whose products with inf numpy skips
    (np.uint8, (4, 2), "bicubic"),   # MATLAB would resize the columns first
])
def test_other_resizes_keep_the_numpy_passes(compiled, dtype, scale, method):
    image = _random(dtype, (20, 24, 3))
    resize.imresize(image, scale, method=method, channel_axis=-1)
    assert compiled == []


def test_a_process_loads_the_kernels_after_a_second_of_numpy_passes(monkeypatch):
    monkeypatch.setattr(resize, "_numpy_values", 0)
    monkeypatch.setattr(resize, "COMPILE_AFTER", 64 * 64 * 3)  # one call's output
    loaded = []
    monkeypatch.setattr(resize, "_load_kernels", lambda: loaded.append(True))
    image = _random(np.uint8, (16, 16, 3))
    resize.imresize(image, 4, channel_axis=-1)
    assert loaded == []
    resize.imresize(image, 4, channel_axis=-1)
    assert loaded == [True]


def test_concurrent_calls_from_threads_agree(compiled):
    # numba's default threading layer aborts the process on concurrent parallel launches, unless serialised.
    images = [_random(np.uint8, (64, 48, 3), seed) for seed in range(8)]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda image: resize.imresize(image, 4, channel_axis=-1), images))
    assert len(compiled) == 8
    for image, result in zip(images, results, strict=True):
        np.testing.assert_array_equal(result, resize.imresize(image, 4, channel_axis=-1))


@pytest.mark.parametrize("dtype, value_range", [
    (np.uint8, None), (np.uint16, None), (np.int16, None), (np.int8, (-100, 100)), (np.float32, None),
    (np.float32, (0, 1000)),
])
@pytest.mark.parametrize("clip", [True, False])
def test_compiled_colour_restore_is_the_numpy_result_bit_for_bit(compiled, monkeypatch, dtype, value_range, clip):
    """A luma model's output: YCbCr to RGB and back to the image's values in one sweep, restore's bytes."""
    from napari_superres._arrays import UnitScale
    from napari_superres.color import luma_chroma_to_rgb

    image = _random(dtype, (9, 11, 3), seed=1)
    values = UnitScale(image, clip, value_range)
    rng = np.random.default_rng(2)
    # Beyond [0, 1] on both sides, so that rounding and clipping at both ends are exercised.
    y = rng.uniform(-0.2, 1.2, (40, 44, 1)).astype(np.float32)
    chroma = rng.uniform(-0.2, 1.2, (40, 44, 2)).astype(np.float32)
    used = []
    kernels = resize._load_kernels()
    monkeypatch.setattr(kernels, "ycbcr_to_levels", lambda *a, real=kernels.ycbcr_to_levels: used.append(1) or real(*a))
    fast = luma_chroma_to_rgb(y, chroma, values)
    assert used, "the compiled sweep was not taken"
    _numpy_only(monkeypatch)
    slow = luma_chroma_to_rgb(y, chroma, values)
    assert fast.dtype == slow.dtype == dtype and fast.shape == slow.shape == (40, 44, 3)
    assert fast.tobytes() == slow.tobytes()


def test_compiled_colour_restore_is_skipped_for_float64_work(compiled):
    """Images that work in float64 (int32, float64) keep the numpy restore: the sweep is float32."""
    from napari_superres._arrays import UnitScale

    for dtype in (np.int32, np.float64, np.float16):
        assert UnitScale(_random(dtype, (4, 4, 3))).float32_restore() is None
