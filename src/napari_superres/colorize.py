"""Colorization of gray images after Zhang, Isola, Efros, "Colorful Image Colorization" (ECCV 2016).

The network sees the lightness L of CIE Lab and predicts, for every pixel (at a
quarter of the resolution), a distribution over the quantised ab plane: the bins
of a 10-unit grid that sRGB colours reach (261 bins; the paper's 313 came from a
wider gamut). Training weights each pixel by the rarity of its colour (class
rebalancing: the empirical ab prior smoothed with a Gaussian, mixed with a uniform
distribution, λ = 0.5, and inverted), so that the network does not settle on the
desaturated average. A colour is read from the distribution as a :data:`LOOKS` says:
at a rebalancing of its own (the card's prior undoes the training's) and by its
annealed mean (temperature T: 1 the mean, lower towards the mode), its chroma
scaled by how spread the distribution is (the colourful look), then brought to full
size along the lightness's edges.

User hints (Zhang et al. 2017, "Real-Time User-Guided Image Colorization") are
extra input channels: the ab of the hinted pixels and a mask of where hints are.
The hints' colours then replace the network's answer over the region each hint
sits in: the pixels reachable from it with little change of lightness (a geodesic
distance that edges stop and texture does not), with the colours of several hints
blended by colorization by optimisation (Levin, Lischinski, Weiss 2004), so that a
click colours a whole object and stops at its edges.
The results are a guess at colours, not a measurement: layers made from them say so.
"""

from __future__ import annotations

import math
import warnings
from functools import lru_cache

import numpy as np

from ._arrays import UnitScale, check_image, check_memory, run_to_end, spatial_shape, to_planes

GRID = 10.0  # ab units between bin centres
SIGMA_SOFT = 5.0  # soft encoding of targets and smoothing of the prior, ab units
NEIGHBOURS = 5
REBALANCE_LAMBDA = 0.5
TEMPERATURE = 0.38
AB_SCALE = 110.0  # |ab| range, to scale hints to about [-1, 1]
LOOKS = {
    # Zhang's λ the colours are read at (1: as often as in photographs; 0.5: rare colours favoured, as trained by
    # Zhang et al.), the annealed mean's temperature, the normalised entropy over which colours fade to gray
    # (None: they never do), the chroma gain by the distribution's spread ((s0, k): the mean's ab times
    # (normalised entropy / s0)^k, None: none), the lightness difference (L units) over which colours stop at
    # edges when brought to full size (upsample_along_edges; 0: plain bilinear interpolation, which spills colours
    # over edges). The mean (λ 1, T 1) pulls an unsure pixel, its distribution spread, towards gray; measured, a
    # spread distribution is more often a colourful pixel whose hue the mean gets right (gray surfaces are the
    # peaked guesses), so the gain by the spread gives that chroma back. 'natural' was chosen on the dev images
    # (benchmarks/colorize.py, the README's table): the reading that beats the gray answer on RGB PSNR and AuC
    # there at 0.7x their colourfulness, and beats gray on photographs never trained on (McMaster) and, narrowly, on
    # photographs of the training sources too.
    # 'colourful' gains more (0.83x on the dev images, still over gray there). s0 and k are the shipped weights';
    # a retrained network spreads its distributions differently and wants its own.
    "natural": {"rebalancing": 1.0, "temperature": 1.0, "confidence": None, "spread_gain": (0.56, 3.0), "edges": 10.0},
    "colourful": {"rebalancing": 1.0, "temperature": 1.0, "confidence": None, "spread_gain": (0.53, 3.0),
                  "edges": 10.0},
    "vivid": {"rebalancing": 0.5, "temperature": TEMPERATURE, "confidence": None, "spread_gain": None,
              "edges": 10.0},
    # 'faithful' is the distribution's mean as the network gives it (λ 1, T 1): the palest look, and the one that
    # beats the gray answer on RGB PSNR and AuC by the most on every set measured. Fading its colours where the
    # distribution's hues disagree, or by entropy, measured no better.
    "faithful": {"rebalancing": 1.0, "temperature": 1.0, "confidence": None, "spread_gain": None, "edges": 10.0},
}
# The spread gain's ceiling: above the largest the shipped network gives on the dev images (2.7 for colourful, at a
# normalised entropy of 0.74), so that only a near-uniform distribution (an untrained network's) meets it.
SPREAD_GAIN_MAX = 3.0
# Peak memory per pixel of a plane, measured on 512² and 1024² planes: Lab planes and their float64
# copies (about 180 bytes, 100 more for colour input), the network's activations (about 13 bytes per
# feature of the card: 380 in all at 16), and with hints the sparse solve that spreads them (3.1 KiB
# at 512², 3.4 KiB at 1024²: growing slowly with the plane).
LAB_BYTES_PER_PIXEL = 180
COLOUR_INPUT_BYTES_PER_PIXEL = 100
NETWORK_BYTES_PER_FEATURE = 13
HINT_BYTES_PER_PIXEL = 4096
# Reading the distribution (decode) and bringing it to full size along edges: measured 540 bytes a pixel added in all
# at 1024² without hints, against 388 for the rest above.
DECODE_BYTES_PER_PIXEL = 160
# A hint colours the pixels reachable from it with little change of lightness (see hint_reach): slopes up to
# HINT_EDGE L units a pixel (texture, shading) cost only HINT_FLOOR a pixel; its colour is whole up to a change of
# HINT_REACH[0] and gone at HINT_REACH[1]. On data.coffee a hint on the cup's rim colours the porcelain and stops
# at its edges (the table is 50 or more away); on a disc with a textured inside, the disc but not its surround.
HINT_EDGE = 1.0
HINT_FLOOR = 0.02
HINT_REACH = (10.0, 20.0)


