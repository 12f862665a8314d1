import os

import numpy as np
import pytest
from skimage import data, filters
from skimage.metrics import peak_signal_noise_ratio

from napari_superres import psnr, sr_scores, ssim
from napari_superres.color import rgb_to_ycbcr, ycbcr_to_rgb
from napari_superres.losses.squeezenet import ENV_VAR
from napari_superres.metrics import laplacian_variance, perceptual_distance


def test_psnr_agrees_with_skimage(rng, camera_small):
    noisy = np.clip(camera_small + rng.normal(0, 10, camera_small.shape), 0, 255).astype(np.uint8)
    assert psnr(camera_small, noisy) == pytest.approx(peak_signal_noise_ratio(camera_small, noisy))


def test_psnr_identical_is_infinite(camera_small):
    assert psnr(camera_small, camera_small) == float("inf")
    assert ssim(camera_small, camera_small) == pytest.approx(1.0)


def test_bt601_luma_of_white_and_black():
    y = rgb_to_ycbcr(np.array([[[255, 255, 255], [0, 0, 0]]], dtype=np.uint8))[..., 0] * 255
    np.testing.assert_allclose(y, [[235, 16]], atol=1e-9)


def test_ycbcr_round_trip(rng):
    rgb = rng.random((5, 5, 3))
    np.testing.assert_allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-12)


def test_shave_ignores_the_border(camera_small):
    damaged = camera_small.copy()
    damaged[:2] = 0
    damaged[:, -2:] = 0
    assert psnr(camera_small, damaged) < 30
    assert psnr(camera_small, damaged, crop_border=2) == float("inf")


def test_sr_scores_use_luma_and_modcrop(astronaut_small):
    hr = np.pad(astronaut_small, ((0, 1), (0, 2), (0, 0)))  # not a multiple of 4
    sr = astronaut_small.copy()
    sr[10, 10] = 0
    p, s = sr_scores(hr, sr, 4, channel_axis=-1)
    y_hr = rgb_to_ycbcr(astronaut_small)[4:-4, 4:-4, 0] * 255
    y_sr = rgb_to_ycbcr(sr)[4:-4, 4:-4, 0] * 255
    assert p == pytest.approx(10 * np.log10(255**2 / np.mean((y_hr - y_sr) ** 2)))
    assert 0.9 < s < 1


@pytest.fixture(scope="module")
def random_features():
    """A SqueezeNet with random weights: the distance's arithmetic, without the ImageNet weights."""
    import torch

    from napari_superres.losses.squeezenet import SqueezeNetFeatures
    from napari_superres.metrics import PERCEPTUAL_LAYERS

    torch.manual_seed(0)
    return SqueezeNetFeatures(layers=PERCEPTUAL_LAYERS).eval()


@pytest.fixture(scope="module")
def astronaut_crop():
    return data.astronaut()[100:196, 150:246]


def test_perceptual_distance_zero_symmetric_and_positive(random_features, astronaut_crop, rng):
    noisy = np.clip(astronaut_crop / 255 + rng.normal(0, 0.05, astronaut_crop.shape), 0, 1)
    same = perceptual_distance(astronaut_crop, astronaut_crop, channel_axis=-1, network=random_features)
    forward = perceptual_distance(astronaut_crop, noisy, channel_axis=-1, network=random_features)
    backward = perceptual_distance(noisy, astronaut_crop, channel_axis=-1, network=random_features)
    assert same == 0.0
    assert 0 < forward <= 2
    assert backward == pytest.approx(forward, rel=1e-5)


