import json

import numpy as np
import pytest
import torch
from skimage import data

from napari_superres import imresize
from napari_superres.cli import main
from napari_superres.losses.pixel import high_frequency_loss, ms_ssim, ms_ssim_l1_loss
from napari_superres.models import ModelCard
from napari_superres.train import PatchSampler, TrainConfig, export_model, train
from napari_superres.train.degrade import Degradation, bicubic_shrink


def test_bicubic_shrink_is_bit_exact_with_imresize():
    hr = data.astronaut()[:96, :96]
    batch = torch.from_numpy(hr).permute(2, 0, 1)[None].float()
    ours = bicubic_shrink(batch, 4)[0].permute(1, 2, 0).numpy().astype(np.uint8)
    np.testing.assert_array_equal(ours, imresize(hr, 0.25, channel_axis=-1))


def test_degradations_change_the_input_and_stay_in_range():
    hr = torch.from_numpy(data.astronaut()[:96, :96]).permute(2, 0, 1)[None].float().repeat(4, 1, 1, 1)
    plain = Degradation()(hr, 4, np.random.default_rng(0))
    for kwargs in (dict(blur_sigma=(1.0, 2.0)), dict(noise_sigma=(5, 10)), dict(jpeg_quality=(20, 40))):
        out = Degradation(**kwargs)(hr, 4, np.random.default_rng(0))
        assert out.shape == plain.shape == (4, 3, 24, 24)
        assert 0 <= out.min() and out.max() <= 255 and torch.equal(out, out.round())
        assert (out - plain).abs().mean() > 0.5, kwargs


def test_sampler_gives_luma_or_rgb_pairs():
    images = [data.astronaut()]
    lr, hr = PatchSampler(images, 3, 16, 5, channels=1).sample()
    assert lr.shape == (5, 1, 16, 16) and hr.shape == (5, 1, 48, 48)
    assert 16 / 255 - 1e-6 <= float(hr.min()) and float(hr.max()) <= 235 / 255 + 1e-6
    lr, hr = PatchSampler(images, 2, 16, 5, channels=3).sample()
    assert lr.shape == (5, 3, 16, 16) and hr.shape == (5, 3, 32, 32)


def test_pixel_losses():
    x = torch.rand(2, 1, 64, 64)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    torch.testing.assert_close(ms_ssim(x, x), torch.ones(2))
    assert (ms_ssim(x, y) < 0.99).all()
    assert ms_ssim_l1_loss(x, x) < 1e-6 < ms_ssim_l1_loss(x, y)
    assert high_frequency_loss(x, x) == 0
    # A smooth offset has no high frequencies: the HF loss ignores it, L1 does not.
    assert high_frequency_loss(x + 0.2, x) < 1e-6


def test_train_resume_and_export(image_folders, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "fsrcnn", "--scale", "2", "--data", str(image_folders / "train"),
            "--val", str(image_folders / "val"), "--out", str(run), "--config", "d=8,s=4,m=1",
            "--batch-size", "4", "--lr-patch", "12", "--val-every", "5", "--losses", "l1=1,hf=0.5"]
    main(args + ["--steps", "10"])
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [5, 10]
    assert all(np.isfinite(r["val_psnr"]) for r in log)
    assert log[1]["loss"] < log[0]["loss"]  # seeded: it learns from the first steps
    main(args + ["--steps", "16"])  # resumes from the checkpoint rather than restarting
    assert "resumed at step 10" in capsys.readouterr().out
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [5, 10, 15, 16]
    # The last record covers one step: its mean loss is of that step, not a fifth of it.
    assert log[3]["loss"] > 0.4 * log[2]["loss"]

    weights = tmp_path / "weights"
    weights.mkdir()
    main(["export", str(run), "--weights-dir", str(weights), "--name", "tiny", "--data-description", "3 images"])
    card = ModelCard.from_json(weights / "tiny.json")
    assert card.architecture == "fsrcnn" and card.scale == 2 and card.input == "y" and card.method == "tiny"
    assert card.info["training"]["losses"] == {"l1": 1, "hf": 0.5}
    model = card.build()
    assert model(torch.rand(1, 1, 8, 8)).shape == (1, 1, 16, 16)


