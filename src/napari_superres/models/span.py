"""SPAN: Wan et al., "Swift Parameter-free Attention Network for Efficient Super-Resolution" (CVPRW 2024).

The winner of the NTIRE 2024 efficient super-resolution challenge. Six attention
blocks of three 3x3 convolutions each; a block's attention is parameter-free: the
sigmoid of its own output, centred on zero, multiplies the output plus the block's
input. The features of the first convolution, of the first block, of the last block's
first convolution (after its SiLU) and of the tail are fused by a 1x1 convolution, then a sub-pixel
convolution makes the ``scale``-times larger image.

Each published 3x3 convolution is trained as a re-parameterisable branch (1x1 →
3x3 → 1x1, plus a 1x1 shortcut) that collapses into one 3x3 convolution for
inference, as the published code does in eval mode; :func:`convert` does that
collapse once, so our model is plain 3x3 convolutions.

The published models see ``(x - DIV2K mean) * 255`` for RGB ``x`` in [0, 1] and
return the image in [0, 1] (the mean is not added back); checkpoints with a
``no_norm`` buffer (trained without that normalisation) see ``x`` as it is.
"""

import torch
from torch import nn
from torch.nn import functional as F

from .common import SubPixelUpsampler, conv3x3

RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K's mean colour, which the published models subtract
IMAGE_RANGE = 255.0
BLOCKS = 6
CONVOLUTIONS_PER_BLOCK = 3


class AttentionBlock(nn.Module):
    """Three 3x3 convolutions (SiLU between), gated by their own centred sigmoid (SPAB)."""

    def __init__(self, features):
        super().__init__()
        self.convs = nn.ModuleList(conv3x3(features, features) for _ in range(CONVOLUTIONS_PER_BLOCK))

    def forward(self, x):
        """``(block output, activated output of the first convolution)``: the network fuses both.

        The published code returns the first convolution's output after its in-place SiLU,
        so the activated one is what the published weights were trained with.
        """
        first = F.silu(self.convs[0](x))
        out = self.convs[2](F.silu(self.convs[1](first)))
        if torch.is_grad_enabled():
            return (out + x) * (torch.sigmoid(out) - 0.5), first
        # At inference, in place: each full-size temporary costs more to allocate than to compute.
        gate = torch.sigmoid(out).sub_(0.5)
        return out.add_(x).mul_(gate), first


class SPAN(nn.Module):
    """SPAN super-resolution of ``(N, C, H, W)`` by ``scale``.

    ``normalize``: the input is ``(x - RGB mean) * 255``; ``fused``: the width of the fused
    features that the upsampler sees (None: ``features``).
    """

    def __init__(self, scale=4, channels=3, features=48, normalize=True, fused=None):
        super().__init__()
        if normalize and channels != 3:
            raise ValueError(f"SPAN's normalisation subtracts an RGB mean: it needs 3 channels, not {channels}")
        self.scale, self.normalize = scale, normalize
        self.head = conv3x3(channels, features)
        self.blocks = nn.ModuleList(AttentionBlock(features) for _ in range(BLOCKS))
        self.tail = conv3x3(features, features)
        fused = fused or features  # narrower in some NTIRE 2025 entries
        self.fuse = nn.Conv2d(4 * features, fused, 1)
        self.upsample = SubPixelUpsampler(scale, fused, channels, single_stage=True)

    def forward(self, x):
        """The ``(N, C, scale*H, scale*W)`` enlargement of ``x`` (values in [0, 1])."""
        if self.normalize:
            x = (x - x.new_tensor(RGB_MEAN).view(1, 3, 1, 1)) * IMAGE_RANGE
        head = self.head(x)
        out, first_block = head, None
        for block in self.blocks:
            out, last_first_conv = block(out)
            first_block = out if first_block is None else first_block
        fused = self.fuse(torch.cat([head, self.tail(out), first_block, last_first_conv], 1))
        return self.upsample(fused)


