import numpy as np
import pytest
from skimage import data


@pytest.fixture(scope="session")
def astronaut_small():
    """A 64x64 RGB uint8 crop of scikit-image's astronaut."""
    return data.astronaut()[100:164, 180:244]


@pytest.fixture(scope="session")
def camera_small():
    return data.camera()[200:264, 200:264]


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def noisy_camera():
    """A 128x128 crop of camera and the same with Gaussian noise of σ = 20, rounded to uint8."""
    clean = data.camera()[100:228, 150:278].astype(float)
    noisy = clean + np.random.default_rng(0).normal(0, 20, clean.shape)
    return clean, np.clip(np.round(noisy), 0, 255).astype(np.uint8)


@pytest.fixture
def register_untrained(tmp_path, monkeypatch):
    """``register(architecture, method, config, **card)``: a random-initialised model.

    The model is registered in ``$NAPARI_SUPERRES_WEIGHTS``.
    """
    import hashlib
    import json

    import torch
    from safetensors.torch import save_file

    from napari_superres.models import ARCHITECTURES

    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))

    def register(architecture, method, config, scale=1, channels=1, **card):
        torch.manual_seed(0)
        model = ARCHITECTURES[architecture](scale=scale, channels=channels, **config)
        weights = tmp_path / f"{method}.safetensors"
        save_file(model.state_dict(), str(weights))
        card = {"name": method, "architecture": architecture, "method": method, "scale": scale,
                "input": "y" if channels == 1 else "rgb", "config": config, "weights": weights.name,
                "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(), **card}
        (tmp_path / f"{method}.json").write_text(json.dumps(card))
        return method

    return register


@pytest.fixture
def tiny_colorizer(register_untrained):
    return register_untrained("colorizer", "tinycolor", {"features": 4, "blocks": 1}, task="colorize")


@pytest.fixture(scope="module")
def dropped():
    clean = data.camera()[100:228, 150:278]
    mask = np.random.default_rng(0).random(clean.shape) < 0.3
    return clean, mask


@pytest.fixture(scope="module")
def stack():
    """A (T, H, W, C) uint8 stack whose last block is narrower than a model's halo (merged into its neighbour)."""
    rgb = data.astronaut()[100:170, 150:253]
    return np.stack([rgb, rgb[::-1], rgb[:, ::-1]])


@pytest.fixture(scope="session")
def fails_above():
    """``fails_above(limit, forward)``: ``forward`` out of memory above ``limit`` pixels a side; the sizes it saw."""
    import torch

    def fails_above(limit, forward):
        sizes = []

        def run(x):
            sizes.append(max(x.shape[-2:]))
            if max(x.shape[-2:]) > limit:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return forward(x)

        return run, sizes

    return fails_above


@pytest.fixture
def espcn_with_little_memory(monkeypatch, fails_above):
    """The shared ESPCN x2 model, made to run out of memory on tiles over 48 pixels."""
    import torch

    from napari_superres.models import find_model, load_model

    card = find_model("espcn", 2)
    model = load_model(card, torch.device("cpu"))
    forward, sizes = fails_above(48 + 2 * card.halo, model.forward)
    monkeypatch.setattr(model, "forward", forward)
    return sizes


@pytest.fixture(scope="session")
def moving_scene():
    """``moving_scene(frames=6, side=64)``: a static background with a bright square crossing it; the static mask."""

    def moving_scene(frames=6, side=64):
        background = data.camera()[::8, ::8][:side, :side].astype(np.float64)
        clean = np.repeat(background[None], frames, axis=0)
        static = np.ones((side, side), bool)
        for t in range(frames):
            clean[t, 24:36, 4 + 6 * t: 16 + 6 * t] = 255
            static[24:36, 4 + 6 * t: 16 + 6 * t] = False
        return clean.astype(np.uint8), static

    return moving_scene