def test_adversarial_rgb_training_runs(image_folders, tmp_path):
    cfg = TrainConfig(architecture="srresnet", scale=2, train_dirs=[str(image_folders / "train")],
                      out_dir=str(tmp_path / "gan"), val_dirs=[str(image_folders / "val")],
                      config=dict(features=8, blocks=1), channels=3, steps=2, batch_size=2,
                      lr_patch=12, losses={"l1": 1.0, "adversarial": 0.01}, val_every=2,
                      degradation=dict(noise_sigma=(0, 5)))
    best = train(cfg, log=lambda _: None)
    assert best.exists()
    state = torch.load(tmp_path / "gan" / "checkpoint.pt", weights_only=True)
    assert "discriminator" in state["objective"]
    # What older run folders hold: a changed layout would stop them resuming.
    assert set(state) == {"model", "optimizer", "objective", "step", "best", "rng", "torch_rng"}


def test_a_scale_one_run_trains_a_blind_denoiser(image_folders, tmp_path):
    cfg = TrainConfig(architecture="dncnn", scale=1, train_dirs=[str(image_folders / "train")],
                      out_dir=str(tmp_path / "dn"), val_dirs=[str(image_folders / "val")],
                      config=dict(features=16, depth=4), steps=60, batch_size=4, lr_patch=16, lr=3e-3,
                      losses={"l2": 1.0}, val_every=30, degradation=dict(noise_sigma=(20, 30)))
    train(cfg, log=lambda _: None)
    log = [json.loads(line) for line in (tmp_path / "dn" / "log.jsonl").read_text().splitlines()]
    noisy_psnr = 10 * np.log10(255**2 / 25**2)  # the validation input: σ = 25
    assert [r["step"] for r in log] == [30, 60]
    assert all(r["batch_norm"] == "recalibrated" for r in log)  # every validation sees averaged statistics
    assert log[-1]["val_psnr"] > noisy_psnr + 1
    card = ModelCard.from_json(export_model(tmp_path / "dn", tmp_path, name="dn_gray"))
    assert card.scale == 1 and "Gaussian noise" in card.info["training"]["pairs"]


def test_batch_norm_recalibration_averages_over_many_batches():
    from napari_superres.train import recalibrate_batch_norm

    class Batches:  # batch k: every value k
        k = 0

        def sample(self):
            self.k += 1
            return torch.full((2, 3, 4, 4), float(self.k)), None

    model = torch.nn.Sequential(torch.nn.BatchNorm2d(3))
    assert recalibrate_batch_norm(model, Batches(), batches=10)
    np.testing.assert_allclose(model[0].running_mean, [5.5] * 3)  # the mean of 1..10, not the last few
    assert model[0].momentum == 0.1
    assert not recalibrate_batch_norm(torch.nn.Conv2d(3, 3, 1), Batches())


def test_calibration_batches_repeat_and_leave_the_training_stream_alone():
    from napari_superres.train import NoisySampler, calibration_batches

    sampler = NoisySampler([data.chelsea()], 16, 2, (0, 55), seed=3)
    state = sampler.rng.bit_generator.state
    first = calibration_batches(sampler, 0).sample()[0]
    torch.testing.assert_close(calibration_batches(sampler, 0).sample()[0], first)
    assert sampler.rng.bit_generator.state == state


def test_every_task_trains_by_one_recipe():
    from napari_superres.train import RECIPES, recipe_for

    assert sorted(RECIPES) == ["colorize", "deblur", "denoise", "inpaint", "jpeg", "upscale"]
    assert all(recipe.task == task for task, recipe in RECIPES.items())
    runs = [("fsrcnn", 2), ("srresnet", 4), ("dncnn", 1), ("fsrcnn", 1), ("gatedunet", 1), ("colorizer", 1)]
    assert [recipe_for(*run).task for run in runs] == ["upscale", "upscale", "denoise", "denoise", "inpaint",
                                                      "colorize"]


