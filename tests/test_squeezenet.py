import os

import pytest
import torch

from napari_superres.losses.perceptual import perceptual_network
from napari_superres.losses.squeezenet import ENV_VAR, SqueezeNetFeatures


def test_feature_shapes_rgb_and_luma():
    torch.manual_seed(0)
    random_network = SqueezeNetFeatures()
    torch.manual_seed(1)
    rgb = torch.rand(2, 3, 64, 64)
    luma = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        rgb_features = random_network(rgb)
        luma_features = random_network(luma)
        repeated = random_network(luma.repeat(1, 3, 1, 1))
    # 64 -> conv1 31 -> pool 15 (fire3) -> pool 7 (fire5) -> pool 3 (fire9), ceil_mode pooling
    expected = [(2, 128, 15, 15), (2, 256, 7, 7), (2, 512, 3, 3)]
    assert [tuple(f.shape) for f in rgb_features] == expected
    assert [tuple(f.shape) for f in luma_features] == expected
    for a, b in zip(luma_features, repeated, strict=True):
        torch.testing.assert_close(a, b)
    assert all((f >= 0).all() for f in rgb_features)  # outputs are ReLU-ed


def test_chosen_layers_and_channels():
    network = SqueezeNetFeatures(layers=("fire9", "conv1"))
    assert network.layers == ("conv1", "fire9")
    features = network(torch.rand(1, 3, 227, 227))
    assert [tuple(f.shape) for f in features] == [(1, 64, 113, 113), (1, 512, 14, 14)]
    assert [network.channels(n) for n in network.layers] == [64, 512]
    with pytest.raises(ValueError):
        SqueezeNetFeatures(layers=("fire10",))


@pytest.mark.skipif(
    not os.environ.get(ENV_VAR),
    reason=f"needs the SqueezeNet v1.1 .caffemodel: set {ENV_VAR} (see napari_superres.losses.squeezenet)",
)
def test_pretrained_network_classifies_scikit_image_samples():
    from skimage import data, transform

    network = perceptual_network(classifier=True)
    expected = {"chelsea": set(range(281, 286)), "coffee": {967, 968}}
    for name, classes in expected.items():
        image = transform.resize(getattr(data, name)(), (227, 227), anti_aliasing=True)
        x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
        with torch.no_grad():
            top5 = network.classify(x).topk(5).indices[0].tolist()
        assert top5[0] in classes, (name, top5)