@lru_cache(maxsize=1)
def ab_bins():
    """``(Q, 2)`` centres of the ab bins that colours of the sRGB gamut fall in (Q = 261)."""
    from skimage.color import rgb2lab

    levels = np.linspace(0, 1, 64)
    rgb = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 1, 3)
    ab = rgb2lab(rgb).reshape(-1, 3)[:, 1:]
    return np.unique(np.round(ab / GRID), axis=0) * GRID


def soft_encode(ab, bins):
    """Targets ``(N, Q, h, w)``: the ``NEIGHBOURS`` nearest bins of each ab, Gaussian-weighted.

    ``ab``: ``(N, 2, h, w)`` tensor; ``bins``: ``(Q, 2)`` tensor. Also returns the
    index of the nearest bin ``(N, h, w)`` (for the rebalancing weights).
    """
    import torch

    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    distances = torch.cdist(flat, bins)
    nearest, index = distances.topk(NEIGHBOURS, dim=1, largest=False)
    weights = torch.exp(-(nearest**2) / (2 * SIGMA_SOFT**2))
    weights = weights / weights.sum(dim=1, keepdim=True)
    target = torch.zeros(flat.shape[0], len(bins), dtype=ab.dtype, device=ab.device)
    target.scatter_(1, index, weights)
    return target.reshape(n, h, w, -1).permute(0, 3, 1, 2), index[:, 0].reshape(n, h, w)


def rebalancing_weights(counts, bins, lam=REBALANCE_LAMBDA, sigma=SIGMA_SOFT):
    """Per-bin loss weights from bin counts: ``w ∝ ((1 − λ) p̃ + λ / Q)⁻¹`` with ``E_p̃[w] = 1``.

    ``p̃`` is the empirical distribution smoothed with a Gaussian of ``sigma`` ab units.

    Examples
    --------
    >>> bins = np.array([[0.0, 0.0], [50.0, 0.0]])
    >>> w = rebalancing_weights(np.array([99.0, 1.0]), bins)
    >>> bool(w[1] > w[0])
    True
    """
    p = np.asarray(counts, np.float64) / max(np.sum(counts), 1)
    d2 = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1)
    kernel = np.exp(-d2 / (2 * sigma**2))
    smoothed = kernel @ p
    smoothed /= smoothed.sum()
    w = 1 / ((1 - lam) * smoothed + lam / len(bins))
    return w / (smoothed * w).sum()


def annealed_mean(logits, bins, temperature=TEMPERATURE):
    """The ab ``(N, 2, h, w)`` from logits ``(N, Q, h, w)``: the mean of the distribution sharpened by 1/T."""
    import torch

    probabilities = torch.softmax(logits / temperature, dim=1)
    return torch.einsum("nqhw,qc->nchw", probabilities, bins)


