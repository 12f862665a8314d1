"""The Models panel: a catalogue entry downloads (from a file:// URL) only after the licence is accepted."""

import hashlib
import json

import pytest
import torch
from qtpy.QtWidgets import QMessageBox

from napari_superres import available_methods
from napari_superres._widgets.models import ModelsWidget
from napari_superres._widgets.upscale import UpscaleWidget


@pytest.fixture
def catalogue(tmp_path, tiny_architectures, monkeypatch):
    """A catalogue of one tiny model served from a file:// URL, downloads going to a temporary cache."""
    state, _ = tiny_architectures.published_sr()
    served = tmp_path / "tiny.pth"
    torch.save(state, served)
    entry = {"name": "tiny-published", "architecture": "tinysr", "task": "upscale", "scale": 2, "file": "tiny.pth",
             "url": served.as_uri(), "sha256": hashlib.sha256(served.read_bytes()).hexdigest(),
             "size": served.stat().st_size, "license": "MIT", "license_source": "the test",
             "description": "a tiny test model"}
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps({"models": [entry]}))
    monkeypatch.setenv("NAPARI_SUPERRES_CACHE", str(tmp_path / "cache"))
    return path


def _answer(monkeypatch, button):
    asked = []

    def question(parent, title, text, *args):
        asked.append(text)
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_download_shows_the_licence_and_imports_the_model(make_napari_viewer, qtbot, catalogue, monkeypatch):
    viewer = make_napari_viewer()
    widget = ModelsWidget(viewer, catalogue=catalogue)
    viewer.window.add_dock_widget(widget)
    already_open = UpscaleWidget(viewer)
    assert "tiny-published" not in already_open.method.choices
    assert widget.published.value == "tiny-published" and "Licence: MIT" in widget.about.value
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Yes)

    widget.download()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)

    assert "Licence: MIT (the test)" in asked[0]
    assert widget.progress.value == 100 and widget.status.value.startswith("Imported tiny-published")
    assert "tiny-published" in widget.installed.value
    assert "installed" in widget.published.native.currentText()
    assert available_methods()["tiny-published"] == [2]
    assert "tiny-published" in UpscaleWidget(viewer).method.choices
    assert "tiny-published" in already_open.method.choices  # open widgets re-read their lists at once
    already_open.method.value, already_open.scale.value = "tiny-published", 2
    assert already_open._problem() == ""  # and know its scales


def test_nothing_downloads_until_the_user_says_yes(make_napari_viewer, qtbot, catalogue, monkeypatch, tmp_path):
    widget = ModelsWidget(make_napari_viewer(), catalogue=catalogue)
    asked = _answer(monkeypatch, QMessageBox.StandardButton.No)
    widget.download()
    assert asked and widget.worker is None
    assert not (tmp_path / "cache").exists()
    assert "tiny-published" not in available_methods()


def test_import_file_reports_a_refused_file(make_napari_viewer, qtbot, tiny_architectures, tmp_path):
    widget = ModelsWidget(make_napari_viewer())
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Conv2d(1, 1, 1)), str(path))
    widget.import_file(str(path))
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert widget.status.value.startswith("Failed:") and "TorchScript" in widget.status.value
