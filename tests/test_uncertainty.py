"""Consistency and uncertainty maps: the back-projection residual and the spread under flips and turns."""

import numpy as np
import pytest
from scipy import ndimage

from napari_superres import imresize, upscale
from napari_superres.uncertainty import (
    augmentation_spread,
    backprojection_residual,
    iter_augmentation_spread,
    iter_seed_spread,
    seed_spread,
)


def test_backprojection_residual_is_high_where_the_result_was_spoiled(camera_small):
    lowres = imresize(camera_small, 1 / 4)
    result = upscale(lowres, 4, method="bicubic")
    spoiled = result.copy()
    spoiled[32:48, 16:32] = 255 - spoiled[32:48, 16:32]
    residual = backprojection_residual(spoiled, lowres, 4)
    assert residual.shape == lowres.shape and residual.dtype == np.float64
    inside = residual[9:11, 5:7].min()
    outside = np.delete(residual, np.s_[7:13], axis=0)
    assert inside > 20 and inside > 4 * np.percentile(outside, 99)


def test_backprojection_residual_of_colour_stacks_has_no_channel_axis(astronaut_small):
    lowres = np.stack([astronaut_small[::2, ::2]] * 2)  # (2, 32, 32, 3)
    result = np.stack([upscale(plane, 2, method="bicubic", channel_axis=-1) for plane in lowres])
    residual = backprojection_residual(np.moveaxis(result, -1, 1), np.moveaxis(lowres, -1, 1), 2, channel_axis=1)
    assert residual.shape == (2, 32, 32)
    with pytest.raises(ValueError, match="not x3"):
        backprojection_residual(result, lowres, 3, channel_axis=-1)


def test_an_equivariant_restoration_has_no_spread(camera_small):
    image = camera_small.astype(np.float64)  # integer filtering would round differently along each axis
    mean, spread = augmentation_spread(image, lambda x: ndimage.uniform_filter(x, 3))
    np.testing.assert_allclose(mean, ndimage.uniform_filter(image, 3), atol=1e-9)
    assert mean.dtype == np.float64 and spread.max() < 1e-9


def test_a_direction_dependent_restoration_spreads_at_edges(camera_small):
    image = camera_small.astype(np.float64)
    mean, spread = augmentation_spread(image, lambda x: np.roll(x, 1, axis=-1))
    edges = np.hypot(*np.gradient(image))
    assert spread.mean() > 1 and np.corrcoef(spread[2:-2, 2:-2].ravel(), edges[2:-2, 2:-2].ravel())[0, 1] > 0.5


def test_spread_follows_turns_of_non_square_colour_images_that_change_size(astronaut_small):
    image = np.moveaxis(astronaut_small[:40], -1, 0)  # (3, 40, 64): odd turns swap H and W
    steps = list(iter_augmentation_spread(
        image, _upscaling, channel_axis=0))
    assert steps == sorted(steps) and steps[-1] == 1
    mean, spread = augmentation_spread(image, lambda x: upscale(x, 2, method="bicubic", channel_axis=0),
                                       channel_axis=0)
    assert mean.shape == (3, 80, 128) and spread.shape == (80, 128)
    np.testing.assert_allclose(mean, upscale(image, 2, method="bicubic", channel_axis=0), atol=1)


def _upscaling(x):
    from napari_superres.upscale import iter_upscale

    return iter_upscale(x, 2, method="bicubic", channel_axis=0)


def test_fits_that_agree_have_no_seed_spread(camera_small):
    mean, spread = seed_spread(camera_small, lambda x, seed: ndimage.uniform_filter(x, 3), seeds=3)
    np.testing.assert_array_equal(mean, ndimage.uniform_filter(camera_small, 3))
    assert mean.dtype == camera_small.dtype and spread.max() == 0


def test_seed_spread_is_where_the_fits_disagree(astronaut_small):
    image = astronaut_small.astype(np.float64)

    def fit(x, seed):  # seeds agree outside a square and disagree by ±seed inside it
        out = x.copy()
        out[8:24, 8:24] += seed * (-1) ** seed
        return out

    mean, spread = seed_spread(image, fit, seeds=4, channel_axis=-1)
    assert spread.shape == image.shape[:2]
    np.testing.assert_allclose(spread[8:24, 8:24], np.std([0, -1, 2, -3]))
    assert spread[24:].max() == 0 and np.allclose(mean[24:], image[24:])


def test_seed_spread_steps_through_the_fits(camera_small):
    def iter_fit(x, seed):
        yield from (0.5, 1.0)
        return x + seed

    steps = list(iter_seed_spread(camera_small.astype(float), iter_fit, seeds=2))
    assert steps == [0.25, 0.5, 0.75, 1.0]
    with pytest.raises(ValueError, match="at least 2"):
        seed_spread(camera_small, lambda x, seed: x, seeds=1)
