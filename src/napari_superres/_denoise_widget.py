"""The Denoise dock widget: classical baselines side by side in the viewer, noise level estimated."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, FloatSpinBox, PushButton

from ._widget import TaskWidget
from .denoise import METHODS, estimate_noise, iter_denoise

if TYPE_CHECKING:
    import napari


class DenoiseWidget(TaskWidget):
    """Denoise an Image layer into a new layer; σ = 0 means "estimate it from the image"."""

    run_text = "Denoise"

    def __init__(self, viewer: napari.viewer.Viewer):
        self.method = ComboBox(label="method", choices=list(METHODS), value="nlm")
        self.sigma = FloatSpinBox(label="noise σ (0: estimate)", value=0.0, min=0.0, max=1e9, step=0.5)
        self.estimate_button = PushButton(text="Estimate σ")
        super().__init__(viewer, [self.method, self.sigma, self.estimate_button])
        self.estimate_button.changed.connect(self.estimate)

    def _channel_axis(self, layer):
        return -1 if layer.rgb else None

    def estimate(self):
        """Fill the σ field with the noise level estimated from the chosen layer."""
        layer = self.image.value
        if layer is None:
            self.status.value = "Open or select an image layer first."
            return
        self.sigma.value = round(estimate_noise(layer.data, channel_axis=self._channel_axis(layer)), 3)
        self.status.value = f"Estimated noise σ = {self.sigma.value:g} (in the layer's units)."

    def _job(self, layer):
        method = self.method.value
        sigma = self.sigma.value or estimate_noise(layer.data, channel_axis=self._channel_axis(layer))

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({method} denoise)",
                             {"task": "denoise", "method": method, "sigma": sigma})
            self.status.value = f"Done with σ = {sigma:.3g}."

        kwargs = {"sigma": sigma, "channel_axis": self._channel_axis(layer)}
        return iter_denoise, (layer.data, method), kwargs, f"Denoising ({method}, σ = {sigma:.3g})", on_result
