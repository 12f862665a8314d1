"""What the per-image fits (Deep Image Prior, Noise2Void, Deep Video Prior) share: steps, networks, sizes, tiles."""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ._arrays import run_to_end

# A fitted U-Net predicts the whole result in tiles of this side, each with this much
# context (a depth-2 U-Net sees about ±40 pixels).
TILE, HALO = 512, 48


@dataclass
class FitStep:
    """One optimisation step of a per-image fit, as yielded by ``iter_fit_dip`` and ``iter_fit_noise2void``."""

    iteration: int  # 1-based, within the current plane
    iterations: int  # upper bound for this plane
    plane: int  # index of the plane being fitted (nD stacks), 0-based
    planes: int
    loss: float
    estimate: np.ndarray | None = None  # the whole result so far, every ``preview_every`` iterations
    stopped: bool = False  # early stopping ended this plane; ``iteration`` is the one kept

    @property
    def fraction(self):
        return (self.plane + self.iteration / self.iterations) / self.planes


def optimise(optimizer, loss, iteration, iterations, preview_every, result):
    """One optimiser step on ``loss``; the :class:`FitStep` to yield, carrying ``result()`` every ``preview_every``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    step = FitStep(iteration, iterations, 0, 1, loss.item())
    if preview_every and iteration % preview_every == 0 and iteration < iterations:
        step.estimate = result()
    return step


# The peak of a training step over the activations its forward pass keeps for the
# backward pass (the gradients of the largest activations come on top), measured on
# the CPU with torch 2.13: 1.39 for DIP's "fast" hourglass on 512², 1.5 for a
# depth-2 U-Net on 8 patches of 256², and some 5 % more after 40 steps (the allocator).
BACKWARD_PEAK = 1.6
# Every parameter is held four times while fitting: weights, gradients and Adam's two moments.
COPIES_PER_PARAMETER = 4
FLOAT_BYTES = 4  # networks compute in float32


def prediction_tile(h, w):
    """``(H, W)`` of the largest tile (halo included) :func:`predict_tiled` gives the network for ``h x w`` planes."""
    return min(h, TILE + 2 * HALO), min(w, TILE + 2 * HALO)


def at_precision(forward, net, precision, device):
    """``forward`` (a function of ``net``) run at ``precision`` on ``device``, its output in float32.

    ``precision`` as in :func:`~napari_superres.upscale`: ``'auto'`` is bf16 autocast
    where the device computes it fast, fp32 elsewhere; the fits' losses and optimiser
    steps stay in float32 either way.
    """
    from .device import model_precision

    def run(x):
        with model_precision(net, precision, device):
            return forward(x).float()

    return run


def predict_tiled(net, data, multiple=1, precision="fp32"):
    """``net`` applied to every plane or volume of ``data`` (``(N, C, [Z,] H, W)``), tile by tile, without gradients.

    Each of the ``N`` items is predicted on its own in tiles of :data:`TILE` pixels
    with :data:`HALO` pixels of context, so that memory holds one tile's activations;
    ``multiple``: the one the network's input sides must be (tiles are padded to it).
    """
    import torch

    from .models.inference import on_grid
    from .tiling import iter_tiled

    net.eval()
    forward = at_precision(on_grid(net, multiple), net, precision, data.device)
    with torch.no_grad():
        return torch.cat([run_to_end(iter_tiled(forward, data[i : i + 1], 1, TILE, HALO)) for i in range(len(data))])


def check_count(name, value, minimum=1, why=""):
    """``value`` as an int, or a ValueError saying which whole numbers ``name`` takes (and ``why``)."""
    whole = not isinstance(value, bool) and (isinstance(value, numbers.Integral) or
                                             isinstance(value, numbers.Real) and float(value).is_integer())
    if not whole or int(value) < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}{why}, got {value!r}")
    return int(value)


def check_depth(depth, side, what):
    """``depth`` if ``what``, ``side`` pixels across, survives that many halvings by a U-Net's poolings.

    Deeper, the U-Net pads it to ``2**depth`` pixels a side: mostly padding, and
    memory that grows fourfold a level (depth 10 on 16² reached 20 GB).
    """
    depth = check_count("depth", depth, 0, " (the U-Net's poolings)")
    if 2**depth > side:
        raise ValueError(f"depth {depth} halves the {side}-pixel {what} {depth} times: at most depth "
                         f"{side.bit_length() - 1} fits it")
    return depth


def unet_fit_bytes(in_channels, out_channels, features, depth, batch_shape, tile_shape, device):
    """``(parameters, host bytes)`` of fitting a U-Net, then predicting with it.

    The :class:`~napari_superres.models.unet.UNet` is fitted on batches of ``batch_shape``, then predicts tiles
    of ``tile_shape`` (both ``(N, C, [Z,] H, W)``).
    """
    dims = len(batch_shape) - 2
    parameters, training = unet_size(in_channels, out_channels, features, depth, dims, batch_shape)
    predicting = unet_size(in_channels, out_channels, features, depth, dims, tile_shape)[1]
    return parameters, fit_memory_bytes(training_bytes(parameters, training, predicting), device)


def fit_memory_bytes(network_bytes, device):
    """The host memory a network's training peak takes: none when it runs on an accelerator.

    ``device=None`` counts it: the best device may be the CPU, and refusing a little
    early on a GPU machine is better than exhausting a CPU machine's memory.
    """
    on_accelerator = device is not None and not str(device).startswith("cpu")
    return 0 if on_accelerator else network_bytes


def training_bytes(parameters, training, predicting=0):
    """Peak bytes of fitting a network, then predicting with it.

    ``parameters`` are held with their gradients and Adam state; ``training`` and
    ``predicting`` are the values a forward pass of a training batch and of one
    prediction tile keep for the backward pass (see :func:`unet_size`). Without
    gradients a prediction keeps less (measured 0.66-0.9 of that on 608² tiles).
    """
    return FLOAT_BYTES * (COPIES_PER_PARAMETER * parameters + max(BACKWARD_PEAK * training, predicting))


def _conv(c_in, c_out, kernel):
    """Parameters of a convolution with bias; ``kernel``: values in one kernel (9 for 3x3, 27 for 3x3x3)."""
    return c_in * c_out * kernel + c_out


def unet_size(in_channels, out_channels, features, depth, dims, batch_shape):
    """``(parameters, activations)`` of :class:`~napari_superres.models.unet.UNet` training on ``batch_shape``.

    Computed from the architecture, without torch, so that a fit can be refused
    before torch is even imported. ``batch_shape`` is ``(N, C, [Z,] H, W)``;
    activations are the values a forward pass keeps for the backward pass
    (``tests/test_fitting.py`` checks both against the network itself).
    """
    kernel = 3**dims
    widths = [features * 2**i for i in range(depth + 1)]
    parameters = _conv(in_channels, widths[0], kernel) + _conv(widths[0], widths[0], kernel)
    parameters += sum(_conv(widths[i], widths[i + 1], kernel) + _conv(widths[i + 1], widths[i + 1], kernel)
                      + _conv(widths[i + 1], widths[i], kernel)  # the resize-convolution up
                      + _conv(2 * widths[i], widths[i], kernel) + _conv(widths[i], widths[i], kernel)
                      for i in range(depth))
    parameters += _conv(widths[0], out_channels, 1) if out_channels else 0
    batch, _, *spatial = batch_shape
    multiple = 2**depth
    pixels = int(np.prod([-(-s // multiple) * multiple if i >= len(spatial) - 2 else s  # padded H, W
                          for i, s in enumerate(spatial)], dtype=np.float64))
    # Per level i (at 1/4**i of the pixels): the encoder's input and its two convolutions'
    # outputs, and the decoder's upsampled input, concatenation and two outputs.
    per_pixel = in_channels + 2 * widths[0] + (6 * widths[0] if depth else 0)
    per_pixel += sum((widths[i - 1] + 2 * widths[i] + (6 * widths[i] if i < depth else 0)) / 4**i
                     for i in range(1, depth + 1))
    return parameters, batch * pixels * per_pixel


def skipnet_size(spec, out_channels, shape):
    """``(parameters, activations)`` of DIP's :class:`~napari_superres.models.skip.SkipNet` fitting ``shape``.

    ``spec``: an entry of ``dip.NETWORKS``; ``shape``: the noise input's spatial
    shape ``([Z,] H, W)``, padded to the network's multiple. Without torch, as
    :func:`unet_size`.
    """
    *depth, h, w = shape
    kernel = 3 ** (2 + len(depth))
    z = int(np.prod(depth, dtype=np.float64))
    z_padded = int(np.prod([d + 2 for d in depth], dtype=np.float64))  # 3x3x3 kernels pad Z too
    parameters = _conv(spec["up"][0], out_channels, 1)
    activations = out_channels * z * h * w  # the sigmoid's output
    inner_out = None
    for level in reversed(range(len(spec["down"]))):
        c_in = spec["input_channels"] if level == 0 else spec["down"][level - 1]
        down, up, skip = spec["down"][level], spec["up"][level], spec["skip"][level]
        merged = skip + (inner_out if inner_out is not None else down)
        parameters += (_conv(c_in, skip, 1) + 2 * skip if skip else 0)
        parameters += _conv(c_in, down, kernel) + _conv(down, down, kernel) + 4 * down
        parameters += 2 * merged + _conv(merged, up, kernel) + _conv(up, up, 1) + 4 * up
        lh, lw = h // 2**level, w // 2**level
        pixels, padded, half = z * lh * lw, z_padded * (lh + 2) * (lw + 2), z * (lh // 2) * (lw // 2)
        # Saved for the backward pass: the reflection-padded input of every 3x3 convolution,
        # the input of every 1x1 one, and every batch norm's input and output.
        activations += c_in * padded + (c_in + 2 * skip) * pixels * (skip > 0)
        activations += 4 * down * half + down * z_padded * (lh // 2 + 2) * (lw // 2 + 2)
        activations += merged * (2 * pixels + padded) + 5 * up * pixels
        inner_out = up
    return parameters, activations


def build_network(factory, generator, device):
    """``factory()``'s network on ``device``, every parameter drawn from ``generator``.

    Never from torch's global random generator: fits that run at once in threads
    (two dock widgets) would take each other's draws and a seed would no longer
    fix the result. The network is laid out on the meta device (no memory, no
    draws), then given CPU memory and initialised as torch's defaults do.
    """
    import torch

    with torch.device("meta"):
        net = factory()
    net.to_empty(device="cpu")
    reset_parameters(net, generator)
    return net.to(device)


def reset_parameters(module, generator):
    """Give every parameter and buffer of ``module`` torch's default initial values, drawn from ``generator``.

    Refuses modules it does not know, and modules that draw from the global
    generator while they run (dropout), rather than leave them unseeded.
    """
    import math

    from torch import nn

    for part in module.modules():
        if isinstance(part, (nn.modules.conv._ConvNd, nn.Linear)):
            # As their own reset_parameters(): kaiming_uniform_(a=√5), bias U(±1/√fan_in).
            nn.init.kaiming_uniform_(part.weight, a=math.sqrt(5), generator=generator)
            if part.bias is not None:
                bound = 1 / math.sqrt(part.weight[0].numel())  # fan in: one output's weights
                nn.init.uniform_(part.bias, -bound, bound, generator=generator)
        elif isinstance(part, nn.modules.batchnorm._NormBase):
            part.reset_parameters()  # ones, zeros and fresh running statistics: nothing random
        elif isinstance(part, (nn.modules.dropout._DropoutNd, nn.RReLU)):
            raise TypeError(f"{type(part).__name__} draws from torch's global random generator; "
                            "seeded fits cannot use it")
        elif next(part.parameters(recurse=False), None) is not None or next(part.buffers(recurse=False), None) \
                is not None:
            raise TypeError(f"no seeded initialisation for {type(part).__name__}")
