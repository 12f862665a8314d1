"""Importing published checkpoints and pulling catalogued ones: safe reading, detection, cards, downloads.

Tiny architectures with their own "published layout" (the ``tiny_architectures``
fixture) stand in for the published ones, so these tests do not depend on any of
them; no test downloads.
"""

import hashlib
import json
import pickle
import re
import sys

import numpy as np
import pytest
import torch

import napari_superres
from napari_superres.cli import main
from napari_superres.color import gray_to_luma, luma_to_gray
from napari_superres.models import download
from napari_superres.models.importer import ImportRefused, detectors, import_model


def test_import_writes_safetensors_and_card_and_the_model_upscales(tiny_architectures, tmp_path):
    state, model = tiny_architectures.published_sr()
    path = tmp_path / "Tiny SR x2.pth"
    torch.save({"params_ema": state, "params": {}, "iter": 5}, path)

    card = import_model(path, license="MIT")

    assert card.name == "tiny_sr_x2" and card.method == "tiny_sr_x2"
    saved = json.loads(card.weights.with_suffix(".json").read_text())
    assert saved["architecture"] == "tinysr" and saved["config"] == {"features": 6}
    assert (saved["scale"], saved["task"], saved["input"], saved["license"]) == (2, "upscale", "rgb", "MIT")
    assert saved["source"]["file"] == path.name
    assert saved["source"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert re.match(r"\d{4}-\d\d-\d\dT", saved["imported"])
    assert card.weights.parent == tiny_architectures.weights and card.weights.suffix == ".safetensors"
    assert napari_superres.available_methods()["tiny_sr_x2"] == [2]

    image = np.random.default_rng(0).random((40, 36, 3)).astype(np.float32)
    result = napari_superres.upscale(image, 2, method="tiny_sr_x2", channel_axis=-1, clip=False)
    with torch.no_grad():
        expected = model(torch.from_numpy(image.transpose(2, 0, 1))[None])[0].numpy().transpose(1, 2, 0)
    assert result.shape == (80, 72, 3) and result.dtype == np.float32
    np.testing.assert_allclose(result, expected, atol=1e-5)
    tiled = napari_superres.upscale(image, 2, method="tiny_sr_x2", channel_axis=-1, tile=16, clip=False)
    np.testing.assert_allclose(tiled, result, atol=1e-5)


@pytest.mark.parametrize("wrap", ["safetensors", "state_dict", "model", "module."])
def test_import_unwraps_containers_and_reads_safetensors(tiny_architectures, tmp_path, wrap):
    from safetensors.torch import save_file

    state, _ = tiny_architectures.published_sr(scale=3, channels=1, features=4)
    path = tmp_path / ("w.safetensors" if wrap == "safetensors" else "w.pt")
    if wrap == "safetensors":
        save_file(state, str(path))
    elif wrap == "module.":
        torch.save({f"module.{k}": v for k, v in state.items()}, path)
    else:
        torch.save({wrap: state, "epoch": 3}, path)

    card = import_model(path, name="tiny3")

    assert (card.architecture, card.scale, card.input, card.config) == ("tinysr", 3, "y", {"features": 4})
    assert card.info["license"] == "not given"
    assert napari_superres.upscale(np.zeros((8, 8)), 3, method="tiny3").shape == (24, 24)


def test_imported_denoiser_is_a_denoise_method_of_cli_and_widgets_lists(tiny_architectures, tmp_path, capsys):
    torch.manual_seed(0)
    model = tiny_architectures.TinyDenoiser(channels=1, features=5)
    published = {k.replace("body.0", "first").replace("body.2", "last"): v for k, v in model.state_dict().items()}
    path = tmp_path / "dn.pth"
    torch.save(published, path)

    main(["models", "import", str(path), "--name", "tinydn_15", "--license", "BSD-3-Clause"])

    assert "imported tinydn_15: tinydn denoise x1" in capsys.readouterr().out
    assert "tinydn_15" in napari_superres.available_denoisers()
    main(["methods"])
    assert "tinydn_15" in capsys.readouterr().out
    noisy = np.random.default_rng(1).random((32, 32))
    with torch.no_grad():  # a one-channel model sees luma: gray [0, 1] on [16, 235] / 255
        luma = torch.from_numpy(gray_to_luma(noisy)).float()[None, None]
        expected = luma_to_gray(model(luma)[0, 0].numpy().astype(float))
    denoised = napari_superres.denoise(noisy, method="tinydn_15")
    np.testing.assert_allclose(denoised, np.clip(expected, noisy.min(), noisy.max()), atol=1e-5)


def test_a_pickle_with_a_payload_is_refused_and_never_executed(tiny_architectures, tmp_path):
    marker = tmp_path / "payload-ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    zipped, legacy = tmp_path / "evil.pth", tmp_path / "evil_legacy.pt"
    torch.save({"head.weight": torch.zeros(1), "extra": Payload()}, zipped)
    legacy.write_bytes(pickle.dumps({"state_dict": Payload()}))

    for path in (zipped, legacy):
        with pytest.raises(ImportRefused, match="more than tensors"):
            import_model(path)
    assert not marker.exists()
    assert not tiny_architectures.weights.exists()


def test_whole_pickled_module_is_refused_with_what_to_do(tiny_architectures, tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Conv2d(1, 1, 3), path)
    with pytest.raises(ImportRefused, match=r"pickled model.*state_dict\(\)"):
        import_model(path)


def test_torchscript_archive_is_refused(tiny_architectures, tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Conv2d(1, 1, 3)), str(path))
    with pytest.raises(ImportRefused, match="TorchScript archive"):
        import_model(path)