def test_a_patch_off_the_networks_grid_is_refused(image_folders, tmp_path):
    cfg = TrainConfig(architecture="gatedunet", scale=1, channels=3, train_dirs=[str(image_folders / "train")],
                      out_dir=str(tmp_path / "run"), config={"features": 4, "depth": 2}, steps=1, lr_patch=30)
    with pytest.raises(ValueError, match="--lr-patch must be a multiple of 4 for this gatedunet, got 30"):
        train(cfg, log=lambda _: None)


def test_a_denoiser_without_a_noise_range_is_refused(image_folders, tmp_path):
    cfg = TrainConfig(architecture="dncnn", scale=1, train_dirs=[str(image_folders / "train")],
                      out_dir=str(tmp_path / "dn"), steps=1)
    with pytest.raises(ValueError, match="--noise"):
        train(cfg, log=lambda _: None)


@pytest.mark.parametrize("architecture, config, task, channels, words, loss", [
    ("colorizer", {"features": 4, "blocks": 1}, "colorize", 1, "261 bins", "rebalanced_cross_entropy"),
    ("gatedunet", {"features": 4, "depth": 2}, "inpaint", 3, "free-form", "l1_holes"),
])
def test_colorizer_and_inpainter_train_and_export_with_their_task(image_folders, tmp_path, architecture, config,
                                                                   task, channels, words, loss):
    cfg = TrainConfig(architecture=architecture, scale=1, channels=channels, train_dirs=[str(image_folders / "train")],
                      out_dir=str(tmp_path / "run"), val_dirs=[str(image_folders / "val")], config=config, steps=30,
                      batch_size=2, lr_patch=32, lr=3e-3, val_every=15)
    train(cfg, log=lambda _: None)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [15, 30] and all(np.isfinite(r["val_psnr"]) for r in log)
    assert log[-1]["loss"] < log[0]["loss"]
    card = ModelCard.from_json(export_model(tmp_path / "run", tmp_path, name=architecture))
    assert card.task == task and words in card.info["training"]["pairs"]
    assert list(card.info["training"]["losses"])[0] == loss  # the objective trained with, not the --losses default


def test_prepare_training_data_splits_bsd200_shrinks_photos_and_leaves_out_test_images(tmp_path):
    import importlib.util
    from pathlib import Path

    import imageio.v3 as iio

    script = Path(__file__).parents[1] / "scripts" / "prepare_training_data.py"
    spec = importlib.util.spec_from_file_location("prepare_training_data", script)
    prepare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prepare)
    sources, photos = tmp_path / "dcscn", tmp_path / "photos"
    tile = data.chelsea()[:40, :60]
    for folder, count in (("yang91", 3), ("bsd200", 40)):
        (sources / folder).mkdir(parents=True)
        for k in range(count):
            iio.imwrite(sources / folder / f"{k:03d}.png", tile)
    (photos / "photos").mkdir(parents=True)
    (photos / "bundled").mkdir()
    iio.imwrite(photos / "photos" / "wall.jpg", np.zeros((100, 3400, 3), np.uint8))
    for name in ("skimage_astronaut", "skimage_camera", "skimage_coffee"):
        iio.imwrite(photos / "bundled" / f"{name}.png", tile)

    prepare.main(["--photos", str(photos), "--t91-bsd200", str(sources), "--out", str(tmp_path / "out")])

    train = sorted(p.name for p in (tmp_path / "out" / "hr_png").iterdir())
    held_out = sorted(p.name for p in (tmp_path / "out" / "val_png").iterdir())
    assert held_out == ["bsd_019.png", "bsd_039.png"]  # every 20th BSD200 image
    assert len(train) == 3 + 38 + 1 + 1
    assert "bundled_skimage_coffee.png" in train and not any("astronaut" in n or "camera" in n for n in train)
    assert iio.imread(tmp_path / "out" / "hr_png" / "photo_wall.png").shape == (47, 1600, 3)  # fits 1600 px
