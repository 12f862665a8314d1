"""The Super-resolution dock widget: reads a layer, runs the core in a worker, adds the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, Container, Label, ProgressBar, PushButton, SpinBox
from napari.layers import Image
from napari.qt.threading import create_worker

from .device import available_devices
from .upscale import available_methods, iter_upscale, upscaled_geometry

if TYPE_CHECKING:
    import napari


class UpscaleWidget(Container):
    """Upscale an Image layer into a new layer that overlays it exactly."""

    def __init__(self, viewer: napari.viewer.Viewer):
        super().__init__()
        self._viewer = viewer
        self._methods = available_methods()
        self.worker = None
        self.image = ComboBox(label="image", choices=self._image_layers)
        self.method = ComboBox(label="method", choices=list(self._methods), value="bicubic")
        self.scale = SpinBox(label="scale", value=4, min=2, max=8)
        self.tile = SpinBox(label="tile (px)", value=512, min=32, max=8192, step=32)
        self.device = ComboBox(label="device", choices=["auto", *available_devices()])
        self.run_button = PushButton(text="Upscale")
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=100, value=0)
        self.status = Label(value="")
        self.extend([self.image, self.method, self.scale, self.tile, self.device,
                     self.run_button, self.cancel_button, self.progress, self.status])
        self.method.changed.connect(self._check_choices)
        self.scale.changed.connect(self._check_choices)
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.image.reset_choices)
        self._check_choices()

    def _image_layers(self, _widget=None):
        return [(layer.name, layer) for layer in self._viewer.layers if isinstance(layer, Image)]

    def _scale_supported(self):
        scales = self._methods[self.method.value]
        return scales is None or self.scale.value in scales

    def _check_choices(self):
        self.run_button.enabled = self._scale_supported() and self.worker is None
        scales = self._methods[self.method.value]
        self.status.value = "" if self._scale_supported() else (
            f"{self.method.value} is trained for x{', x'.join(map(str, scales))}")

    def run(self):
        layer = self.image.value
        if layer is None:
            self.status.value = "Open or select an image layer first."
            return
        if layer.multiscale:
            self.status.value = "Multiscale layers are not supported yet; use the full-resolution level."
            return
        method, factor = self.method.value, self.scale.value
        device = None if self.device.value == "auto" else self.device.value
        worker = create_worker(
            iter_upscale, layer.data, factor, method,
            channel_axis=-1 if layer.rgb else None, device=device, tile=self.tile.value,
        )
        worker.yielded.connect(lambda fraction: setattr(self.progress, "value", round(100 * fraction)))
        worker.returned.connect(lambda result: self._add_result(layer, result, method, factor))
        worker.errored.connect(lambda err: setattr(self.status, "value", f"Failed: {err}"))
        worker.aborted.connect(lambda: setattr(self.status, "value", "Cancelled."))
        worker.finished.connect(self._finished)
        self.worker = worker
        self.progress.value = 0
        self.status.value = f"Running {method} x{factor} on {layer.name}..."
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        worker.start()

    def cancel(self):
        if self.worker is not None:
            self.worker.quit()

    def _finished(self):
        self.worker = None
        self.cancel_button.enabled = False
        self.run_button.enabled = self._scale_supported()

    def _add_result(self, layer, result, method, factor):
        scale, translate = upscaled_geometry(layer.scale[-2:], layer.translate[-2:], factor)
        kwargs = {}
        if not layer.rgb:
            kwargs = {"colormap": layer.colormap, "contrast_limits": layer.contrast_limits}
        name = f"{layer.name} ({method} x{factor})"
        self._viewer.add_image(
            result,
            name=name,
            scale=[*layer.scale[:-2], *scale],
            translate=[*layer.translate[:-2], *translate],
            rgb=layer.rgb,
            metadata={"napari_superres": {"task": "upscale", "method": method, "scale": factor,
                                          "source": layer.name}},
            **kwargs,
        )
        self.status.value = f"Done: {result.shape}."
