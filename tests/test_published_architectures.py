"""Our implementations of published convolutional architectures, read from their published checkpoint layouts.

Each test writes a small randomly initialised checkpoint with the key names and
tensor shapes of the published code (built here from the papers' structure), then
checks that only its architecture detects it, that it converts into our model with
a strict load, that the model computes what the published network computes (a
direct evaluation of the published tensors), and that an imported model runs
through ``upscale``/``denoise`` with the same result tiled and untiled. No download.
"""

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from napari_superres import denoise, upscale
from napari_superres.models import catalog
from napari_superres.models.importer import detect_architecture, import_model, plain_state_dict


def _random(*shape, generator, std=0.1):
    return torch.randn(*shape, generator=generator) * std


def _conv(state, prefix, c_in, c_out, size, generator, bias=True, std=0.1):
    state[f"{prefix}.weight"] = _random(c_out, c_in, size, size, generator=generator, std=std)
    if bias:
        state[f"{prefix}.bias"] = _random(c_out, generator=generator, std=std)


def _imported(state, tmp_path, monkeypatch, name):
    """``state`` saved as a .pth file and imported into a weights folder that the registry searches."""
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path / "weights"))
    path = tmp_path / f"{name}.pth"
    torch.save(state, path)
    return import_model(path, weights_dir=tmp_path / "weights")


def _our_model(arch, state):
    """``(our model with the converted published weights, config)``, through the importer's unwrapping and detection."""
    state = plain_state_dict(state)
    found, config = detect_architecture(state)
    assert found == arch
    module = __import__(f"napari_superres.models.{catalog.CONTRACTS[arch].module}", fromlist=["convert"])
    options = {k: v for k, v in config.items() if k not in ("scale", "channels")}
    model = catalog.architecture(arch)(scale=config.get("scale", 1), channels=config.get("channels", 1), **options)
    model.load_state_dict(module.convert(state, config), strict=True)
    return model.eval(), config


# SPAN (hongyuanyu/SPAN, basicsr/archs/span_arch.py): each 3x3 convolution ("Conv3XC") is a 1x1
# shortcut "sk" plus a 1x1 (x2 channels) → 3x3 → 1x1 branch "conv.0-2", and its merged "eval_conv".

def _span_convolution(state, prefix, c_in, c_out, generator, merged):
    if not merged:
        _conv(state, f"{prefix}.sk", c_in, c_out, 1, generator)
        _conv(state, f"{prefix}.conv.0", c_in, 2 * c_in, 1, generator, std=0.3)
        _conv(state, f"{prefix}.conv.1", 2 * c_in, 2 * c_out, 3, generator)
        _conv(state, f"{prefix}.conv.2", 2 * c_out, c_out, 1, generator, std=0.3)
    _conv(state, f"{prefix}.eval_conv", c_in, c_out, 3, generator)  # stale in a branch checkpoint: never read


def published_span(scale=4, channels=3, features=8, merged=False, no_norm=False, seed=0):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    _span_convolution(state, "conv_1", channels, features, generator, merged)
    for block in range(1, 7):
        for conv in range(1, 4):
            _span_convolution(state, f"block_{block}.c{conv}_r", features, features, generator, merged)
    _span_convolution(state, "conv_2", features, features, generator, merged)
    _conv(state, "conv_cat", 4 * features, features, 1, generator)
    _conv(state, "upsampler.0", features, channels * scale**2, 3, generator)
    if no_norm:
        state["no_norm"] = torch.zeros(1)
    return state


def _span_convolution_output(state, prefix, x):
    """The published convolution as trained: the zero-padded branch plus the shortcut, or the merged one."""
    if f"{prefix}.sk.weight" not in state:
        return F.conv2d(x, state[f"{prefix}.eval_conv.weight"], state[f"{prefix}.eval_conv.bias"], padding=1)
    branch = F.pad(x, (1, 1, 1, 1))
    for i in range(3):
        branch = F.conv2d(branch, state[f"{prefix}.conv.{i}.weight"], state[f"{prefix}.conv.{i}.bias"])
    return branch + F.conv2d(x, state[f"{prefix}.sk.weight"], state[f"{prefix}.sk.bias"])


