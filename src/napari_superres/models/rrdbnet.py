"""RRDBNet: the generator of ESRGAN (Wang et al., ECCVW 2018) and Real-ESRGAN (Wang et al., ICCVW 2021).

A trunk of residual-in-residual dense blocks (three dense blocks of five 3x3
convolutions each, every convolution seeing the block's input and all earlier
outputs; residuals scaled by 0.2), a long skip over the trunk, then two x2 stages
of nearest-neighbour enlargement and a 3x3 convolution, and two convolutions at the
output size. The x4 network serves x2 by pixel-unshuffling its input first,
as Real-ESRGAN x2plus does, so x2 input sides must be even.

The published checkpoints come in three layouts, all read by :func:`detect`:
Real-ESRGAN/BasicSR (``conv_first``, ``body.N.rdb1.conv1``, ``conv_body``,
``conv_up1``, ...), the original ESRGAN (``model.0``, ``model.1.sub.N.RDB1.conv1.0``, ...)
and the ESRGAN repository's later one (``RRDB_trunk.N.RDB1.conv1``, ``trunk_conv``, ``upconv1``, ``HRconv``).
"""

import re

import torch
from torch import nn
from torch.nn import functional as F

from .common import conv3x3

RESIDUAL_SCALE = 0.2
DENSE_CONVOLUTIONS = 5
DENSE_BLOCKS = 3
UPSCALE = 4  # of the network proper; smaller scales unshuffle the input
SLOPE = 0.2


class DenseBlock(nn.Module):
    """Five 3x3 convolutions, each on the concatenation of the input and all earlier outputs."""

    def __init__(self, features, growth):
        super().__init__()
        self.convs = nn.ModuleList(
            conv3x3(features + i * growth, growth if i < DENSE_CONVOLUTIONS - 1 else features)
            for i in range(DENSE_CONVOLUTIONS))

    def forward(self, x):
        """``x`` plus the scaled output of the last convolution."""
        seen = [x]
        for conv in self.convs[:-1]:
            seen.append(F.leaky_relu(conv(torch.cat(seen, 1)), SLOPE))
        return x + RESIDUAL_SCALE * self.convs[-1](torch.cat(seen, 1))


class ResidualInResidual(nn.Module):
    """Three dense blocks in a row, with a scaled skip around them (RRDB)."""

    def __init__(self, features, growth):
        super().__init__()
        self.dense = nn.Sequential(*(DenseBlock(features, growth) for _ in range(DENSE_BLOCKS)))

    def forward(self, x):
        """``x`` plus the scaled output of the dense blocks."""
        return x + RESIDUAL_SCALE * self.dense(x)


class RRDBNet(nn.Module):
    """RRDBNet super-resolution of ``(N, C, H, W)`` by ``scale`` (4, or 2 with the input unshuffled)."""

    def __init__(self, scale=4, channels=3, features=64, blocks=23, growth=32):
        super().__init__()
        if scale not in (2, UPSCALE):
            raise ValueError(f"RRDBNet enlarges x4, or x2 from an unshuffled input, not x{scale}")
        self.scale, self.unshuffle = scale, UPSCALE // scale
        self.head = conv3x3(channels * self.unshuffle**2, features)
        self.body = nn.Sequential(*(ResidualInResidual(features, growth) for _ in range(blocks)))
        self.body_end = conv3x3(features, features)
        self.up = nn.ModuleList(conv3x3(features, features) for _ in range(2))
        self.refine = conv3x3(features, features)
        self.last = conv3x3(features, channels)

    def forward(self, x):
        """The ``(N, C, scale*H, scale*W)`` enlargement of ``x``; for x2, H and W must be even."""
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        features = self.head(x)
        features = features + self.body_end(self.body(features))
        for conv in self.up:
            features = F.leaky_relu(conv(F.interpolate(features, scale_factor=2, mode="nearest")), SLOPE)
        return self.last(F.leaky_relu(self.refine(features), SLOPE))


_OURS = {"conv_first": "head", "conv_body": "body_end", "conv_up1": "up.0", "conv_up2": "up.1", "conv_hr": "refine",
         "conv_last": "last"}
