"""The Super-resolution dock widget: an Image layer enlarged by a chosen method, overlaying it exactly."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, SpinBox

from ..lazy import is_lazy
from ..upscale import available_methods, iter_upscale, iter_upscale_axes
from .base import LAZY_NOTE, Job, TaskWidget

if TYPE_CHECKING:
    import napari


class UpscaleWidget(TaskWidget):
    """Upscale an Image layer into a new layer that overlays it exactly."""

    run_text = "Upscale"

    def __init__(self, viewer: napari.viewer.Viewer):
        self._methods = available_methods()
        self.method = ComboBox(label="method", choices=list(self._methods), value="bicubic")
        self.scale = SpinBox(label="scale", value=4, min=2, max=8)
        self.axes = ComboBox(label="axes", choices=list(AXES_CHOICES), value="Y, X")
        self.tile = SpinBox(label="tile (px)", value=512, min=32, max=8192, step=32)
        super().__init__(viewer, [self.method, self.scale, self.axes, self.tile])
        self.axes.changed.connect(self._check_choices)
        self.image.changed.connect(self._check_choices)
        self.method.changed.connect(self._check_choices)
        self.scale.changed.connect(self._check_choices)
        self._check_choices()

    def _ready(self):
        return not self._problem()

    def _problem(self):
        """Why the current choices cannot run, or ''."""
        scales = self._methods[self.method.value]
        if scales is not None and self.scale.value not in scales:
            return f"{self.method.value} is trained for x{', x'.join(map(str, scales))}"
        if self.axes.value != "Y, X" and scales is not None:
            return f"{self.method.value} enlarges (Y, X) planes; along Z, use an interpolation"
        layer = self.image.value
        if layer is not None and layer.ndim < len(AXES_CHOICES[self.axes.value]):
            return f"{layer.name} has no Z axis"
        return ""

    def _check_choices(self):
        super()._check_choices()
        self.status.value = self._problem()

    def _job(self, layer):
        method, factor = self.method.value, self.scale.value
        if self.axes.value != "Y, X":
            return self._axes_job(layer, method, factor)
        kwargs = {"channel_axis": -1 if layer.rgb else None, "device": self._device(), "tile": self.tile.value}

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({method} x{factor})",
                             {"task": "upscale", "method": method, "scale": factor}, factor)
            self.status.value = f"Done: {result.shape}{LAZY_NOTE if is_lazy(result) else ''}."

        return Job(steps=iter_upscale, args=(layer.data, factor, method), kwargs=kwargs,
                   description=f"Running {method} x{factor}", on_result=on_result)

    def _axes_job(self, layer, method, factor):
        """Enlarge Z (and Y, X) of a stack by interpolation: voxels made isotropic."""
        picked = AXES_CHOICES[self.axes.value]
        factors = [factor if axis - layer.ndim in picked else 1 for axis in range(layer.ndim)]
        axes = self.axes.value

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({method} x{factor} {axes})",
                             {"task": "upscale", "method": method, "scale": tuple(factors)}, factors)
            self.status.value = f"Done: {result.shape}."

        return Job(steps=iter_upscale_axes, args=(layer.data, factors, method),
                   kwargs={"channel_axis": -1 if layer.rgb else None},
                   description=f"Running {method} x{factor} along {axes}", on_result=on_result)


# Axes the SR widget can enlarge, counted from the last spatial axis.
AXES_CHOICES = {"Y, X": (-2, -1), "Z": (-3,), "Z, Y, X": (-3, -2, -1)}
