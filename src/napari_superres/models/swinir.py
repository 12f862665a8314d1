"""SwinIR: Liang et al., "SwinIR: Image Restoration Using Swin Transformer" (ICCVW 2021).

A 3x3 convolution embeds the image; residual stages of Swin Transformer blocks
(multi-head self-attention inside non-overlapping windows, every second block on
windows shifted by half a window, each stage closed by a convolution and a skip)
extract deep features; a long skip and a reconstruction head finish: sub-pixel
convolution (classical SR), one direct sub-pixel step (lightweight SR), nearest
enlargement with convolutions (real-world SR), or a residual output convolution
(denoising, JPEG artefact removal, scale 1).

The attention of a window sees only that window, so the window grid must start on
the input's corner: input sides must be multiples of ``window_size`` (callers pad
through :func:`~napari_superres.models.inference.on_grid`). :func:`detect` and
:func:`convert` read the checkpoints published with the paper.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import torch
from torch import nn
from torch.nn import functional as F

from .common import SubPixelUpsampler

RGB_MEAN = (0.4488, 0.4371, 0.4040)  # DIV2K's mean colour, which the published models subtract
UPSAMPLERS = ("pixelshuffle", "pixelshuffledirect", "nearest+conv", "none")
RECONSTRUCTION_FEATURES = 64  # channels of the reconstruction head of every published model
MASKED = -100.0  # the logit offset that keeps shifted windows from attending across the image's wrap-around
# Attention logits of one group of windows at most: a 576-pixel tile of HAT would need 4.6 GB at once.
ATTENTION_CHUNK_BYTES = 256 * 2**20


@lru_cache(maxsize=8)
def relative_position_index(window, device):
    """``(window², window²)`` indices into a bias table of ``(2 window - 1)²`` relative offsets."""
    rows, cols = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    coords = torch.stack([rows.flatten(), cols.flatten()])
    offsets = coords[:, :, None] - coords[:, None, :] + window - 1
    return (offsets[0] * (2 * window - 1) + offsets[1]).to(device)


@lru_cache(maxsize=16)
def shift_mask(height, width, window, shift, device):
    """``(windows, window², window²)`` logit offsets that keep rolled-in pixels apart in shifted windows."""
    def bands(length):
        band = torch.zeros(length, dtype=torch.long)
        band[length - window : length - shift] = 1
        band[length - shift :] = 2
        return band

    labels = (bands(height)[:, None] * 3 + bands(width)[None, :])[None, :, :, None]
    labels = to_windows(labels, window)[..., 0].flatten(0, 1)  # (windows, window²)
    differ = labels[:, :, None] != labels[:, None, :]
    return torch.zeros(differ.shape).masked_fill(differ, MASKED).to(device)


def to_windows(x, window):
    """``(N, H, W, C)`` → ``(N, windows, window², C)``, windows in row-major order."""
    n, h, w, c = x.shape
    x = x.view(n, h // window, window, w // window, window, c).transpose(2, 3)
    return x.reshape(n, (h // window) * (w // window), window * window, c)


def from_windows(x, window, height, width):
    """The inverse of :func:`to_windows`."""
    n, c = x.shape[0], x.shape[-1]
    x = x.view(n, height // window, width // window, window, window, c).transpose(2, 3)
    return x.reshape(n, height, width, c)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, with a learned bias per relative offset and head."""

    def __init__(self, dim, heads, window, qkv_bias=True):
        super().__init__()
        self.heads, self.window = heads, window
        self.bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, windows, mask=None):
        """``(N, windows, window², C)`` attended within each window; ``mask``: ``(windows, window², window²)``."""
        n, count, length, dim = windows.shape
        qkv = self.qkv(windows).view(n, count, length, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # each (N, windows, heads, window², dim / heads)
        index = relative_position_index(self.window, windows.device)
        bias = self.bias_table[index].permute(2, 0, 1)  # (heads, window², window²)
        if mask is not None:
            bias = bias + mask[:, None]
        attended = attention(q, k, v, bias.to(q.dtype))
        return self.proj(attended.transpose(2, 3).reshape(n, count, length, dim))


def attention(q, k, v, bias):
    """``softmax(q kᵀ / √d + bias) v`` of ``(N, windows, heads, L, d)`` tensors, a group of windows at a time.

    ``bias``: ``(heads, L, M)``, or ``(windows, heads, L, M)`` with a shift mask. Written
    out: on CPU, 1.5x faster than ``scaled_dot_product_attention`` with a float mask (torch 2.13).
    """
    n, count, heads, length, dim = q.shape
    step = max(1, ATTENTION_CHUNK_BYTES // (n * heads * length * k.shape[-2] * q.element_size()))
    groups = []
    for start in range(0, count, step):
        part = slice(start, start + step)
        logits = (q[:, part] * dim**-0.5) @ k[:, part].transpose(-2, -1) + (bias if bias.ndim == 3 else bias[part])
        groups.append(logits.softmax(-1) @ v[:, part])
    return groups[0] if len(groups) == 1 else torch.cat(groups, 1)


class SwinBlock(nn.Module):
    """Pre-norm window attention and MLP, each with a skip; windows shifted by ``shift`` pixels when nonzero."""

    def __init__(self, dim, heads, window, shift, mlp_ratio):
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        """``(N, H, W, C)`` → the same shape."""
        x = x + self.attend(self.norm1(x))
        return x + self.mlp(self.norm2(x))

    def attend(self, y):
        """Window attention over the normalised ``(N, H, W, C)`` ``y``, on windows shifted if this block shifts."""
        _, h, w, _ = y.shape
        mask = None
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), dims=(1, 2))
            mask = shift_mask(h, w, self.window, self.shift, y.device)
        y = from_windows(self.attn(to_windows(y, self.window), mask), self.window, h, w)
        return torch.roll(y, (self.shift, self.shift), dims=(1, 2)) if self.shift else y


