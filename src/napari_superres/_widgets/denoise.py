"""The Denoise dock widget: classical baselines and per-image fitting (Noise2Void, DIP) side by side."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, LineEdit, PushButton, SpinBox
from napari.qt.threading import create_worker

from ..denoise import CLASSICAL, FITTED, available_denoisers, estimate_noise, iter_denoise
from ..lazy import is_lazy
from ..models.registry import saved_fits, user_weights_dir
from ..uncertainty import iter_augmentation_spread
from .base import LAZY_NOTE, Job, TaskWidget, models_changed
from .upscale import UNCERTAINTY_COLORMAP

if TYPE_CHECKING:
    import napari

# Iterations a fit starts with: Noise2Void trains one network for the whole stack,
# DIP fits each plane and stops early by itself.
DEFAULT_ITERATIONS = {"n2v": 1500, "dip": 3000}
METHOD_NAMES = {"n2v": "Noise2Void", "dip": "DIP"}
TIP_METHOD = ("Classical methods (nlm, tv, wavelet, bilateral) take seconds and use the noise σ; fits (n2v: "
              "Noise2Void, dip: Deep Image Prior) train a network on this image: minutes to hours on a CPU, "
              "the time left is shown while they run.")
TIP_SIGMA = ("Standard deviation of the noise, in the layer's intensity units (e.g. 10 for uint8, 0.04 for a float "
             "image in [0, 1]). 0: estimated from the image when the run starts.")
TIP_ESTIMATE = "Estimate the noise σ of the chosen image now and put it in the field (a pass over the image)."
TIP_ITERATIONS = ("Training steps of the fit: the run time grows in proportion (the status shows the time left). "
                  "Fewer: quicker, noisier result.")
TIP_VOLUMETRIC = "Noise2Void on a stack: train on 3D patches (slower) instead of 2D planes; needs a Z axis."
TIP_PREVIEW = "Every this many iterations, show the current result in a preview layer (0: never; each costs a pass)."
TIP_SAVE = ("Noise2Void: keep the trained network under this name (in the user weights folder, with a card of the "
            "data and settings); it then appears in the method list, to denoise other stacks of the same "
            "instrument in seconds, without training. Empty: not kept.")
TIP_TRUST_MAP = ("Saved models: also run the model on the 8 flips and quarter turns of the image; the result is "
                 "their mean, and a layer shows where they disagree (brighter: trust less). 8 times the time.")
SIGMA_DECIMALS = 4  # a float image in [0, 1] has σ of a few hundredths: 2 decimals would round it away


class DenoiseWidget(TaskWidget):
    """Denoise an Image layer into a new layer; σ = 0 means "estimate it from the image"."""

    run_text = "Denoise"
    precision_choice = True  # of the fits (Noise2Void, DIP)

    def __init__(self, viewer: napari.viewer.Viewer):
        self.method = ComboBox(label="method", choices=lambda _widget: list(available_denoisers()), value="nlm",
                               tooltip=TIP_METHOD)
        self.sigma = FloatSpinBox(label="noise σ", value=0.0, min=0.0, max=1e9, step=0.5,
                                  tooltip=TIP_SIGMA)
        self.sigma.native.setDecimals(SIGMA_DECIMALS)
        self.estimate_button = PushButton(text="Estimate σ", tooltip=TIP_ESTIMATE)
        self.estimate_worker = None
        self.iterations = SpinBox(label="iterations", value=1500, min=1, max=100_000, step=100,
                                  tooltip=TIP_ITERATIONS)
        self.volumetric = CheckBox(label="3D (train on volumes)", value=False, tooltip=TIP_VOLUMETRIC)
        self.preview_every = SpinBox(label="preview every", value=250, min=0, max=100_000, tooltip=TIP_PREVIEW)
        self.save_as = LineEdit(label="save model as", value="", tooltip=TIP_SAVE)
        self.trust_map = CheckBox(text="trust map (8x time)", value=False, tooltip=TIP_TRUST_MAP)
        super().__init__(viewer, [self.method, self.sigma, self.estimate_button, self.iterations, self.volumetric,
                                  self.save_as, self.trust_map], advanced=[self.preview_every])
        self.estimate_button.changed.connect(self.estimate)
        self.method.changed.connect(self._method_changed)
        self._method_changed()

    def _method_changed(self):
        method = self.method.value
        for field in (self.sigma, self.estimate_button):
            field.visible = method in CLASSICAL
        for field in (self.iterations, self.preview_every):
            field.visible = method in FITTED
        self.volumetric.visible = method in FITTED
        self.save_as.visible = method == "n2v"
        self.trust_map.visible = method not in CLASSICAL + FITTED and method in saved_fits("noise2void")
        if method in FITTED:
            self.iterations.value = DEFAULT_ITERATIONS[method]

    def _channel_axis(self, layer):
        return -1 if layer.rgb else None

    def estimate(self):
        """Fill the σ field with the noise level of the chosen layer, estimated in a worker."""
        layer = self.image.value
        if layer is None:
            self.status.value = "Open or select an image layer first."
            return
        if self.estimate_worker is not None:
            return
        worker = create_worker(finite_noise_estimate, layer.data, self._channel_axis(layer),
                               _connect={"errored": self._on_errored}, _start_thread=False)
        worker.returned.connect(lambda sigma: self._show_estimate(sigma, layer.name))
        worker.finished.connect(self._estimate_finished)
        self.estimate_worker = worker
        self.estimate_button.enabled = False
        self.status.value = f"Estimating the noise σ of {layer.name}..."
        worker.start()

    def _show_estimate(self, sigma, name):
        if sigma > self.sigma.max:  # the field would clamp it: leave it at 0, which estimates it again
            self.status.value = f"The noise σ of {name} is {sigma:.3g}, beyond this field; leave σ at 0 to use it."
            return
        self.sigma.value = round(sigma, SIGMA_DECIMALS)
        self.status.value = f"Estimated noise σ of {name} = {self.sigma.value:g} (in the layer's units)."

    def _estimate_finished(self):
        self.estimate_worker = None
        self.estimate_button.enabled = True

    def _job(self, layer):
        method = self.method.value
        if method in FITTED:
            return self._fit_job(layer, method)
        if method not in CLASSICAL and method in saved_fits("noise2void"):
            return self._saved_model_job(layer, method)
        sigma = self.sigma.value or None  # None: estimated by the worker

        def on_result(result_and_sigma):
            result, used = result_and_sigma
            self._add_result(layer, result, f"{layer.name} ({method} denoise)",
                             {"task": "denoise", "method": method, "sigma": used})
            self.status.value = f"Done with σ = {used:.3g}{LAZY_NOTE if is_lazy(result) else ''}."

        description = f"Denoising ({method}, σ = {'estimated' if sigma is None else f'{sigma:.3g}'})"
        return Job(steps=_iter_denoise_sigma, args=(layer.data, method, sigma, self._channel_axis(layer)),
                   description=description, on_result=on_result)

    def _fit_job(self, layer, method):
        options = {"iterations": self.iterations.value, "preview_every": self.preview_every.value,
                   "device": self._device(), "precision": self.precision.value}
        options["volumetric"] = self.volumetric.value
        self._preview_of = (layer, METHOD_NAMES[method], 1)
        self._stopped_text = "ran all iterations"
        name = self.save_as.value.strip() if method == "n2v" else ""
        if name:
            check_model_name(name)
            options["save_to"] = str(user_weights_dir() / name)

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({method} denoise)",
                             {"task": "denoise", "method": method, **options})
            self.progress.value = 100
            self.status.value = f"Done: {self._stopped_text}."
            if name:
                models_changed.emit()  # every open widget lists the new model now
                self.status.value += f" Saved as {name!r}: pick it as the method to denoise other stacks."

        kwargs = {"channel_axis": self._channel_axis(layer), **options}
        return Job(steps=iter_denoise, args=(layer.data, method), kwargs=kwargs,
                   description=f"Denoising ({METHOD_NAMES[method]})", on_result=on_result)

    def _saved_model_job(self, layer, name):
        """Apply a saved Noise2Void model: no training; with the trust map, on the 8 flips and turns."""
        kwargs = {"method": name, "channel_axis": self._channel_axis(layer), "device": self._device()}
        record = {"task": "denoise", "method": name, "model": str(saved_fits("noise2void")[name])}
        if self.trust_map.value:
            if is_lazy(layer.data):
                raise ValueError("the trust map needs an image in memory, not dask or zarr")
            return self._trust_map_job(layer, name, kwargs, record)

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({name} denoise)", record)
            self.status.value = f"Done with the saved model {name}{LAZY_NOTE if is_lazy(result) else ''}."

        return Job(steps=iter_denoise, args=(layer.data,), kwargs=kwargs,
                   description=f"Denoising (saved Noise2Void {name})", on_result=on_result)

    def _trust_map_job(self, layer, name, kwargs, record):
        def on_result(mean_and_spread):
            mean, spread = mean_and_spread
            self._add_result(layer, mean, f"{layer.name} ({name} denoise, mean of 8 flips/turns)", record)
            shown = self._add_layer(layer, spread, f"{layer.name} ({name} flips/turns spread)",
                                    {"task": "uncertainty", "method": "flips/turns spread"}, rgb=False)
            shown.colormap = UNCERTAINTY_COLORMAP
            shown.contrast_limits = (0, max(float(np.percentile(spread, 99.5)), 1e-12))
            self.status.value = f"Done with the saved model {name} and its trust map (brighter: trust less)."

        return Job(steps=iter_augmentation_spread, args=(layer.data, lambda turned: iter_denoise(turned, **kwargs)),
                   kwargs={"channel_axis": kwargs["channel_axis"]},
                   description=f"Denoising (saved Noise2Void {name}, 8 flips/turns)", on_result=on_result)


def check_model_name(name):
    """Refuse a name that is no plain file name, or that a built-in method already has."""
    if name in (".", "..") or any(c in name for c in '/\\:*?"<>|'):
        raise ValueError(f"the model name {name!r} must be a plain file name (no / \\ : * ? \" < > |)")
    if name in CLASSICAL + FITTED:
        raise ValueError(f"{name!r} is a built-in method; name the model otherwise")


def finite_noise_estimate(image, channel_axis):
    """:func:`~napari_superres.denoise.estimate_noise`, or a ValueError where it gives no finite σ."""
    sigma = estimate_noise(image, channel_axis=channel_axis)
    if not math.isfinite(sigma):
        raise ValueError(f"the noise σ of this image cannot be estimated (got {sigma}); enter σ by hand")
    return sigma


def _iter_denoise_sigma(image, method, sigma, channel_axis):
    """:func:`~napari_superres.denoise.iter_denoise` that estimates σ first when it is None.

    In the worker: the estimate is a pass over the image. Returns ``(result, σ used)``.
    """
    if sigma is None:
        sigma = finite_noise_estimate(image, channel_axis)
    result = yield from iter_denoise(image, method=method, sigma=sigma, channel_axis=channel_axis)
    return result, sigma
