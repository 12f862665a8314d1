"""Colorization: the ab quantisation, the rebalanced loss's parts, the decoding, hints and the public function."""

import numpy as np
import pytest
import torch
from skimage import data
from skimage.color import lab2rgb, rgb2lab

from napari_superres.colorize import (
    LOOKS,
    ab_bins,
    annealed_mean,
    colorize,
    colour_confidence,
    decode,
    hint_reach,
    hints_to_ab,
    prior_shift,
    rebalancing_weights,
    soft_encode,
    spread_hints,
    upsample_along_edges,
)


def test_bins_cover_the_srgb_gamut_on_a_10_unit_grid():
    bins = ab_bins()
    assert bins.shape == (261, 2) and np.all(bins % 10 == 0)
    ab = rgb2lab(data.astronaut() / 255)[..., 1:].reshape(-1, 2)
    nearest = np.sqrt(((ab[::97, None, :] - bins[None]) ** 2).sum(-1)).min(1)
    assert nearest.max() <= 5 * np.sqrt(2) + 1e-6  # every real colour is within half a cell of a bin


def test_soft_encoding_is_a_distribution_peaked_at_the_nearest_bin():
    bins = torch.from_numpy(ab_bins()).float()
    ab = torch.tensor([[[[12.0]], [[-31.0]]]])  # one pixel, a = 12, b = -31
    soft, nearest = soft_encode(ab, bins)
    assert soft.shape == (1, 261, 1, 1) and torch.isclose(soft.sum(), torch.tensor(1.0))
    assert (soft[0, :, 0, 0] > 0).sum() == 5
    assert torch.equal(bins[nearest[0, 0, 0]], torch.tensor([10.0, -30.0]))
    assert soft[0, :, 0, 0].argmax() == nearest[0, 0, 0]


def test_rebalancing_favours_rare_colours_and_averages_to_one():
    bins = ab_bins()
    counts = np.where(np.abs(bins).sum(1) < 20, 1000.0, 1.0)  # grey-ish colours dominate, as in photographs
    weights = rebalancing_weights(counts, bins)
    grey, vivid = np.abs(bins).sum(1) < 20, np.abs(bins).sum(1) > 80
    assert weights[vivid].min() > 3 * weights[grey].max()
    p = counts / counts.sum()
    smoothed = np.exp(-((bins[:, None] - bins[None]) ** 2).sum(-1) / 50) @ p
    smoothed /= smoothed.sum()
    assert np.isclose((smoothed * weights).sum(), 1.0)
    # λ = 1 is no rebalancing at all: every weight is 1.
    np.testing.assert_allclose(rebalancing_weights(counts, bins, lam=1.0), 1.0)


def test_annealed_mean_lies_between_the_mean_and_the_mode():
    bins = torch.tensor([[0.0, 0.0], [60.0, 0.0]])
    logits = torch.log(torch.tensor([0.4, 0.6])).reshape(1, 2, 1, 1)
    mean = annealed_mean(logits, bins, temperature=1.0)[0, 0, 0, 0]
    annealed = annealed_mean(logits, bins)[0, 0, 0, 0]
    mode = annealed_mean(logits, bins, temperature=1e-3)[0, 0, 0, 0]
    assert torch.isclose(mean, torch.tensor(36.0)) and mean < annealed < mode
    assert torch.isclose(mode, torch.tensor(60.0))


def test_hints_become_ab_where_alpha_is_set():
    hints = np.zeros((8, 8, 4))
    hints[2, 3] = (1.0, 0.0, 0.0, 1.0)  # a red point
    ab, mask = hints_to_ab(hints)
    assert mask.sum() == 1 and ab[2, 3, 0] > 60 and np.all(ab[mask == 0] == 0)


def test_colorize_keeps_lightness_shape_and_dtype(tiny_colorizer):
    from napari_superres import available_denoisers

    assert tiny_colorizer not in available_denoisers()  # a scale-1 card is not always a denoiser
    gray = data.camera()[:60, :70]
    assert colorize(gray, method=tiny_colorizer).shape == (60, 70, 3)
    # faithful: the looks that gain chroma take this untrained network's near-uniform guess out of the sRGB
    # gamut, where clipping moves the lightness too
    rgb = colorize(gray, method=tiny_colorizer, look="faithful")
    assert rgb.shape == (60, 70, 3) and rgb.dtype == np.uint8
    lightness = rgb2lab(rgb / 255)[..., 0]
    assert np.abs(lightness - gray / 255 * 100).mean() < 3  # colours change, not the lightness
    stack = np.stack([gray, gray[::-1]]).astype(np.uint16) * 200
    out = colorize(stack, method=tiny_colorizer)
    assert out.shape == (2, 60, 70, 3) and out.dtype == np.uint16 and out.max() <= stack.max()


