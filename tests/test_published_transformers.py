"""Published transformer architectures (SwinIR, HAT): read from their published checkpoint layout and run.

Each checkpoint here is written by the test in the key layout of the published
files (names and shapes as the authors' code saves them), tiny and random.
"""

import numpy as np
import pytest
import torch

from napari_superres import denoise, import_model, upscale
from napari_superres.models import ARCHITECTURES, CONTRACTS, hat, swinir
from napari_superres.models.inference import on_grid
from napari_superres.models.registry import _load_cached

TINY = dict(embed=12, depths=(2, 2), heads=(2, 3), window=4)


def published_swinir(embed, depths, heads, window, upsampler="pixelshuffle", scale=2, channels=3, resi="1conv",
                     mlp_ratio=2, buffers=True, seed=0):
    """A random state dict with the keys and shapes of the published SwinIR checkpoints."""
    state = {}
    put, conv, norm, linear = _writers(state, seed)

    def residual(name):
        if resi == "1conv":
            return conv(name, embed, embed)
        conv(f"{name}.0", embed, embed // 4)
        conv(f"{name}.2", embed // 4, embed // 4, k=1)
        conv(f"{name}.4", embed // 4, embed)

    conv("conv_first", channels, embed)
    norm("patch_embed.norm", embed)
    for i, (depth, n_heads) in enumerate(zip(depths, heads, strict=True)):
        for j in range(depth):
            block = f"layers.{i}.residual_group.blocks.{j}"
            norm(f"{block}.norm1", embed)
            put(f"{block}.attn.relative_position_bias_table", (2 * window - 1) ** 2, n_heads)
            linear(f"{block}.attn.qkv", embed, 3 * embed)
            linear(f"{block}.attn.proj", embed, embed)
            norm(f"{block}.norm2", embed)
            linear(f"{block}.mlp.fc1", embed, int(embed * mlp_ratio))
            linear(f"{block}.mlp.fc2", int(embed * mlp_ratio), embed)
            if buffers:  # saved with the training patch size, 64 pixels
                state[f"{block}.attn.relative_position_index"] = torch.zeros(window**2, window**2, dtype=torch.long)
                if j % 2:
                    state[f"{block}.attn_mask"] = torch.zeros((64 // window) ** 2, window**2, window**2)
        residual(f"layers.{i}.conv")
    norm("norm", embed)
    residual("conv_after_body")
    if upsampler in ("pixelshuffle", "nearest+conv"):
        conv("conv_before_upsample.0", embed, 64)
    if upsampler == "pixelshuffle":
        steps = [3] if scale == 3 else [2] * (scale.bit_length() - 1)
        for k, r in enumerate(steps):
            conv(f"upsample.{2 * k}", 64, 64 * r * r)
        conv("conv_last", 64, channels)
    elif upsampler == "pixelshuffledirect":
        conv("upsample.0", embed, channels * scale * scale)
    elif upsampler == "nearest+conv":
        for k in range(scale.bit_length() - 1):
            conv(f"conv_up{k + 1}", 64, 64)
        conv("conv_hr", 64, 64)
        conv("conv_last", 64, channels)
    else:
        conv("conv_last", embed, channels)
    return state


def _writers(state, seed):
    """Functions that put random tensors of a tensor, a convolution, a layer norm and a linear layer into ``state``."""
    gen = torch.Generator().manual_seed(seed)

    def put(name, *shape, around=0.0):
        state[name] = around + 0.05 * torch.randn(*shape, generator=gen)

    def conv(name, c_in, c_out, k=3):
        put(f"{name}.weight", c_out, c_in, k, k)
        put(f"{name}.bias", c_out)

    def norm(name, dim):
        put(f"{name}.weight", dim, around=1.0)
        put(f"{name}.bias", dim)

    def linear(name, c_in, c_out):
        put(f"{name}.weight", c_out, c_in)
        put(f"{name}.bias", c_out)

    return put, conv, norm, linear


def published_hat(embed, depths, heads, window, scale=4, channels=3, compress=3, squeeze=4, seed=0):
    """A random state dict with the keys and shapes of the published HAT checkpoints (overlap ratio 0.5)."""
    state = published_swinir(embed, depths, heads, window, scale=scale, channels=channels, buffers=False, seed=seed)
    put, conv, norm, linear = _writers(state, seed + 1)
    enlarged = window + window // 2
    for i, (depth, n_heads) in enumerate(zip(depths, heads, strict=True)):
        for j in range(depth):
            cab = f"layers.{i}.residual_group.blocks.{j}.conv_block.cab"
            conv(f"{cab}.0", embed, embed // compress)
            conv(f"{cab}.2", embed // compress, embed)
            conv(f"{cab}.3.attention.1", embed, embed // squeeze, k=1)
            conv(f"{cab}.3.attention.3", embed // squeeze, embed, k=1)
        overlap = f"layers.{i}.residual_group.overlap_attn"
        norm(f"{overlap}.norm1", embed)
        linear(f"{overlap}.qkv", embed, 3 * embed)
        put(f"{overlap}.relative_position_bias_table", (window + enlarged - 1) ** 2, n_heads)
        linear(f"{overlap}.proj", embed, embed)
        norm(f"{overlap}.norm2", embed)
        linear(f"{overlap}.mlp.fc1", embed, 2 * embed)
        linear(f"{overlap}.mlp.fc2", 2 * embed, embed)
    state["relative_position_index_SA"] = torch.zeros(window**2, window**2, dtype=torch.long)
    state["relative_position_index_OCA"] = torch.zeros(window**2, enlarged**2, dtype=torch.long)
    return state


VARIANTS = {  # (published layout, what detect must read from it)
    "classical x2": (dict(upsampler="pixelshuffle", scale=2), dict(scale=2, upsampler="pixelshuffle")),
    "classical x3": (dict(upsampler="pixelshuffle", scale=3), dict(scale=3, upsampler="pixelshuffle")),
    "lightweight x4": (dict(upsampler="pixelshuffledirect", scale=4),
                       dict(scale=4, upsampler="pixelshuffledirect")),
    "real-world x4": (dict(upsampler="nearest+conv", scale=4, resi="3conv"),
                      dict(scale=4, upsampler="nearest+conv", resi_connection="3conv")),
    "gray denoising": (dict(upsampler="none", scale=1, channels=1), dict(scale=1, channels=1, upsampler="none")),
    "colour JPEG": (dict(upsampler="none", scale=1, window=7), dict(scale=1, window_size=7, img_range=255.0)),
}


def _detected(layout):
    options = {**TINY, **layout}
    state = published_swinir(**options)
    return state, swinir.detect(state)


def _built(state, config, module=swinir):
    options = {k: v for k, v in config.items() if k not in ("architecture", "scale", "channels")}
    model = ARCHITECTURES[config["architecture"]](scale=config["scale"], channels=config["channels"], **options)
    model.load_state_dict(module.convert(state, config), strict=True)
    return model.eval()


@pytest.mark.parametrize("variant", VARIANTS)
def test_detect_reads_the_hyperparameters_of_a_published_swinir(variant):
    layout, expected = VARIANTS[variant]
    _, config = _detected(layout)
    assert config is not None
    assert config["architecture"] == ("swinir" if expected["scale"] > 1 else "swinir_denoise")
    window = layout.get("window", TINY["window"])
    assert config | expected == config  # every expected value as detected
    assert (config["embed_dim"], config["depths"], config["num_heads"], config["window_size"], config["mlp_ratio"]) \
        == (TINY["embed"], list(TINY["depths"]), list(TINY["heads"]), window, 2.0)
    assert CONTRACTS[config["architecture"]].unknown_options(
        {k: v for k, v in config.items() if k not in ("architecture", "scale", "channels")}) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_converted_published_swinir_loads_strictly_and_keeps_or_scales_the_size(variant):
    layout, _ = VARIANTS[variant]
    state, config = _detected(layout)
    model = _built(state, config)
    window = config["window_size"]
    with torch.inference_mode():
        out = model(torch.rand(1, config["channels"], 2 * window, 3 * window))
    assert out.shape == (1, config["channels"], 2 * window * config["scale"], 3 * window * config["scale"])
    assert torch.isfinite(out).all()


def test_the_buffers_are_optional_in_a_checkpoint():
    with_buffers, config = _detected({})
    without = published_swinir(**TINY, buffers=False)
    assert swinir.detect(without) == config
    assert swinir.convert(without, config).keys() == swinir.convert(with_buffers, config).keys()


@pytest.mark.parametrize("state", [
    ARCHITECTURES["edsr"](scale=2, features=8, blocks=2).state_dict(),  # a convolutional network
    {},
    {"conv_first.weight": torch.zeros(12, 3, 3, 3), "layers.0.residual_group.blocks.0.attn.qkv.weight": None},
    {k: v for k, v in published_swinir(**TINY).items() if not k.startswith("conv_last")},  # no known tail
    {k: v for k, v in published_swinir(**TINY).items() if "bias_table" not in k},
])
def test_detect_says_none_for_other_layouts_without_raising(state):
    assert swinir.detect(state) is None


def test_on_grid_runs_a_swinir_on_sides_that_are_not_window_multiples():
    state, config = _detected({})
    model = _built(state, config)
    x = torch.rand(1, 3, 13, 10)
    padded = torch.nn.functional.pad(x, (0, 2, 0, 3), mode="replicate")
    with torch.inference_mode():
        out = on_grid(model, CONTRACTS["swinir"].size_multiple(config), 2)(x)
        reference = model(padded)[..., :26, :20]
    torch.testing.assert_close(out, reference)


def _imported(tmp_path, name, state, monkeypatch):
    """``state`` saved as a published ``.pth`` (in BasicSR's ``params`` container), imported as ``name``."""
    weights = tmp_path / "weights"
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(weights))
    _load_cached.cache_clear()
    torch.save({"params": state}, tmp_path / f"{name}.pth")
    return import_model(tmp_path / f"{name}.pth", name=name, weights_dir=weights)


def test_upscale_with_an_imported_swinir_is_seamless_across_tiles(tmp_path, monkeypatch):
    state, _ = _detected(VARIANTS["lightweight x4"][0])
    card = _imported(tmp_path, "tiny_swinir_x4", state, monkeypatch)
    assert (card.architecture, card.scale, card.input, card.task) == ("swinir", 4, "rgb", "upscale")
    image = np.random.default_rng(0).random((37, 45, 3)).astype(np.float32)
    whole = upscale(image, 4, method="tiny_swinir_x4", channel_axis=-1)
    tiled = upscale(image, 4, method="tiny_swinir_x4", channel_axis=-1, tile=16)
    assert whole.shape == (148, 180, 3) and whole.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, atol=2e-5)


def test_denoise_with_an_imported_gray_swinir_keeps_shape_and_dtype(tmp_path, monkeypatch):
    state, _ = _detected(VARIANTS["gray denoising"][0])
    card = _imported(tmp_path, "tiny_swinir_dn", state, monkeypatch)
    assert (card.architecture, card.scale, card.input, card.task) == ("swinir_denoise", 1, "gray", "denoise")
    image = (np.random.default_rng(1).random((21, 30)) * 255).astype(np.uint8)
    out = denoise(image, method="tiny_swinir_dn")
    assert out.shape == image.shape and out.dtype == np.uint8


HAT_TINY = dict(embed=16, depths=(2,), heads=(2,), window=4)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_a_published_hat_is_detected_converted_and_run(scale):
    state = published_hat(**HAT_TINY, scale=scale)
    config = hat.detect(state)
    assert config == {"architecture": "hat", "scale": scale, "channels": 3, "embed_dim": 16, "depths": [2],
                      "num_heads": [2], "window_size": 4, "mlp_ratio": 2.0, "compress_ratio": 3,
                      "squeeze_factor": 4, "overlap_ratio": 0.5, "img_range": 1.0}
    with torch.inference_mode():
        forward = on_grid(_built(state, config, hat), CONTRACTS["hat"].size_multiple(config), scale)
        out = forward(torch.rand(1, 3, 9, 14))
    assert out.shape == (1, 3, 9 * scale, 14 * scale) and torch.isfinite(out).all()


def test_swinir_and_hat_each_refuse_the_others_layout():
    assert swinir.detect(published_hat(**HAT_TINY)) is None
    assert hat.detect(published_swinir(**TINY)) is None
    assert hat.detect(ARCHITECTURES["edsr"](scale=2, features=8, blocks=2).state_dict()) is None


def test_upscale_with_an_imported_hat_tiles_close_to_whole(tmp_path, monkeypatch):
    # Its channel attention pools each tile's features: tiles differ a little from the whole, not at all elsewhere.
    state = published_hat(**HAT_TINY, scale=2)
    assert _imported(tmp_path, "tiny_hat_x2", state, monkeypatch).architecture == "hat"
    image = np.random.default_rng(2).random((40, 44, 3)).astype(np.float32)
    whole = upscale(image, 2, method="tiny_hat_x2", channel_axis=-1)
    tiled = upscale(image, 2, method="tiny_hat_x2", channel_axis=-1, tile=16)
    assert whole.shape == (80, 88, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-3)


def test_attention_in_groups_of_windows_is_the_attention_of_all_at_once(monkeypatch):
    state, config = _detected(VARIANTS["classical x2"][0])
    model = _built(state, config)
    x = torch.rand(1, 3, 16, 24)
    with torch.inference_mode():
        at_once = model(x)
        monkeypatch.setattr(swinir, "ATTENTION_CHUNK_BYTES", 1)  # one window at a time
        torch.testing.assert_close(model(x), at_once)
