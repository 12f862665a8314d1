"""The Super-resolution dock widget: an Image layer enlarged by a chosen method, overlaying it exactly."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import ComboBox, SpinBox

from ..lazy import is_lazy
from ..uncertainty import backprojection_residual, iter_augmentation_spread, iter_sample_spread
from ..upscale import AUTO_TILE, available_methods, iter_upscale, iter_upscale_axes
from .base import LAZY_NOTE, Job, TaskWidget

if TYPE_CHECKING:
    import napari


# The first click works and shows what a learned model does in seconds: ESPCN is the fastest one.
DEFAULT_METHOD = "espcn"
# Progress moves and Cancel acts between blocks: the widget splits each plane into at least
# this many blocks a side (a 512² plane: 4 blocks of 256 px), none smaller than MIN_AUTO_TILE
# nor larger than the core's AUTO_TILE. Each block recomputes its halo: EDSR x4 on a 512² RGB
# plane took 10.2-10.9 s whole, 10.8-11.4 s in 2 x 2 blocks, 13.9-15.8 s in 3 x 3 (2 CPU cores).
AUTO_SPLIT, MIN_AUTO_TILE = 2, 128
TIP_METHOD = ("How new pixels are made. Interpolations (nearest ... lanczos): instant, any scale, no new detail. "
              "Learned models, each at the scales it was trained for: espcn and fsrcnn the fastest; edsr and mdsr "
              "the closest to the truth of ours (under a second for 512 px at x4 on a laptop CPU); srgan and dcgan "
              "sharper texture, less faithful; lapsrn up to x8; vae_sr draws its detail (a spread of 8 draws "
              "shows where it is unsure). Models imported or downloaded in the Models panel are listed too.")
TIP_SCALE = "How many times the image grows along each enlarged axis (4: 512 px becomes 2048 px)."
TIP_AXES = "Which axes to enlarge: Y, X (each plane), or Z of a stack (interpolations only) to make voxels isotropic."
RESIDUAL, SPREAD, DRAWS = "back-projection", "flips/turns spread", "spread of 8 draws"
DRAWN = 8  # draws of a variational model for its spread
TIP_UNCERTAINTY = ("Add a map of where to trust the result (brighter: less), in intensity units. Back-projection "
                   "residual: |result shrunk back - input|, on the input's grid (any method, cheap). Flips/turns "
                   "spread: the method's results on the 8 flips and quarter turns of the input disagree there "
                   "(learned models; 8 times the time; the result is then their mean). Spread of 8 draws: a "
                   "variational model (vae_sr) draws 8 plausible outputs from its prior (seeds 0-7); the result "
                   "is their mean.")
UNCERTAINTY_COLORMAP = "inferno"
TIP_TILE = ("Largest block, in input pixels, computed at once. 0: automatic (at least 2 x 2 blocks a plane, so "
            "progress moves and Cancel acts within seconds). Larger: a little faster, more memory.")


class UpscaleWidget(TaskWidget):
    """Upscale an Image layer into a new layer that overlays it exactly."""

    run_text = "Upscale"
    precision_choice = True

    def __init__(self, viewer: napari.viewer.Viewer):
        self._methods = available_methods()
        default = DEFAULT_METHOD if DEFAULT_METHOD in self._methods else "bicubic"
        self.method = ComboBox(label="method", choices=self._method_choices, value=default, tooltip=TIP_METHOD)
        self.scale = SpinBox(label="scale", value=4, min=2, max=8, tooltip=TIP_SCALE)
        self.axes = ComboBox(label="axes", choices=list(AXES_CHOICES), value="Y, X", tooltip=TIP_AXES)
        self.tile = SpinBox(label="tile (px)", value=0, min=0, max=8192, step=32, tooltip=TIP_TILE)
        self.uncertainty = ComboBox(label="trust map", choices=["none", RESIDUAL, SPREAD, DRAWS], value="none",
                                    tooltip=TIP_UNCERTAINTY)
        super().__init__(viewer, [self.method, self.scale, self.axes, self.uncertainty], advanced=[self.tile])
        self.axes.changed.connect(self._check_choices)
        self.image.changed.connect(self._check_choices)
        self.method.changed.connect(self._check_choices)
        self.scale.changed.connect(self._check_choices)
        self.uncertainty.changed.connect(self._check_choices)
        self._check_choices()

    def _ready(self):
        return not self._problem()

    def _method_choices(self, _widget=None):
        """The methods as the registry lists them now (re-read when choices are reset: a model was imported)."""
        self._methods = available_methods()
        return list(self._methods)

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
        if self.uncertainty.value != "none" and self.axes.value != "Y, X":
            return "uncertainty maps are for (Y, X) planes"
        if self.uncertainty.value != "none" and layer is not None and is_lazy(layer.data):
            return "uncertainty maps need an image in memory, not dask or zarr"
        if self.uncertainty.value == DRAWS and not draws_latents(self.method.value, self.scale.value):
            return f"{self.method.value} draws no samples: pick a variational model (vae_sr)"
        return ""

    def _check_choices(self):
        super()._check_choices()
        self.status.value = self._problem()

    def _job(self, layer):
        method, factor = self.method.value, self.scale.value
        if self.axes.value != "Y, X":
            return self._axes_job(layer, method, factor)
        tile = self.tile.value or auto_tile(layer.data.shape[-3:-1] if layer.rgb else layer.data.shape[-2:])
        kwargs = {"channel_axis": -1 if layer.rgb else None, "device": self._device(), "tile": tile,
                  "precision": self.precision.value}
        if self.uncertainty.value != "none":
            return self._uncertainty_job(layer, method, factor, kwargs)

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({method} x{factor})",
                             {"task": "upscale", "method": method, "scale": factor}, factor)
            self.status.value = f"Done: {result.shape}{LAZY_NOTE if is_lazy(result) else ''}."

        return Job(steps=iter_upscale, args=(layer.data, factor), kwargs={"method": method, **kwargs},
                   description=f"Running {method} x{factor}", on_result=on_result)

    def _uncertainty_job(self, layer, method, factor, kwargs):
        """Upscale and add a colormapped uncertainty map beside the result, aligned with it."""
        kind = self.uncertainty.value
        named = f"{method} x{factor}" + {SPREAD: ", mean of 8 flips/turns", DRAWS: f", mean of {DRAWN} draws"}.get(
            kind, "")

        def on_result(result_and_map):
            result, uncertainty = result_and_map
            self._add_result(layer, result, f"{layer.name} ({named})",
                             {"task": "upscale", "method": method, "scale": factor, "uncertainty": kind}, factor)
            shown = self._add_layer(layer, uncertainty, f"{layer.name} ({method} x{factor} {kind})",
                                    {"task": "uncertainty", "method": kind}, 1 if kind == RESIDUAL else factor,
                                    rgb=False)
            shown.colormap = UNCERTAINTY_COLORMAP
            shown.contrast_limits = (0, max(float(np.percentile(uncertainty, 99.5)), 1e-12))
            self.status.value = f"Done: {result.shape}, with its {kind} (brighter: trust less)."

        return Job(steps=iter_upscale_with_map, args=(layer.data, factor, kind), kwargs={"method": method, **kwargs},
                   description=f"Running {named} and its {kind}", on_result=on_result)

    def _axes_job(self, layer, method, factor):
        """Enlarge Z (and Y, X) of a stack by interpolation: voxels made isotropic."""
        picked = AXES_CHOICES[self.axes.value]
        factors = [factor if axis - layer.ndim in picked else 1 for axis in range(layer.ndim)]
        axes = self.axes.value

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({method} x{factor} {axes})",
                             {"task": "upscale", "method": method, "scale": tuple(factors)}, factors)
            self.status.value = f"Done: {result.shape}."

        return Job(steps=iter_upscale_axes, args=(layer.data, factors),
                   kwargs={"method": method, "channel_axis": -1 if layer.rgb else None},
                   description=f"Running {method} x{factor} along {axes}", on_result=on_result)


def iter_upscale_with_map(image, factor, kind, **options):
    """:func:`~napari_superres.upscale.iter_upscale` and the uncertainty map ``kind``; returns ``(result, map)``.

    With the flips/turns spread, the result is the mean of the 8 runs.
    """
    channel_axis = options["channel_axis"]
    if kind == SPREAD:
        return (yield from iter_augmentation_spread(image, lambda turned: iter_upscale(turned, factor, **options),
                                                    channel_axis=channel_axis))
    if kind == DRAWS:
        return (yield from iter_sample_spread(image, factor, samples=DRAWN, **options))
    result = yield from iter_upscale(image, factor, **options)
    return result, backprojection_residual(result, image, factor, channel_axis=channel_axis)


def draws_latents(method, scale):
    """Whether ``method`` at ``scale`` is a variational model, whose outputs can be drawn (torch-free)."""
    from ..models import find_model

    try:
        return find_model(method, scale).contract.draws_latents
    except ValueError:  # an interpolation, or no weights at this scale
        return False


# Axes the SR widget can enlarge, counted from the last spatial axis.
AXES_CHOICES = {"Y, X": (-2, -1), "Z": (-3,), "Z, Y, X": (-3, -2, -1)}


def auto_tile(plane_shape):
    """The block side the widget asks for on planes of ``plane_shape``: at least AUTO_SPLIT blocks a side."""
    side = math.ceil(max(plane_shape) / AUTO_SPLIT / 16) * 16
    return min(max(side, MIN_AUTO_TILE), AUTO_TILE)