def prior_shift(card, rebalancing):
    """``(Q,)`` log-weights that move a card's ab distribution to Zhang's λ ``rebalancing``.

    A network trained with rebalancing weights ``w`` learns a distribution
    proportional to ``w`` times the colours' frequency; multiplying by the ratio of
    the wanted weights to the trained ones reads it at another λ. The card gives
    the smoothed prior of its training colours (``decoding.ab_prior``) and the λ it
    was trained with (``decoding.rebalancing``); without them, no shift.
    """
    decoding = card.info.get("decoding", {})
    if "ab_prior" not in decoding:
        return np.zeros(len(ab_bins()))
    prior = np.asarray(decoding["ab_prior"], np.float64)
    wanted = _prior_weights(prior, rebalancing)
    trained = _prior_weights(prior, decoding.get("rebalancing", REBALANCE_LAMBDA))
    return np.log(wanted / trained)


def _prior_weights(prior, lam):
    weights = 1 / ((1 - lam) * prior + lam / len(prior))
    return weights / (prior * weights).sum()


def decode(logits, bins, shift, look):
    """``(ab (N, 2, h, w), confidence (N, 1, h, w))`` from logits, read as ``look`` (one of :data:`LOOKS`).

    The confidence is 1 minus the normalised entropy (the spread) of the distribution
    at the look's λ: 1 when one bin holds all, 0 when every bin is alike. A look with a
    ``spread_gain`` ``(s0, k)`` multiplies the ab by ``(spread / s0) ** k`` (the colourful
    look: more chroma where the distribution is spread, less where it is peaked); one
    with a ``confidence`` range fades the colour towards gray where the spread is high.
    """
    import torch

    logits = logits + torch.as_tensor(shift, dtype=logits.dtype, device=logits.device)[:, None, None]
    probabilities = torch.softmax(logits, dim=1)
    entropy = -(probabilities * torch.log(probabilities.clamp_min(1e-12))).sum(dim=1, keepdim=True)
    confidence = 1 - entropy / math.log(len(bins))
    ab = annealed_mean(logits, bins, look["temperature"])
    if look.get("spread_gain") is not None:
        reference, power = look["spread_gain"]
        ab = ab * (((1 - confidence) / reference) ** power).clamp(max=SPREAD_GAIN_MAX)
    if look["confidence"] is not None:
        low, high = look["confidence"]  # as entropies
        ab = ab * ((high - (1 - confidence)) / (high - low)).clamp(0, 1)
    return ab, confidence


def upsample_along_edges(lightness, low, sigma):
    """``low`` (``(h, w, k)``, a quarter of the size) brought to ``lightness``'s size without crossing its edges.

    Joint bilateral upsampling (Kopf et al. 2007): each pixel averages the 4 × 4
    nearest cells of ``low``, weighted by their distance and by how alike their
    mean lightness is to its own (a Gaussian of ``sigma`` L units). A pixel beside
    an edge takes the colour of the cells on its own side, so the colours do not
    spill over the edge as coloured fringes, as plain (bilinear) interpolation does.
    """
    h, w = lightness.shape
    cells_y, cells_x = low.shape[:2]
    padded = np.pad(lightness, ((0, 4 * cells_y - h), (0, 4 * cells_x - w)), mode="reflect")
    cell_lightness = padded.reshape(cells_y, 4, cells_x, 4).mean(axis=(1, 3))
    centre_y, centre_x = (np.arange(h) + 0.5) / 4 - 0.5, (np.arange(w) + 0.5) / 4 - 0.5
    total, weights = np.zeros((h, w, low.shape[-1])), np.zeros((h, w, 1))
    for dy in (-1, 0, 1, 2):
        rows = np.clip(np.floor(centre_y).astype(int) + dy, 0, cells_y - 1)
        for dx in (-1, 0, 1, 2):
            cols = np.clip(np.floor(centre_x).astype(int) + dx, 0, cells_x - 1)
            near = np.exp(-((centre_y - rows)[:, None] ** 2 + (centre_x - cols)[None] ** 2) / 2)
            alike = np.exp(-((lightness - cell_lightness[rows[:, None], cols[None]]) ** 2) / (2 * sigma**2))
            weight = (near * (alike + 1e-4))[..., None]  # where no cell is alike, the nearest ones
            total += weight * low[rows[:, None], cols[None]]
            weights += weight
    return total / weights


