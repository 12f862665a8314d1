"""The per-image fits (DIP, Noise2Void, video prior) take the same ``precision`` as the learned models."""

import numpy as np
import pytest
from skimage import data

from napari_superres import fit_dip, fit_noise2void, fit_video_prior, metrics

CLEAN = data.camera()[200:232, 200:232]
NOISY = np.clip(CLEAN + np.random.default_rng(0).normal(0, 20, CLEAN.shape), 0, 255).astype(np.uint8)
FRAMES = np.stack([NOISY, np.roll(NOISY, 1, axis=1), np.roll(NOISY, 2, axis=1)])

FITS = {  # ``steps``: a short fit for the tests of which arithmetic runs, a longer one for the quality
    "dip": lambda precision, steps=4: fit_dip(NOISY, "denoise", iterations=10 * steps, precision=precision),
    "noise2void": lambda precision, steps=4: fit_noise2void(NOISY, iterations=5 * steps, patch_size=32, batch_size=4,
                                                            preview_every=0, precision=precision),
    "video prior": lambda precision, steps=4: fit_video_prior(FRAMES, FRAMES, epochs=steps, features=8, depth=2,
                                                              precision=precision),
}


def _psnr(result):
    reference = CLEAN if result.ndim == 2 else np.stack([CLEAN] * len(result))
    return metrics.psnr(reference, result, data_range=255)


@pytest.mark.parametrize("fit", FITS)
@pytest.mark.parametrize("fast_bf16, same_as", [(False, "fp32"), (True, "bf16")])
def test_auto_is_bf16_only_where_the_device_computes_it_fast(fit, fast_bf16, same_as, monkeypatch):
    monkeypatch.setattr("napari_superres.device.has_fast_bf16", lambda device: fast_bf16)
    np.testing.assert_array_equal(FITS[fit]("auto", steps=1), FITS[fit](same_as, steps=1))


@pytest.mark.parametrize("fit", FITS)
def test_bf16_fits_run_in_bf16_and_restore_as_well(fit):
    fp32, bf16 = FITS[fit]("fp32"), FITS[fit]("bf16")
    assert bf16.dtype == fp32.dtype and (bf16 != fp32).any()  # bf16 did run
    assert abs(_psnr(bf16) - _psnr(fp32)) < 1.0  # dB: the fit's arithmetic, not its outcome, changed


@pytest.mark.parametrize("fit", FITS)
def test_unknown_precision_is_refused_before_any_work(fit):
    with pytest.raises(ValueError, match="precision must be one of"):
        FITS[fit]("fp16", steps=1)
