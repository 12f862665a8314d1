import pytest
import torch

from napari_superres.models import ARCHITECTURES, CONTRACTS
from napari_superres.models.common import bicubic_upsample
from napari_superres.models.inference import on_grid
from napari_superres.models.srresnet import SRGANDiscriminator
from napari_superres.resize import imresize
from napari_superres.tiling import iter_tiled
from napari_superres.upscale import run_to_end

SMALL = {  # reduced widths so that the checks run fast; the structure is the same
    "srcnn": dict(features=16, hidden=8),
    "fsrcnn": dict(d=16, s=8, m=2),
    "espcn": dict(features=16, hidden=8),
    "vdsr": dict(features=8, depth=6),
    "edsr": dict(features=8, blocks=2),
    "mdsr": dict(features=8, blocks=2),
    "lapsrn": dict(features=8, depth=2),
    "drcn": dict(features=8, recursions=3),
    "srresnet": dict(features=8, blocks=2),
    "unet": dict(features=8, depth=2),
    "autoencoder": dict(features=8, downs=2),
    "vae": dict(features=8, downs=2, latent=2),
    "dncnn": dict(features=8, depth=5, unshuffle=2),
    "colorizer": dict(features=4, blocks=1),
    "gatedunet": dict(features=4, depth=2),
    "span": dict(features=4, normalize=False),
    "rrdbnet": dict(features=8, blocks=1, growth=4),
    "imdn": dict(features=16, blocks=1),
    "drunet": dict(features=(4, 4, 4, 4), blocks=1),
    "fdncnn": dict(features=8, depth=3),
    "swinir": dict(embed_dim=8, depths=(2,), num_heads=(2,), window_size=4),
    "swinir_denoise": dict(embed_dim=8, depths=(2,), num_heads=(2,), window_size=4),
    "hat": dict(embed_dim=8, depths=(2,), num_heads=(2,), window_size=4, compress_ratio=2, squeeze_factor=4),
}
SIZE_KEEPING = {"dncnn", "colorizer", "gatedunet", "drunet", "fdncnn", "swinir_denoise"}  # scale 1
WHOLE_PLANE = {"colorizer", "gatedunet"}  # see an image whole (colour, holes): no halo, never tiled
SR = sorted(set(ARCHITECTURES) - SIZE_KEEPING)
# Channel attention on statistics of the whole input: tiles are close, not equal (test_published_architectures.py,
# test_published_transformers.py).
GLOBAL_STATISTICS = {"imdn", "hat"}


def _model(name, scale, channels=1):
    torch.manual_seed(0)
    return ARCHITECTURES[name](scale=scale, channels=channels, **SMALL[name]).eval()


def _forward(name, scale, channels=1):
    """The small ``name`` model, called as the tasks call it: inputs padded to its contract's size multiple."""
    return on_grid(_model(name, scale, channels), CONTRACTS[name].size_multiple(SMALL[name]), scale)


@pytest.mark.parametrize(("name", "scale"), [(name, scale) for name in SR for scale in (2, 3, 4)
                                             if CONTRACTS[name].scales is None or scale in CONTRACTS[name].scales])
def test_output_shape(name, scale):
    with torch.inference_mode():
        assert _forward(name, scale, channels=3)(torch.rand(2, 3, 13, 10)).shape == (2, 3, 13 * scale, 10 * scale)


# Pooling makes U-Net tiles exact only on its grid: checked separately below.
@pytest.mark.parametrize("name", sorted(set(ARCHITECTURES) - {"unet"} - WHOLE_PLANE - GLOBAL_STATISTICS))
def test_halo_makes_tiling_seamless(name):
    scale = 1 if name in SIZE_KEEPING else 2
    model = _forward(name, scale)
    x = torch.rand(1, 1 + CONTRACTS[name].takes_noise_level, 37, 41)  # the noise level map last
    with torch.inference_mode():
        whole = model(x)
        tiled = run_to_end(iter_tiled(model, x, scale, 16, CONTRACTS[name].halo(scale, SMALL[name])))
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_unet_tiles_on_its_pooling_grid_are_close():
    model = _model("unet", 2)
    x = torch.rand(1, 1, 64, 64)
    with torch.inference_mode():
        whole = model(x)
        tiled = run_to_end(iter_tiled(model, x, 2, 32, CONTRACTS["unet"].halo(2, SMALL["unet"])))
    assert (tiled - whole).abs().max() < 1e-3


def test_dncnn_keeps_the_size_and_refuses_a_scale():
    with torch.inference_mode():
        assert _forward("dncnn", 1, channels=3)(torch.rand(2, 3, 13, 10)).shape == (2, 3, 13, 10)
        half = on_grid(ARCHITECTURES["dncnn"](channels=3, features=8, depth=4, unshuffle=2).eval(), 2)
        assert half(torch.rand(2, 3, 13, 10)).shape == (2, 3, 13, 10)
    with pytest.raises(ValueError, match="scale must be 1"):
        _model("dncnn", 2)


def test_no_transposed_convolutions():
    for name in ARCHITECTURES:
        model = _model(name, 1 if name in SIZE_KEEPING else 4)
        assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in model.modules()), name


def test_bicubic_upsample_matches_imresize():
    x = torch.rand(1, 1, 9, 7, dtype=torch.float64)
    ours = bicubic_upsample(x, 3)[0, 0].numpy()
    torch.testing.assert_close(torch.from_numpy(ours), torch.from_numpy(imresize(x[0, 0].numpy(), 3)))


def test_discriminator_scores_any_patch_size():
    d = SRGANDiscriminator(channels=1, features=8).eval()
    assert d(torch.rand(3, 1, 48, 48)).shape == (3, 1)
    assert d(torch.rand(1, 1, 96, 64)).shape == (1, 1)
