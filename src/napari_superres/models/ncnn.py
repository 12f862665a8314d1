"""Read an ncnn model (a ``.param`` graph beside its ``.bin`` weights) as a published state dict.

ncnn (Tencent's inference library) is the format that upscayl, chaiNNer and the
``*-ncnn-py`` packages ship super-resolution models in. A model converted from
PyTorch through ONNX keeps each layer's PyTorch module in the layer's name
(``/block_1/c1_r/eval_conv/Conv``), so its weights get back their published names
(``block_1.c1_r.eval_conv.weight``) and import like a checkpoint.

The names say nothing about what the graph does between the weighted layers (an
input normalisation, say), so :func:`run_graph` evaluates the graph itself (the
layer types super-resolution networks are made of) and the importer compares it
with the imported model: a graph that our architecture does not compute is refused
instead of imported wrong.

The file formats (ncnn's wiki, "param and model file structure"): the ``.param`` is
text, a magic number, the layer and blob counts, then one line per layer (type,
name, input and output blob counts and names, ``key=value`` parameters, arrays as
``-233xx=n,v1,...``). The ``.bin`` holds the weights of the layers in the order
they appear; a weight array starts with a 4-byte tag that says float32, float16 or a
256-value quantisation table, and a bias or constant is plain float32.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = 7767517
FLOAT16_TAG = 0x01306B47
INT8_TAG = 0x000D4B38
FLOAT32_TAGS = (0, 0x0002C056)
ARRAY_KEY = -23300  # a parameter key k <= this holds an array of parameter (ARRAY_KEY - k)

WEIGHTLESS = frozenset({"Input", "Split", "Concat", "BinaryOp", "UnaryOp", "Eltwise", "Swish", "Sigmoid", "ReLU",
                        "TanH", "Clip", "PixelShuffle", "Reshape", "Permute", "Interp", "Crop", "Padding",
                        "Pooling", "Flatten", "Slice", "HardSigmoid", "HardSwish", "Mish", "GELU", "Softmax",
                        "Dropout", "Noop"})
ONNX_OPS = frozenset({"Conv", "Gemm", "MatMul", "BatchNormalization", "PRelu", "Mul", "Add"})


class NcnnRefused(ValueError):
    """A file pair that is not an ncnn model this reader can give published names to."""


@dataclass
class Layer:
    """One line of a ``.param``: its type, name, blobs and parameters (``{key: value or list}``)."""

    kind: str
    name: str
    inputs: list
    outputs: list
    params: dict
    weights: dict = field(default_factory=dict)  # {"weight"/"bias"/...: float32 array}


def read(param_path, bin_path=None):
    """The layers of the ncnn model ``param_path`` with their weights from ``bin_path`` (default: beside it).

    Raises
    ------
    NcnnRefused
        As :func:`parse` does, or the ``.bin`` is missing.
    """
    param_path = Path(param_path)
    bin_path = weights_beside(param_path) if bin_path is None else Path(bin_path)
    return parse(param_path.read_text(errors="replace"), bin_path.read_bytes(), param_path, bin_path)


def weights_beside(param_path):
    """The ``.bin`` of the same name beside ``param_path``; NcnnRefused if there is none."""
    bin_path = Path(param_path).with_suffix(".bin")
    if not bin_path.is_file():
        raise NcnnRefused(f"{param_path} is an ncnn graph; its weights {bin_path.name} should lie beside it")
    return bin_path


def parse(param_text, bin_bytes, param_name="the .param", bin_name="the .bin"):
    """The layers of an ncnn model from its ``.param`` text and its ``.bin`` bytes.

    Raises
    ------
    NcnnRefused
        The text is not an ncnn ``.param``, a layer's weights are stored in a way this
        reader does not know (int8), or the ``.bin`` holds more or fewer bytes than the
        graph's layers account for.
    """
    layers = parse_param(param_text, param_name)
    weights = _BinReader(bin_bytes, bin_name)
    for layer in layers:
        layer.weights = weights.layer_weights(layer)
    weights.check_end()
    return layers


def parse_param(text, path="the .param"):
    """The layers of an ncnn ``.param`` text."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [str(MAGIC)] or len(lines) < 2 or len(lines[1]) != 2:
        raise NcnnRefused(f"{path} is not an ncnn .param (it starts with {MAGIC} and the layer and blob counts)")
    layers = []
    for tokens in lines[2:]:
        n_in, n_out = int(tokens[2]), int(tokens[3])
        blobs = tokens[4:4 + n_in + n_out]
        params = dict(_parameter(token) for token in tokens[4 + n_in + n_out:])
        layers.append(Layer(tokens[0], tokens[1], blobs[:n_in], blobs[n_in:], params))
    if len(layers) != int(lines[1][0]):
        raise NcnnRefused(f"{path} says {lines[1][0]} layers and lists {len(layers)}")
    return layers


