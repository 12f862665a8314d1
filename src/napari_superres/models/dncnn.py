"""DnCNN, a residual-learning denoiser, and FDnCNN, its variant that takes the noise level.

Zhang, Zuo, Chen, Meng, Zhang, "Beyond a Gaussian Denoiser: Residual Learning of Deep
CNN for Image Denoising" (IEEE TIP 2017); FDnCNN: Zhang, Li, Zuo, Zhang, Van Gool,
Timofte, "Plug-and-Play Image Restoration with Deep Denoiser Prior" (TPAMI 2021).

A plain stack of 3x3 convolutions with batch norm that predicts the noise, which is
subtracted from the input (residual learning). One blind model covers a range of
noise levels. It is a "scale 1" model: the registry's denoisers are cards with scale 1.

``unshuffle=2`` runs the stack on the four half-resolution sub-images (pixel
unshuffle, as FFDNet does): a quarter of the cost per pixel for twice the
receptive field, which is what makes training on a CPU affordable; its input
sides must then be even (the caller pads: see the ``dncnn`` contract).

The published weights (cszn/KAIR ``model_zoo``: dncnn_15/25/50, dncnn_gray_blind,
dncnn_color_blind, fdncnn_gray/color) come with the batch norm merged into the
convolutions: ``batch_norm=False`` is that form (convolutions with biases), into
which :func:`convert` reads KAIR's ``model.N`` layout. :class:`FDnCNN` sees the noise
level map as an extra last input channel and returns the clean image directly.
"""

from torch import nn


def _check_scale(scale, name):
    if scale != 1:
        raise ValueError(f"{name} is a denoiser: scale must be 1, got {scale}")


def _stack(c_in, c_out, features, depth, batch_norm):
    """``depth`` 3x3 convolutions with ReLU between (batch norm too, with ``batch_norm``)."""
    layers = [nn.Conv2d(c_in, features, 3, padding=1), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        if batch_norm:
            layers += [nn.Conv2d(features, features, 3, padding=1, bias=False), nn.BatchNorm2d(features)]
        else:
            layers.append(nn.Conv2d(features, features, 3, padding=1))
        layers.append(nn.ReLU(inplace=True))
    return [*layers, nn.Conv2d(features, c_out, 3, padding=1)]


class DnCNN(nn.Module):
    """DnCNN denoiser of ``(N, C, H, W)``; ``scale`` must be 1 (denoisers are scale-1 cards)."""

    def __init__(self, scale=1, channels=1, features=64, depth=17, unshuffle=1, batch_norm=True):
        super().__init__()
        _check_scale(scale, "DnCNN")
        self.scale, self.unshuffle = 1, unshuffle
        inner = channels * unshuffle**2
        layers = _stack(inner, inner, features, depth, batch_norm)
        if unshuffle > 1:
            layers = [nn.PixelUnshuffle(unshuffle), *layers, nn.PixelShuffle(unshuffle)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        """The denoised ``x``: ``x`` minus the predicted noise, same shape."""
        return x - self.body(x)


class FDnCNN(nn.Module):
    """FDnCNN denoiser of ``(N, C + 1, H, W)``: ``C`` image channels, then the noise level map (σ in [0, 1] units)."""

    def __init__(self, scale=1, channels=1, features=64, depth=20):
        super().__init__()
        _check_scale(scale, "FDnCNN")
        self.scale = 1
        self.body = nn.Sequential(*_stack(channels + 1, channels, features, depth, batch_norm=False))

    def forward(self, x):
        """The denoised image ``(N, C, H, W)``."""
        return self.body(x)


def detect(state):
    """The card config of a state dict in KAIR's DnCNN/FDnCNN layout (batch norm merged), else None.

    ``model.0``, ``model.2``, ... ``model.2(depth-1)``: 3x3 convolutions with biases (the
    odd indices are ReLUs). As many input as output channels: DnCNN; one more: FDnCNN.
    """
    depth = len(state) // 2
    if depth < 3 or set(state) != {f"model.{2 * i}.{p}" for i in range(depth) for p in ("weight", "bias")}:
        return None
    shapes = [tuple(state[f"model.{2 * i}.weight"].shape) for i in range(depth)]
    if any(len(shape) != 4 or shape[2:] != (3, 3) for shape in shapes):
        return None
    features, inputs, channels = shapes[0][0], shapes[0][1], shapes[-1][0]
    config = {"scale": 1, "channels": channels, "features": features, "depth": depth}
    if inputs == channels:
        return {"architecture": "dncnn", **config, "unshuffle": 1, "batch_norm": False}
    return {"architecture": "fdncnn", **config} if inputs == channels + 1 else None


def convert(state, config):
    """A KAIR DnCNN/FDnCNN state dict (``detect`` said yes) in our names: the same ``Sequential`` indices."""
    return {"body." + key.removeprefix("model."): value for key, value in state.items()}
