"""Every dock widget opens beside a foreign JSON file in a weights folder (one of them used to disable four)."""

import importlib

import pytest

from napari_superres.models.registry import ModelCardWarning

WIDGETS = [("_widgets.upscale", "UpscaleWidget"), ("_widgets.dip", "DIPWidget"), ("_widgets.denoise", "DenoiseWidget"),
           ("_widgets.inpaint", "InpaintWidget"), ("_widgets.colorize", "ColorizeWidget"),
           ("_widgets.video_prior", "VideoPriorWidget")]


def test_every_widget_opens_beside_a_bad_card(make_napari_viewer, tmp_path, monkeypatch):
    (tmp_path / "notes.json").write_text("[1, 2]")
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    viewer = make_napari_viewer()
    with pytest.warns(ModelCardWarning, match="notes.json") as caught:
        for module, name in WIDGETS:
            widget = getattr(importlib.import_module(f"napari_superres.{module}"), name)(viewer)
            viewer.window.add_dock_widget(widget, name=name)
    assert len([w for w in caught if issubclass(w.category, ModelCardWarning)]) == 1
