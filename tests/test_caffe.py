import numpy as np
import pytest
import torch

from napari_superres.losses.caffe import iter_fields, read_caffemodel, read_varint
from napari_superres.losses.perceptual import perceptual_network
from napari_superres.losses.squeezenet import SqueezeNetFeatures, load_squeezenet_weights


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
        head = b"".join(tag(f, 0) + varint(d) for f, d in zip((1, 2, 3, 4), dims, strict=True))
    else:
        head = length_field(7, length_field(1, b"".join(varint(d) for d in array.shape)))
    return head + length_field(5, array.tobytes())


def layer(name, blobs, v1=False):
    if v1:  # V1LayerParameter: name 4, type 5 (enum), blobs 6
        return length_field(2, length_field(4, name.encode()) + tag(5, 0) + varint(4)
                            + b"".join(length_field(6, b) for b in blobs))
    body = length_field(1, name.encode()) + length_field(2, b"Convolution")
    return length_field(100, body + b"".join(length_field(7, b) for b in blobs))


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