def _parameter(token):
    key, _, value = token.partition("=")
    key = int(key)
    if key <= ARRAY_KEY:
        count, *values = value.split(",")
        return ARRAY_KEY - key, [_number(v) for v in values[:int(count)]]
    return key, _number(value)


def _number(text):
    return float(text) if any(c in text for c in ".eE") else int(text)


class _BinReader:
    """The ``.bin`` read front to back, as ncnn's ModelBin reads it."""

    def __init__(self, raw, path):
        self.raw, self.path, self.offset = raw, path, 0

    def take(self, count):
        if self.offset + count > len(self.raw):
            raise NcnnRefused(f"{self.path} ends before the graph's weights do")
        chunk = self.raw[self.offset:self.offset + count]
        self.offset += count
        return chunk

    def plain(self, count):
        """``count`` float32 values with no tag (biases, constants, batch-norm statistics)."""
        return np.frombuffer(self.take(4 * count), "<f4").astype(np.float32)

    def tagged(self, count):
        """``count`` weights after their 4-byte storage tag."""
        tag_bytes = self.take(4)
        tag = int.from_bytes(tag_bytes, "little")
        if tag == FLOAT16_TAG:
            values = np.frombuffer(self.take(_aligned(2 * count)), "<f2")[:count]
            return values.astype(np.float32)
        if tag == INT8_TAG:
            raise NcnnRefused(f"{self.path} stores int8-quantised weights, which this reader does not convert")
        if tag in FLOAT32_TAGS:
            return self.plain(count)
        if sum(tag_bytes):  # an index into a 256-value table that precedes the indices
            table = self.plain(256)
            return table[np.frombuffer(self.take(_aligned(count)), np.uint8)[:count]]
        raise NcnnRefused(f"{self.path}: unknown weight tag {tag:#x} at byte {self.offset - 4}")

    def layer_weights(self, layer):
        """``{name: array}`` of ``layer``'s weights, read from where the previous layer's ended."""
        p, kind = layer.params, layer.kind
        if kind in ("Convolution", "ConvolutionDepthWise"):
            if p.get(8, 0):
                raise NcnnRefused(f"{self.path}: layer {layer.name} is int8-quantised, which this reader does not "
                                  "convert")
            out, kernel_w = p[0], p.get(1, 0)
            kernel_h = p.get(11, kernel_w)
            weight = self.tagged(p[6]).reshape(out, -1, kernel_h, kernel_w)
            return {"weight": weight, **({"bias": self.plain(out)} if p.get(5, 0) else {})}
        if kind == "InnerProduct":
            weight = self.tagged(p[2]).reshape(p[0], -1)
            return {"weight": weight, **({"bias": self.plain(p[0])} if p.get(1, 0) else {})}
        if kind == "MemoryData":
            shape = [d for d in (p.get(2, 0), p.get(11, 0), p.get(1, 0), p.get(0, 0)) if d]
            return {"data": self.plain(int(np.prod(shape))).reshape(shape)}
        if kind == "PReLU":
            return {"weight": self.plain(p.get(0, 1))}
        if kind == "BatchNorm":
            return {name: self.plain(p[0]) for name in ("slope", "mean", "var", "bias")}
        if kind in WEIGHTLESS:
            return {}
        raise NcnnRefused(f"{self.path}: layer {layer.name} is a {kind}, whose weights this reader does not know")

    def check_end(self):
        if self.offset != len(self.raw):
            raise NcnnRefused(f"{self.path} holds {len(self.raw) - self.offset} bytes more than the graph's layers "
                              "read: it belongs to another .param")


def _aligned(count):
    return (count + 3) // 4 * 4


def module_name(layer_name):
    """The PyTorch module an ONNX-converted layer came from; names not made by ONNX export stay as they are.

    ``/a/b/Conv`` → ``a.b``. A child of a Sequential or ModuleList repeats its parent's
    name in its scope: ``/upsampler/upsampler.0/Conv`` → ``upsampler.0``.
    """
    if not layer_name.startswith("/"):
        return layer_name
    parts = layer_name.strip("/").split("/")
    if len(parts) > 1 and parts[-1] in ONNX_OPS:
        parts = parts[:-1]
    names = []
    for part in parts:
        names.append(part.removeprefix(f"{names[-1]}.") if names else part)
    return ".".join(names)


