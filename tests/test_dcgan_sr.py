"""DCGAN-style adversarial super-resolution: L1 + the non-saturating GAN loss of a DCGAN discriminator."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from napari_superres.cli import main
from napari_superres.models import ModelCard, find_model
from napari_superres.models.dcgan import DCGANDiscriminator
from napari_superres.train import Objective


def test_the_discriminator_is_dcgans_strided_stack_ending_in_one_logit():
    d = DCGANDiscriminator(channels=1, features=8)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size, c.stride, c.out_channels) for c in convs] == [
        ((4, 4), (2, 2), 8), ((4, 4), (2, 2), 16), ((4, 4), (2, 2), 32), ((4, 4), (2, 2), 64), ((4, 4), (1, 1), 1)]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 3  # every layer but the first
    assert sum(isinstance(m, nn.LeakyReLU) for m in d.modules()) == 4
    assert not any(isinstance(m, nn.Linear) for m in d.modules())  # no dense layers, unlike SRGAN's
    d.eval()
    assert d.features(torch.rand(1, 1, 64, 64)).shape[-2:] == (4, 4)  # DCGAN's own 4x4 map at 64²
    for shape in [(3, 1, 64, 64), (2, 1, 96, 48), (1, 1, 24, 24)]:
        assert d(torch.rand(*shape)).shape == (shape[0], 1)


def test_the_dcgan_objective_loads_no_perceptual_network(monkeypatch):
    import napari_superres.losses.perceptual as perceptual

    def refuse(*args, **kwargs):
        raise AssertionError("the DCGAN + L1 objective loaded a perceptual network")

    monkeypatch.setattr(perceptual, "PerceptualLoss", refuse)
    objective = Objective({"l1": 1.0, "dcgan": 0.01}, channels=1, lr=1e-4, discriminator_features=8)
    assert type(objective.discriminator) is DCGANDiscriminator
    assert set(objective.terms) == {"l1"}
    assert objective.d_optimizer.param_groups[0]["betas"] == (0.5, 0.999)  # DCGAN's Adam momentum


def test_the_generator_loss_is_l1_plus_lambda_times_the_non_saturating_gan_loss():
    torch.manual_seed(0)
    objective = Objective({"l1": 1.0, "dcgan": 0.25}, channels=1, lr=1e-4, discriminator_features=8)
    objective.discriminator.eval()
    sr, hr = torch.rand(4, 1, 32, 32), torch.rand(4, 1, 32, 32)
    l1 = F.l1_loss(sr, hr)
    gan = -F.logsigmoid(objective.discriminator(sr)).mean()  # -log D(G(x)), not log(1 - D(G(x)))
    assert l1 > 0.1 and gan > 0.1  # dropping either term would change the sum
    torch.testing.assert_close(objective.generator_loss(sr, hr), l1 + 0.25 * gan)


def test_the_discriminator_learns_to_tell_real_from_fake():
    torch.manual_seed(0)
    objective = Objective({"l1": 1.0, "dcgan": 0.01}, channels=1, lr=1e-3, discriminator_features=8)
    real = torch.linspace(0, 1, 32).repeat(8, 1, 32, 1)  # smooth ramps
    fake = torch.rand(8, 1, 32, 32)  # noise
    for _ in range(15):
        objective.discriminator_step(fake, real)
    with torch.no_grad():  # scored as trained: one batch of both, batch norm on its statistics
        logits = objective.discriminator(torch.cat([real, fake]))
    assert logits[:8].min() > logits[8:].max() + 1


def test_one_gan_loss_at_a_time():
    with pytest.raises(ValueError, match="one adversarial loss at a time"):
        Objective({"l1": 1.0, "adversarial": 0.01, "dcgan": 0.01}, channels=1, lr=1e-4)


def test_dcgan_l1_trains_through_the_command_line_and_exports_its_card(image_folders, tmp_path):
    run, weights = tmp_path / "run", tmp_path / "weights"
    main(["train", "edsr", "--scale", "2", "--config", "features=8,blocks=1", "--data", str(image_folders / "train"),
          "--val", str(image_folders / "val"), "--out", str(run), "--steps", "3", "--batch-size", "2",
          "--lr-patch", "12", "--val-every", "3", "--losses", "l1=1,dcgan=0.01", "--discriminator-features", "8"])
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 3
    assert state["objective"]["discriminator"].keys() == DCGANDiscriminator(1, 8).state_dict().keys()
    weights.mkdir()
    main(["export", str(run), "--weights-dir", str(weights), "--name", "tiny_dcgan_x2"])
    card = ModelCard.from_json(weights / "tiny_dcgan_x2.json")
    assert card.method == "tiny_dcgan" and card.info["training"]["losses"] == {"l1": 1, "dcgan": 0.01}


def test_the_shipped_dcgan_card_states_its_losses_and_measured_scores():
    card = find_model("dcgan", 4)
    training, metrics = card.info["training"], card.info["metrics"]
    assert set(training["losses"]) == {"l1", "dcgan"} and training["losses"]["dcgan"] > 0
    for dataset in ("Set5", "Set14"):
        assert {"psnr_y", "ssim_y", "perceptual_distance", "sharpness_ratio"} <= set(metrics[dataset])