def network_input(lightness, hint_ab=None, hint_mask=None):
    """``(N, 4, H, W)`` input: L scaled to [-0.5, 0.5], hint ab scaled by ``AB_SCALE``, hint mask."""
    import torch

    if hint_ab is None:
        hint_ab = torch.zeros(lightness.shape[0], 2, *lightness.shape[-2:], dtype=lightness.dtype,
                              device=lightness.device)
        hint_mask = torch.zeros_like(lightness)
    return torch.cat([lightness / 100 - 0.5, hint_ab / AB_SCALE * hint_mask, hint_mask], dim=1)


def available_colorizers():
    """Names of the colorization models found in the weights folders."""
    from .models import list_models

    return sorted({card.method for card in list_models().values() if card.task == "colorize"})


def colorize(gray, hints=None, *, method="colorizer", look="natural", device=None, channel_axis=None):
    """Guess the colours of a gray image.

    Parameters
    ----------
    gray : ndarray
        ``(..., H, W)``; leading axes are colorized plane by plane. Any real dtype.
        A colour image is colorized from its lightness (L of CIE Lab) when
        ``channel_axis`` says where its RGB channels are: its colours are replaced
        by a guess. Without ``channel_axis``, a last axis of 3 or 4 is refused as
        colour: give the gray image (or its lightness), or its ``channel_axis``.
    hints : ndarray, optional
        ``(H, W, 4)`` RGBA in [0, 1], or a stack with the image's leading axes: the
        colour a user wants where alpha > 0 (points or regions), transparent elsewhere.
        NaN or values outside [0, 1] are refused.
    method : str
        A colorization model from the weights folder (default ``'colorizer'``).
    look : {'natural', 'colourful', 'vivid', 'faithful'}
        ``'natural'``: the mean of the distribution (grayish where the network is
        unsure), its chroma raised where the distribution is spread and lowered where
        it is peaked (see :func:`colour_confidence`): about 0.7x photographs'
        colourfulness, closer to the true colours than gray is on photographs never
        trained on. ``'colourful'``: the same, gained more (about 0.8x), still closer
        than gray on the dev images, not on every set. ``'vivid'``: Zhang et al.'s
        look, rare and saturated colours favoured: more colourful, more often wrong.
        ``'faithful'``: the distribution's mean as it is: about a third to 0.4x of
        photographs' colourfulness, and closer to the truth than gray on every set we
        measured.
    device : str, optional
        Torch device; by default CUDA, then MPS, then CPU.
    channel_axis : int, optional
        Axis of ``gray``'s channels: 3 (RGB) or 1 (gray).

    Returns
    -------
    ndarray
        ``(..., H, W, 3)`` RGB of ``gray``'s dtype and range (with ``channel_axis``,
        its RGB on that axis: ``gray``'s layout); its lightness is the input's.
        Colours are a guess: do not measure with them.

    Examples
    --------
    >>> from skimage import data
    >>> colorize(data.camera()[:64, :64]).shape
    (64, 64, 3)
    >>> colorize(data.astronaut()[:64, :64], channel_axis=-1).shape
    (64, 64, 3)
    """
    return run_to_end(iter_colorize(gray, hints, method=method, look=look, device=device, channel_axis=channel_axis))


def colour_confidence(gray, *, method="colorizer", look="natural", device=None, channel_axis=None):
    """How sure the colorizer is of each pixel's colour: 1 minus the normalised entropy of its ab distribution.

    Parameters are those of :func:`colorize` (without hints).

    Returns
    -------
    ndarray
        ``(..., H, W)`` float32 in [0, 1]: 0 where every colour is as likely,
        1 where one holds all. The colourful look gives more chroma where this
        is low (a spread distribution, whose mean is too gray) and less where it is high.

    Examples
    --------
    >>> from skimage import data
    >>> confidence = colour_confidence(data.camera()[:64, :64])
    >>> confidence.shape, bool(0 <= confidence.min() <= confidence.max() <= 1)
    ((64, 64), True)
    """
    gray, card = _checked(gray, None, method, look, channel_axis)
    steps = _colorize_steps(gray, channel_axis, None, card, LOOKS[look], device, confidence_only=True)
    return run_to_end(steps)


