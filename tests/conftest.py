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
