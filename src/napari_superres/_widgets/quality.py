"""The Quality dock widget: results scored against a reference layer (PSNR, SSIM), with error maps and a table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, Label, PushButton, Select, SpinBox, Table
from napari.layers import Image
from qtpy.QtWidgets import QSizePolicy

from .._arrays import to_planes
from ..metrics import psnr, ssim

if TYPE_CHECKING:
    import napari

COLUMNS = ("PSNR (dB)", "SSIM", "mean |error|")
ERROR_COLORMAP = "magma"
MAX_WIDTH = 440  # pixels: the dock leaves the canvas most of a 1280-pixel window
TIP_REFERENCE = "The ground truth the results are compared with (same shape as each result)."
TIP_RESULTS = "The layers to score; select several (Ctrl/Shift-click) for a table across methods."
TIP_RANGE = ("Peak of the PSNR and SSIM, in the reference's units. 0: 255 for 8-bit images, 1 for float images in "
             "[0, 1], else the reference's max - min.")
TIP_BORDER = "Pixels left out at each side of every plane (the super-resolution protocol leaves out the scale)."
TIP_Y = "Score the BT.601 luma (0-255) of RGB layers instead of their three channels, as SR papers do."
TIP_ERROR_MAP = "Add (or update) a layer of |result - reference| per pixel over each result (channels averaged)."


class QualityWidget(Container):
    """Score Image layers against a reference layer: PSNR and SSIM in a table, error maps as layers."""

    def __init__(self, viewer: napari.viewer.Viewer):
        self._viewer = viewer
        self.reference = ComboBox(label="reference", choices=self._image_layers, tooltip=TIP_REFERENCE)
        self.results = Select(label="results", choices=self._image_layers, tooltip=TIP_RESULTS)
        self.data_range = FloatSpinBox(label="data range", value=0.0, min=0.0, max=1e12, tooltip=TIP_RANGE)
        self.border = SpinBox(label="crop border (px)", value=0, min=0, max=10_000, tooltip=TIP_BORDER)
        self.y_channel = CheckBox(text="Y channel of RGB", value=False, tooltip=TIP_Y)
        self.error_map = CheckBox(text="add error maps", value=True, tooltip=TIP_ERROR_MAP)
        self.compare_button = PushButton(text="Compare", tooltip="Score the selected results against the reference.")
        self.table = Table(value={"data": [], "columns": list(COLUMNS)})
        self.status = Label(value="")
        self.status.native.setWordWrap(True)
        self.status.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # Long layer names are cut, not a dock wider than the window: the table scrolls sideways instead.
        self.results.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        fields = Container(widgets=[self.reference, self.results, self.data_range, self.border, self.y_channel,
                                    self.error_map])
        # Below the fields, the button, the table and the status use the dock's whole width.
        super().__init__(widgets=[fields, self.compare_button, self.table, self.status], labels=False)
        self.max_width = MAX_WIDTH
        self.compare_button.changed.connect(self.compare)
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.reset_choices)

    def _image_layers(self, _widget=None):
        return [(layer.name, layer) for layer in self._viewer.layers if isinstance(layer, Image)]

    def compare(self):
        """Fill the table with each selected result's scores; add their error maps if asked."""
        reference = self.reference.value
        results = [layer for layer in self.results.value if layer is not reference]
        if reference is None or not results:
            self.status.value = "Pick a reference layer and at least one other result layer."
            return
        rows, skipped = {}, []
        for layer in results:
            if np.shape(layer.data) != np.shape(reference.data) or layer.rgb != reference.rgb:
                skipped.append(f"{layer.name} {np.shape(layer.data)}")
                continue
            rows[layer.name] = self._scores(layer, reference)
            if self.error_map.value:
                self._show_error(layer, reference)
        self.table.value = {"data": [[f"{v:.2f}", f"{s:.4f}", f"{e:.4g}"] for v, s, e in rows.values()],
                            "index": list(rows), "columns": list(COLUMNS)}
        self.table.native.resizeColumnsToContents()
        note = f" Not the reference's shape {np.shape(reference.data)}: {', '.join(skipped)}." if skipped else ""
        self.status.value = f"Scored {len(rows)} layer(s) against {reference.name}.{note}"

    def _scores(self, layer, reference):
        """``(PSNR, SSIM, mean |error|)``; SSIM plane by plane (2D windows), averaged over the planes."""
        truth, image = np.asarray(reference.data), np.asarray(layer.data)
        axis = -1 if reference.rgb else None
        options = {"data_range": self.data_range.value or peak_of(truth), "crop_border": self.border.value,
                   "y_channel": self.y_channel.value and reference.rgb, "channel_axis": axis}
        planes = zip(to_planes(truth, axis)[0], to_planes(image, axis)[0], strict=True)
        structure = np.mean([ssim(t, i, **{**options, "channel_axis": -1}) for t, i in planes])
        return psnr(truth, image, **options), structure, float(error_map(image, truth, axis).mean())

    def _show_error(self, layer, reference):
        """The error map of ``layer`` in a layer over it, replaced on each comparison."""
        errors = error_map(np.asarray(layer.data), np.asarray(reference.data), -1 if reference.rgb else None)
        name = f"{layer.name} error vs {reference.name}"
        limits = (0.0, max(float(np.percentile(errors, 99.5)), 1e-12))
        if name in self._viewer.layers:
            shown = self._viewer.layers[name]
            shown.data, shown.contrast_limits = errors, limits
            return
        self._viewer.add_image(errors, name=name, colormap=ERROR_COLORMAP, contrast_limits=limits,
                               scale=layer.scale, translate=layer.translate, units=layer.units,
                               axis_labels=layer.axis_labels, blending="additive",
                               metadata={"napari_superres": {"task": "error map", "source": layer.name,
                                                             "reference": reference.name}})


def error_map(image, reference, channel_axis):
    """``|image - reference|`` per pixel as float32, averaged over the channels."""
    errors = np.abs(image.astype(np.float64) - reference)
    return (errors if channel_axis is None else errors.mean(axis=channel_axis)).astype(np.float32)


def peak_of(reference):
    """The PSNR peak of ``reference`` when none is given: 255 for uint8, 1 for floats in [0, 1], else its span."""
    if reference.dtype == np.uint8:
        return 255.0
    low, high = float(reference.min()), float(reference.max())
    if np.issubdtype(reference.dtype, np.floating) and low >= 0 and high <= 1:
        return 1.0
    return high - low or 1.0