def test_colorize_checks_hints(tiny_colorizer):
    with pytest.raises(ValueError, match="RGBA"):
        colorize(data.camera()[:32, :32], np.zeros((16, 16, 4)), method=tiny_colorizer)


@pytest.mark.skipif("colorizer" not in __import__("napari_superres").available_colorizers(),
                    reason="the trained colorizer's weights are not installed")
def test_shipped_colorizer_follows_a_hint():
    gray = np.round(rgb2lab(data.coffee() / 255)[..., 0] / 100 * 255).astype(np.uint8)[::2, ::2]
    automatic = colorize(gray)
    hints = np.zeros(gray.shape + (4,))
    hints[60:70, 100:110] = (0.1, 0.3, 0.9, 1.0)  # "this is blue"
    hinted = colorize(gray, hints)
    b_auto, b_hint = (rgb2lab(out / 255)[55:75, 95:115, 2].mean() for out in (automatic, hinted))
    assert b_hint < b_auto - 10  # b* goes towards blue where the user said so
    far = (slice(150, 200), slice(0, 50))  # and the far corner hardly changes
    assert np.abs(rgb2lab(hinted[far] / 255) - rgb2lab(automatic[far] / 255))[..., 1:].mean() < 10


def test_colour_input_needs_its_channel_axis_and_keeps_its_lightness(tiny_colorizer):
    rgb = data.astronaut()[:48, :40]
    with pytest.raises(ValueError, match="looks like colour.*channel_axis=-1"):
        colorize(rgb, method=tiny_colorizer)
    out = colorize(rgb, method=tiny_colorizer, channel_axis=-1, look="faithful")  # in gamut: see the test above
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.abs(rgb2lab(out / 255)[..., 0] - rgb2lab(rgb / 255)[..., 0]).mean() < 1  # colours change, not L
    first = colorize(np.moveaxis(rgb, -1, 0), method=tiny_colorizer, channel_axis=0, look="faithful")
    np.testing.assert_array_equal(first, np.moveaxis(out, -1, 0))  # the layout is the input's
    with pytest.raises(ValueError, match="got 4 channels.*alpha"):
        colorize(np.dstack([rgb, rgb[..., :1]]), method=tiny_colorizer, channel_axis=-1)


@pytest.mark.parametrize("bad, count", [(np.nan, 1), (1.5, 1), (-0.1, 1), (255.0, 1)])
def test_hints_outside_zero_one_are_refused(tiny_colorizer, bad, count):
    hints = np.zeros((32, 32, 4))
    hints[5, 5] = (bad, 0.5, 0.5, 1.0)
    with pytest.raises(ValueError, match=f"in \\[0, 1\\]; {count} NaN or out-of-range"):
        colorize(data.camera()[:32, :32], hints, method=tiny_colorizer)


def _textured_disc():
    rows, cols = np.mgrid[:128, :128]
    disc = (rows - 64) ** 2 + (cols - 56) ** 2 < 45**2
    texture = 6 * np.sin(rows / 3.0) * np.cos(cols / 4.0)
    return np.where(disc, 75 + texture, 15 + texture), disc  # L units: the disc 60 above its surround


def test_a_hint_reaches_its_whole_region_and_stops_at_its_edge():
    lightness, disc = _textured_disc()
    known = np.zeros(disc.shape, bool)
    known[63:66, 55:58] = True
    reach = hint_reach(lightness, known)
    assert np.mean(reach[disc] < 10) > 0.9  # 40 pixels away too, through the texture
    assert reach[~disc].min() > 20  # the disc's edge (60 L units) stops it
    ab = np.zeros(disc.shape + (2,))
    hint_ab = np.zeros_like(ab)
    hint_ab[known] = (40.0, 50.0)
    spread = spread_hints(lightness, ab, hint_ab, known)
    assert np.mean(np.linalg.norm(spread[disc] - (40, 50), axis=-1) < 5) > 0.9
    assert np.abs(spread[~disc]).max() < 1e-6  # the network's answer stays outside


