"""Architecture contracts: listing models needs no torch; each contract matches its class; cards are checked by it."""

import hashlib
import inspect
import json
import subprocess
import sys

import pytest

from napari_superres.models import ARCHITECTURES, CONTRACTS, architecture, list_models, load_model
from napari_superres.models.registry import _load_cached


def test_listing_models_imports_no_torch():
    code = ("import sys, napari_superres; napari_superres.available_methods(); napari_superres.available_denoisers(); "
            "napari_superres.available_colorizers(); napari_superres.available_inpainters(); "
            "from napari_superres.models import ARCHITECTURES; "
            "assert 'espcn' in ARCHITECTURES and list(ARCHITECTURES); "
            "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("name", CONTRACTS)
def test_a_contract_lists_the_options_and_defaults_of_its_class(name):
    parameters = inspect.signature(architecture(name)).parameters
    defaults = {key: p.default for key, p in parameters.items() if key not in ("scale", "channels")}
    assert dict(CONTRACTS[name].options) == defaults
    assert ARCHITECTURES[name] is architecture(name)


def test_an_unknown_architecture_is_a_key_error():
    with pytest.raises(KeyError):
        ARCHITECTURES["transformer9000"]
    assert "transformer9000" not in ARCHITECTURES


def test_a_card_that_cannot_be_built_is_a_value_error_naming_it(tmp_path, monkeypatch):
    (tmp_path / "bad.safetensors").write_bytes(b"unused")
    card = {"name": "bad_x2", "architecture": "dncnn", "scale": 2, "config": {}, "weights": "bad.safetensors",
            "sha256": hashlib.sha256(b"unused").hexdigest()}
    (tmp_path / "bad.json").write_text(json.dumps(card))
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    _load_cached.cache_clear()
    with pytest.raises(ValueError, match=r"'bad_x2'.*bad\.json.*scale must be 1"):
        load_model(list_models()["bad_x2"], "cpu")


def test_to_batch_and_to_image_cross_between_numpy_planes_and_tensors():
    import numpy as np
    import torch

    from napari_superres.models.inference import to_batch, to_image

    rgb = np.random.default_rng(0).random((5, 7, 3))
    batch = to_batch(rgb, "cpu", channels_last=True)
    assert batch.shape == (1, 3, 5, 7) and batch.dtype == torch.float32
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert to_batch(rgb[..., 0], "cpu").shape == (1, 1, 5, 7)
    back = to_image(batch)
    assert back.dtype == np.float64 and back.shape == rgb.shape
    np.testing.assert_array_equal(back, rgb.astype(np.float32))


def test_on_grid_pads_by_repeating_the_edge_and_crops_the_output():
    import torch

    from napari_superres.models.inference import on_grid

    seen = []

    def model(x):  # an "x2 upscaler" that records what it was given
        seen.append(x)
        return x.repeat_interleave(2, -1).repeat_interleave(2, -2)

    x = torch.arange(15.0).reshape(1, 1, 3, 5)
    out = on_grid(model, 4, scale=2)(x)
    assert seen[0].shape == (1, 1, 4, 8)
    assert torch.equal(seen[0][..., 3, :5], x[..., 2, :]) and torch.equal(seen[0][..., :3, 7], x[..., :, 4])
    assert torch.equal(out, model(x))
    assert on_grid(model, 1) is model
    volume = torch.zeros(1, 1, 2, 3, 5)
    assert on_grid(lambda v: v, 4)(volume).shape == volume.shape  # 3-D: Z is never padded


def test_the_registry_gives_each_card_its_contracts_size_multiple():
    from napari_superres.models import list_models

    for card in list_models().values():
        assert card.size_multiple == card.contract.size_multiple(card.config) >= 1
    assert any(card.size_multiple > 1 for card in list_models().values())