def residual_conv(dim, kind):
    """The convolution closing a stage and the body: one 3x3 (``'1conv'``), or a 4x narrower 3-layer bottleneck."""
    if kind == "1conv":
        return nn.Conv2d(dim, dim, 3, padding=1)
    return nn.Sequential(
        nn.Conv2d(dim, dim // 4, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(dim // 4, dim // 4, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(dim // 4, dim, 3, padding=1),
    )


class SwinStage(nn.Module):
    """A residual Swin Transformer block: Swin blocks (every second one shifted), a convolution, a skip."""

    def __init__(self, dim, depth, heads, window, mlp_ratio, resi_connection):
        super().__init__()
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, window, window // 2 if i % 2 else 0, mlp_ratio) for i in range(depth))
        self.conv = residual_conv(dim, resi_connection)

    def forward(self, x):
        """``(N, H, W, C)`` → the same shape."""
        y = x
        for block in self.blocks:
            y = block(y)
        return x + self.conv(y.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class SwinIR(nn.Module):
    """SwinIR: residual Swin Transformer stages between a convolutional head and a reconstruction tail.

    ``upsampler``: one of :data:`UPSAMPLERS`; by default ``'pixelshuffle'`` for a
    scale over 1, ``'none'`` (a residual output convolution) for scale 1.
    ``img_range``: the value of white inside the network (255 in the JPEG models).
    """

    def __init__(self, scale, channels=3, embed_dim=180, depths=(6,) * 6, num_heads=(6,) * 6, window_size=8,
                 mlp_ratio=2.0, upsampler=None, resi_connection="1conv", img_range=1.0):
        super().__init__()
        upsampler = upsampler or ("pixelshuffle" if scale > 1 else "none")
        if upsampler not in UPSAMPLERS:
            raise ValueError(f"upsampler must be one of {', '.join(UPSAMPLERS)}, not {upsampler!r}")
        if (upsampler == "none") != (scale == 1):
            raise ValueError(f"upsampler {upsampler!r} does not make scale {scale}")
        if len(depths) != len(num_heads):
            raise ValueError(f"depths {list(depths)} and num_heads {list(num_heads)} differ in length")
        self.scale, self.channels, self.upsampler, self.img_range = scale, channels, upsampler, img_range
        self.head = nn.Conv2d(channels, embed_dim, 3, padding=1)
        self.embed_norm = nn.LayerNorm(embed_dim)
        self.stages = nn.ModuleList(self.stage(embed_dim, depth, heads, window_size, mlp_ratio, resi_connection)
                                    for depth, heads in zip(depths, num_heads, strict=True))
        self.norm = nn.LayerNorm(embed_dim)
        self.body_conv = residual_conv(embed_dim, resi_connection)
        self._build_tail(embed_dim)

    stage = SwinStage  # (dim, depth, heads, window, mlp_ratio, resi_connection) → a residual stage

    def _build_tail(self, dim):
        feats, scale, channels = RECONSTRUCTION_FEATURES, self.scale, self.channels
        if self.upsampler in ("pixelshuffle", "nearest+conv"):
            self.pre_upsample = nn.Conv2d(dim, feats, 3, padding=1)
        if self.upsampler == "pixelshuffle":
            self.upsample = SubPixelUpsampler(scale, feats)
        elif self.upsampler == "pixelshuffledirect":
            self.upsample = SubPixelUpsampler(scale, dim, channels, single_stage=True)
        elif self.upsampler == "nearest+conv":
            if scale & (scale - 1):
                raise ValueError(f"the nearest+conv upsampler doubles: scale must be a power of two, not {scale}")
            self.up_convs = nn.ModuleList(nn.Conv2d(feats, feats, 3, padding=1) for _ in range(int(math.log2(scale))))
            self.hr_conv = nn.Conv2d(feats, feats, 3, padding=1)
        if self.upsampler != "pixelshuffledirect":
            self.last = nn.Conv2d(dim if self.upsampler == "none" else feats, channels, 3, padding=1)

    def features(self, x):
        """The deep features of the embedded ``(N, C, H, W)``, same shape."""
        tokens = self.embed_norm(x.permute(0, 2, 3, 1))
        for stage in self.stages:
            tokens = stage(tokens)
        return self.norm(tokens).permute(0, 3, 1, 2)

    def forward(self, x):
        """``(N, C, H, W)`` in [0, 1], H and W multiples of the window → ``(N, C, scale*H, scale*W)``."""
        mean = torch.tensor(RGB_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1) if self.channels == 3 else 0
        x = (x - mean) * self.img_range
        shallow = self.head(x)
        body = self.body_conv(self.features(shallow)) + shallow
        if self.upsampler == "none":
            out = x + self.last(body)
        elif self.upsampler == "pixelshuffledirect":
            out = self.upsample(body)
        elif self.upsampler == "pixelshuffle":
            out = self.last(self.upsample(F.leaky_relu(self.pre_upsample(body))))
        else:
            out = F.leaky_relu(self.pre_upsample(body))
            for conv in self.up_convs:
                out = F.leaky_relu(conv(F.interpolate(out, scale_factor=2, mode="nearest")), 0.2)
            out = self.last(F.leaky_relu(self.hr_conv(out), 0.2))
        return out / self.img_range + mean


# Published name → ours, applied in order; the buffers (relative_position_index, attn_mask) are dropped.
_KEY_MAP = (
    (r"^conv_first\.", "head."),
    (r"^patch_embed\.norm\.", "embed_norm."),
    (r"^layers\.(\d+)\.residual_group\.blocks\.", r"stages.\1.blocks."),
    (r"^layers\.(\d+)\.conv\.", r"stages.\1.conv."),
    (r"\.relative_position_bias_table$", ".bias_table"),
    (r"\.mlp\.fc1\.", ".mlp.0."),
    (r"\.mlp\.fc2\.", ".mlp.2."),
    (r"^conv_after_body\.", "body_conv."),
    (r"^conv_before_upsample\.0\.", "pre_upsample."),
    (r"^conv_up(\d)\.", lambda m: f"up_convs.{int(m[1]) - 1}."),
    (r"^conv_hr\.", "hr_conv."),
    (r"^conv_last\.", "last."),
)
_BUFFERS = ("relative_position_index", "attn_mask", "relative_position_index_SA", "relative_position_index_OCA")


def renamed(state, key_map=_KEY_MAP):
    """``state`` without the index and mask buffers, each key rewritten by the ``(pattern, replacement)`` pairs."""
    converted = {}
    for key, value in state.items():
        if key.rsplit(".", 1)[-1] in _BUFFERS:
            continue
        for pattern, replacement in key_map:
            key = re.sub(pattern, replacement, key)
        converted[key] = value
    return converted


def convert(state, config):
    """The published state dict ``state`` in our parameter names (``config`` from :func:`detect`)."""
    return renamed(state)


def detect(state):
    """The card config of a checkpoint in the published SwinIR layout, else None.

    Everything is read from key names and shapes except ``img_range``, which no
    checkpoint holds: 255 for the JPEG artefact models (window 7, no upsampler),
    1 for every other published model.
    """
    try:
        return _detect(state)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError):
        return None


def _detect(state):
    if "conv_first.weight" not in state or "layers.0.residual_group.blocks.0.attn.qkv.weight" not in state:
        return None
    if "absolute_pos_embed" in state or "patch_embed.norm.weight" not in state:
        return None  # variants the published models do not use
    embed_dim, channels = state["conv_first.weight"].shape[:2]
    depths, heads = _stage_shapes(state)
    table = state["layers.0.residual_group.blocks.0.attn.relative_position_bias_table"].shape[0]
    window = (math.isqrt(table) + 1) // 2
    if (2 * window - 1) ** 2 != table:
        return None
    upsampler, scale = _reconstruction(state, embed_dim, channels)
    if upsampler is None:
        return None
    hidden = state["layers.0.residual_group.blocks.0.mlp.fc1.weight"].shape[0]
    config = {
        "architecture": "swinir" if scale > 1 else "swinir_denoise", "scale": scale, "channels": int(channels),
        "embed_dim": int(embed_dim), "depths": depths, "num_heads": heads, "window_size": window,
        "mlp_ratio": hidden / embed_dim, "upsampler": upsampler,
        "resi_connection": "1conv" if "conv_after_body.weight" in state else "3conv",
        "img_range": 255.0 if upsampler == "none" and window == 7 else 1.0,
    }
    return config if fits(state, config, SwinIR, convert) else None


def fits(state, config, cls, convert):
    """Whether ``convert(state, config)`` has exactly the names and shapes of ``cls`` built with ``config``."""
    options = {k: v for k, v in config.items() if k not in ("architecture", "scale", "channels")}
    with torch.device("meta"):  # no memory, no initialisation
        model = cls(scale=config["scale"], channels=config["channels"], **options)
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    return expected == {k: tuple(v.shape) for k, v in convert(state, config).items()}


def _stage_shapes(state):
    """``(depths, num_heads)``: blocks per stage and heads per stage (columns of its bias tables)."""
    depths, heads = [], []
    while f"layers.{len(depths)}.residual_group.blocks.0.norm1.weight" in state:
        stage = f"layers.{len(depths)}.residual_group.blocks."
        depths.append(sum(1 for k in state if k.startswith(stage) and k.endswith(".norm1.weight")))
        heads.append(int(state[stage + "0.attn.relative_position_bias_table"].shape[1]))
    return depths, heads


def _reconstruction(state, embed_dim, channels):
    """``(upsampler, scale)`` from the tail's keys; ``(None, 0)`` if it is none of the published tails."""
    if "upsample.0.weight" in state and "conv_before_upsample.0.weight" not in state:
        return "pixelshuffledirect", math.isqrt(state["upsample.0.weight"].shape[0] // channels)
    last = tuple(state["conv_last.weight"].shape[:2])
    if "conv_before_upsample.0.weight" not in state:
        return ("none", 1) if last == (channels, embed_dim) else (None, 0)
    if last != (channels, RECONSTRUCTION_FEATURES) or \
            state["conv_before_upsample.0.weight"].shape[0] != RECONSTRUCTION_FEATURES:
        return None, 0
    if "conv_hr.weight" in state:
        return "nearest+conv", 2 ** sum(1 for i in (1, 2, 3) if f"conv_up{i}.weight" in state)
    convs = [state[k].shape[0] for k in state if re.fullmatch(r"upsample\.\d+\.weight", k)]
    if convs == [9 * RECONSTRUCTION_FEATURES]:
        return "pixelshuffle", 3
    if convs and all(c == 4 * RECONSTRUCTION_FEATURES for c in convs):
        return "pixelshuffle", 2 ** len(convs)
    return None, 0