def iter_colorize(gray, hints=None, *, method="colorizer", look="natural", device=None, channel_axis=None):
    """Step-by-step form of :func:`colorize`: yields the fraction of planes done, returns the result.

    The arguments are checked when this is called, before any work.
    """
    if hints is not None:
        hints = np.asarray(hints)
    gray, card = _checked(gray, hints, method, look, channel_axis)
    if hints is not None:
        hints = _checked_hints(hints, spatial_shape(gray, channel_axis))
    return _colorize_steps(gray, channel_axis, hints, card, LOOKS[look], device)


def _checked(gray, hints, method, look, channel_axis):
    """``(gray as an array, the model's card)``, or the error that says what cannot be colorized."""
    gray = np.asarray(gray)
    _check_channels(gray, channel_axis)
    if look not in LOOKS:
        raise ValueError(f"look must be one of {sorted(LOOKS)}, got {look!r}")
    _check_memory(gray, channel_axis, hints is not None)  # before the models are listed: that loads torch
    from .models import find_model

    card = find_model(method, 1)
    _check_memory(gray, channel_axis, hints is not None, card)
    return gray, card


def _check_channels(gray, channel_axis):
    """Refuse what is not gray or RGB, or looks like colour without a ``channel_axis``."""
    if channel_axis is None and gray.ndim >= 3 and gray.shape[-1] in (3, 4):
        raise ValueError(f"colorize takes a gray image, and shape {gray.shape} looks like colour; give the gray "
                         "image (or its lightness), or pass channel_axis=-1 to colorize an RGB image's lightness")
    check_image(gray, channel_axis, "colorize")
    if channel_axis is not None and gray.shape[channel_axis] not in (1, 3):
        raise ValueError(f"colorize takes gray (1 channel) or RGB (3), got {gray.shape[channel_axis]} channels "
                         f"on axis {channel_axis}; drop an alpha channel first")


def _check_memory(gray, channel_axis, hinted, card=None):
    """Refuse upfront, before the model is built, a job whose peak cannot fit in memory (see LAB_BYTES_PER_PIXEL).

    Without the model's ``card``, its activations are left out.
    """
    spatial = spatial_shape(gray, channel_axis)
    plane, pixels = math.prod(spatial[-2:]), math.prod(spatial)
    colour = channel_axis is not None and gray.shape[channel_axis] == 3
    features = 0 if card is None else card.config.get("features", 32)  # 32: the Colorizer's default
    per_pixel = (LAB_BYTES_PER_PIXEL + DECODE_BYTES_PER_PIXEL + COLOUR_INPUT_BYTES_PER_PIXEL * colour
                 + NETWORK_BYTES_PER_FEATURE * features
                 + HINT_BYTES_PER_PIXEL * hinted)
    result = pixels * 3 * gray.dtype.itemsize
    hints = pixels * 4 * 8 if hinted else 0  # as float64, at most one a plane
    check_memory(result + hints + plane * per_pixel, f"colorizing {gray.shape} ({gray.dtype})")


def _checked_hints(hints, spatial):
    """``hints`` as float64 RGBA, or a ValueError saying what is wrong with them."""
    hints = np.asarray(hints, dtype=np.float64)
    if hints.shape[-1] != 4 or hints.shape[:-1] not in (tuple(spatial[-2:]), tuple(spatial)):
        raise ValueError(f"hints must be RGBA (..., H, W, 4) over the image's plane {tuple(spatial[-2:])}, "
                         f"got {hints.shape}")
    bad = np.count_nonzero(~((hints >= 0) & (hints <= 1)))  # NaN included
    if bad:
        raise ValueError(f"hints must be RGBA values in [0, 1]; {bad} NaN or out-of-range values found "
                         "(divide 8-bit colours by 255)")
    return hints


