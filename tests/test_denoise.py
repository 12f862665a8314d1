import numpy as np
import pytest

from napari_superres import denoise, estimate_noise, psnr
from napari_superres.denoise import CLASSICAL


def test_noise_estimate_is_close(noisy_camera):
    _, noisy = noisy_camera
    assert 17 < estimate_noise(noisy) < 23


@pytest.mark.parametrize("method", CLASSICAL)
def test_every_method_beats_the_noisy_input(noisy_camera, method):
    clean, noisy = noisy_camera
    out = denoise(noisy, method=method)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert psnr(clean, out, data_range=255) > psnr(clean, noisy, data_range=255) + 2


def test_uint16_stack_and_rgb_keep_layout(astronaut_small):
    stack = np.stack([astronaut_small[..., 0], astronaut_small[..., 1]]).astype(np.uint16) * 200
    out = denoise(stack, method="tv", sigma=500)
    assert out.shape == stack.shape and out.dtype == np.uint16
    assert out.min() >= stack.min() and out.max() <= stack.max()
    rgb = denoise(np.moveaxis(astronaut_small, -1, 0), method="wavelet", channel_axis=0)
    assert rgb.shape == (3, 64, 64)


def test_sigma_zero_returns_the_input(camera_small):
    np.testing.assert_array_equal(denoise(camera_small, method="nlm", sigma=0), camera_small)


def test_bad_arguments_are_refused(camera_small):
    with pytest.raises(ValueError, match="choose one of"):
        denoise(camera_small, method="bm3d")
    with pytest.raises(ValueError, match="sigma must be"):
        denoise(camera_small, method="tv", sigma=-1)
    with pytest.raises(ValueError, match="NaN"):
        denoise(np.full((8, 8), np.nan), method="tv")


@pytest.fixture
def tiny_denoiser(register_untrained):
    """A random-initialised luma DnCNN card (scale 1)."""
    return register_untrained("dncnn", "tinydn", {"features": 8, "depth": 3})


def test_a_trained_denoiser_is_a_method_but_not_an_upscaler(tiny_denoiser, astronaut_small):
    from napari_superres import available_denoisers, available_methods

    assert tiny_denoiser in available_denoisers() and tiny_denoiser not in available_methods()
    out = denoise(astronaut_small, method=tiny_denoiser, channel_axis=-1)
    assert out.shape == astronaut_small.shape and out.dtype == np.uint8
    # A luma denoiser cleans each colour channel as a gray image (the chroma is noisy too).
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], denoise(astronaut_small[..., c], method=tiny_denoiser))
    with pytest.raises(TypeError, match="only device, tile and value_range"):
        denoise(astronaut_small, method=tiny_denoiser, iterations=3)


def test_value_range_tells_a_trained_denoiser_where_black_and_white_are(tiny_denoiser, camera_small, rng):
    # Noisy floats in grey levels, unclipped (the DnCNN protocol): their extremes are the
    # noise's, not the signal's; with value_range the model sees what it sees on uint8.
    noisy = np.clip(camera_small + rng.normal(0, 25, camera_small.shape), 0, 255).round()
    as_uint8 = denoise(noisy.astype(np.uint8), method=tiny_denoiser)
    straying = noisy.copy()
    straying[0, 0], straying[0, 1] = -60.0, 320.0  # two outliers stretch the image's own min-max
    by_range = denoise(straying, method=tiny_denoiser, value_range=(0, 255))
    by_extremes = denoise(straying, method=tiny_denoiser)
    inside = np.s_[8:, 8:]  # away from the outliers' neighbourhood
    # (the untrained model's output may leave 0-255, where uint8 is clipped and these floats are not)
    np.testing.assert_allclose(np.clip(by_range, 0, 255)[inside], as_uint8[inside], atol=0.5 + 1e-9)
    assert np.abs(np.clip(by_extremes, 0, 255)[inside] - as_uint8[inside]).max() > 2
    with pytest.raises(ValueError, match="high > low"):
        denoise(noisy, method=tiny_denoiser, value_range=(1, 1))


@pytest.fixture
def stack_with_flat_planes(rng):
    """float32 (4, 48, 48): noisy planes of σ 0.04, a black frame and a constant frame."""
    stack = np.clip(0.5 + rng.normal(0, 0.04, (4, 48, 48)), 0, 1).astype(np.float32)
    stack[1], stack[3] = 0, 0.25
    return stack


def test_flat_planes_and_channels_leave_the_noise_estimate_alone(stack_with_flat_planes):
    noisy = stack_with_flat_planes[[0, 2]]
    assert estimate_noise(stack_with_flat_planes) == pytest.approx(estimate_noise(noisy))
    assert 0.03 < estimate_noise(stack_with_flat_planes) < 0.05
    rgb = np.stack([noisy[0], noisy[1], np.zeros_like(noisy[0])], axis=-1)  # an empty blue channel
    assert estimate_noise(rgb, channel_axis=-1) == pytest.approx(estimate_noise(noisy))
    assert estimate_noise(np.zeros((3, 16, 16), np.uint16)) == 0.0
    assert estimate_noise(np.full((16, 16, 3), 7.0), channel_axis=-1) == 0.0


def test_a_lazy_stack_is_estimated_from_its_first_plane_that_is_not_flat(stack_with_flat_planes):
    import dask.array as da

    lazy = da.from_array(stack_with_flat_planes[[1, 0]], chunks=(1, 48, 48))  # the black frame first
    assert estimate_noise(lazy) == pytest.approx(estimate_noise(stack_with_flat_planes[0]))
    assert estimate_noise(da.zeros((2, 16, 16), chunks=(1, 16, 16))) == 0.0


@pytest.mark.parametrize("method", CLASSICAL)
def test_flat_planes_and_channels_come_back_unchanged(stack_with_flat_planes, method):
    out = denoise(stack_with_flat_planes, method=method)  # σ estimated from the noisy planes
    np.testing.assert_array_equal(out[[1, 3]], stack_with_flat_planes[[1, 3]])
    assert np.abs(out[0] - 0.5).std() < stack_with_flat_planes[0].std()
    rgb = np.moveaxis(stack_with_flat_planes[:3], 0, -1)  # red noisy, green black, blue noisy
    out = denoise(rgb, method=method, channel_axis=-1)
    np.testing.assert_array_equal(out[..., 1], 0)


@pytest.mark.parametrize("method", CLASSICAL)
@pytest.mark.parametrize("shape, channel_axis", [((1, 1), None), ((1, 9), None), ((7, 2), None), ((3, 1, 40), None),
                                                 ((1, 1, 3), -1), ((1, 5, 3), -1), ((3, 2, 2), 0)])
def test_tiny_planes_are_denoised(method, shape, channel_axis):
    image = (np.arange(np.prod(shape)) * 37 % 256).astype(np.uint8).reshape(shape)
    out = denoise(image, method=method, sigma=3, channel_axis=channel_axis)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert denoise(image[..., :1, :1], method=method, sigma=3).shape == image[..., :1, :1].shape

