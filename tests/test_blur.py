import numpy as np
import pytest

from napari_superres.blur import blur, check_kernel, gaussian_kernel, motion_kernel


def test_gaussian_kernel_is_normalised_symmetric_and_has_its_sigma():
    kernel = gaussian_kernel(2.0)
    assert kernel.shape == (13, 13) and kernel.sum() == pytest.approx(1)
    np.testing.assert_allclose(kernel, kernel.T)
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1])
    offsets = np.arange(-6, 7)
    assert np.sqrt((kernel.sum(axis=0) * offsets**2).sum()) == pytest.approx(2.0, rel=0.02)
    with pytest.raises(ValueError):
        gaussian_kernel(0)


@pytest.mark.parametrize("angle", [0, 30, 90, 135])
def test_motion_kernel_is_a_centred_segment_of_its_length_and_direction(angle):
    kernel = motion_kernel(9, angle)
    assert kernel.shape[0] == kernel.shape[1] and kernel.shape[0] % 2 and kernel.sum() == pytest.approx(1)
    centre = kernel.shape[0] // 2
    rows, cols = np.indices(kernel.shape) - centre
    # Mass-weighted mean position: the centre; spread along the direction: a uniform segment of 9 pixels.
    assert (kernel * rows).sum() == pytest.approx(0, abs=1e-9) and (kernel * cols).sum() == pytest.approx(0, abs=1e-9)
    along = cols * np.cos(np.radians(angle)) - rows * np.sin(np.radians(angle))
    across = cols * np.sin(np.radians(angle)) + rows * np.cos(np.radians(angle))
    assert np.sqrt((kernel * along**2).sum()) == pytest.approx(9 / np.sqrt(12), rel=0.1)
    assert np.sqrt((kernel * across**2).sum()) < 0.5


def test_blur_of_a_point_is_the_kernel_and_keeps_flat_images():
    kernel = motion_kernel(5, angle=30)
    point = np.zeros((15, 15))
    point[7, 7] = 1
    size = kernel.shape[0]
    np.testing.assert_allclose(blur(point, kernel)[7 - size // 2:7 + size // 2 + 1, 7 - size // 2:7 + size // 2 + 1],
                               kernel, atol=1e-12)
    flat = np.full((10, 12, 3), 0.25, np.float32)
    out = blur(flat, kernel, channel_axis=-1)
    assert out.dtype == np.float32 and out.shape == flat.shape
    np.testing.assert_allclose(out, flat, atol=1e-6)


def test_blur_does_not_mix_channels_or_planes(rng):
    image = rng.random((2, 3, 16, 16))  # (T, C, H, W)
    kernel = gaussian_kernel(1.0)
    out = blur(image, kernel, channel_axis=1)
    np.testing.assert_allclose(out[1, 2], blur(image[1, 2], kernel))


def test_bad_kernels_are_refused():
    with pytest.raises(ValueError, match="odd sides"):
        check_kernel(np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-negative"):
        check_kernel(-np.ones((3, 3)))
    with pytest.raises(ValueError, match="larger than the kernel"):
        blur(np.zeros((4, 4)), gaussian_kernel(3))
    np.testing.assert_allclose(check_kernel(np.ones((3, 3))), np.full((3, 3), 1 / 9))