def test_two_hints_in_one_region_blend_and_each_keeps_its_colour():
    lightness, disc = _textured_disc()
    known = np.zeros(disc.shape, bool)
    known[64, 30], known[64, 80] = True, True
    hint_ab = np.zeros(disc.shape + (2,))
    hint_ab[64, 30], hint_ab[64, 80] = (60.0, 0.0), (0.0, 60.0)
    spread = spread_hints(lightness, np.zeros_like(hint_ab), hint_ab, known)
    np.testing.assert_allclose(spread[known], hint_ab[known])
    assert spread[64, 35, 0] > spread[64, 35, 1] and spread[64, 75, 1] > spread[64, 75, 0]
    assert np.mean(np.linalg.norm(spread[disc], axis=-1) > 25) > 0.9  # the region is coloured, not gray


def test_confidence_is_low_for_a_flat_distribution_and_fading_takes_it_to_gray():
    bins = torch.from_numpy(ab_bins()).float()
    flat = torch.zeros(1, len(bins), 1, 1)
    peaked = flat.clone()
    peaked[0, int((bins - torch.tensor([40.0, 40.0])).abs().sum(1).argmin())] = 30.0
    shift, fading = np.zeros(len(bins)), {**LOOKS["faithful"], "confidence": (0.75, 0.8)}
    (ab_flat, sure_flat), (ab_peak, sure_peak) = (decode(x, bins, shift, fading) for x in (flat, peaked))
    assert float(sure_flat) < 1e-6 and float(sure_peak) > 0.9
    assert torch.allclose(ab_flat, torch.zeros(2)) and torch.allclose(ab_peak[0, :, 0, 0], torch.tensor([40.0, 40.0]))
    for look in (LOOKS["faithful"], LOOKS["vivid"]):  # neither fades nor scales the chroma
        unfaded, _ = decode(flat, bins, shift, look)
        assert torch.allclose(unfaded, annealed_mean(flat, bins, look["temperature"]))


@pytest.mark.parametrize("name", ["natural", "colourful"])
def test_spread_gained_looks_give_chroma_back_where_the_distribution_is_spread_and_take_it_where_peaked(name):
    # The mean of a spread distribution is too gray; gray surfaces are the peaked guesses (benchmarks/colorize.py).
    bins = torch.from_numpy(ab_bins()).float()
    reddish = (bins[:, 0] > 0).float()  # the same hue (a > 0) in both, spread over half the bins or on few
    spread = (reddish * 2.0).reshape(1, -1, 1, 1)
    peaked = (reddish * 3.0 - 0.5 * ((bins - torch.tensor([30.0, 10.0])) ** 2).sum(1).sqrt()).reshape(1, -1, 1, 1)
    shift, colourful = np.zeros(len(bins)), LOOKS[name]
    for logits, more in ((spread, True), (peaked, False)):
        ab, confidence = decode(logits, bins, shift, colourful)
        mean = annealed_mean(logits, bins, colourful["temperature"])
        gain = float(ab.norm() / mean.norm())
        assert (gain > 1.2) if more else (gain < 0.8), (gain, float(confidence))
        assert torch.allclose(ab / ab.norm(), mean / mean.norm(), atol=1e-5)  # the hue stays the mean's


def test_colourful_look_gains_more_than_natural_below_the_ceiling():
    bins = torch.from_numpy(ab_bins()).float()
    logits = (-0.1 * ((bins - torch.tensor([30.0, 10.0])) ** 2).sum(1).sqrt()).reshape(1, -1, 1, 1)
    shift = np.zeros(len(bins))
    natural, colourful = (decode(logits, bins, shift, LOOKS[name])[0] for name in ("natural", "colourful"))
    assert float(colourful.norm()) > 1.1 * float(natural.norm()) > 0  # measured: 64.1 against 54.4


def test_faithful_look_is_the_plain_mean():
    bins = torch.from_numpy(ab_bins()).float()
    logits = torch.randn(1, len(bins), 3, 2, generator=torch.Generator().manual_seed(0))
    ab, _ = decode(logits, bins, np.zeros(len(bins)), LOOKS["faithful"])
    torch.testing.assert_close(ab, annealed_mean(logits, bins, 1.0))


