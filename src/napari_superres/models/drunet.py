"""DRUNet: Zhang et al., "Plug-and-Play Image Restoration with Deep Denoiser Prior" (TPAMI 2021).

A U-Net of residual blocks (conv-ReLU-conv with an identity skip) on four levels:
2x2 stride-2 convolutions go down, 2x2 stride-2 transposed convolutions come up,
and each level's features are added (not concatenated) on the way up. It takes the
noise level as a constant extra input channel (σ in the [0, 1] units of the image,
i.e. σ/255 for 8-bit images), which makes one model a denoiser for any σ. Input
sides must be multiples of 8 (the caller pads: see the ``drunet`` contract).

A 2x2 stride-2 transposed convolution adds nothing but a 2x2 block of outputs per
input pixel, so our model computes it as a 1x1 convolution to four times the
channels and a pixel shuffle (the same numbers, without transposed convolutions);
:func:`convert` rearranges the published weights accordingly.
"""

import re

from torch import nn

LEVELS = 4  # feature widths, one per level; three 2x down- and upsamplings between them
FEATURES = (64, 128, 256, 512)


class ResidualBlock(nn.Module):
    """conv-ReLU-conv with an identity skip."""

    def __init__(self, features, bias):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(features, features, 3, padding=1, bias=bias), nn.ReLU(),
                                  nn.Conv2d(features, features, 3, padding=1, bias=bias))

    def forward(self, x):
        """``x`` plus the block's residual."""
        return x + self.body(x)


def _upsample(c_in, c_out, bias):
    """A 2x2 stride-2 transposed convolution as a 1x1 convolution and a pixel shuffle."""
    return [nn.Conv2d(c_in, 4 * c_out, 1, bias=bias), nn.PixelShuffle(2)]


class DRUNet(nn.Module):
    """DRUNet denoiser of ``(N, C + 1, H, W)``: ``C`` image channels, then the noise level map; ``scale`` is 1."""

    def __init__(self, scale=1, channels=1, features=FEATURES, blocks=4, bias=False):
        super().__init__()
        if scale != 1:
            raise ValueError(f"DRUNet is a denoiser: scale must be 1, got {scale}")
        if len(features) != LEVELS:
            raise ValueError(f"DRUNet has {LEVELS} levels: give {LEVELS} feature widths, not {features}")
        self.scale = 1

        def blocks_of(width):
            return [ResidualBlock(width, bias) for _ in range(blocks)]

        self.head = nn.Conv2d(channels + 1, features[0], 3, padding=1, bias=bias)
        self.down = nn.ModuleList(
            nn.Sequential(*blocks_of(features[i]), nn.Conv2d(features[i], features[i + 1], 2, stride=2, bias=bias))
            for i in range(LEVELS - 1))
        self.body = nn.Sequential(*blocks_of(features[-1]))
        self.up = nn.ModuleList(
            nn.Sequential(*_upsample(features[i + 1], features[i], bias), *blocks_of(features[i]))
            for i in reversed(range(LEVELS - 1)))
        self.tail = nn.Conv2d(features[0], channels, 3, padding=1, bias=bias)

    def forward(self, x):
        """The denoised image ``(N, C, H, W)`` of ``x`` (image channels and the σ map); H, W multiples of 8."""
        levels = [self.head(x)]
        for down in self.down:
            levels.append(down(levels[-1]))
        out = self.body(levels[-1])
        for up, skip in zip(self.up, reversed(levels[1:]), strict=True):
            out = up(out + skip)
        return self.tail(out + levels[0])


# Published names (cszn/KAIR models/network_unet.py UNetRes, and DPIR): m_head, m_down1-3 (blocks, then the
# strided convolution), m_body, m_up3-1 (the transposed convolution, then blocks), m_tail; a block's
# convolutions are res.0 and res.2.
def _published_names(blocks):
    """``{published prefix: our prefix}`` of every convolution of a DRUNet with ``blocks`` blocks a level."""
    names = {"m_head": "head", "m_tail": "tail"}
    for level in range(1, LEVELS):
        down, up = f"down.{level - 1}", f"up.{LEVELS - 1 - level}"
        names[f"m_down{level}.{blocks}"], names[f"m_up{level}.0"] = f"{down}.{blocks}", f"{up}.0"
        for b in range(blocks):
            for conv in (0, 2):
                names[f"m_down{level}.{b}.res.{conv}"] = f"{down}.{b}.body.{conv}"
                names[f"m_up{level}.{b + 1}.res.{conv}"] = f"{up}.{b + 2}.body.{conv}"  # after the upsampling
    for b in range(blocks):
        for conv in (0, 2):
            names[f"m_body.{b}.res.{conv}"] = f"body.{b}.body.{conv}"
    return names


def _parameters(bias):
    return ("weight", "bias") if bias else ("weight",)


def detect(state):
    """The card config of a state dict in the published DRUNet layout (KAIR's UNetRes), else None."""
    try:
        blocks = sum(1 for key in state if re.fullmatch(r"m_body\.\d+\.res\.0\.weight", key))
        bias = "m_head.bias" in state
        expected = {f"{name}.{p}" for name in _published_names(blocks) for p in _parameters(bias)}
        if blocks == 0 or set(state) != expected:
            return None
        features = tuple(state[f"m_down{i}.0.res.0.weight"].shape[0] for i in range(1, LEVELS)) + (
            state["m_body.0.res.0.weight"].shape[0],)
        channels = state["m_tail.weight"].shape[0]
        if state["m_head.weight"].shape[1] != channels + 1:
            return None
    except (KeyError, IndexError, AttributeError, TypeError):
        return None
    return {"scale": 1, "channels": channels, "features": features, "blocks": blocks, "bias": bias}


def convert(state, config):
    """A published DRUNet state dict (``detect`` said yes) in our parameter names and layout."""
    names = _published_names(config["blocks"])
    ours = {}
    for key, value in state.items():
        prefix, _, part = key.rpartition(".")
        if re.fullmatch(r"m_up[1-3]\.0", prefix):  # transposed (in, out, 2, 2) → 1x1 (out * 4, in) and a shuffle
            value = (value.permute(1, 2, 3, 0).reshape(-1, value.shape[0], 1, 1) if part == "weight"
                     else value.repeat_interleave(4)).contiguous()
        ours[f"{names[prefix]}.{part}"] = value
    return ours
