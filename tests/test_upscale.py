import numpy as np
import pytest

from napari_superres import available_methods, imresize, iter_upscale, upscale, upscaled_geometry
from napari_superres.resize import INTERPOLATION_METHODS


@pytest.mark.parametrize("method", INTERPOLATION_METHODS)
def test_interpolation_grayscale_keeps_dtype_and_range(method, camera_small):
    out = upscale(camera_small, 3, method=method)
    assert out.shape == (192, 192) and out.dtype == np.uint8
    assert out.min() >= camera_small.min() and out.max() <= camera_small.max()


def test_bicubic_equals_imresize_on_floats(rng):
    image = rng.random((20, 30))
    np.testing.assert_allclose(upscale(image, 4), imresize(image, 4).clip(image.min(), image.max()))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_dtype_and_intensity_range_are_kept(dtype, camera_small):
    image = camera_small.astype(dtype)
    if dtype == np.uint16:
        image = image * 200 + 1000  # a dim microscopy-like range
    if dtype == np.float32:
        image = image / 255 * 7.5 - 2  # arbitrary float range
    out = upscale(image, 2)
    assert out.dtype == dtype
    assert image.min() <= out.min() and out.max() <= image.max()
    # Mean intensity is preserved by interpolation.
    assert abs(float(out.mean()) - float(image.mean())) < 0.01 * float(np.ptp(image))


def test_float_scale_and_channel_axis_first(astronaut_small):
    image = np.moveaxis(astronaut_small, -1, 0)
    out = upscale(image, 1.5, method="lanczos", channel_axis=0)
    assert out.shape == (3, 96, 96)


def test_nd_stack_is_processed_plane_by_plane(camera_small):
    stack = np.stack([camera_small, camera_small[::-1], camera_small.T])  # (Z, Y, X)
    tz = np.stack([stack, stack[::-1]])  # (T, Z, Y, X)
    out = upscale(tz, 2, method="bilinear")
    assert out.shape == (2, 3, 128, 128)
    np.testing.assert_array_equal(out[1, 0], upscale(camera_small.T, 2, method="bilinear"))


def test_rgb_stack_with_channel_axis(astronaut_small):
    stack = np.stack([astronaut_small] * 2)  # (T, Y, X, C)
    out = upscale(stack, 2, channel_axis=-1)
    assert out.shape == (2, 128, 128, 3)


def test_input_is_not_modified(astronaut_small):
    image = astronaut_small.copy()
    upscale(image, 2, channel_axis=-1)
    np.testing.assert_array_equal(image, astronaut_small)


def test_progress_is_reported_and_ends_at_one(camera_small):
    steps = iter_upscale(np.stack([camera_small] * 4), 2)
    fractions = []
    while True:
        try:
            fractions.append(next(steps))
        except StopIteration as done:
            result = done.value
            break
    assert fractions == [0.25, 0.5, 0.75, 1.0]
    assert result.shape == (4, 128, 128)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(scale=0.5), "scale must be"),
        (dict(scale=-2), "scale must be"),
        (dict(scale=2, method="magic"), "unknown method"),
    ],
)
def test_bad_arguments(kwargs, error, camera_small):
    with pytest.raises(ValueError, match=error):
        upscale(camera_small, **kwargs)


def test_bad_images():
    with pytest.raises(ValueError, match="two spatial axes"):
        upscale(np.zeros(5), 2)
    with pytest.raises(TypeError, match="dtype bool"):
        upscale(np.zeros((4, 4), bool), 2)
    with pytest.raises(ValueError, match="empty"):
        upscale(np.zeros((0, 4)), 2)


def test_geometry_keeps_pixel_centres():
    scale, translate = upscaled_geometry([2.0, 0.5], [10.0, -3.0], 4)
    # The first old pixel spans [t - s/2, t + s/2]; the first new one starts at its edge.
    np.testing.assert_allclose(translate - scale / 2, np.array([10.0, -3.0]) - np.array([2.0, 0.5]) / 2)
    # The centre of the 4 new pixels covering old pixel 0 is the old centre.
    np.testing.assert_allclose(translate + 1.5 * scale, [10.0, -3.0])


def test_available_methods_lists_interpolations_and_models():
    methods = available_methods()
    assert methods["bicubic"] is None
    assert set(methods["espcn"]) >= {4}
