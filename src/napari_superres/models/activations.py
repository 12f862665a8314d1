"""How much memory a network's activations take on a tile, from one small probe run (for the memory checks)."""

from __future__ import annotations

import math
import weakref

PROBE_SIDE = 48  # input side of the probe, rounded up to the model's multiple: a few milliseconds on a CPU


def activation_bytes_per_pixel(model, channels, multiple, device):
    """Bytes the network holds at its peak per input pixel, in host memory.

    Measured once per model by a forward pass on a small zero input with a hook on
    each layer: the peak is taken as the largest layer's input and output together
    (what a skip connection keeps across the body is smaller in the architectures
    here; the tests compare the estimate with measured peaks). On an accelerator
    the activations are not in host memory: 0.
    """
    if device.type != "cpu":
        return 0
    probed = _PROBED.setdefault(model, {})
    if (channels, multiple) not in probed:
        probed[channels, multiple] = _probe(model, channels, multiple)
    return probed[channels, multiple]


_PROBED = weakref.WeakKeyDictionary()  # model -> {(channels, multiple): bytes per pixel}


def _probe(model, channels, multiple):
    import torch

    side = math.ceil(PROBE_SIDE / multiple) * multiple
    peak = [0]

    def record(module, inputs, output):
        held = {id(t): t for t in _tensors(inputs) + _tensors(output)}  # an identity's output is its input
        peak[0] = max(peak[0], sum(t.numel() * t.element_size() for t in held.values()))

    layers = [m for m in model.modules() if not any(m.children())]
    hooks = [layer.register_forward_hook(record) for layer in layers]
    try:
        parameter = next(model.parameters())
        with torch.inference_mode():
            model(torch.zeros(1, channels, side, side, dtype=parameter.dtype))
    finally:
        for hook in hooks:
            hook.remove()
    return peak[0] / side**2


def _tensors(value):
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in _tensors(item)]
    return []