def test_perceptual_distance_reads_dtype_gray_and_border(random_features, astronaut_crop):
    gray = astronaut_crop[..., 1]
    blurred = filters.gaussian(gray, sigma=2)  # float in [0, 1]
    d = perceptual_distance(gray, blurred, network=random_features)
    assert perceptual_distance(gray / 255, blurred, network=random_features) == pytest.approx(d, rel=1e-4)
    as_rgb = perceptual_distance(np.dstack([gray] * 3), np.dstack([blurred] * 3), channel_axis=-1,
                                 network=random_features)
    assert as_rgb == pytest.approx(d, rel=1e-4)
    damaged = gray.copy()
    damaged[:4] = 0
    assert perceptual_distance(gray, damaged, network=random_features) > 0
    assert perceptual_distance(gray, damaged, crop_border=4, network=random_features) == 0.0


def test_perceptual_distance_refuses_what_it_cannot_compare(random_features, astronaut_crop):
    with pytest.raises(ValueError, match="shapes differ"):
        perceptual_distance(astronaut_crop, astronaut_crop[:-1], channel_axis=-1, network=random_features)
    with pytest.raises(ValueError, match="32 pixels"):
        perceptual_distance(astronaut_crop[:20], astronaut_crop[:20], channel_axis=-1, network=random_features)
    with pytest.raises(ValueError, match="gray or RGB"):
        perceptual_distance(astronaut_crop, astronaut_crop, network=random_features)  # colour without its axis


def test_sr_scores_add_the_perceptual_distance(random_features, astronaut_small, monkeypatch):
    from napari_superres import metrics

    monkeypatch.setattr(metrics, "_perceptual_network", lambda: random_features)
    hr = np.pad(astronaut_small, ((0, 1), (0, 2), (0, 0)))
    sr = filters.gaussian(astronaut_small, sigma=1, channel_axis=-1, preserve_range=True).astype(np.uint8)
    p, s, d = sr_scores(hr, sr, 4, channel_axis=-1, perceptual=True)
    assert (p, s) == sr_scores(hr, sr, 4, channel_axis=-1)
    assert d == perceptual_distance(astronaut_small, sr, channel_axis=-1, crop_border=4, network=random_features)
    assert d > 0


@pytest.mark.skipif(not os.environ.get(ENV_VAR), reason=f"needs the SqueezeNet v1.1 .caffemodel: set {ENV_VAR}")
def test_pretrained_distance_grows_with_blur_and_noise(rng):
    image = data.astronaut()[100:228, 150:278]
    blurs = [perceptual_distance(image, filters.gaussian(image, sigma=s, channel_axis=-1), channel_axis=-1)
             for s in (0.5, 1, 2, 4)]
    noises = [perceptual_distance(image, np.clip(image / 255 + rng.normal(0, s, image.shape), 0, 1),
                                  channel_axis=-1) for s in (0.01, 0.03, 0.1)]
    assert np.all(np.diff(blurs) > 0) and np.all(np.diff(noises) > 0), (blurs, noises)
    assert 0 < blurs[0] and noises[-1] <= 2


def test_laplacian_variance_falls_with_blur_and_keeps_units(camera_small):
    sharpness = [laplacian_variance(filters.gaussian(camera_small, sigma=s)) for s in (0.5, 1, 2, 4)]
    assert np.all(np.diff(sharpness) < 0), sharpness
    assert laplacian_variance(camera_small) == pytest.approx(laplacian_variance(camera_small / 255))
    assert laplacian_variance(camera_small * 2.0, data_range=510) == pytest.approx(laplacian_variance(camera_small))
    assert laplacian_variance(np.full((16, 16), 7.0)) == 0.0
    assert laplacian_variance(np.add.outer(np.arange(16.0), np.arange(16.0)) / 32) == pytest.approx(0.0)


def test_laplacian_variance_of_colour_is_that_of_its_luma(camera_small):
    gray_rgb = np.stack([camera_small] * 3, axis=0)
    # BT.601 studio-swing luma of a gray pixel v is 16/255 + 219/255 v: the variance scales by (219/255)².
    expected = laplacian_variance(camera_small) * (219 / 255) ** 2
    assert laplacian_variance(gray_rgb, channel_axis=0) == pytest.approx(expected)
    with pytest.raises(ValueError, match="2D image"):
        laplacian_variance(gray_rgb)
