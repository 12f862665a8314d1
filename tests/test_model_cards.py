"""Model cards in weights folders: a bad one is skipped with one warning; loading leaves the global RNG alone."""

import hashlib
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from napari_superres import available_methods, colorize, denoise, inpaint, upscale
from napari_superres.models import ARCHITECTURES, find_model, list_models, load_model
from napari_superres.models.registry import ModelCardWarning, _load_cached, user_weights_dir, weights_dirs

U8 = np.arange(256, dtype=np.uint8).reshape(16, 16)


def _espcn_card(**changes):
    return {**find_model("espcn", 2).info, "name": "mine_x2", "method": "mine", **changes}


BAD_CARDS = {
    "not an object": "[1, 2]",
    "not JSON": "{'name': 'x'",
    "scale as text": json.dumps(_espcn_card(scale="2x")),
    "scale zero": json.dumps(_espcn_card(scale=0)),
    "unknown architecture": json.dumps(_espcn_card(architecture="transformer9000")),
    "weights outside the folder": json.dumps(_espcn_card(weights="../../espcn_x2.safetensors")),
    "weights by absolute path": json.dumps(_espcn_card(weights=str(find_model("espcn", 2).weights))),
    "no sha256": json.dumps({k: v for k, v in _espcn_card().items() if k != "sha256"}),
    "sha256 not hex": json.dumps(_espcn_card(sha256="z" * 64)),
    "name not text": json.dumps(_espcn_card(name=["a"])),
    "unknown input": json.dumps(_espcn_card(input="cmyk")),
    "unknown task": json.dumps(_espcn_card(task="dance")),
    "config the architecture does not take": json.dumps(_espcn_card(config={"layers": 3})),
}


@pytest.fixture
def weights(tmp_path, monkeypatch):
    """A user weights folder holding one good model, ``good_x2`` (the shipped espcn_x2 weights)."""
    shipped = find_model("espcn", 2)
    (tmp_path / "good_x2.safetensors").write_bytes(shipped.weights.read_bytes())
    card = {**shipped.info, "name": "good_x2", "method": "good", "weights": "good_x2.safetensors"}
    (tmp_path / "good_x2.json").write_text(json.dumps(card))
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("problem", BAD_CARDS)
def test_a_bad_card_is_skipped_with_one_warning_naming_its_file(weights, problem):
    (weights / "notes.json").write_text(BAD_CARDS[problem])
    with pytest.warns(ModelCardWarning, match="notes.json") as caught:
        cards = list_models()
    assert len([w for w in caught if issubclass(w.category, ModelCardWarning)]) == 1
    assert "good_x2" in cards and "espcn_x2" in cards and "mine_x2" not in cards
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelCardWarning)  # once per file, not once per listing
        assert "good" in available_methods() and "espcn" in available_methods()


@pytest.mark.parametrize("problem", ["not an object", "scale as text", "weights outside the folder"])
def test_everything_else_works_beside_a_bad_card(weights, problem, camera_small):
    (weights / "notes.json").write_text(BAD_CARDS[problem])
    with pytest.warns(ModelCardWarning, match="notes.json"):
        assert "espcn" in available_methods()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelCardWarning)
        assert denoise(camera_small, method="tv", sigma=5).shape == camera_small.shape
        assert inpaint(camera_small, camera_small > 250, method="biharmonic").shape == camera_small.shape
        assert colorize(camera_small).shape == (64, 64, 3)
        np.testing.assert_array_equal(upscale(U8, 2, method="good"), upscale(U8, 2, method="espcn"))


def test_a_bad_card_warns_again_once_it_changes(weights):
    bad = weights / "notes.json"
    bad.write_text("[1]")
    with pytest.warns(ModelCardWarning):
        list_models()
    bad.write_text("[1, 2]")
    with pytest.warns(ModelCardWarning, match="notes.json"):
        list_models()
    bad.write_text(json.dumps({**json.loads((weights / "good_x2.json").read_text()), "name": "fixed_x2"}))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelCardWarning)
        assert "fixed_x2" in list_models()