# The published module names (hongyuanyu/SPAN, basicsr/archs/span_arch.py) of our convolutions.
def _published_names():
    """``{published prefix: our prefix}`` of every 3x3 convolution, then the 1x1 fusion and the upsampler."""
    names = {"conv_1": "head", "conv_2": "tail"}
    for b in range(BLOCKS):
        for c in range(CONVOLUTIONS_PER_BLOCK):
            names[f"block_{b + 1}.c{c + 1}_r"] = f"blocks.{b}.convs.{c}"
    return names


_BRANCH = ("sk", "conv.0", "conv.1", "conv.2")  # the training-time branch of each 3x3 convolution
_PLAIN = {"conv_cat": "fuse", "upsampler.0": "upsample.0"}
_PARAMETERS = ("weight", "bias")


def _expected_keys(state):
    """The key set of a published SPAN whose convolutions have the forms (branch, merged) they have in ``state``."""
    keys = {f"{prefix}.{p}" for prefix in _PLAIN for p in _PARAMETERS}
    for prefix in _published_names():
        parts = ["eval_conv"]
        if f"{prefix}.sk.weight" in state:
            parts = [*_BRANCH] + (parts if f"{prefix}.eval_conv.weight" in state else [])
        keys |= {f"{prefix}.{part}.{p}" for part in parts for p in _PARAMETERS}
    return keys | ({"no_norm"} & set(state))


def detect(state):
    """The card config of a state dict in the published SPAN layout, else None.

    Each 3x3 convolution may come as its training branch (``sk``, ``conv.0-2``, with or
    without ``eval_conv``) or merged (``eval_conv`` only); ``no_norm`` means no normalisation.
    """
    try:
        if set(state) != _expected_keys(state):
            return None
        upsampler = state["upsampler.0.weight"].shape
        head = _merged(state, "conv_1")[0].shape
        channels, features = head[1], head[0]
        scale = round((upsampler[0] / channels) ** 0.5)
        fused = state["conv_cat.weight"].shape[0]
        if scale < 1 or scale * scale * channels != upsampler[0] or state["conv_cat.weight"].shape[1] != 4 * features:
            return None
    except (KeyError, IndexError, RuntimeError, ValueError, ZeroDivisionError):
        return None
    config = {"scale": scale, "channels": channels, "features": features, "normalize": "no_norm" not in state}
    return config if fused == features else {**config, "fused": fused}


def merge_branch(sk_w, sk_b, w1, b1, w2, b2, w3, b3):
    """One 3x3 convolution ``(weight, bias)`` equal to ``1x1(w3) ∘ 3x3(w2) ∘ 1x1(w1)`` plus the 1x1 shortcut.

    Exact at the border too: the branch pads its input with zeros before the first 1x1
    convolution, so a padded position holds that convolution's bias, as in the merged form.
    """
    weight = torch.einsum("ob,bakl,ai->oikl", w3[:, :, 0, 0], w2, w1[:, :, 0, 0])
    inner = torch.einsum("bakl,a->b", w2, b1) + b2
    bias = w3[:, :, 0, 0] @ inner + b3 + sk_b
    weight = weight.contiguous()  # einsum may return a strided view, which safetensors cannot save
    weight[:, :, 1, 1] += sk_w[:, :, 0, 0]
    return weight, bias


def _merged(state, prefix):
    """``(weight, bias)`` of the published convolution ``prefix``: its branch collapsed, or its ``eval_conv``."""
    if f"{prefix}.sk.weight" not in state:
        return state[f"{prefix}.eval_conv.weight"], state[f"{prefix}.eval_conv.bias"]
    parts = [state[f"{prefix}.{part}.{p}"].double() for part in _BRANCH for p in _PARAMETERS]
    weight, bias = merge_branch(*parts)
    dtype = state[f"{prefix}.sk.weight"].dtype
    return weight.to(dtype), bias.to(dtype)


def convert(state, config):
    """A published SPAN state dict (``detect`` said yes) in our parameter names, each branch collapsed."""
    ours = {}
    for published, own in _published_names().items():
        ours[f"{own}.weight"], ours[f"{own}.bias"] = _merged(state, published)
    for published, own in _PLAIN.items():
        ours[f"{own}.weight"], ours[f"{own}.bias"] = state[f"{published}.weight"], state[f"{published}.bias"]
    return ours
