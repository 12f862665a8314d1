import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from napari_superres import psnr, sr_scores, ssim
from napari_superres.color import rgb_to_ycbcr, ycbcr_to_rgb


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