_BODY = re.compile(r"body\.(\d+)\.rdb([1-3])\.conv([1-5])\.(weight|bias)")
# The original ESRGAN's x4 generator, a flat Sequential: 0 head, 1 trunk (its last item the trunk's end),
# 3 and 6 the upsampling convolutions, 8 and 10 the output ones (the others are upsamplers and activations).
_ESRGAN_TOP = {"model.0": "conv_first", "model.3": "conv_up1", "model.6": "conv_up2", "model.8": "conv_hr",
               "model.10": "conv_last"}
_ESRGAN_BODY = re.compile(r"model\.1\.sub\.(\d+)\.RDB([1-3])\.conv([1-5])\.0\.(weight|bias)")
_ESRGAN_TRUNK_END = re.compile(r"model\.1\.sub\.(\d+)\.(weight|bias)")


def _from_esrgan(state):
    """An original-ESRGAN state dict in the Real-ESRGAN names, or None if it is not one."""
    renamed = {}
    for key, value in state.items():
        prefix, _, part = key.rpartition(".")
        if prefix in _ESRGAN_TOP:
            renamed[f"{_ESRGAN_TOP[prefix]}.{part}"] = value
        elif match := _ESRGAN_BODY.fullmatch(key):
            renamed["body.{}.rdb{}.conv{}.{}".format(*match.groups())] = value
        elif match := _ESRGAN_TRUNK_END.fullmatch(key):
            renamed[f"conv_body.{match.group(2)}"] = value
        else:
            return None
    return renamed


# The ESRGAN repository's current RRDBNet_arch.py (its re-saved RRDB_ESRGAN_x4/RRDB_PSNR_x4 weights).
_ESRGAN_REPO = {"trunk_conv": "conv_body", "upconv1": "conv_up1", "upconv2": "conv_up2", "HRconv": "conv_hr"}
_ESRGAN_REPO_BODY = re.compile(r"RRDB_trunk\.(\d+)\.RDB([1-3])\.conv([1-5])\.(weight|bias)")


def _from_esrgan_repo(state):
    renamed = {}
    for key, value in state.items():
        prefix, _, part = key.rpartition(".")
        if match := _ESRGAN_REPO_BODY.fullmatch(key):
            key = "body.{}.rdb{}.conv{}.{}".format(*match.groups())
        elif prefix in _ESRGAN_REPO:
            key = f"{_ESRGAN_REPO[prefix]}.{part}"
        renamed[key] = value
    return renamed


def _published(state):
    """``state`` in the Real-ESRGAN names (read from any of the three layouts); None if it is in none."""
    if "model.0.weight" in state and "model.1.sub.0.RDB1.conv1.0.weight" in state:
        return _from_esrgan(state)
    return _from_esrgan_repo(state) if "trunk_conv.weight" in state else state


def _expected_keys(blocks):
    keys = {f"{name}.{part}" for name in _OURS for part in ("weight", "bias")}
    return keys | {f"body.{b}.rdb{r}.conv{c}.{part}" for b in range(blocks) for r in range(1, DENSE_BLOCKS + 1)
                   for c in range(1, DENSE_CONVOLUTIONS + 1) for part in ("weight", "bias")}


def detect(state):
    """The card config of a state dict in a published RRDBNet layout (ESRGAN's two or Real-ESRGAN's), else None."""
    try:
        state = _published(state)
        if state is None or "conv_first.weight" not in state:
            return None
        blocks = 1 + max(int(m.group(1)) for m in map(_BODY.fullmatch, state) if m)
        if set(state) != _expected_keys(blocks):
            return None
        features, inputs = state["conv_first.weight"].shape[:2]
        channels = state["conv_last.weight"].shape[0]
        growth = state["body.0.rdb1.conv1.weight"].shape[0]
        unshuffle = round((inputs / channels) ** 0.5)
        if unshuffle not in (1, 2) or unshuffle**2 * channels != inputs:
            return None
    except (ValueError, IndexError, AttributeError, RuntimeError):
        return None
    return {"scale": UPSCALE // unshuffle, "channels": channels, "features": features, "blocks": blocks,
            "growth": growth}


def convert(state, config):
    """A published RRDBNet state dict (``detect`` said yes) in our parameter names."""
    ours = {}
    for key, value in _published(state).items():
        if match := _BODY.fullmatch(key):
            block, dense, conv, part = match.groups()
            ours[f"body.{block}.dense.{int(dense) - 1}.convs.{int(conv) - 1}.{part}"] = value
        else:
            prefix, _, part = key.rpartition(".")
            ours[f"{_OURS[prefix]}.{part}"] = value
    return ours
