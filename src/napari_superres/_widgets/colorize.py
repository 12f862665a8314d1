"""The Colorize dock widget: colours for a gray Image layer, guided by hints from a Points or Labels layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox
from napari.layers import Labels, Points

from ..colorize import available_colorizers, iter_colorize
from .base import InWorker, Job, TaskWidget
from .layers import hints_maker

if TYPE_CHECKING:
    import napari

NOT_QUANTITATIVE = "colours guessed by a network: not a measurement, do not quantify them"


class ColorizeWidget(TaskWidget):
    """Colorize a gray Image layer into a new RGB layer, marked as not quantitative."""

    run_text = "Colorize"

    def __init__(self, viewer: napari.viewer.Viewer):
        self.hints = ComboBox(label="hints (Points/Labels)", nullable=True)
        self.method = ComboBox(label="model", choices=available_colorizers())
        super().__init__(viewer, [self.hints, self.method])
        self.hints.choices = self._hint_layers  # needs the viewer, so after the base init

    def _hint_layers(self, _widget=None):
        return [(layer.name, layer) for layer in self._viewer.layers if isinstance(layer, (Points, Labels))]

    def _ready(self):
        return bool(self.method.choices)

    def _job(self, layer):
        if layer.rgb:
            raise ValueError(f"{layer.name} is already in colour; colorize a gray image")
        if not self.method.value:
            raise ValueError("no colorization model is installed (weights/colorizer.json)")
        method = self.method.value
        hints = InWorker(hints_maker(self.hints.value, layer)) if self.hints.value is not None else None
        source = self.hints.value.name if self.hints.value is not None else None

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} (colorized)",
                             {"task": "colorize", "method": method, "hints": source, "quantitative": False,
                              "note": NOT_QUANTITATIVE}, rgb=True)
            self.status.value = f"Done: {NOT_QUANTITATIVE}."

        kwargs = {"method": method, "device": self._device()}
        return Job(steps=iter_colorize, args=(layer.data, hints), kwargs=kwargs,
                   description=f"Colorizing with {method}", on_result=on_result)