def state_dict(layers):
    """``{published key: tensor}`` of the weighted layers (convolutions, linear, PReLU, batch norm)."""
    import torch

    renamed = {"slope": "weight", "mean": "running_mean", "var": "running_var"}
    state = {}
    for layer in layers:
        if layer.kind == "MemoryData":  # a constant of the graph, not a module's parameter
            continue
        for name, values in layer.weights.items():
            state[f"{module_name(layer.name)}.{renamed.get(name, name)}"] = torch.from_numpy(values.copy())
    return state


def run_graph(layers, x):
    """The graph's output for the ``(1, C, H, W)`` tensor ``x``, evaluated in torch.

    It knows the layer types that convolutional super-resolution networks are made
    of; any other raises :class:`NcnnRefused`.
    """
    blobs = {}
    for layer in layers:
        inputs = [blobs[name] for name in layer.inputs]
        results = [x] if layer.kind == "Input" else _evaluate(layer, inputs)
        blobs.update(zip(layer.outputs, results, strict=True))
    consumed = {name for layer in layers for name in layer.inputs}
    ends = [name for layer in layers for name in layer.outputs if name not in consumed]
    if len(ends) != 1:
        raise NcnnRefused(f"the graph has {len(ends)} outputs; an image model has one")
    return blobs[ends[0]]


_BINARY = {0: lambda a, b: a + b, 1: lambda a, b: a - b, 2: lambda a, b: a * b, 3: lambda a, b: a / b,
           7: lambda a, b: b - a, 8: lambda a, b: b / a}  # ncnn's op_type: add, sub, mul, div, rsub, rdiv


def _evaluate(layer, inputs):
    """The outputs of one layer (a list)."""
    import torch
    from torch.nn import functional as F

    p, kind = layer.params, layer.kind
    if kind == "MemoryData":
        data = torch.from_numpy(layer.weights["data"])
        return [data.view(1, *data.shape) if data.ndim == 3 else data]
    if kind == "Split":
        return inputs[:1] * len(layer.outputs)
    if kind in ("Convolution", "ConvolutionDepthWise"):
        return [_activation(_convolution(layer, inputs[0]), p)]
    if kind == "BinaryOp" and p.get(0, 0) in _BINARY:
        operands = (inputs[0], p.get(2, 0.0)) if p.get(1, 0) else inputs
        return [_BINARY[p.get(0, 0)](*operands)]
    simple = {"Swish": lambda t: t * torch.sigmoid(t), "Sigmoid": torch.sigmoid, "TanH": torch.tanh,
              "ReLU": lambda t: F.leaky_relu(t, p.get(0, 0.0)),
              "Clip": lambda t: t.clamp(p.get(0, float("-inf")), p.get(1, float("inf")))}
    if kind in simple:
        return [simple[kind](inputs[0])]
    if kind == "Concat":
        return [torch.cat(inputs, dim=p.get(0, 0) + 1)]
    if kind == "PixelShuffle" and p.get(1, 0) == 0:
        return [F.pixel_shuffle(inputs[0], p[0])]
    if kind == "Eltwise" and p.get(0, 1) == 1 and not p.get(1):
        return [sum(inputs)]
    raise NcnnRefused(f"the graph has a {kind} layer ({layer.name}) with {p}, which the import check cannot "
                      "evaluate")


def _convolution(layer, x):
    import torch
    from torch.nn import functional as F

    p = layer.params
    pad_left = p.get(4, 0)
    pads = (pad_left, p.get(15, pad_left), p.get(14, pad_left), p.get(16, p.get(14, pad_left)))
    if any(pad < 0 for pad in pads):
        raise NcnnRefused(f"layer {layer.name} pads 'same' by ncnn's rule ({pads}), which the import check does "
                          "not evaluate")
    stride_w, dilation_w = p.get(3, 1), p.get(2, 1)
    weight = torch.from_numpy(layer.weights["weight"])
    bias = torch.from_numpy(layer.weights["bias"]) if "bias" in layer.weights else None
    groups = p.get(7, 1) if layer.kind == "ConvolutionDepthWise" else 1
    return F.conv2d(F.pad(x, pads), weight, bias, stride=(p.get(13, stride_w), stride_w),
                    dilation=(p.get(12, dilation_w), dilation_w), groups=groups)


def _activation(x, p):
    import torch
    from torch.nn import functional as F

    kind, values = p.get(9, 0), p.get(10, [])
    if kind == 0:
        return x
    if kind == 1:
        return F.relu(x)
    if kind == 2:
        return F.leaky_relu(x, values[0])
    if kind == 3:
        return x.clamp(values[0], values[1])
    if kind == 4:
        return torch.sigmoid(x)
    raise NcnnRefused(f"a convolution with ncnn activation {kind}, which the import check does not evaluate")