def span_reference(state, x, scale):
    """The published SPAN's forward pass, evaluated directly from its tensors."""
    if "no_norm" not in state:
        x = (x - torch.tensor([0.4488, 0.4371, 0.4040]).view(1, 3, 1, 1)) * 255
    head = _span_convolution_output(state, "conv_1", x)
    out = head
    outputs = []
    for block in range(1, 7):
        first = F.silu(_span_convolution_output(state, f"block_{block}.c1_r", out))  # fused activated
        second = _span_convolution_output(state, f"block_{block}.c2_r", first)
        third = _span_convolution_output(state, f"block_{block}.c3_r", F.silu(second))
        out = (third + out) * (torch.sigmoid(third) - 0.5)
        outputs.append(out)
    fused = F.conv2d(torch.cat([head, _span_convolution_output(state, "conv_2", out), outputs[0], first], 1),
                     state["conv_cat.weight"], state["conv_cat.bias"])
    return F.pixel_shuffle(F.conv2d(fused, state["upsampler.0.weight"], state["upsampler.0.bias"], padding=1), scale)


@pytest.mark.parametrize(("scale", "channels", "features", "merged", "no_norm"), [
    (4, 3, 8, False, False), (2, 3, 12, True, False), (4, 1, 6, False, True), (2, 3, 5, True, True)])
def test_span_reads_its_published_layout(scale, channels, features, merged, no_norm):
    state = published_span(scale, channels, features, merged, no_norm)
    model, config = _our_model("span", state)
    assert config == {"scale": scale, "channels": channels, "features": features, "normalize": not no_norm}
    x = torch.rand(1, channels, 13, 11, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, reference = model(x), span_reference(state, x, scale)
    assert ours.shape == (1, channels, 13 * scale, 11 * scale)
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4 * reference.abs().max().item())


def test_span_layout_variants_are_refused():
    state = published_span()
    assert detect_span({**state, "block_7.c1_r.eval_conv.weight": torch.zeros(8, 8, 3, 3)}) is None
    assert detect_span({k: v for k, v in state.items() if k != "conv_cat.bias"}) is None
    assert detect_span({**state, "upsampler.0.weight": torch.zeros(47, 8, 3, 3)}) is None  # not channels * scale²


def detect_span(state):
    from napari_superres.models.span import detect

    return detect(state)


def test_span_imported_upscales_rgb_tiled_as_untiled(tmp_path, monkeypatch):
    card = _imported(published_span(scale=2, features=6), tmp_path, monkeypatch, "span_x2")
    assert (card.architecture, card.scale, card.input, card.task) == ("span", 2, "rgb", "upscale")
    image = np.random.default_rng(0).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    whole = upscale(image, 2, method=card.name, channel_axis=-1, device="cpu")
    tiled = upscale(image, 2, method=card.name, channel_axis=-1, device="cpu", tile=card.halo)
    assert whole.shape == (80, 100, 3) and whole.dtype == np.uint8
    assert np.abs(whole.astype(int) - tiled).max() <= 1


# RRDBNet: Real-ESRGAN/BasicSR names (conv_first, body.N.rdbK.convJ, conv_body, conv_up1/2, conv_hr, conv_last),
# the original ESRGAN's flat Sequential (model.0, model.1.sub.N.RDBK.convJ.0, model.1.sub.<blocks>, model.3, ...)
# and the ESRGAN repository's later names (RRDB_trunk.N.RDBK.convJ, trunk_conv, upconv1/2, HRconv).

