import numpy as np
import pytest
from skimage import data

from napari_superres import imresize
from napari_superres.resize import INTERPOLATION_METHODS, resize_matrix


def test_bicubic_x2_weights_are_keys_kernel_with_a_minus_half():
    # Output pixel 5 of a x2 enlargement sits at input coordinate 2.75 (1-based):
    # the cubic kernel (a = -0.5) at distances 1.75, 0.75, 0.25, 1.25.
    row = resize_matrix(4, 8)[4]
    np.testing.assert_allclose(row, [-0.0234375, 0.2265625, 0.8671875, -0.0703125])


def test_downscale_antialiasing_widens_the_kernel():
    # x1/2 with antialiasing: kernel 8 input pixels wide, halved in height.
    row = resize_matrix(16, 8)[4]
    assert np.count_nonzero(row) == 8
    assert np.count_nonzero(resize_matrix(16, 8, antialiasing=False)[4]) == 4
    np.testing.assert_allclose(row.sum(), 1.0)


@pytest.mark.parametrize("method", INTERPOLATION_METHODS)
def test_constant_image_stays_constant(method):
    image = np.full((9, 7), 0.3)
    for scale in (0.5, 2, 3.5):
        np.testing.assert_allclose(imresize(image, scale, method=method), 0.3, atol=1e-12)


def test_nearest_replicates_pixels():
    image = np.arange(6, dtype=np.uint8).reshape(2, 3)
    np.testing.assert_array_equal(imresize(image, 2, method="nearest"), image.repeat(2, 0).repeat(2, 1))


def test_shape_channels_and_output_shape():
    rgb = data.astronaut()[:50, :30]
    out = imresize(rgb, 3, channel_axis=-1)
    assert out.shape == (150, 90, 3) and out.dtype == np.uint8
    out = imresize(np.moveaxis(rgb, -1, 0), output_shape=(25, 15), channel_axis=0)
    assert out.shape == (3, 25, 15)
    assert imresize(np.zeros((10, 10)), 1 / 3).shape == (4, 4)  # ceil, as MATLAB


def test_resize_matrix_equals_imresize_on_floats(rng):
    image = rng.random((24, 24))
    m = resize_matrix(24, 6)
    np.testing.assert_allclose(m @ image @ m.T, imresize(image, 0.25), atol=1e-12)


def test_errors():
    with pytest.raises(ValueError, match="method"):
        imresize(np.zeros((4, 4)), 2, method="cubic-spline")
    with pytest.raises(ValueError, match="exactly one"):
        imresize(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="2D image"):
        imresize(np.zeros((4, 4, 4)), 2)
