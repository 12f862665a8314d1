import numpy as np
import pytest
import torch

from napari_superres import psnr
from napari_superres._fitting import FitStep
from napari_superres.blur import blur, gaussian_kernel, motion_kernel
from napari_superres.dip import NETWORKS, VarianceStopper, blur_operator, fit_dip, iter_fit_dip
from napari_superres.models.skip import SkipNet

TINY = {"down": (8, 8, 8), "up": (8, 8, 8), "skip": (4, 4, 4), "input_channels": 8}


def test_skipnet_shapes_and_range():
    net = SkipNet(8, 3, down=(16, 16, 16), up=(16, 16, 16), skip=(4, 0, 4))
    with torch.no_grad():
        out = net(torch.rand(2, 8, 32, 48))
    assert out.shape == (2, 3, 32, 48)
    assert 0 <= float(out.min()) and float(out.max()) <= 1


def test_paper_network_matches_the_paper_size():
    spec = NETWORKS["paper"]
    net = SkipNet(spec["input_channels"], 3, spec["down"], spec["up"], spec["skip"])
    # The paper's skip network with these settings has about 2.2 M parameters.
    assert 2.1e6 < sum(p.numel() for p in net.parameters()) < 2.3e6


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_denoise_keeps_shape_dtype_and_range(camera_small, dtype):
    image = camera_small[:40, :50].astype(dtype)
    if dtype == np.uint16:
        image = image * 200
    if dtype == np.float32:
        image = image / 255
    out = fit_dip(image, "denoise", iterations=3, network=TINY, early_stopping=False)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert out.min() >= image.min() and out.max() <= image.max()


def test_rgb_super_resolution_shape(astronaut_small):
    out = fit_dip(astronaut_small[:20, :24], "super-resolve", scale=3, channel_axis=-1, iterations=2,
                  network=TINY, early_stopping=False)
    assert out.shape == (60, 72, 3) and out.dtype == np.uint8


def test_stack_is_fitted_plane_by_plane(camera_small):
    stack = np.stack([camera_small[:32, :32], camera_small[32:, 32:]]).astype(np.uint16)
    steps = list(_steps(iter_fit_dip(stack, iterations=4, network=TINY, early_stopping=False, preview_every=2)))
    assert [(s.plane, s.iteration) for s in steps] == [(p, i) for p in range(2) for i in range(1, 5)]
    assert all((s.estimate is not None) == (s.iteration % 2 == 0) for s in steps)
    assert steps[-1].fraction == 1
    assert steps[1].estimate.shape == stack.shape


def _steps(generator):
    result = yield from generator
    assert result is not None


def test_inpainting_returns_known_pixels_exactly(astronaut_small):
    mask = np.zeros(astronaut_small.shape[:2], bool)
    mask[20:30, 10:50] = True
    out = fit_dip(astronaut_small, "inpaint", mask=mask, channel_axis=-1, iterations=3, network=TINY,
                  early_stopping=False)
    np.testing.assert_array_equal(out[~mask], astronaut_small[~mask])
    assert not np.array_equal(out[mask], astronaut_small[mask])


def test_bad_arguments_are_refused_before_work(camera_small):
    with pytest.raises(ValueError, match="needs a mask"):
        fit_dip(camera_small, "inpaint")
    with pytest.raises(ValueError, match="mask shape"):
        fit_dip(camera_small, "inpaint", mask=np.ones((3, 3)))
    with pytest.raises(ValueError, match="integer scale"):
        fit_dip(camera_small, "super-resolve", scale=2.5)
    with pytest.raises(ValueError, match="unknown task"):
        fit_dip(camera_small, "dehaze")
    with pytest.raises(ValueError, match="needs a kernel"):
        fit_dip(camera_small, "deblur")
    with pytest.raises(ValueError, match="odd sides"):
        fit_dip(camera_small, "deblur", kernel=np.ones((4, 4)))
    with pytest.raises(ValueError, match="larger than the kernel"):
        fit_dip(camera_small[:5, :5], "deblur", kernel=gaussian_kernel(3))
    with pytest.raises(ValueError, match="deblur plane by plane"):
        fit_dip(np.stack([camera_small] * 3), "deblur", kernel=gaussian_kernel(1), volumetric=True)


def test_same_seed_same_result(camera_small):
    kwargs = {"iterations": 4, "network": TINY, "early_stopping": False}
    a = fit_dip(camera_small, seed=3, **kwargs)
    b = fit_dip(camera_small, seed=3, **kwargs)
    c = fit_dip(camera_small, seed=4, **kwargs)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_closing_the_generator_cancels(camera_small):
    steps = iter_fit_dip(camera_small, iterations=1000, network=TINY)
    first = next(steps)
    assert isinstance(first, FitStep) and first.iteration == 1
    steps.close()
    with pytest.raises(StopIteration):
        next(steps)


