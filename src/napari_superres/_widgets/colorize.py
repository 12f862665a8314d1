"""The Colorize dock widget: colours for a gray Image layer, guided by hints from a Points or Labels layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox
from napari.layers import Labels, Points

from ..colorize import LOOKS, available_colorizers, iter_colorize
from .base import InWorker, Job, TaskWidget
from .layers import hints_maker

if TYPE_CHECKING:
    import napari

NOT_QUANTITATIVE = "colours guessed by a network: not a measurement, do not quantify them"
TIP_HINTS = ("Optional: a Points layer (each point's face colour) or a Labels layer (each label's colour) saying "
             "which colour a region has; a hint spreads over the region of similar brightness around it.")
TIP_MODEL = "The colorization network (a second or two per megapixel on a CPU)."
TIP_LOOK = ("natural: the guess's mean, its colour raised where the network is torn between colours and lowered "
            "where it is sure of a gray (about 0.7x photographs' colourfulness, closer to the true colours than gray "
            "on every set we measured); colourful: the same, raised more (closer than gray on our dev images); vivid: "
            "Zhang et al.'s saturated look, more often wrong; faithful: the guess's mean as it is (the palest, the "
            "closest to the truth).")


class ColorizeWidget(TaskWidget):
    """Colorize a gray Image layer into a new RGB layer, marked as not quantitative."""

    run_text = "Colorize"
    image_tip = "The gray Image layer to colorize (colour layers are not offered); it is never changed."

    def __init__(self, viewer: napari.viewer.Viewer):
        self.hints = ComboBox(label="hints", nullable=True, tooltip=TIP_HINTS)
        self.method = ComboBox(label="model", choices=lambda _widget: list(available_colorizers()), tooltip=TIP_MODEL)
        self.look = ComboBox(label="look", choices=list(LOOKS), value="natural", tooltip=TIP_LOOK)
        super().__init__(viewer, [self.hints, self.look], advanced=[self.method])
        self.hints.choices = self._hint_layers  # needs the viewer, so after the base init
        self._pick_only = (self.hints,)
        self.pick_only_choices()

    def _image_layers(self, _widget=None):
        """Gray Image layers only: colorizing a colour layer is refused."""
        return [(name, layer) for name, layer in super()._image_layers() if not layer.rgb]

    def _hint_layers(self, _widget=None):
        return [(layer.name, layer) for layer in self._viewer.layers if isinstance(layer, (Points, Labels))]

    def _ready(self):
        return bool(self.method.choices)

    def _job(self, layer):
        if layer.rgb:
            raise ValueError(f"{layer.name} is already in colour; colorize a gray image")
        if not self.method.value:
            raise ValueError("no colorization model is installed (weights/colorizer.json)")
        method, look = self.method.value, self.look.value
        hints = InWorker(hints_maker(self.hints.value, layer)) if self.hints.value is not None else None
        source = self.hints.value.name if self.hints.value is not None else None

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} (colorized)",
                             {"task": "colorize", "method": method, "look": look, "hints": source,
                              "quantitative": False, "note": NOT_QUANTITATIVE}, rgb=True)
            self.status.value = f"Done: {NOT_QUANTITATIVE}."

        kwargs = {"method": method, "look": look, "device": self._device()}
        return Job(steps=iter_colorize, args=(layer.data, hints), kwargs=kwargs,
                   description=f"Colorizing with {method}", on_result=on_result)