def _colorize_steps(gray, channel_axis, hints, card, look, device, confidence_only=False):
    import torch
    from skimage.color import lab2rgb

    from .models.inference import load_on

    model, device = load_on(card, device)
    bins = torch.from_numpy(ab_bins()).float().to(device)
    shift = prior_shift(card, look["rebalancing"])
    planes, unstack = to_planes(gray, channel_axis)
    values = UnitScale(gray, clip=False)
    out = np.empty(planes.shape[:3] + (() if confidence_only else (3,)), np.float32 if confidence_only else gray.dtype)
    hint_planes = None if hints is None else hints.reshape((-1,) + hints.shape[-3:])  # one, or one a plane
    for i, plane in enumerate(planes):
        lightness = _lightness(values.to_unit(plane))
        hint_ab, hint_mask = (None, None) if hints is None else hints_to_ab(hint_planes[i % len(hint_planes)])
        ab, confidence = _predict_ab(model, card.size_multiple, lightness, hint_ab, hint_mask, bins, shift, look,
                                     device)
        if confidence_only:
            out[i] = confidence
            yield (i + 1) / len(planes)
            continue
        if hints is not None and hint_mask.any():
            ab = spread_hints(lightness, ab, hint_ab, hint_mask > 0)
        with warnings.catch_warnings():  # out-of-gamut guesses are clipped into sRGB, as they should be
            warnings.filterwarnings("ignore", "Conversion from CIE-LAB", UserWarning)
            rgb = lab2rgb(np.dstack([lightness, ab]))
        out[i] = values.restore(rgb)  # RGB in [0, 1] → the gray image's dtype and range
        yield (i + 1) / len(planes)
    if confidence_only:
        return out.reshape(spatial_shape(gray, channel_axis))
    return out.reshape(gray.shape + (3,)) if channel_axis is None else unstack(out)


def _lightness(unit):
    """L of CIE Lab, in [0, 100], of an ``(H, W, C)`` plane in [0, 1]: gray values are lightness; RGB is converted."""
    from skimage.color import rgb2lab

    unit = np.clip(unit, 0, 1)
    return rgb2lab(unit)[..., 0] if unit.shape[-1] == 3 else unit[..., 0] * 100


def _predict_ab(model, multiple, lightness, hint_ab, hint_mask, bins, shift, look, device):
    """``(ab (H, W, 2), confidence (H, W))`` for an ``(H, W)`` lightness in [0, 100], read as ``look``.

    Hints: see :func:`hints_to_ab`, or None; ``shift``: see :func:`prior_shift`.
    """
    logits = network_logits(model, multiple, lightness, hint_ab, hint_mask, device)
    return read_colours(logits, lightness, bins, shift, look)


def network_logits(model, multiple, lightness, hint_ab=None, hint_mask=None, device="cpu"):
    """The colorizer's logits ``(1, Q, H', W')`` (a quarter of the padded size) for a lightness in [0, 100].

    The colorizer pads for itself (not :func:`~napari_superres.models.inference.on_grid`):
    its guesses come at a quarter of the size, and the lightness (mirrored) and the
    hints (none in the margin) are extended each in their own way.
    """
    import torch

    from .models.inference import to_batch

    h, w = lightness.shape
    pad_h, pad_w = -h % multiple, -w % multiple
    with torch.inference_mode():
        light = to_batch(np.pad(lightness, ((0, pad_h), (0, pad_w)), mode="reflect"), device)
        if hint_ab is not None:
            hint_ab = to_batch(np.pad(hint_ab, ((0, pad_h), (0, pad_w), (0, 0))), device)
            hint_mask = to_batch(np.pad(hint_mask, ((0, pad_h), (0, pad_w))), device)
        return model(network_input(light, hint_ab, hint_mask))


def read_colours(logits, lightness, bins, shift, look):
    """``(ab (H, W, 2), confidence (H, W))`` at the lightness's size from :func:`network_logits`, read as ``look``."""
    import torch
    from torch.nn import functional as F

    from .models.inference import to_image

    h, w = lightness.shape
    with torch.inference_mode():
        ab, confidence = decode(logits, bins, shift, look)
        both = torch.cat([ab, confidence], dim=1)
        if not look["edges"]:
            both = F.interpolate(both, scale_factor=4, mode="bilinear", align_corners=False)[..., :h, :w]
    both = to_image(both)
    if look["edges"]:
        both = upsample_along_edges(lightness, both, look["edges"])
    return both[..., :2], np.clip(both[..., 2], 0, 1)