def test_variance_stopper_stops_after_the_minimum():
    # Outputs that settle (shrinking jitter) until iteration 200, then wander (growing jitter).
    rng = np.random.default_rng(0)
    stopper = VarianceStopper(window=10, stride=5, patience=100)
    stopped_at = None
    for iteration in range(1, 1001):
        jitter = abs(iteration - 200) / 200 + 0.05
        output = torch.from_numpy(rng.normal(0, jitter, (1, 1, 8, 8)))
        if stopper.update(iteration, output, lambda i=iteration: i):
            stopped_at = iteration
            break
    # The window ending at t spans t-45..t, so its variance is least a little after 200.
    assert 200 <= stopper.best_iteration <= 260
    assert stopped_at == 3 * stopper.best_iteration  # waits twice as long as the minimum took (> patience)
    assert stopper.best_estimate == stopper.best_iteration
    assert VarianceStopper(window=10, stride=5, patience=100).replay(stopper.history) == (
        stopped_at, stopper.best_iteration)


def test_variance_stopper_waits_through_a_pause():
    # Settling until 250, a bump (the network moves on to new structures), settling further until 700.
    rng = np.random.default_rng(0)
    stopper = VarianceStopper(window=10, stride=5, patience=100)
    for iteration in range(1, 3001):
        if iteration < 250:
            jitter = 1 - iteration / 300
        elif iteration < 400:
            jitter = 0.17 + 0.05 * np.sin(np.pi * (iteration - 250) / 150)
        else:
            jitter = max(0.17 - (iteration - 400) / 3000, 0.07) + max(0, iteration - 700) / 300
        output = torch.from_numpy(rng.normal(0, jitter, (1, 1, 8, 8)))
        if stopper.update(iteration, output, lambda i=iteration: i):
            break
    assert 690 <= stopper.best_iteration <= 760


def test_denoising_beats_the_noisy_input(camera_small, rng):
    clean = camera_small.astype(float)
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    out = fit_dip(noisy, "denoise", iterations=200)
    assert psnr(clean, out, data_range=255) > psnr(clean, noisy, data_range=255) + 2


def test_deblur_fits_through_the_blur_of_blur_py(rng):
    kernel = motion_kernel(7, angle=30)  # not symmetric: a flipped kernel would show
    image = rng.random((1, 3, 20, 24))
    fitted = blur_operator(kernel, "cpu")(torch.from_numpy(image.astype(np.float32)))
    np.testing.assert_allclose(fitted.numpy(), blur(image, kernel, channel_axis=1), atol=1e-5)


def test_deblurring_beats_the_blurred_input(camera_small, rng):
    clean = camera_small.astype(float)
    kernel = gaussian_kernel(1.5)
    blurred = np.clip(blur(clean, kernel) + rng.normal(0, 2, clean.shape), 0, 255).astype(np.uint8)
    out = fit_dip(blurred, "deblur", kernel=kernel, iterations=500, early_stopping=False)
    assert out.dtype == np.uint8
    assert psnr(clean, out, data_range=255) > psnr(clean, blurred, data_range=255) + 0.5


def test_variance_stopper_ignores_the_quiet_start():
    # Nearly constant outputs at first (nothing learnt yet), then a busy phase, then settling.
    rng = np.random.default_rng(0)
    stopper = VarianceStopper(window=10, stride=5, patience=100)
    for iteration in range(1, 600):
        jitter = 0.01 if iteration < 100 else (1.0 if iteration < 200 else max(0.05, 1 - (iteration - 200) / 200))
        output = torch.from_numpy(rng.normal(0, jitter, (1, 1, 8, 8)))
        if stopper.update(iteration, output, lambda i=iteration: i):
            break
    assert stopper.best_iteration >= 350


def test_volumetric_fit_uses_one_3d_network_per_volume():
    from skimage import data

    rng = np.random.default_rng(0)
    clean = np.stack([data.camera()[100:132, 200:232]] * 3).astype(float)
    noisy = np.clip(clean + rng.normal(0, 20, clean.shape), 0, 255).astype(np.uint8)
    stack = np.stack([noisy, noisy[:, ::-1]])  # (T, Z, H, W): two volumes of 3 slices
    steps = list(_steps(iter_fit_dip(stack, "denoise", iterations=4, volumetric=True, early_stopping=False,
                                     preview_every=2)))
    assert {s.planes for s in steps} == {2} and [s.plane for s in steps] == [0] * 4 + [1] * 4
    assert steps[1].estimate.shape == stack.shape
    out = fit_dip(stack, "denoise", iterations=4, volumetric=True, early_stopping=False)
    assert out.shape == stack.shape and out.dtype == np.uint8
    mask = np.zeros(stack.shape[1:], bool)
    mask[1, 10:20, 10:20] = True  # a hole in the middle slice only
    filled = fit_dip(stack, "inpaint", mask=mask, iterations=3, volumetric=True)
    np.testing.assert_array_equal(filled[:, ~mask], stack[:, ~mask])
    with pytest.raises(ValueError, match="super-resolve plane by plane"):
        iter_fit_dip(stack, "super-resolve", scale=2, volumetric=True)
    with pytest.raises(ValueError, match="Z axis"):
        iter_fit_dip(noisy[0], "denoise", volumetric=True)


def _steps(generator):
    while True:
        try:
            yield next(generator)
        except StopIteration:
            return
