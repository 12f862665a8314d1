import hashlib
import json
import pickle

import numpy as np
import pytest
import torch

from napari_superres import available_methods, upscale
from napari_superres.models import ARCHITECTURES, CONTRACTS, find_model, list_models, load_model
from napari_superres.models.registry import _load_cached
from napari_superres.tiling import iter_tiled
from napari_superres.upscale import run_to_end


def test_every_shipped_card_loads_and_matches_its_hash():
    cards = list_models()
    assert cards, "no weights found in weights/"
    for card in cards.values():
        model = load_model(card, "cpu")
        info = card.info
        assert info["parameters"] == sum(p.numel() for p in model.parameters())
        if card.task == "colorize":  # L and hints in, ab-bin logits out at a quarter of the size
            assert model(torch.rand(1, 4, 16, 16)).shape == (1, 261, 4, 4)
            assert {"natural", "gray_answer"} <= set(info["metrics"]), f"{card.name} has no measured metrics"
            continue
        if card.task == "inpaint":  # RGB with holes zeroed, and the mask, in; RGB out, same size
            assert model(torch.rand(1, 4, 20, 28)).shape == (1, 3, 20, 28)
            assert "inpaint-library" in info["metrics"], f"{card.name} has no measured metrics"
            continue
        x = torch.rand(1, 1, 12, 12)
        assert model(x).shape == (1, 1, 12 * card.scale, 12 * card.scale)
        assert {"Set5", "Set14"} <= set(info["metrics"]), f"{card.name} has no measured metrics"


def test_learned_model_beats_bicubic_on_a_held_out_image():
    # astronaut was excluded from training: the learned model must beat bicubic on it.
    from skimage import data

    from napari_superres import imresize, sr_scores

    hr = data.astronaut()
    lr = imresize(hr, 1 / 4, channel_axis=-1)
    bicubic = sr_scores(hr, upscale(lr, 4, channel_axis=-1), 4, channel_axis=-1)[0]
    espcn = sr_scores(hr, upscale(lr, 4, method="espcn", channel_axis=-1), 4, channel_axis=-1)[0]
    assert espcn > bicubic + 0.3, (espcn, bicubic)


@pytest.mark.parametrize("tile", [16, 23])
def test_tiled_equals_untiled_on_learned_model(astronaut_small, tile):
    whole = upscale(astronaut_small.astype(np.float32) / 255, 4, method="espcn", channel_axis=-1, tile=1024)
    tiled = upscale(astronaut_small.astype(np.float32) / 255, 4, method="espcn", channel_axis=-1, tile=tile)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_tiles_without_enough_halo_do_show_seams():
    # The same check fails with too little context: the tiling test can fail.
    model = ARCHITECTURES["espcn"](scale=2).eval()
    x = torch.rand(1, 1, 40, 40)
    with torch.inference_mode():
        whole = model(x)
        good = run_to_end(iter_tiled(model, x, 2, 16, CONTRACTS["espcn"].halo(2)))
        bad = run_to_end(iter_tiled(model, x, 2, 16, 1))
    torch.testing.assert_close(good, whole, atol=1e-5, rtol=0)
    assert (bad - whole).abs().max() > 1e-3


def test_find_model_errors():
    with pytest.raises(ValueError, match="scales"):
        find_model("espcn", 7)
    with pytest.raises(ValueError, match="unknown method"):
        find_model("no-such-model", 2)


def test_corrupted_weights_are_refused(tmp_path, monkeypatch):
    card = next(iter(list_models().values()))
    data = bytearray(card.weights.read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / card.weights.name).write_bytes(bytes(data))
    (tmp_path / f"{card.name}.json").write_text(json.dumps(card.info))
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    bad = list_models()[card.name]
    assert bad.weights.parent == tmp_path
    _load_cached.cache_clear()
    with pytest.raises(ValueError, match="does not match its model card"):
        load_model(bad, "cpu")


def test_device_choice():
    from napari_superres import available_devices, select_device

    assert select_device(None).type == torch.device(available_devices()[0]).type
    assert select_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA"):
            select_device("cuda")


