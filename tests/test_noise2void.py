import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_superres import denoise, psnr
from napari_superres.models.inference import on_grid
from napari_superres.models.unet import UNet
from napari_superres.noise2void import NEIGHBOURHOOD, _blind_spots, fit_noise2void

FAST = {"iterations": 200, "batch_size": 4, "patch_size": 32, "preview_every": 0}


def test_learns_to_denoise_from_the_noisy_image_alone(noisy_camera):
    clean, noisy = noisy_camera
    out = denoise(noisy, method="n2v", **FAST)
    assert out.shape == noisy.shape and out.dtype == np.uint8
    assert psnr(clean, out, data_range=255) > psnr(clean, noisy, data_range=255) + 2


def test_same_seed_same_result(camera_small):
    first = fit_noise2void(camera_small, iterations=5, batch_size=2, patch_size=16, seed=3)
    again = fit_noise2void(camera_small, iterations=5, batch_size=2, patch_size=16, seed=3)
    other = fit_noise2void(camera_small, iterations=5, batch_size=2, patch_size=16, seed=4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_stacks_keep_dtype_range_and_layout_in_2d_and_3d():
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:48, :48]
    clean = np.stack([2000 + 1500 * np.sin((xx + 2 * z) / 6) * np.cos(yy / 9) for z in range(6)])
    noisy = np.clip(clean + rng.normal(0, 300, clean.shape), 0, 65535).astype(np.uint16)
    planes = fit_noise2void(noisy, iterations=100, batch_size=2, patch_size=32, features=8)
    assert psnr(clean, planes, data_range=4000) > psnr(clean, noisy, data_range=4000) + 2
    volume = fit_noise2void(noisy, volumetric=True, iterations=10, batch_size=2, patch_size=32, patch_depth=4,
                            features=8)
    for out in (planes, volume):
        assert out.shape == noisy.shape and out.dtype == np.uint16
        assert noisy.min() <= out.min() and out.max() <= noisy.max()


def test_rgb_channel_axis_first(astronaut_small):
    out = fit_noise2void(np.moveaxis(astronaut_small, -1, 0), channel_axis=0, iterations=3, patch_size=16)
    assert out.shape == (3, 64, 64) and out.dtype == np.uint8


def test_constant_image_is_returned_unchanged():
    flat = np.full((16, 16), 7, np.uint8)
    np.testing.assert_array_equal(fit_noise2void(flat, iterations=3), flat)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"volumetric": True}, "needs a Z axis"),
        ({"iterations": 0}, "iterations must be"),
        ({"blind_fraction": 0.7}, "blind_fraction"),
    ],
)
def test_bad_arguments_are_refused_before_any_work(camera_small, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_noise2void(camera_small, **kwargs)


def test_too_small_planes_are_refused():
    with pytest.raises(ValueError, match="at least 5x5"):
        fit_noise2void(np.zeros((4, 30)))


def test_classical_options_are_refused_for_classical_methods(camera_small):
    with pytest.raises(TypeError, match="only the trained and fitted"):
        denoise(camera_small, method="tv", iterations=10)


@settings(max_examples=40, deadline=None)
@given(h=st.integers(5, 12), w=st.integers(5, 12), depth=st.sampled_from([None, 3]), seed=st.integers(0, 99))
def test_blind_spots_take_another_pixel_close_by(h, w, depth, seed):
    spatial = (h, w) if depth is None else (depth, h, w)
    pixels = int(np.prod(spatial))
    batch = torch.arange(2 * 2 * pixels, dtype=torch.float32).reshape((2, 2) + spatial)  # every value unique
    masked, spots = _blind_spots(batch, 0.1, torch.Generator().manual_seed(seed))
    flat_in, flat_out = batch.reshape(2, 2, -1), masked.reshape(2, 2, -1)
    for b in range(2):
        for spot in spots[b].tolist():
            source = int(flat_out[b, 0, spot]) - b * 2 * pixels  # the value says where it came from
            assert source != spot
            (z0, y0, x0), (z1, y1, x1) = (np.unravel_index(i, (depth or 1, h, w)) for i in (spot, source))
            assert z0 == z1 and abs(y0 - y1) <= NEIGHBOURHOOD and abs(x0 - x1) <= NEIGHBOURHOOD
            assert flat_out[b, 1, spot] == flat_in[b, 1, source]  # channels move together
        untouched = np.setdiff1d(np.arange(pixels), spots[b].numpy())
        assert torch.equal(flat_out[b][:, untouched], flat_in[b][:, untouched])


@pytest.mark.parametrize("dims", [2, 3])
def test_unet_takes_any_size_on_its_grid(dims):
    net = on_grid(UNet(2, 3, features=4, depth=2, dims=dims), 2**2)
    shape = (1, 2, 5, 19, 23) if dims == 3 else (1, 2, 19, 23)
    assert net(torch.zeros(shape)).shape == (1, 3) + shape[2:]
