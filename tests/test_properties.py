"""Property-based tests: shape, dtype and range invariants of the core on random valid inputs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from napari_superres import fit_dip, imresize, upscale

DTYPES = [np.uint8, np.uint16, np.int16, np.float16, np.float32, np.float64]
TINY_DIP = {"down": (4, 4), "up": (4, 4), "skip": (2, 2), "input_channels": 4}


@st.composite
def images(draw, max_side=12, leading=((), (2,))):
    """``(image, channel_axis)``: any supported dtype, optional leading axis and colour axis."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    channels = draw(st.sampled_from([None, 1, 3, 4]))
    shape = draw(st.sampled_from(leading)) + (h, w) + ((channels,) if channels else ())
    if dtype.kind == "f":
        elements = st.floats(-1000, 1000, allow_nan=False, width=16 if dtype.itemsize == 2 else 32)
    else:
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    return draw(arrays(dtype, shape, elements=elements)), (-1 if channels else None)


def _assert_invariants(image, out, axis, scale):
    spatial = [-3, -2] if axis is not None else [-2, -1]
    expected = list(image.shape)
    for a in spatial:
        expected[a] = math.ceil(image.shape[a] * scale)
    assert out.shape == tuple(expected)
    assert out.dtype == image.dtype
    assert out.min() >= image.min() and out.max() <= image.max()


@settings(max_examples=150, deadline=None)
@given(images(), st.sampled_from(["nearest", "bilinear", "bicubic", "lanczos"]),
       st.sampled_from([1, 2, 3, 1.5, 2.25]))
def test_interpolation_keeps_shape_dtype_and_range(case, method, scale):
    image, axis = case
    _assert_invariants(image, upscale(image, scale, method=method, channel_axis=axis), axis, scale)


@settings(max_examples=40, deadline=None)
@given(images(max_side=10), st.sampled_from([("espcn", 2), ("espcn", 3), ("espcn", 4), ("fsrcnn", 4), ("edsr", 4)]))
def test_learned_models_keep_shape_dtype_and_range(case, model):
    image, axis = case
    method, scale = model
    _assert_invariants(image, upscale(image, scale, method=method, channel_axis=axis), axis, scale)


@settings(max_examples=60, deadline=None)
@given(images(leading=((),)), st.sampled_from([0.25, 0.5, 2, 3]))
def test_imresize_shape_and_dtype(case, scale):
    image, axis = case
    spatial = image.shape[:2]
    if min(spatial) * scale < 1:  # a side shrunk below one pixel is refused
        with pytest.raises(ValueError, match="below one pixel"):
            imresize(image, scale, channel_axis=axis)
        return
    out = imresize(image, scale, channel_axis=axis)
    assert out.shape[:2] == tuple(math.ceil(n * scale) for n in spatial)
    assert out.shape[2:] == image.shape[2:] and out.dtype == image.dtype


@settings(max_examples=12, deadline=None)
@given(images(max_side=9), st.sampled_from(["denoise", "inpaint", "super-resolve"]), st.integers(0, 2**31))
def test_dip_keeps_shape_dtype_range_and_known_pixels(case, task, seed):
    image, axis = case
    spatial = image.shape[:-1] if axis is not None else image.shape
    mask = np.random.default_rng(seed).random(spatial) < 0.3
    kwargs = {"inpaint": {"mask": mask}, "super-resolve": {"scale": 2}}.get(task, {})
    out = fit_dip(image, task, channel_axis=axis, iterations=2, network=TINY_DIP, seed=seed, **kwargs)
    _assert_invariants(image, out, axis, 2 if task == "super-resolve" else 1)
    if task == "inpaint":
        np.testing.assert_array_equal(out[~mask], image[~mask])