def test_the_command_line_lists_methods_past_a_foreign_json(weights):
    (weights / "notes.json").write_text("[1, 2]")
    done = subprocess.run([sys.executable, "-m", "napari_superres.cli", "methods"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "espcn" in done.stdout and "good" in done.stdout
    assert done.stderr.count("notes.json") == 1 and done.stderr.startswith("warning: skipped the model card")


def test_a_card_without_sha256_is_not_usable(weights, capsys):
    from napari_superres.cli import main
    from napari_superres.io import write_image

    (weights / "nosha_x2.json").write_text(json.dumps({k: v for k, v in _espcn_card(name="nosha_x2").items()
                                                       if k != "sha256"}))
    write_image(weights / "in.png", U8)
    with pytest.raises(SystemExit, match="^error: unknown method 'nosha_x2'"):
        main(["upscale", str(weights / "in.png"), str(weights / "out.png"), "--scale", "2", "--method", "nosha_x2"])
    assert capsys.readouterr().err.count("warning: skipped the model card") == 1
    with pytest.raises(ValueError, match="unknown method 'nosha_x2'"):
        upscale(U8, 2, method="nosha_x2")  # warned once already


def test_first_load_of_a_model_leaves_the_global_rng_alone():
    _load_cached.cache_clear()
    for card in list_models().values():
        before = torch.get_rng_state()
        load_model(card, "cpu")
        assert torch.equal(torch.get_rng_state(), before), card.name


SMALL = {"srcnn": dict(features=8, hidden=4), "fsrcnn": dict(d=8, s=4, m=1), "espcn": dict(features=8, hidden=4),
         "vdsr": dict(features=8, depth=3), "edsr": dict(features=8, blocks=1),
         "mdsr": dict(features=8, blocks=1), "lapsrn": dict(features=8, depth=1),
         "drcn": dict(features=8, recursions=2), "autoencoder": dict(features=4, downs=1),
         "vae": dict(features=4, downs=1, latent=2),
         "srresnet": dict(features=8, blocks=1),
         "unet": dict(features=4, depth=2), "dncnn": dict(features=8, depth=3), "colorizer": dict(features=4, blocks=1),
         "gatedunet": dict(features=4, depth=2), "span": dict(features=4, normalize=False),
         "rrdbnet": dict(features=4, blocks=1, growth=4), "imdn": dict(features=16, blocks=1),
         "drunet": dict(features=(4, 4, 4, 4), blocks=1), "fdncnn": dict(features=4, depth=3),
         "swinir": dict(embed_dim=8, depths=(2,), num_heads=(2,), window_size=4),
         "swinir_denoise": dict(embed_dim=8, depths=(2,), num_heads=(2,), window_size=4),
         "hat": dict(embed_dim=8, depths=(2,), num_heads=(2,), window_size=4, compress_ratio=2, squeeze_factor=4)}


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_a_model_loads_as_a_plain_build_would(tmp_path, monkeypatch, architecture):
    """The same weights and batch-norm statistics, dtype, device, eval mode and memory format."""
    from safetensors.torch import save_file

    scale = 1 if architecture in ("dncnn", "colorizer", "gatedunet", "drunet", "fdncnn", "swinir_denoise") else 2
    channels = 3 if architecture == "gatedunet" else 1
    reference = ARCHITECTURES[architecture](scale=scale, channels=channels, **SMALL[architecture])
    generator = torch.Generator().manual_seed(0)
    state = {k: v + torch.rand(v.shape, generator=generator) if v.is_floating_point() else v + 3
             for k, v in reference.state_dict().items()}  # batch-norm statistics too: none left at its default
    reference.load_state_dict(state)
    save_file(state, str(tmp_path / "m.safetensors"))
    card = {"name": "m", "architecture": architecture, "scale": scale, "input": "rgb" if channels == 3 else "y",
            "config": SMALL[architecture], "weights": "m.safetensors",
            "sha256": hashlib.sha256((tmp_path / "m.safetensors").read_bytes()).hexdigest()}
    (tmp_path / "m.json").write_text(json.dumps(card))
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    _load_cached.cache_clear()
    model = load_model(list_models()["m"], "cpu")
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert model.state_dict().keys() == reference.state_dict().keys()
    for name, want in reference.state_dict().items():
        got = model.state_dict()[name]
        assert got.device.type == "cpu" and got.dtype == want.dtype and torch.equal(got, want), name
    conv = next(p for p in model.parameters() if p.ndim == 4)
    assert conv.is_contiguous(memory_format=torch.channels_last)
    extra = list_models()["m"].contract.takes_noise_level  # the noise level map, last
    x = torch.rand(1, 4 if architecture in ("colorizer", "gatedunet") else 1 + extra, 16, 16, generator=generator)
    with torch.inference_mode():
        torch.testing.assert_close(model(x), reference.eval()(x), rtol=1e-4, atol=1e-5)  # NHWC sums in another order


def test_half_precision_weights_load_into_a_float_model(register_untrained, tmp_path):
    from safetensors.torch import load_file, save_file

    name = register_untrained("espcn", "half_x2", {}, scale=2)
    weights = tmp_path / "half_x2.safetensors"
    save_file({k: v.half() for k, v in load_file(str(weights)).items()}, str(weights))
    card_path = tmp_path / "half_x2.json"
    card_path.write_text(json.dumps({**json.loads(card_path.read_text()),
                                     "sha256": hashlib.sha256(weights.read_bytes()).hexdigest()}))
    _load_cached.cache_clear()
    model = load_model(list_models()[name], "cpu")
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_the_weights_loaded_are_the_bytes_hashed(weights, monkeypatch):
    """A weights file replaced between the hash check and the load must not be used."""
    from safetensors.torch import load_file, save_file

    card = list_models()["good_x2"]
    zeros = weights / "zeros.safetensors"
    save_file({k: torch.zeros_like(v) for k, v in load_file(str(card.weights)).items()}, str(zeros))
    real_sha256 = hashlib.sha256

    class SwapAfterHashing:
        def __init__(self, *args):
            self.digest = real_sha256(*args)

        def update(self, data):
            self.digest.update(data)

        def hexdigest(self):
            card.weights.write_bytes(zeros.read_bytes())  # replaced the moment it has been checked
            return self.digest.hexdigest()

    monkeypatch.setattr(hashlib, "sha256", SwapAfterHashing)
    _load_cached.cache_clear()
    model = load_model(card, "cpu")
    assert all(p.abs().sum() > 0 for p in model.parameters() if p.ndim == 4)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_DATA_HOME is where Linux keeps user data")
def test_the_user_weights_folder_is_searched(tmp_path, monkeypatch):
    monkeypatch.delenv("NAPARI_SUPERRES_WEIGHTS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    folder = user_weights_dir()
    assert folder == tmp_path / "data" / "napari-superres" / "weights"
    folder.mkdir(parents=True)
    assert weights_dirs()[0] == folder
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", os.pathsep.join([str(tmp_path / "first"), str(tmp_path)]))
    assert user_weights_dir() == tmp_path / "first"
