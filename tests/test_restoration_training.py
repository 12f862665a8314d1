"""Training the JPEG artefact remover and the blind deblurrer: their degradations, recipes and a short run."""

import json

import numpy as np
import pytest
import torch
from skimage import data

from napari_superres.models import ModelCard
from napari_superres.train import (
    Degradation,
    RestorationSampler,
    TrainConfig,
    export_model,
    gray_levels,
    jpeg_round_trip,
    random_blur_kernel,
    recipe_for,
    train,
)


def gray_camera():
    return torch.from_numpy(data.camera()[:64, :64]).float()[None]


def test_jpeg_round_trip_loses_more_at_low_quality_and_keeps_levels():
    clean = gray_camera()
    errors = []
    for quality in (10, 50, 90):
        out = jpeg_round_trip(clean, quality)
        assert out.shape == clean.shape and torch.equal(out, out.round()) and 0 <= out.min() and out.max() <= 255
        errors.append(float((out - clean).abs().mean()))
    assert errors[0] > errors[1] > errors[2] > 0
    rgb = torch.from_numpy(data.astronaut()[:64, :64]).permute(2, 0, 1).float()
    assert jpeg_round_trip(rgb, 30).shape == (3, 64, 64)


def test_random_blur_kernels_are_normalised_and_of_both_kinds():
    rng = np.random.default_rng(0)
    kernels = [random_blur_kernel(rng, (0.5, 3.0), (3.0, 15.0)) for _ in range(40)]
    assert all(np.isclose(k.sum(), 1) and (k >= 0).all() and k.shape[0] % 2 == 1 for k in kernels)
    # A Gaussian is symmetric about both axes; a motion at a random angle (almost surely) is not.
    symmetric = [np.allclose(k, k[::-1]) and np.allclose(k, k[:, ::-1]) for k in kernels]
    assert 10 < sum(symmetric) < 30
    gaussian_only = [random_blur_kernel(rng, (1.0, 2.0), (0.0, 0.0)) for _ in range(5)]
    assert all(np.allclose(k, k.T) for k in gaussian_only)


def test_quality_range_is_drawn_per_crop_within_its_bounds():
    clean = gray_camera()[None].repeat(8, 1, 1, 1)
    out = Degradation(jpeg_quality=(10, 90)).restoration_input(clean, np.random.default_rng(0))
    for crop in out:  # each crop is one of the qualities of the range, and not all the same
        errors = {q: float((jpeg_round_trip(clean[0], q) - crop).abs().max()) for q in range(10, 91)}
        assert min(errors.values()) == 0
    assert len({float((c - clean[0]).abs().mean()) for c in out}) > 1


def test_blur_degradation_is_the_blur_of_blur_py_plus_noise():
    from napari_superres.blur import blur

    clean = gray_camera()[None]
    rng_state = np.random.default_rng(3)
    kernel = random_blur_kernel(np.random.default_rng(3), (0.0, 0.0), (5.0, 9.0))
    out = Degradation(motion_length=(5.0, 9.0)).restoration_input(clean, rng_state)
    expected = np.clip(np.floor(blur(data.camera()[:64, :64].astype(np.float32), kernel) + 0.5), 0, 255)
    assert np.abs(out[0, 0].numpy() - expected).max() <= 1  # float32 convolutions round apart
    noisy = Degradation(motion_length=(5.0, 9.0), noise_sigma=(5, 5)).restoration_input(
        clean, np.random.default_rng(3))
    assert 3 < float((noisy - out).std()) < 7


def test_sampler_gives_gray_pairs_and_motion_is_refused_for_upscalers():
    images = [data.astronaut()]
    degraded, clean = RestorationSampler(images, 32, 3, Degradation(jpeg_quality=(10, 30))).sample()
    assert degraded.shape == clean.shape == (3, 1, 32, 32)
    assert float(clean.max()) <= 1 and float((degraded - clean).abs().mean()) > 0.002
    with pytest.raises(ValueError, match="scale 1"):
        Degradation(motion_length=(3, 9))(torch.zeros(1, 3, 16, 16), 2, np.random.default_rng(0))
    assert torch.equal(gray_levels(torch.full((1, 3, 2, 2), 255.0)), torch.full((1, 1, 2, 2), 255.0))


def test_the_degradation_names_the_task_of_a_scale_one_run():
    tasks = [recipe_for("dncnn", 1, d).task for d in ({"noise_sigma": (0, 50)}, {"jpeg_quality": (10, 90)},
                                                         {"blur_sigma": (0.5, 3)}, {"motion_length": (3, 15)})]
    assert tasks == ["denoise", "jpeg", "deblur", "deblur"]
    assert recipe_for("fsrcnn", 2, {"jpeg_quality": (10, 90)}).task == "upscale"


@pytest.mark.parametrize("degradation, task, words", [
    ({"jpeg_quality": (10, 30)}, "jpeg", "JPEG round trip at a quality drawn per crop in 10-30"),
    ({"blur_sigma": (1.0, 2.0), "motion_length": (3.0, 9.0), "noise_sigma": (0, 2)}, "deblur",
     "Gaussian blur σ 1-2 px or straight motion blur of 3-9 px"),
])
def test_a_short_run_learns_and_exports_a_gray_card_of_its_task(image_folders, tmp_path, degradation, task, words):
    cfg = TrainConfig(architecture="dncnn", scale=1, train_dirs=[str(image_folders / "train")],
                      out_dir=str(tmp_path / "run"), val_dirs=[str(image_folders / "val")],
                      config=dict(features=16, depth=4), steps=40, batch_size=4, lr_patch=32, lr=3e-3,
                      losses={"l2": 1.0}, val_every=20, degradation=degradation)
    train(cfg, log=lambda _: None)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [20, 40] and all(np.isfinite(r["val_psnr"]) for r in log)
    card = ModelCard.from_json(export_model(tmp_path / "run", tmp_path, name=f"tiny_{task}"))
    assert card.task == task and card.input == "gray" and words in card.info["training"]["pairs"]
    assert card.build()(torch.rand(1, 1, 24, 24)).shape == (1, 1, 24, 24)


def test_restorers_train_gray_models_only(image_folders, tmp_path):
    cfg = TrainConfig(architecture="dncnn", scale=1, channels=3, train_dirs=[str(image_folders / "train")],
                      out_dir=str(tmp_path / "run"), steps=1, degradation={"jpeg_quality": (10, 90)})
    with pytest.raises(ValueError, match="--channels 1"):
        train(cfg, log=lambda _: None)