def test_unknown_layout_and_non_weights_are_refused(tiny_architectures, tmp_path):
    path = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(4, 3, 3, 3)}, path)
    with pytest.raises(ImportRefused, match=r"4 tensors|1 tensors.*none of the architectures.*tinysr"):
        import_model(path)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ImportRefused, match="not '.txt'"):
        import_model(text)


def test_a_taken_name_is_refused_unless_overwrite(tiny_architectures, tmp_path):
    state, _ = tiny_architectures.published_sr()
    path = tmp_path / "a.pth"
    torch.save(state, path)
    import_model(path, name="mine")
    with pytest.raises(FileExistsError, match="overwrite"):
        import_model(path, name="mine")
    assert import_model(path, name="mine", overwrite=True).name == "mine"
    with pytest.raises(FileExistsError, match="taken"):
        import_model(path, name="edsr_x4")


def _catalogue(tmp_path, file, sha256=None, url=None):
    entry = {"name": "tiny-published", "architecture": "tinysr", "task": "upscale", "scale": 2,
             "file": file.name, "url": url or file.as_uri(), "sha256": sha256 or hashlib.sha256(file.read_bytes())
             .hexdigest(), "size": file.stat().st_size, "license": "MIT", "license_source": "LICENSE of the test",
             "description": "a tiny test model"}
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"models": [entry]}))
    return path


@pytest.fixture
def cache(monkeypatch, tmp_path):
    folder = tmp_path / "cache"
    monkeypatch.setenv("NAPARI_SUPERRES_CACHE", str(folder))
    return folder / "published"


def test_pull_downloads_from_a_file_url_into_the_cache_checks_and_imports(tiny_architectures, tmp_path, cache):
    state, _ = tiny_architectures.published_sr()
    served = tmp_path / "served" / "tiny.pth"
    served.parent.mkdir()
    torch.save(state, served)
    catalogue = _catalogue(tmp_path, served)

    card = download.pull("tiny-published", catalogue=catalogue, progressbar=False)

    assert (cache / "tiny.pth").read_bytes() == served.read_bytes()
    assert card.name == "tiny-published" and card.info["license"] == "MIT"
    assert card.info["source"]["url"] == served.as_uri()
    assert "tiny-published" in napari_superres.available_methods()
    served.unlink()  # a second pull uses the cached, checked file
    assert download.pull("tiny-published", catalogue=catalogue, overwrite=True).name == "tiny-published"


def test_pull_refuses_a_file_whose_hash_differs(tiny_architectures, tmp_path, cache):
    served = tmp_path / "tiny.pth"
    torch.save(tiny_architectures.published_sr()[0], served)
    catalogue = _catalogue(tmp_path, served, sha256="0" * 64)
    with pytest.raises(ValueError, match="not the one catalogued"):
        download.pull("tiny-published", catalogue=catalogue, progressbar=False)
    assert not (cache / "tiny.pth").exists()
    assert not tiny_architectures.weights.exists()


def test_pull_offline_says_so_and_how_to_import_by_hand(tiny_architectures, tmp_path, cache, monkeypatch):
    import pooch
    import requests

    def unreachable(self, url, output_file, pooch_obj, check_only=False):
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(pooch.HTTPDownloader, "__call__", unreachable)
    served = tmp_path / "tiny.pth"
    torch.save(tiny_architectures.published_sr()[0], served)
    catalogue = _catalogue(tmp_path, served, url="https://example.invalid/tiny.pth")
    with pytest.raises(download.OfflineError, match=r"offline.*models import FILE --name tiny-published"):
        download.pull("tiny-published", catalogue=catalogue, progressbar=False)


def test_the_package_catalogue_lists_verified_pinned_entries():
    entries = download.published_models()
    assert entries
    for name, entry in entries.items():
        assert re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]), name
        assert re.search(r"/[0-9a-f]{40}/", entry["url"]), f"{name}: the URL must be pinned to a commit"
        assert entry["architecture"] in detectors(), f"{name}: its architecture must read a published layout"
        assert entry["size"] > 0 and entry["license"] and entry["license_source"] and entry["paper"]
        assert {"published", "measured"} <= set(entry), name


def test_nothing_downloads_or_loads_pooch_at_import():
    code = "import sys, napari_superres, napari_superres.models; assert 'pooch' not in sys.modules"
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True)