@pytest.fixture
def tiny_rgb_model(tmp_path, monkeypatch):
    """A random-initialised RGB model registered through NAPARI_SUPERRES_WEIGHTS."""
    import hashlib

    from safetensors.torch import save_file

    config = dict(features=8, blocks=1)
    model = ARCHITECTURES["edsr"](scale=2, channels=3, **config)
    save_file(model.state_dict(), str(tmp_path / "tiny_rgb.safetensors"))
    card = {"name": "tiny_rgb", "architecture": "edsr", "scale": 2, "input": "rgb", "config": config,
            "weights": "tiny_rgb.safetensors",
            "sha256": hashlib.sha256((tmp_path / "tiny_rgb.safetensors").read_bytes()).hexdigest()}
    (tmp_path / "tiny_rgb.json").write_text(json.dumps(card))
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    return model.eval()


def test_rgb_model_on_rgb_rgba_and_gray(tiny_rgb_model, astronaut_small, camera_small):
    out = upscale(astronaut_small, 2, method="tiny_rgb", channel_axis=-1)
    assert out.shape == (128, 128, 3) and out.dtype == np.uint8
    with torch.inference_mode():
        expected = tiny_rgb_model(torch.from_numpy(astronaut_small / 255).float().permute(2, 0, 1)[None])
    expected = np.clip(np.round(expected[0].permute(1, 2, 0).numpy() * 255),
                       astronaut_small.min(), astronaut_small.max())
    np.testing.assert_allclose(out, expected, atol=1)
    rgba = np.dstack([astronaut_small, np.full((64, 64), 200, np.uint8)])
    out = upscale(rgba, 2, method="tiny_rgb", channel_axis=-1)
    assert out.shape == (128, 128, 4) and (out[..., 3] == 200).all()
    assert upscale(camera_small, 2, method="tiny_rgb").shape == (128, 128)


def test_a_card_can_name_its_own_method(tiny_rgb_model, tmp_path, astronaut_small):
    card_path = tmp_path / "tiny_rgb.json"
    card_path.write_text(json.dumps({**json.loads(card_path.read_text()), "method": "sharp"}))
    assert available_methods()["sharp"] == [2] and "sharp" in available_methods()
    assert find_model("sharp", 2).name == "tiny_rgb" and find_model("sharp", 2).architecture == "edsr"
    assert upscale(astronaut_small, 2, method="sharp", channel_axis=-1).shape == (128, 128, 3)


class _Booby:
    """Unpickling this would create a file: the proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _user_card(tmp_path, monkeypatch, payload, sha=None):
    """A user-supplied card in ``$NAPARI_SUPERRES_WEIGHTS`` whose weights file holds ``payload``."""
    card = find_model("espcn", 2)
    weights = tmp_path / "user_x2.safetensors"
    weights.write_bytes(payload)
    info = {**card.info, "name": "user_x2", "weights": weights.name,
            "sha256": sha or hashlib.sha256(payload).hexdigest()}
    (tmp_path / "user_x2.json").write_text(json.dumps(info))
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    _load_cached.cache_clear()
    return list_models()["user_x2"]


def test_truncated_weights_are_refused(tmp_path, monkeypatch):
    shipped = find_model("espcn", 2)
    card = _user_card(tmp_path, monkeypatch, shipped.weights.read_bytes()[:-100], sha=shipped.sha256)
    with pytest.raises(ValueError, match="damaged or was replaced"):
        load_model(card, "cpu")


def test_a_pickle_posing_as_weights_never_runs(tmp_path, monkeypatch):
    marker = tmp_path / "code-ran"
    card = _user_card(tmp_path, monkeypatch, pickle.dumps(_Booby(str(marker))))  # its card even has the right hash
    with pytest.raises(ValueError, match="only safetensors weights are accepted"):
        load_model(card, "cpu")
    assert not marker.exists()


def test_user_weights_load_the_same_safe_way(tmp_path, monkeypatch, camera_small):
    _user_card(tmp_path, monkeypatch, find_model("espcn", 2).weights.read_bytes())
    np.testing.assert_array_equal(upscale(camera_small, 2, method="user_x2"), upscale(camera_small, 2, method="espcn"))
