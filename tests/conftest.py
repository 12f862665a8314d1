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


@pytest.fixture
def tiny_architectures(monkeypatch, tmp_path):
    """Two tiny architectures with a "published layout" in the catalogue, and an empty user weights folder.

    ``tinysr`` (upscale; published keys ``head``/``tail``, ours ``body``/``up``) and
    ``tinydn`` (denoise; ``first``/``last``, ours ``body.0``/``body.2``) stand in for the
    published architectures in tests of the importer. Returns a namespace: ``weights``
    (the folder), ``TinySR``, ``TinyDenoiser`` and ``published_sr(scale, channels,
    features)``: a random TinySR state dict in its published names, and the model.
    """
    import sys
    import types
    from types import MappingProxyType

    import torch
    from torch import nn

    from napari_superres.models import catalog, registry
    from napari_superres.models.catalog import ModelContract

    class TinySR(nn.Module):
        def __init__(self, scale=2, channels=1, features=8):
            super().__init__()
            self.body = nn.Conv2d(channels, features, 3, padding=1)
            self.up = nn.Conv2d(features, channels * scale**2, 3, padding=1)
            self.shuffle = nn.PixelShuffle(scale)

        def forward(self, x):
            return self.shuffle(self.up(torch.relu(self.body(x))))

    class TinyDenoiser(nn.Module):
        def __init__(self, scale=1, channels=1, features=8):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(channels, features, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(features, channels, 3, padding=1))

        def forward(self, x):
            return x - self.body(x)

    def detect_sr(state):
        if set(state) != {"head.weight", "head.bias", "tail.weight", "tail.bias"}:
            return None
        features, channels = state["head.weight"].shape[:2]
        return {"scale": round((state["tail.weight"].shape[0] / channels) ** 0.5), "channels": channels,
                "features": features}

    def detect_denoiser(state):
        if set(state) != {"first.weight", "first.bias", "last.weight", "last.bias"}:
            return None
        return {"channels": state["first.weight"].shape[1], "features": state["first.weight"].shape[0]}

    sr_names, dn_names = {"head": "body", "tail": "up"}, {"first": "body.0", "last": "body.2"}
    modules = {"_tiny_sr": (TinySR, detect_sr, sr_names), "_tiny_dn": (TinyDenoiser, detect_denoiser, dn_names)}
    for name, (cls, detect, names) in modules.items():
        module = types.ModuleType(f"napari_superres.models.{name}")
        setattr(module, cls.__name__, cls)
        module.detect = detect
        module.convert = lambda state, config, names=names: {
            f"{names[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in state.items()}
        monkeypatch.setitem(sys.modules, module.__name__, module)
    contracts = MappingProxyType({
        **catalog.CONTRACTS,
        "tinysr": ModelContract("upscale", "_tiny_sr", "TinySR", {"features": 8}, halo_rule=lambda s, o: 2),
        "tinydn": ModelContract("denoise", "_tiny_dn", "TinyDenoiser", {"features": 8}, scales=(1,),
                                halo_rule=lambda s, o: 2),
    })
    monkeypatch.setattr(catalog, "CONTRACTS", contracts)
    monkeypatch.setattr(registry, "CONTRACTS", contracts)
    weights = tmp_path / "weights"
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(weights))

    def published_sr(scale=2, channels=3, features=6):
        torch.manual_seed(0)
        model = TinySR(scale, channels, features).eval()
        published = {v: k for k, v in sr_names.items()}
        state = {f"{published[k.split('.')[0]]}.{k.split('.')[1]}": v for k, v in model.state_dict().items()}
        return state, model

    return types.SimpleNamespace(weights=weights, TinySR=TinySR, TinyDenoiser=TinyDenoiser,
                                 published_sr=published_sr)


@pytest.fixture
def progress_and_result():
    """Run a core generator (``iter_*``) to its end: ``(the fractions it yielded, its result)``."""

    def run(steps):
        fractions = []
        while True:
            try:
                fractions.append(next(steps))
            except StopIteration as done:
                return fractions, done.value

    return run


@pytest.fixture(scope="module")
def image_folders(tmp_path_factory):
    """Photographs in train/ (three 200² crops) and val/ (one 96² crop): the training tests' data."""
    import imageio.v3 as iio

    root = tmp_path_factory.mktemp("images")
    (root / "train").mkdir()
    (root / "val").mkdir()
    for name in ("chelsea", "coffee", "rocket"):
        iio.imwrite(root / "train" / f"{name}.png", getattr(data, name)()[:200, :200])
    iio.imwrite(root / "val" / "astronaut.png", data.astronaut()[100:196, 100:196])
    return root