def propagate(lightness, values, known, decay=1e-5):
    """Spread ``values`` (``(H, W, k)``, given where ``known``) over the image, along its lightness.

    Colorization by optimisation (Levin, Lischinski, Weiss 2004): every unknown pixel
    is the weighted mean of its 8 neighbours, weighted by how alike their lightness
    is (a Gaussian of the difference, its width from the local variance), so values
    flow within regions and stop at edges. ``decay`` pulls unknown pixels weakly
    towards 0, so a correction fades over about ``1 / sqrt(decay)`` pixels instead
    of reaching across the whole image from a single hint. One sparse solve for all
    ``k`` channels.
    """
    from scipy import sparse
    from scipy.sparse.linalg import splu

    h, w = lightness.shape
    lum = lightness / 100
    index = np.arange(h * w).reshape(h, w)
    padded, padded_index = np.pad(lum, 1, mode="edge"), np.pad(index, 1, constant_values=-1)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    near = np.stack([padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets])
    near_index = np.stack([padded_index[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in offsets])
    inside = near_index >= 0
    window = np.concatenate([np.where(inside, near, lum), lum[None]])
    variance = np.maximum(0.6 * window.var(axis=0), 2e-6)
    weights = np.exp(-((near - lum) ** 2) / variance) * inside
    weights /= weights.sum(axis=0)
    free = ~known
    rows = np.broadcast_to(index, near_index.shape)[inside & free]
    cols = near_index[inside & free]
    diagonal = sparse.diags(1 + decay * free.ravel())
    system = diagonal - sparse.csr_matrix((weights[inside & free], (rows, cols)), shape=(h * w, h * w))
    right = np.where(known[..., None], values, 0).reshape(h * w, -1)
    solved = splu(system.tocsc()).solve(right)
    return solved.reshape(values.shape)


def hint_reach(lightness, known):
    """How much lightness changes, at the least, on a path from the nearest hint to each pixel (L units).

    A geodesic distance: each step costs the lightness slope beyond
    :data:`HINT_EDGE` (so texture and shading are free, edges are not) plus
    :data:`HINT_FLOOR` per pixel. Within a hint's region it stays near 0 however
    far the pixel; past an edge it is at least the edge's height.
    """
    from scipy import ndimage
    from skimage.graph import MCP_Geometric

    smooth = ndimage.gaussian_filter(lightness, 1.0)
    slope = np.hypot(ndimage.sobel(smooth, 0), ndimage.sobel(smooth, 1)) / 8  # L units per pixel
    distance, _ = MCP_Geometric(HINT_FLOOR + np.maximum(slope - HINT_EDGE, 0)).find_costs(np.argwhere(known))
    return distance


def spread_hints(lightness, ab, hint_ab, known):
    """``ab`` with the hints' colours carried over the regions the hints sit in.

    Each pixel within reach of a hint (:func:`hint_reach` under
    :data:`HINT_REACH`, fading out to its upper end) takes the hints' colour, a
    blend of the nearby hints' ab weighted along the lightness (Levin et al.'s
    :func:`propagate`, divided by how much of the pixel comes from hints at all);
    elsewhere the network's ``ab`` stays. On the hinted pixels, the hints' ab.
    """
    both = np.concatenate([hint_ab, known[..., None].astype(np.float64)], axis=-1)
    solved = propagate(lightness, both, known)
    share = solved[..., -1:]
    colour = solved[..., :-1] / np.maximum(share, 1e-30)
    near, far = HINT_REACH
    weight = np.clip((far - hint_reach(lightness, known)) / (far - near), 0, 1)[..., None] * (share > 1e-30)
    return np.where(known[..., None], hint_ab, ab + weight * (colour - ab))


def hints_to_ab(hints):
    """``(ab (H, W, 2), mask (H, W))`` from RGBA hints in [0, 1] (alpha > 0: a hint)."""
    from skimage.color import rgb2lab

    mask = hints[..., 3] > 0
    ab = rgb2lab(np.clip(hints[..., :3], 0, 1))[..., 1:] * mask[..., None]
    return ab, mask.astype(np.float64)
