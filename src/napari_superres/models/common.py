"""Building blocks shared by the architectures."""

from __future__ import annotations

import itertools
import math
from functools import lru_cache

import torch
from torch import nn

from ..resize import resize_matrix


def conv3x3(c_in, c_out):
    """A 3x3 convolution (with bias) that keeps the spatial size."""
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class SubPixelUpsampler(nn.Sequential):
    """Sub-pixel convolution (Shi et al. 2016): conv to ``c * r**2`` channels, then shuffle.

    Scales that are powers of two use repeated x2 stages, as EDSR does, unless
    ``single_stage`` (one conv straight to ``scale**2`` sub-pixels: far cheaper
    for small fast models, whose intermediate x2 stage would dominate the cost).
    """

    def __init__(self, scale, channels, out_channels=None, kernel_size=3, activation=None, single_stage=False):
        out_channels = out_channels or channels
        power_of_two = scale & (scale - 1) == 0 and scale > 2
        stages = [2] * int(math.log2(scale)) if power_of_two and not single_stage else [scale]
        layers = []
        for i, r in enumerate(stages):
            last = i == len(stages) - 1
            c_out = (out_channels if last else channels) * r * r
            layers += [nn.Conv2d(channels, c_out, kernel_size, padding=kernel_size // 2), nn.PixelShuffle(r)]
            if activation is not None and not last:
                layers.append(activation())
        super().__init__(*layers)
        self.folded_into = None  # the LinearTailConv that computes this upsampler with the convolution after it

    def forward(self, x):
        """The enlarged features, or ``x`` as it is where a :class:`LinearTailConv` after it does the work."""
        return x if self.folded_into is not None else super().forward(x)

    def is_linear(self):
        """Whether it is only convolutions and shuffles (no activation between stages)."""
        return all(isinstance(layer, (nn.Conv2d, nn.PixelShuffle)) for layer in self)


def fold_subpixel_tails(model):
    """Fold each sub-pixel upsampler that feeds a 3x3 convolution into that convolution, in place; for inference.

    ``SubPixelUpsampler`` then ``Conv2d(C, K, 3, padding=1)`` in one ``nn.Sequential``
    (EDSR's and MDSR's tails):

    - without activations between its stages, the whole tail is linear, so it is one
      convolution of the low-resolution features to ``K * scale**2`` channels, then a
      shuffle (:class:`LinearTailConv`): EDSR x4's two full-size convolutions (more
      than half its work) become one small one;
    - with activations, its last shuffle moves past the convolution
      (:class:`ShuffledInputConv`), which then runs on the grid before that shuffle.

    Results agree with the plain tail to float32 rounding, at the borders too. The
    parameters and the state dict stay those of the plain model. Returns ``model``.
    """
    for sequence in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(sequence) - 1):
            upsampler, conv = sequence[i], sequence[i + 1]
            if not _foldable(upsampler, conv):
                continue
            if upsampler.is_linear():
                sequence[i + 1] = LinearTailConv(conv, upsampler)
            else:
                sequence[i + 1] = ShuffledInputConv(conv, upsampler[-1].upscale_factor)
                upsampler[-1] = nn.Identity()  # in place: the other layers keep their names
    return model


def _foldable(upsampler, conv):
    return (isinstance(upsampler, SubPixelUpsampler) and upsampler.folded_into is None
            and isinstance(upsampler[-1], nn.PixelShuffle)
            and type(conv) is nn.Conv2d and conv.kernel_size == (3, 3) and conv.padding == (1, 1)
            and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == "zeros")


class ShuffledInputConv(nn.Conv2d):
    """A 3x3 convolution of the pixel shuffle (by ``r``) of its input, computed on the input's own grid.

    Its parameters are the wrapped convolution's; the folded low-resolution weights
    are derived from them once, as buffers outside the state dict.
    """

    def __init__(self, conv, r):
        super().__init__(conv.in_channels, conv.out_channels, 3, padding=1, bias=conv.bias is not None,
                         device="meta")  # no initialisation: neither memory nor the global RNG is touched
        self.weight, self.bias, self.r = conv.weight, conv.bias, r
        weight, bias = _folded(conv.weight.detach(), None if conv.bias is None else conv.bias.detach(), r)
        self.register_buffer("folded_weight", weight, persistent=False)
        self.register_buffer("folded_bias", bias, persistent=False)

    def forward(self, x):
        """The convolution of ``pixel_shuffle(x, r)``, ``(N, K, r*H, r*W)``."""
        return nn.functional.pixel_shuffle(nn.functional.conv2d(x, self.folded_weight, self.folded_bias, padding=1),
                                           self.r)


class LinearTailConv(nn.Conv2d):
    """The 3x3 convolution that ends a linear sub-pixel tail, computing the whole tail on the low-resolution grid.

    The upsampler before it passes its input through; this computes
    ``conv(upsampler(x))`` as one convolution of ``x`` to ``K * scale**2`` channels
    and a shuffle by ``scale``. Its weights are read off the plain tail once (its
    response to one impulse per input channel, in float64). Where the plain tail's
    zero padding between stages reaches (``radius`` low-resolution pixels from each
    side) the plain tail itself is run on four thin strips, so the border is exact
    too. Parameters: the wrapped convolution's and the upsampler's, unchanged.
    """

    def __init__(self, conv, upsampler):
        super().__init__(conv.in_channels, conv.out_channels, 3, padding=1, bias=conv.bias is not None,
                         device="meta")  # no initialisation: neither memory nor the global RNG is touched
        self.weight, self.bias = conv.weight, conv.bias
        self.stages = (upsampler,)  # a tuple, not a submodule: its parameters stay where the state dict has them
        self.scale = math.prod(layer.upscale_factor for layer in upsampler if isinstance(layer, nn.PixelShuffle))
        self.radius = _tail_radius(upsampler, self.scale)
        with torch.no_grad():
            weight, bias = self._composed(upsampler[0].in_channels, self.weight.device)
        self.register_buffer("composed_weight", weight.to(self.weight.dtype), persistent=False)
        self.register_buffer("composed_bias", bias.to(self.weight.dtype), persistent=False)
        upsampler.folded_into = type(self).__name__

    def plain(self, x):
        """The tail as the model was trained: the upsampler's stages, then this convolution."""
        for layer in self.stages[0]:
            x = (nn.functional.conv2d(x, layer.weight.to(x.dtype), _cast(layer.bias, x.dtype), padding=layer.padding)
                 if isinstance(layer, nn.Conv2d) else layer(x))
        return nn.functional.conv2d(x, self.weight.to(x.dtype), _cast(self.bias, x.dtype), padding=1)

    def _composed(self, channels, device):
        """``(weight, bias)`` of the one low-resolution convolution: the plain tail's impulse responses, flipped."""
        radius, probe = self.radius, 2 * self.radius + 2  # the probe's own border stays out of the centre's reach
        side = 2 * probe + 1
        inputs = torch.zeros(channels + 1, channels, side, side, dtype=torch.float64, device=device)
        inputs[torch.arange(channels), torch.arange(channels), probe, probe] = 1  # the last one stays zero
        response = nn.functional.pixel_unshuffle(self.plain(inputs), self.scale)
        affine, constant = response[:-1] - response[-1:], response[-1, :, probe, probe]
        window = affine[:, :, probe - radius:probe + radius + 1, probe - radius:probe + radius + 1]
        return window.flip(-2, -1).transpose(0, 1).contiguous(), constant

    def forward(self, x):
        """``conv(upsampler(x))``, ``(N, K, scale*H, scale*W)``."""
        band = 2 * self.radius  # a strip whose inner half is beyond the reach of its inner cut
        if min(x.shape[-2:]) <= 2 * band:
            return self.plain(x)
        weight, bias = self.composed_weight.to(x.dtype), _cast(self.composed_bias, x.dtype)
        out = nn.functional.pixel_shuffle(nn.functional.conv2d(x, weight, bias, padding=self.radius), self.scale)
        edge = self.radius * self.scale
        out[..., :edge, :] = self.plain(x[..., :band, :])[..., :edge, :]
        out[..., -edge:, :] = self.plain(x[..., -band:, :])[..., -edge:, :]
        out[..., :, :edge] = self.plain(x[..., :, :band])[..., :, :edge]
        out[..., :, -edge:] = self.plain(x[..., :, -band:])[..., :, -edge:]
        return out


def _cast(tensor, dtype):
    return None if tensor is None else tensor.to(dtype)


def _tail_radius(upsampler, scale):
    """How many low-resolution pixels from its centre a linear tail's output reaches (its 3x3 end included)."""
    reach, grid = 0.0, 1
    for layer in upsampler:
        if isinstance(layer, nn.Conv2d):
            reach += (layer.kernel_size[0] // 2) / grid
        else:
            grid *= layer.upscale_factor
    return math.ceil(reach + 1 / scale)


def _folded(weight, bias, r):
    """The low-resolution 3x3 convolution's weights: shuffled by ``r``, its output is the convolution's."""
    k_out, c_in = weight.shape[:2]
    folded = weight.new_zeros(k_out * r * r, c_in * r * r, 3, 3)
    for i, j, dy, dx in itertools.product(range(r), range(r), range(3), range(3)):
        # high-resolution neighbour (i + dy - 1, j + dx - 1) of sub-pixel (i, j): which
        # low-resolution pixel it lies in (offset -1, 0 or 1) and at which sub-pixel
        (ky, si), (kx, sj) = divmod(i + dy - 1, r), divmod(j + dx - 1, r)
        folded[i * r + j::r * r, si * r + sj::r * r, ky + 1, kx + 1] += weight[:, :, dy, dx]
    return folded, None if bias is None else bias.repeat_interleave(r * r)


@lru_cache(maxsize=64)
def resize_matrix_tensor(in_len, out_len, device, dtype, method="bicubic"):
    """:func:`napari_superres.resize.resize_matrix` as a tensor, built once per size.

    Never an inference tensor, even when first asked for in inference mode: the same
    cached tensor may later take part in training (autograd refuses inference tensors).
    """
    with torch.inference_mode(False):
        return torch.tensor(resize_matrix(in_len, out_len, method=method), device=device, dtype=dtype)


def bicubic_upsample(x, scale):
    """MATLAB-compatible bicubic enlargement of ``(N, C, H, W)`` by an integer ``scale``.

    Same kernel and border handling as :func:`napari_superres.imresize`, so that
    pre-upsampling networks (SRCNN, VDSR) see at run time what they saw in training.
    """
    h, w = x.shape[-2:]
    rows = resize_matrix_tensor(h, h * scale, x.device, x.dtype)
    cols = resize_matrix_tensor(w, w * scale, x.device, x.dtype)
    return rows @ x @ cols.T


def _relu_in_place():
    return nn.ReLU(inplace=True)  # after a convolution, whose output nothing else reads


class ResidualBlock(nn.Module):
    """conv-ReLU-conv with an identity skip, scaled (EDSR); optional batch norm (SRResNet), 5x5 kernels (MDSR)."""

    def __init__(self, channels, res_scale=1.0, batch_norm=False, activation=_relu_in_place, kernel_size=3):
        super().__init__()
        norm = (lambda: nn.BatchNorm2d(channels)) if batch_norm else nn.Identity
        pad = kernel_size // 2
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, kernel_size, padding=pad), norm(), activation(),
            nn.Conv2d(channels, channels, kernel_size, padding=pad), norm(),
        )
        self.res_scale = res_scale

    def forward(self, x):
        """The input plus the scaled residual of the block."""
        if torch.is_grad_enabled():
            return x + self.res_scale * self.body(x)
        # At inference the residual is a fresh tensor: scaling and adding in it saves two new
        # tensors a block, each dearer than the arithmetic on a large tile.
        residual = self.body(x)
        if self.res_scale != 1:
            residual.mul_(self.res_scale)
        return residual.add_(x)
