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
    """``register(architecture, method, config, **card)``: a random-initialised model in ``$NAPARI_SUPERRES_WEIGHTS``."""
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
