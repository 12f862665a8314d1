"""IMDN: Hui et al., "Lightweight Image Super-Resolution with Information Multi-distillation Network" (ACM MM 2019).

Six information multi-distillation blocks: in each, four 3x3 convolutions in a
row, each keeping a quarter of its channels ("distilled") and passing the rest on;
the distilled quarters are weighted by a contrast-aware channel attention (the
mean plus the standard deviation of each channel over the image, through two 1x1
convolutions and a sigmoid), fused by a 1x1 convolution and added to the block's
input. The six block outputs are fused by a 1x1 convolution, a 3x3 convolution with
a skip from the head follows, then a sub-pixel convolution by ``scale``.

The attention sees statistics of the whole input, so a tile's result depends a
little on the rest of its tile: planes larger than a tile are not exactly their
untiled result (the halo covers the convolutions' reach only).
"""

import re

import torch
from torch import nn
from torch.nn import functional as F

from .common import SubPixelUpsampler, conv3x3

SLOPE = 0.05
DISTILLED = 4  # a quarter of the channels is kept at each step
STEPS = 4
ATTENTION_REDUCTION = 16


class DistillationBlock(nn.Module):
    """Four convolutions that each distil a quarter of their channels, channel attention, a 1x1 fusion, a skip."""

    def __init__(self, features):
        super().__init__()
        self.distilled = features // DISTILLED
        remaining = features - self.distilled
        self.convs = nn.ModuleList(
            [conv3x3(features, features), conv3x3(remaining, features), conv3x3(remaining, features),
             conv3x3(remaining, self.distilled)])
        kept = self.distilled * STEPS
        self.attention = nn.Sequential(nn.Conv2d(kept, kept // ATTENTION_REDUCTION, 1), nn.ReLU(),
                                       nn.Conv2d(kept // ATTENTION_REDUCTION, kept, 1), nn.Sigmoid())
        self.fuse = nn.Conv2d(kept, features, 1)

    def forward(self, x):
        """``x`` plus the fused, attention-weighted distilled features."""
        kept, rest = [], x
        for conv in self.convs[:-1]:
            out = F.leaky_relu(conv(rest), SLOPE)
            kept.append(out[:, :self.distilled])
            rest = out[:, self.distilled:]
        kept = torch.cat([*kept, self.convs[-1](rest)], 1)
        variance, mean = torch.var_mean(kept, dim=(2, 3), keepdim=True, correction=0)
        return x + self.fuse(kept * self.attention(variance.sqrt() + mean))


class IMDN(nn.Module):
    """IMDN super-resolution of ``(N, C, H, W)`` by ``scale``."""

    def __init__(self, scale=4, channels=3, features=64, blocks=6):
        super().__init__()
        self.scale = scale
        self.head = conv3x3(channels, features)
        self.blocks = nn.ModuleList(DistillationBlock(features) for _ in range(blocks))
        self.merge = nn.Conv2d(features * blocks, features, 1)
        self.body_end = conv3x3(features, features)
        self.upsample = SubPixelUpsampler(scale, features, channels, single_stage=True)

    def forward(self, x):
        """The ``(N, C, scale*H, scale*W)`` enlargement of ``x`` (values in [0, 1])."""
        head = self.head(x)
        outputs, out = [], head
        for block in self.blocks:
            out = block(out)
            outputs.append(out)
        merged = F.leaky_relu(self.merge(torch.cat(outputs, 1)), SLOPE)
        return self.upsample(self.body_end(merged) + head)


# Published names (Zheng222/IMDN, model/architecture.py): fea_conv, IMDB1-6 (c1-c4, c5 the fusion,
# cca.conv_du.0/2 the attention), c.0 (the merge), LR_conv, upsampler.0.
_TOP = {"fea_conv": "head", "c.0": "merge", "LR_conv": "body_end", "upsampler.0": "upsample.0"}
_BLOCK = re.compile(r"IMDB(\d+)\.(c[1-5]|cca\.conv_du\.[02])")
_BLOCK_PARTS = {"c1": "convs.0", "c2": "convs.1", "c3": "convs.2", "c4": "convs.3", "c5": "fuse",
                "cca.conv_du.0": "attention.0", "cca.conv_du.2": "attention.2"}


def _our_prefix(prefix):
    """Our name of the published module ``prefix``; KeyError if IMDN has none."""
    if prefix in _TOP:
        return _TOP[prefix]
    match = _BLOCK.fullmatch(prefix)
    if match is None:
        raise KeyError(prefix)
    return f"blocks.{int(match.group(1)) - 1}.{_BLOCK_PARTS[match.group(2)]}"


def detect(state):
    """The card config of a state dict in the published IMDN layout, else None."""
    try:
        blocks = sum(1 for key in state if re.fullmatch(r"IMDB\d+\.c1\.weight", key))
        expected = {f"{prefix}.{p}" for prefix in [*_TOP, *(f"IMDB{b}.{part}" for b in range(1, blocks + 1)
                                                            for part in _BLOCK_PARTS)] for p in ("weight", "bias")}
        if blocks == 0 or set(state) != expected:
            return None
        features, channels = state["fea_conv.weight"].shape[:2]
        scale = round((state["upsampler.0.weight"].shape[0] / channels) ** 0.5)
        if scale < 2 or scale * scale * channels != state["upsampler.0.weight"].shape[0]:
            return None
    except (KeyError, IndexError, ValueError):
        return None
    return {"scale": scale, "channels": channels, "features": features, "blocks": blocks}


def convert(state, config):
    """A published IMDN state dict (``detect`` said yes) in our parameter names."""
    ours = {}
    for key, value in state.items():
        prefix, _, part = key.rpartition(".")
        ours[f"{_our_prefix(prefix)}.{part}"] = value
    return ours
