"""Sub-pixel tails folded for inference (EDSR, MDSR): the same output, without the full-size convolutions."""

import copy

import pytest
import torch
from torch import nn

from napari_superres.models.common import LinearTailConv, ShuffledInputConv, SubPixelUpsampler, fold_subpixel_tails
from napari_superres.models.edsr import EDSR
from napari_superres.models.mdsr import MDSR


def _assert_same(got, expected):
    """Equal to float32 rounding: sums in another order differ by a few ulps of the largest values."""
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5 * float(expected.abs().max()))


def _random_weights(model, seed):
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.2)
    return model.eval()


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_folded_edsr_gives_the_same_output(scale, channels):
    model = _random_weights(EDSR(scale, channels=channels, features=8, blocks=2), seed=scale)
    folded = fold_subpixel_tails(copy.deepcopy(model))
    x = torch.rand(1, channels, 13, 10)  # odd sides: the borders' zero padding lands on both grids
    with torch.inference_mode():
        expected, got = model(x), folded(x)
    assert got.shape == expected.shape == (1, channels, 13 * scale, 10 * scale)
    _assert_same(got, expected)


def test_folding_computes_every_linear_tail_on_the_low_resolution_grid():
    model = _random_weights(MDSR(4, features=8, blocks=1), seed=0)
    folded = fold_subpixel_tails(copy.deepcopy(model))
    for tail in folded.tails.values():
        upsampler, conv = tail
        assert isinstance(conv, LinearTailConv) and upsampler.folded_into, tail
        assert conv.composed_weight.shape[:2] == (conv.scale**2, 8)  # one channel, scale² sub-pixels
    assert folded.state_dict().keys() == model.state_dict().keys()  # same names, same parameters
    x = torch.rand(1, 1, 19, 11)
    with torch.inference_mode():
        for scale in (2, 3, 4):
            _assert_same(folded(x, scale=scale), model(x, scale=scale))


@pytest.mark.parametrize("shape", [(3, 4), (8, 30), (9, 9)])
def test_images_too_small_for_the_border_strips_get_the_plain_tail(shape):
    model = _random_weights(EDSR(4, channels=1, features=8, blocks=1), seed=1)
    folded = fold_subpixel_tails(copy.deepcopy(model))
    x = torch.rand(2, 1, *shape)
    with torch.inference_mode():
        _assert_same(folded(x), model(x))


def test_a_tail_with_activations_moves_its_last_shuffle_past_the_convolution():
    """SRResNet-like: PReLU between the stages, so the tail is not linear; the end is folded all the same."""
    model = _random_weights(nn.Sequential(SubPixelUpsampler(4, 6, activation=nn.PReLU), nn.Conv2d(6, 1, 3, padding=1)),
                            seed=2)
    folded = fold_subpixel_tails(copy.deepcopy(model))
    assert isinstance(folded[1], ShuffledInputConv) and not isinstance(folded[0][-1], nn.PixelShuffle)
    x = torch.rand(1, 6, 12, 7)
    with torch.inference_mode():
        _assert_same(folded(x), model(x))


def test_a_folded_tail_in_bf16_stays_close():
    model = _random_weights(EDSR(2, channels=1, features=8, blocks=1), seed=3)
    folded = fold_subpixel_tails(copy.deepcopy(model))
    x = torch.rand(1, 1, 16, 16)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        got, expected = folded(x), model(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got.float(), expected.float(), rtol=0, atol=0.05 * float(expected.abs().max()))


def test_a_shuffle_that_feeds_anything_else_is_left_alone():
    """ESPCN-like ends (the shuffle is the output) and non-3x3 convolutions are not folded."""
    model = nn.Sequential(SubPixelUpsampler(2, 4), nn.Conv2d(4, 1, 5, padding=2), SubPixelUpsampler(2, 1))
    before = [type(m) for m in model]
    fold_subpixel_tails(model)
    assert [type(m) for m in model] == before


def test_the_shared_loaded_edsr_is_folded():
    from napari_superres.models.registry import find_model, load_model

    model = load_model(find_model("edsr", 4), torch.device("cpu"))
    assert isinstance(model.tail[-1], LinearTailConv)
