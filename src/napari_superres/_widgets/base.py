"""The shared task widget: reads a layer, runs a core generator in a worker and adds the result.

:class:`TaskWidget` holds what every task shares (layer choice, device, Run/Cancel,
progress, status, preview, result layer geometry); a task widget adds its own fields
and says, in a :class:`Job`, which generator to run and what to do with its result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, ProgressBar, PushButton
from napari.layers import Image, Labels, Shapes
from napari.qt.threading import create_worker

from .._fitting import FitStep
from ..device import available_devices
from ..provenance import provenance
from ..tiling import TileSizeWarning
from ..upscale import upscaled_geometry

if TYPE_CHECKING:
    import napari

# What the user sees when the input layer holds dask or zarr data: the result is a graph, not pixels yet.
LAZY_NOTE = ", computed block by block as you browse it (lazy: the input is dask or zarr)"
# What the core raises for input or settings it cannot process: the status says why, no traceback.
INPUT_ERRORS = (ValueError, TypeError, MemoryError)


class InWorker:
    """A job argument that ``make()`` makes in the worker: too slow for the GUI thread (e.g. filling shapes)."""

    def __init__(self, make):
        self.make = make


@dataclass(frozen=True, kw_only=True)
class Job:
    """One run of a task widget, as the widget hands it to :class:`TaskWidget`.

    Attributes
    ----------
    steps : callable
        Generator function of the core (e.g. :func:`~napari_superres.upscale.iter_upscale`).
        The worker calls ``steps(*args, **kwargs)``, so that the input checks and any
        heavy set-up happen off the GUI thread.
    args, kwargs : tuple, dict
        Its arguments; an :class:`InWorker` among them is made in the worker first.
    description : str
        What the status says while it runs ("Running bicubic x4"); " on <layer>..." is appended.
    on_result : callable
        ``on_result(result)``, on the GUI thread: adds the result layer and says it is done.
        It closes over the run's settings, so changing the fields mid-run does not mislabel the result.
    """

    steps: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    description: str
    on_result: Callable[[Any], Any]


def _start_and_relay(job):
    """The body of a run's worker: make the :class:`InWorker` arguments, create the job's generator, run it.

    Creating the generator checks the input and may do heavy set-up (load a dask
    layer, estimate σ, load a model): here, off the GUI thread, so the window stays responsive.
    """
    args = [a.make() if isinstance(a, InWorker) else a for a in job.args]
    kwargs = {k: v.make() if isinstance(v, InWorker) else v for k, v in job.kwargs.items()}
    steps = job.steps(*args, **kwargs)
    yield 0.0  # Cancel acts here, after the set-up and before the first block
    return (yield from steps)


class TaskWidget(Container):
    """Layer in, worker, layer out. Subclasses set ``run_text`` and implement ``_job``."""

    run_text = "Run"

    def __init__(self, viewer: napari.viewer.Viewer, fields=()):
        super().__init__()
        self._viewer = viewer
        self.worker = None
        self.preview_layer = None
        self._preview_of = None  # (source layer, method name, scale factor) of the running fit
        self._run_device = None  # the device field when the run started: what the result is labelled with
        self._stopped_text = ""
        self.image = ComboBox(label="image", choices=self._image_layers)
        self.device = ComboBox(label="device", choices=["auto", *available_devices()])
        self.run_button = PushButton(text=self.run_text)
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.progress = ProgressBar(label="progress", min=0, max=100, value=0)
        self.status = Label(value="")
        self.extend([self.image, *fields, self.device, self.run_button, self.cancel_button, self.progress,
                     self.status])
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.reset_choices)

    def _image_layers(self, _widget=None):
        return [(layer.name, layer) for layer in self._viewer.layers if isinstance(layer, Image)]

    def _mask_layers(self, _widget=None):
        """Choices of a mask field: the Labels and Shapes layers of the viewer."""
        return [(layer.name, layer) for layer in self._viewer.layers if isinstance(layer, (Labels, Shapes))]

    def _device(self):
        return None if self.device.value == "auto" else self.device.value

    def _ready(self):
        """Whether the current choices can run (subclasses add their checks)."""
        return True

    def _check_choices(self):
        self.run_button.enabled = self._ready() and self.worker is None

    def run(self):
        if self.worker is not None:
            self.status.value = "Already running: wait for it to finish or press Cancel."
            return
        layer = self.image.value
        if layer is None:
            self.status.value = "Open or select an image layer first."
            return
        if layer.multiscale:
            self.status.value = "Multiscale layers are not supported yet; use the full-resolution level."
            return
        self._run_device = self._device()
        try:
            job = self._job(layer)  # reads the fields: quick
        except INPUT_ERRORS as err:
            self.status.value = f"Failed: {err}"
            return
        worker = create_worker(_start_and_relay, job, _connect={"errored": self._on_errored}, _start_thread=False)
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(job.on_result)
        worker.returned.connect(lambda _: setattr(self.progress, "value", 100))
        worker.warned.connect(self._on_warned)
        worker.aborted.connect(lambda: setattr(self.status, "value", "Cancelled."))
        worker.finished.connect(self._finished)
        self.worker = worker
        self.progress.value = 0
        self.status.value = f"{job.description} on {layer.name}..."
        self.run_button.enabled = False
        self.cancel_button.enabled = True
        worker.start()

    def cancel(self):
        if self.worker is not None:
            self.worker.quit()

    def _finished(self):
        if self.preview_layer is not None and self.preview_layer in self._viewer.layers:
            self._viewer.layers.remove(self.preview_layer)
        self.preview_layer = None
        self.worker = None
        self.cancel_button.enabled = False
        self.run_button.enabled = self._ready()

    def _job(self, layer):
        """The :class:`Job` of a run on ``layer``.

        This runs on the GUI thread: it only reads the fields and the layer, raising
        ValueError for choices that cannot run.
        """
        raise NotImplementedError

    def _on_yielded(self, step):
        """Progress from a fraction, or from a :class:`FitStep` that may carry a preview."""
        if not isinstance(step, FitStep):
            self.progress.value = round(100 * step)
            return
        self.progress.value = round(100 * step.fraction)
        if step.stopped:
            self._stopped_text = f"stopped early at iteration {step.iteration}"
        if step.estimate is not None:
            self._show_preview(step.estimate)

    def _show_preview(self, estimate):
        """Show the current estimate of a fit in one layer, replaced at each preview, removed at the end."""
        if self.preview_layer is not None and self.preview_layer in self._viewer.layers:
            self.preview_layer.data = estimate
            return
        layer, name, factor = self._preview_of
        self.preview_layer = self._add_layer(layer, estimate, f"{layer.name} ({name} preview)",
                                             {"task": "preview", "method": name}, factor)

    def _on_errored(self, err):
        self.status.value = f"Failed: {err}"
        if not isinstance(err, INPUT_ERRORS):  # a bug, not the input: napari shows its traceback
            raise err

    def _on_warned(self, showwarning_args):
        message, category = showwarning_args[:2]
        if issubclass(category, TileSizeWarning):  # the user should know why it got slower
            self.status.value = f"{message}..."

    def _add_result(self, layer, data, name, metadata, factor=1, rgb=None):
        """Add a run's result as a new layer whose metadata say how it was made.

        ``metadata`` holds ``task``, ``method`` and the run's settings; the record of
        :func:`~napari_superres.provenance.provenance` is added to them.
        """
        settings = {k: v for k, v in metadata.items() if k not in ("task", "method", "scale", "device")}
        record = provenance(metadata["task"], metadata.get("method"), scale=factor, device=self._run_device,
                            **settings)
        return self._add_layer(layer, data, name, {**metadata, **record}, factor, rgb)

    def _add_layer(self, layer, data, name, metadata, factor=1, rgb=None):
        """Add ``data`` as a new image layer overlaying ``layer``.

        ``factor``: how many times the two last axes were enlarged, or one factor per axis of the layer.
        ``rgb``: whether ``data`` holds colours (default: as ``layer``).
        """
        rgb = layer.rgb if rgb is None else rgb
        factors = [1] * (layer.ndim - 2) + [factor] * 2 if np.ndim(factor) == 0 else list(factor)
        scale, translate = upscaled_geometry(layer.scale, layer.translate, np.asarray(factors, dtype=float))
        kwargs = {} if rgb else {"colormap": layer.colormap, "contrast_limits": layer.contrast_limits}
        return self._viewer.add_image(
            data,
            name=name,
            scale=scale,
            translate=translate,
            rgb=rgb,
            units=layer.units,
            axis_labels=layer.axis_labels,
            metadata={"napari_superres": {**metadata, "source": layer.name}},
            **kwargs,
        )