def published_rrdbnet(scale=4, channels=3, features=8, blocks=2, growth=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    _conv(state, "conv_first", channels * (4 // scale) ** 2, features, 3, generator)
    for block in range(blocks):
        for dense in range(1, 4):
            for conv in range(1, 6):
                _conv(state, f"body.{block}.rdb{dense}.conv{conv}", features + (conv - 1) * growth,
                      growth if conv < 5 else features, 3, generator)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        _conv(state, name, features, features, 3, generator)
    _conv(state, "conv_last", features, channels, 3, generator)
    return state


def as_esrgan(state, blocks):
    """A Real-ESRGAN-named x4 state dict in the original ESRGAN names."""
    top = {"conv_first": "model.0", "conv_body": f"model.1.sub.{blocks}", "conv_up1": "model.3",
           "conv_up2": "model.6", "conv_hr": "model.8", "conv_last": "model.10"}
    renamed = {}
    for key, value in state.items():
        prefix, _, part = key.rpartition(".")
        if prefix in top:
            renamed[f"{top[prefix]}.{part}"] = value
        else:
            _, block, dense, conv = prefix.split(".")
            renamed[f"model.1.sub.{block}.RDB{dense[3]}.{conv}.0.{part}"] = value
    return renamed


def as_esrgan_repo(state):
    """A Real-ESRGAN-named state dict in the names of the ESRGAN repository's RRDBNet_arch.py."""
    top = {"conv_body": "trunk_conv", "conv_up1": "upconv1", "conv_up2": "upconv2", "conv_hr": "HRconv"}
    renamed = {}
    for key, value in state.items():
        prefix, _, part = key.rpartition(".")
        if prefix.startswith("body."):
            _, block, dense, conv = prefix.split(".")
            key = f"RRDB_trunk.{block}.RDB{dense[3]}.{conv}.{part}"
        renamed[top[prefix] + "." + part if prefix in top else key] = value
    return renamed


def rrdbnet_reference(state, x, scale):
    def conv(name, x):
        return F.conv2d(x, state[f"{name}.weight"], state[f"{name}.bias"], padding=1)

    feat = conv("conv_first", F.pixel_unshuffle(x, 4 // scale))
    trunk = feat
    for block in range(sum(1 for k in state if k.endswith("rdb1.conv1.weight"))):
        inner = trunk
        for dense in range(1, 4):
            outs = [inner]
            for c in range(1, 5):
                outs.append(F.leaky_relu(conv(f"body.{block}.rdb{dense}.conv{c}", torch.cat(outs, 1)), 0.2))
            inner = inner + 0.2 * conv(f"body.{block}.rdb{dense}.conv5", torch.cat(outs, 1))
        trunk = trunk + 0.2 * inner
    feat = feat + conv("conv_body", trunk)
    for name in ("conv_up1", "conv_up2"):
        feat = F.leaky_relu(conv(name, F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
    return conv("conv_last", F.leaky_relu(conv("conv_hr", feat), 0.2))


@pytest.mark.parametrize(("scale", "channels", "layout"), [(4, 3, None), (2, 3, None), (4, 1, None),
                                                            (4, 3, "esrgan"), (4, 3, "esrgan_repo")])
def test_rrdbnet_reads_its_published_layouts(scale, channels, layout):
    state = published_rrdbnet(scale, channels)
    renamed = {None: state, "esrgan": as_esrgan(state, 2), "esrgan_repo": as_esrgan_repo(state)}[layout]
    model, config = _our_model("rrdbnet", renamed)
    assert config == {"scale": scale, "channels": channels, "features": 8, "blocks": 2, "growth": 4}
    x = torch.rand(1, channels, 12, 10, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, reference = model(x), rrdbnet_reference(state, x, scale)
    assert ours.shape == (1, channels, 12 * scale, 10 * scale)
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)


def test_rrdbnet_imported_upscales_gray_tiled_as_untiled(tmp_path, monkeypatch):
    card = _imported(published_rrdbnet(scale=2, channels=1, blocks=1), tmp_path, monkeypatch, "rrdb_x2")
    assert (card.architecture, card.scale, card.input, card.size_multiple) == ("rrdbnet", 2, "y", 2)
    image = np.random.default_rng(0).random((46, 52)).astype(np.float32)
    whole = upscale(image, 2, method=card.name, device="cpu")
    tiled = upscale(image, 2, method=card.name, device="cpu", tile=card.halo)
    assert whole.shape == (92, 104) and whole.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


# DRUNet (KAIR UNetRes, DPIR): m_head, m_down1-3 (nb blocks "res.0/res.2", then a 2x2 stride-2 conv), m_body,
# m_up3-1 (a 2x2 stride-2 transposed conv, then nb blocks), m_tail; the σ map is the last input channel.

def published_drunet(channels=1, features=(4, 6, 8, 10), blocks=2, bias=False, seed=0):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    _conv(state, "m_head", channels + 1, features[0], 3, generator, bias)
    for level in range(1, 4):
        for b in range(blocks):
            for conv in (0, 2):
                _conv(state, f"m_down{level}.{b}.res.{conv}", features[level - 1], features[level - 1], 3, generator,
                      bias)
                _conv(state, f"m_up{level}.{b + 1}.res.{conv}", features[level - 1], features[level - 1], 3,
                      generator, bias)
        _conv(state, f"m_down{level}.{blocks}", features[level - 1], features[level], 2, generator, bias)
        # a transposed convolution's weight is (in, out, k, k)
        state[f"m_up{level}.0.weight"] = _random(features[level], features[level - 1], 2, 2, generator=generator)
        if bias:
            state[f"m_up{level}.0.bias"] = _random(features[level - 1], generator=generator)
    for b in range(blocks):
        for conv in (0, 2):
            _conv(state, f"m_body.{b}.res.{conv}", features[3], features[3], 3, generator, bias)
    _conv(state, "m_tail", features[0], channels, 3, generator, bias)
    return state


def drunet_reference(state, x):
    def conv(name, x, **options):
        return F.conv2d(x, state[f"{name}.weight"], state.get(f"{name}.bias"), **options)

    def blocks(part, x, first):
        while f"{part}.{first}.res.0.weight" in state:
            x = x + conv(f"{part}.{first}.res.2", F.relu(conv(f"{part}.{first}.res.0", x, padding=1)), padding=1)
            first += 1
        return x, first

    levels = [conv("m_head", x, padding=1)]
    for level in range(1, 4):
        out, last = blocks(f"m_down{level}", levels[-1], 0)
        levels.append(conv(f"m_down{level}.{last}", out, stride=2))
    out = blocks("m_body", levels[-1], 0)[0]
    for level in (3, 2, 1):
        out = F.conv_transpose2d(out + levels[level], state[f"m_up{level}.0.weight"], state.get(f"m_up{level}.0.bias"),
                                 stride=2)
        out = blocks(f"m_up{level}", out, 1)[0]
    return conv("m_tail", out + levels[0], padding=1)


@pytest.mark.parametrize(("channels", "bias"), [(1, False), (3, True)])
def test_drunet_reads_its_published_layout(channels, bias):
    state = published_drunet(channels, bias=bias)
    model, config = _our_model("drunet", state)
    assert config == {"scale": 1, "channels": channels, "features": (4, 6, 8, 10), "blocks": 2, "bias": bias}
    x = torch.rand(1, channels + 1, 16, 24, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, reference = model(x), drunet_reference(state, x)
    assert ours.shape == (1, channels, 16, 24)
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)


def test_drunet_imported_denoises_with_the_noise_level_tiled_as_untiled(tmp_path, monkeypatch):
    state = published_drunet(channels=1)
    card = _imported(state, tmp_path, monkeypatch, "drunet_gray")
    assert (card.architecture, card.input, card.task, card.size_multiple) == ("drunet", "gray", "denoise", 8)
    noisy = np.random.default_rng(0).integers(0, 256, (152, 128), dtype=np.uint8)
    whole = denoise(noisy, method=card.name, sigma=25, device="cpu")
    assert whole.shape == noisy.shape and whole.dtype == np.uint8
    assert np.array_equal(denoise(noisy, method=card.name, sigma=25, device="cpu", tile=card.halo), whole)
    x = torch.from_numpy(noisy / 255).float()[None, None]  # the model sees [0, 1], and σ/255 as its last channel
    with torch.no_grad():
        expected = drunet_reference(state, torch.cat([x, torch.full_like(x, 25 / 255)], 1))[0, 0]
    assert np.abs(whole - np.clip(np.round(expected.numpy() * 255), 0, 255)).max() <= 1
    assert not np.array_equal(denoise(noisy, method=card.name, sigma=5, device="cpu"), whole)
    with pytest.raises(ValueError, match="takes a noise level"):
        upscale(noisy, 1, method=card.name)


# IMDN (Zheng222/IMDN): fea_conv, IMDB1-6 (c1-c4 3x3, c5 1x1, cca.conv_du.0/2 1x1), c.0, LR_conv, upsampler.0.

def published_imdn(scale=3, channels=3, features=32, blocks=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    distilled, remaining = features // 4, features - features // 4
    _conv(state, "fea_conv", channels, features, 3, generator)
    for b in range(1, blocks + 1):
        _conv(state, f"IMDB{b}.c1", features, features, 3, generator)
        _conv(state, f"IMDB{b}.c2", remaining, features, 3, generator)
        _conv(state, f"IMDB{b}.c3", remaining, features, 3, generator)
        _conv(state, f"IMDB{b}.c4", remaining, distilled, 3, generator)
        _conv(state, f"IMDB{b}.c5", 4 * distilled, features, 1, generator)
        _conv(state, f"IMDB{b}.cca.conv_du.0", 4 * distilled, 4 * distilled // 16, 1, generator)
        _conv(state, f"IMDB{b}.cca.conv_du.2", 4 * distilled // 16, 4 * distilled, 1, generator)
    _conv(state, "c.0", features * blocks, features, 1, generator)
    _conv(state, "LR_conv", features, features, 3, generator)
    _conv(state, "upsampler.0", features, channels * scale**2, 3, generator)
    return state


def imdn_reference(state, x, scale):
    def conv(name, x):
        weight = state[f"{name}.weight"]
        return F.conv2d(x, weight, state[f"{name}.bias"], padding=weight.shape[-1] // 2)

    head = out = conv("fea_conv", x)
    outputs = []
    for b in range(1, sum(1 for k in state if k.endswith(".c1.weight")) + 1):
        d = state[f"IMDB{b}.c4.weight"].shape[0]
        parts, rest = [], out
        for c in (1, 2, 3):
            step = F.leaky_relu(conv(f"IMDB{b}.c{c}", rest), 0.05)
            parts, rest = [*parts, step[:, :d]], step[:, d:]
        kept = torch.cat([*parts, conv(f"IMDB{b}.c4", rest)], 1)
        mean = kept.mean((2, 3), keepdim=True)
        contrast = ((kept - mean) ** 2).mean((2, 3), keepdim=True).sqrt() + mean
        weights = torch.sigmoid(conv(f"IMDB{b}.cca.conv_du.2", F.relu(conv(f"IMDB{b}.cca.conv_du.0", contrast))))
        out = out + conv(f"IMDB{b}.c5", kept * weights)
        outputs.append(out)
    merged = F.leaky_relu(conv("c.0", torch.cat(outputs, 1)), 0.05)
    return F.pixel_shuffle(conv("upsampler.0", conv("LR_conv", merged) + head), scale)


@pytest.mark.parametrize(("scale", "channels"), [(2, 3), (3, 3), (4, 1)])
def test_imdn_reads_its_published_layout(scale, channels):
    state = published_imdn(scale, channels)
    model, config = _our_model("imdn", {f"module.{k}": v for k, v in state.items()} if channels == 1 else state)
    assert config == {"scale": scale, "channels": channels, "features": 32, "blocks": 2}
    x = torch.rand(1, channels, 9, 14, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, reference = model(x), imdn_reference(state, x, scale)
    assert ours.shape == (1, channels, 9 * scale, 14 * scale)
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)


def test_imdn_imported_upscales_a_plane_within_a_tile_as_the_network_does(tmp_path, monkeypatch):
    state = published_imdn(scale=3)
    card = _imported(state, tmp_path, monkeypatch, "imdn_x3")
    assert (card.architecture, card.scale, card.input, card.halo) == ("imdn", 3, "rgb", 11)
    image = np.random.default_rng(0).random((30, 20, 3))
    result = upscale(image, 3, method=card.name, channel_axis=-1, device="cpu")
    assert result.shape == (90, 60, 3) and result.dtype == np.float64
    with torch.no_grad():
        expected = imdn_reference(state, torch.from_numpy(image).float().permute(2, 0, 1)[None], 3)
    expected = np.clip(expected[0].permute(1, 2, 0).numpy(), image.min(), image.max())  # clip: the input's range
    np.testing.assert_allclose(result, expected, atol=1e-5)


# DnCNN and FDnCNN (cszn/KAIR models/network_dncnn.py, batch norm merged as released): model.0, model.2, ...
# model.2(depth-1), 3x3 convolutions with biases (ReLUs between); FDnCNN has one more input channel (the σ map).

def published_kair_dncnn(channels=1, depth=5, noise_map=False, features=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    state = {}
    widths = [channels + noise_map] + [features] * (depth - 1) + [channels]
    for i in range(depth):
        _conv(state, f"model.{2 * i}", widths[i], widths[i + 1], 3, generator)
    return state


def kair_dncnn_reference(state, x, residual):
    out = x
    for i in range(len(state) // 2):
        out = F.conv2d(out, state[f"model.{2 * i}.weight"], state[f"model.{2 * i}.bias"], padding=1)
        out = F.relu(out) if i < len(state) // 2 - 1 else out
    return x - out if residual else out


@pytest.mark.parametrize(("channels", "noise_map"), [(1, False), (3, False), (1, True), (3, True)])
def test_kair_dncnn_and_fdncnn_read_their_published_layout(channels, noise_map):
    state = published_kair_dncnn(channels, noise_map=noise_map)
    model, config = _our_model("fdncnn" if noise_map else "dncnn", state)
    expected = {"scale": 1, "channels": channels, "features": 8, "depth": 5}
    assert config == (expected if noise_map else {**expected, "unshuffle": 1, "batch_norm": False})
    x = torch.rand(1, channels + noise_map, 11, 13, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, reference = model(x), kair_dncnn_reference(state, x, residual=not noise_map)
    assert ours.shape == (1, channels, 11, 13)
    torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-5)


def test_kair_dncnn_imported_denoises_gray_in_full_range_tiled_as_untiled(tmp_path, monkeypatch):
    state = published_kair_dncnn(channels=1)
    card = _imported(state, tmp_path, monkeypatch, "dncnn_gray")
    assert (card.architecture, card.input, card.task) == ("dncnn", "gray", "denoise")
    noisy = np.random.default_rng(0).random((60, 70))
    whole = denoise(noisy, method=card.name, device="cpu")
    np.testing.assert_allclose(denoise(noisy, method=card.name, device="cpu", tile=16), whole, atol=1e-6)
    with torch.no_grad():  # a gray model sees the gray values as they are (not mapped onto luma's 16-235)
        expected = kair_dncnn_reference(state, torch.from_numpy(noisy).float()[None, None], residual=True)[0, 0]
    np.testing.assert_allclose(whole, np.clip(expected.numpy(), noisy.min(), noisy.max()), atol=1e-5)


def test_fdncnn_imported_denoises_rgb_with_the_noise_level(tmp_path, monkeypatch):
    state = published_kair_dncnn(channels=3, noise_map=True)
    card = _imported(state, tmp_path, monkeypatch, "fdncnn_color")
    assert (card.architecture, card.input, card.halo) == ("fdncnn", "rgb", 5)
    noisy = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    whole = denoise(noisy, method=card.name, sigma=50, channel_axis=-1, device="cpu")
    assert whole.shape == noisy.shape and whole.dtype == np.uint8
    assert np.array_equal(denoise(noisy, method=card.name, sigma=50, channel_axis=-1, device="cpu", tile=16), whole)
    x = torch.from_numpy(noisy / 255).float().permute(2, 0, 1)[None]
    with torch.no_grad():
        expected = kair_dncnn_reference(state, torch.cat([x, torch.full_like(x[:, :1], 50 / 255)], 1), False)
    expected = np.clip(np.round(expected[0].permute(1, 2, 0).numpy() * 255), noisy.min(), noisy.max())
    assert np.abs(whole - expected).max() <= 1