def test_the_natural_look_is_the_default_and_the_others_differ(tiny_colorizer):
    gray = data.camera()[:48, :56]
    default = colorize(gray, method=tiny_colorizer)
    np.testing.assert_array_equal(default, colorize(gray, method=tiny_colorizer, look="natural"))
    for other in ("vivid", "faithful"):  # colourful: at this untrained network's ceiling too, as natural
        assert np.abs(default.astype(int) - colorize(gray, method=tiny_colorizer, look=other)).max() > 0


def test_colour_confidence_is_a_map_in_zero_one(tiny_colorizer):
    rgb = data.astronaut()[:48, :40]
    confidence = colour_confidence(rgb, method=tiny_colorizer, channel_axis=-1)
    assert confidence.shape == (48, 40) and confidence.dtype == np.float32
    assert 0 <= confidence.min() <= confidence.max() <= 1
    with pytest.raises(ValueError, match="look must be one of"):
        colorize(rgb[..., 0], method=tiny_colorizer, look="sepia")


def test_colours_brought_to_full_size_stop_at_the_lightness_edge_instead_of_fringing_across_it():
    lightness = np.where(np.arange(64) < 34, 80.0, 30.0)[None].repeat(32, 0)  # an edge inside the 9th cell
    low = np.zeros((8, 16, 1))
    low[:, :8], low[:, 8] = 50.0, 25.0  # the colour of the bright side; the cell across the edge is a mix
    bilinear = torch.nn.functional.interpolate(torch.from_numpy(low).permute(2, 0, 1)[None], scale_factor=4,
                                               mode="bilinear", align_corners=False)[0, 0].numpy()
    along = upsample_along_edges(lightness, low, sigma=10.0)[..., 0]
    dark_side, bright_side = slice(34, 42), slice(26, 34)
    assert bilinear[:, dark_side].max() > 20  # plain interpolation spills colour over the edge
    assert along[:, dark_side].max() < 2 and along[:, bright_side].min() > 45
    np.testing.assert_allclose(along[:, :20], 50.0)  # within a region, the region's colour
    assert np.all(along[:, 46:] < 1e-3)


def test_prior_shift_reads_a_rebalanced_network_with_fewer_rare_colours():
    class Card:
        info = {"decoding": {"rebalancing": 0.5, "ab_prior": list(np.linspace(1, 0.01, len(ab_bins())) / 100)}}

    assert np.all(prior_shift(Card, 0.5) == 0) and np.all(prior_shift(type("Bare", (), {"info": {}}), 1.0) == 0)
    shift = prior_shift(Card, 1.0)
    assert shift[0] > shift[-1]  # the frequent bin gains against the rare one


@pytest.mark.skipif("colorizer" not in __import__("napari_superres").available_colorizers(),
                    reason="the trained colorizer's weights are not installed")
def test_shipped_colorizer_beats_the_gray_answer_on_a_photograph_it_never_saw():
    from napari_superres import psnr

    truth = data.astronaut()[::2, ::2]  # left out of the training images
    lab = rgb2lab(truth / 255)
    gray = np.round(lab[..., 0] / 100 * 255).astype(np.uint8)
    gray_answer = np.round(lab2rgb(np.dstack([gray / 255 * 100, np.zeros(gray.shape + (2,))])) * 255)
    natural = colorize(gray, method="colorizer")  # measured: 19.11 dB
    colourful = colorize(gray, method="colorizer", look="colourful")  # measured: 18.39 dB against gray's 17.80
    vivid = colorize(gray, method="colorizer", look="vivid")
    faithful = colorize(gray, method="colorizer", look="faithful")
    gray_psnr = psnr(truth, gray_answer, data_range=255)
    assert psnr(truth, natural, data_range=255) > gray_psnr + 0.2 and psnr(truth, colourful, data_range=255) > gray_psnr
    assert psnr(truth, faithful, data_range=255) > gray_psnr and _colourfulness(faithful) > 5
    assert _colourfulness(vivid) > _colourfulness(natural) > 5  # natural is coloured, not gray
    assert _colourfulness(colourful) > 1.1 * _colourfulness(natural)  # measured: 54.5 against 46.4


def _colourfulness(rgb):
    r, g, b = np.moveaxis(rgb.astype(np.float64), -1, 0)
    rg, yb = r - g, (r + g) / 2 - b
    return np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
