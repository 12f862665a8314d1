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
