"""HAT: Chen et al., "Activating More Pixels in Image Super-Resolution Transformer" (CVPR 2023).

SwinIR's layout (:mod:`~napari_superres.models.swinir`) with two additions that
let each pixel draw on more of the image: every Swin block adds a channel-attention
convolution branch (CAB) beside its window attention, and every stage ends with an
overlapping cross-attention (OCAB), whose queries are the windows and whose keys
and values are larger windows around them. The channel attention pools its
features over the whole input, so tiles match the untiled result only nearly.
:func:`detect` and :func:`convert` read the checkpoints published with the paper
(XPixelGroup/HAT: HAT-S, HAT, HAT-L, Real-HAT-GAN).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import nn
from torch.nn import functional as F

from .swinir import _KEY_MAP, SwinBlock, SwinIR, attention, fits, from_windows, renamed, residual_conv, to_windows

CONV_SCALE = 0.01  # weight of the convolution branch in every published model


class ChannelGate(nn.Module):
    """Squeeze-and-excitation: channels scaled by a gate computed from their means over the whole image."""

    def __init__(self, dim, squeeze_factor):
        super().__init__()
        self.reduce = nn.Conv2d(dim, dim // squeeze_factor, 1)
        self.expand = nn.Conv2d(dim // squeeze_factor, dim, 1)

    def forward(self, x):
        """``(N, C, H, W)`` times its gate."""
        return x * torch.sigmoid(self.expand(F.relu(self.reduce(x.mean((2, 3), keepdim=True)))))


class HybridBlock(SwinBlock):
    """A Swin block whose attention is joined by a channel-attention convolution branch (HAB)."""

    def __init__(self, dim, heads, window, shift, mlp_ratio, compress_ratio, squeeze_factor):
        super().__init__(dim, heads, window, shift, mlp_ratio)
        narrow = dim // compress_ratio
        self.conv_block = nn.Sequential(nn.Conv2d(dim, narrow, 3, padding=1), nn.GELU(),
                                        nn.Conv2d(narrow, dim, 3, padding=1), ChannelGate(dim, squeeze_factor))

    def forward(self, x):
        """``(N, H, W, C)`` → the same shape."""
        y = self.norm1(x)
        conv = self.conv_block(y.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        x = x + self.attend(y) + CONV_SCALE * conv
        return x + self.mlp(self.norm2(x))


@lru_cache(maxsize=8)
def overlap_position_index(window, overlap, device):
    """``(window², overlap²)`` indices of a query's offset to each key of its enlarged window, into the bias table.

    The published models learned their table under this indexing, which counts the
    offsets from ``window - overlap + 1`` and lets negative indices wrap around the
    table's end (as Python indexing does): kept as it is, so that their weights apply.
    """
    def coords(side):
        rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
        return torch.stack([rows.flatten(), cols.flatten()])

    offsets = coords(overlap)[:, None, :] - coords(window)[:, :, None] + window - overlap + 1
    side = window + overlap - 1
    return ((offsets[0] * side + offsets[1]) % side**2).to(device)


class OverlapCrossAttention(nn.Module):
    """Each window's queries attend to the keys and values of a larger window centred on it (OCAB)."""

    def __init__(self, dim, heads, window, overlap_ratio, mlp_ratio):
        super().__init__()
        self.heads, self.window = heads, window
        self.overlap = window + int(window * overlap_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.bias_table = nn.Parameter(torch.zeros((window + self.overlap - 1) ** 2, heads))
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        """``(N, H, W, C)``, H and W multiples of the window → the same shape."""
        n, h, w, dim = x.shape
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        queries = self._split_heads(to_windows(q, self.window))
        keys, values = (self._split_heads(self._enlarged_windows(t)) for t in (k, v))
        index = overlap_position_index(self.window, self.overlap, x.device)
        bias = self.bias_table[index].permute(2, 0, 1).to(q.dtype)  # (heads, window², overlap²)
        attended = attention(queries, keys, values, bias).transpose(2, 3).reshape(n, -1, self.window**2, dim)
        x = x + self.proj(from_windows(attended, self.window, h, w))
        return x + self.mlp(self.norm2(x))

    def _enlarged_windows(self, t):
        """``(N, H, W, C)`` → ``(N, windows, overlap², C)``: the enlarged window around each window (zeros outside)."""
        pad = (self.overlap - self.window) // 2
        t = F.pad(t, (0, 0, pad, pad, pad, pad))
        t = t.unfold(1, self.overlap, self.window).unfold(2, self.overlap, self.window)
        n, rows, cols, c = t.shape[:4]
        return t.permute(0, 1, 2, 4, 5, 3).reshape(n, rows * cols, self.overlap**2, c)

    def _split_heads(self, t):
        """``(N, windows, L, C)`` → ``(N, windows, heads, L, C / heads)``."""
        n, count, length, dim = t.shape
        return t.view(n, count, length, self.heads, dim // self.heads).transpose(2, 3)


class HybridStage(nn.Module):
    """A residual hybrid attention group: hybrid blocks (every second one shifted), OCAB, a convolution, a skip."""

    def __init__(self, dim, depth, heads, window, mlp_ratio, resi_connection, compress_ratio, squeeze_factor,
                 overlap_ratio):
        super().__init__()
        self.blocks = nn.ModuleList(
            HybridBlock(dim, heads, window, window // 2 if i % 2 else 0, mlp_ratio, compress_ratio, squeeze_factor)
            for i in range(depth))
        self.overlap = OverlapCrossAttention(dim, heads, window, overlap_ratio, mlp_ratio)
        self.conv = residual_conv(dim, resi_connection)

    def forward(self, x):
        """``(N, H, W, C)`` → the same shape."""
        y = x
        for block in self.blocks:
            y = block(y)
        return x + self.conv(self.overlap(y).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class HAT(SwinIR):
    """HAT: SwinIR with hybrid (window + channel) attention blocks and overlapping cross-attention per stage."""

    def __init__(self, scale, channels=3, embed_dim=180, depths=(6,) * 6, num_heads=(6,) * 6, window_size=16,
                 mlp_ratio=2.0, compress_ratio=3, squeeze_factor=30, overlap_ratio=0.5, img_range=1.0):
        self._hybrid = dict(compress_ratio=compress_ratio, squeeze_factor=squeeze_factor, overlap_ratio=overlap_ratio)
        super().__init__(scale, channels, embed_dim, depths, num_heads, window_size, mlp_ratio,
                         upsampler="pixelshuffle", resi_connection="1conv", img_range=img_range)

    def stage(self, dim, depth, heads, window, mlp_ratio, resi_connection):
        """A :class:`HybridStage` with this model's hybrid attention options."""
        return HybridStage(dim, depth, heads, window, mlp_ratio, resi_connection, **self._hybrid)


_HAT_KEY_MAP = (
    (r"^layers\.(\d+)\.residual_group\.overlap_attn\.", r"stages.\1.overlap."),
    (r"\.conv_block\.cab\.", ".conv_block."),
    (r"\.attention\.1\.", ".reduce."),
    (r"\.attention\.3\.", ".expand."),
    *_KEY_MAP,
)


def convert(state, config):
    """The published state dict ``state`` in our parameter names (``config`` from :func:`detect`)."""
    return renamed(state, _HAT_KEY_MAP)


def detect(state):
    """The card config of a checkpoint in the published HAT layout, else None."""
    try:
        return _detect(state)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return None


def _detect(state):
    block = "layers.0.residual_group.blocks.0."
    overlap = "layers.0.residual_group.overlap_attn."
    if f"{block}conv_block.cab.0.weight" not in state or f"{overlap}qkv.weight" not in state:
        return None
    embed_dim, channels = (int(n) for n in state["conv_first.weight"].shape[:2])
    window = (math.isqrt(state[f"{block}attn.relative_position_bias_table"].shape[0]) + 1) // 2
    enlarged = math.isqrt(state[f"{overlap}relative_position_bias_table"].shape[0]) + 1 - window
    upsample = [state[k].shape[0] for k in state if k.startswith("upsample.") and k.endswith(".weight")]
    scale = 3 if upsample == [9 * 64] else 2 ** len(upsample)
    depths, heads = [], []
    while f"layers.{len(depths)}.residual_group.blocks.0.norm1.weight" in state:
        prefix = f"layers.{len(depths)}.residual_group.blocks."
        depths.append(sum(1 for k in state if k.startswith(prefix) and k.endswith(".norm1.weight")))
        heads.append(int(state[f"{prefix}0.attn.relative_position_bias_table"].shape[1]))
    config = {
        "architecture": "hat", "scale": scale, "channels": channels, "embed_dim": embed_dim, "depths": depths,
        "num_heads": heads, "window_size": window,
        "mlp_ratio": state[f"{block}mlp.fc1.weight"].shape[0] / embed_dim,
        "compress_ratio": embed_dim // state[f"{block}conv_block.cab.0.weight"].shape[0],
        "squeeze_factor": embed_dim // state[f"{block}conv_block.cab.3.attention.1.weight"].shape[0],
        "overlap_ratio": (enlarged - window) / window, "img_range": 1.0,
    }
    return config if fits(state, config, HAT, convert) else None
