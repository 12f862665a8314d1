"""The shared task widget: reads a layer, runs a core generator in a worker and adds the result.

:class:`TaskWidget` holds what every task shares (layer choice, device, Run/Cancel,
progress, status, preview, result layer geometry); a task widget adds its own fields
and says, in a :class:`Job`, which generator to run and what to do with its result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, Label, ProgressBar, PushButton
from napari.layers import Image, Labels, Shapes
from napari.qt.threading import create_worker
from psygnal import SignalInstance
from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QComboBox, QSizePolicy

from .._fitting import FitStep
from .._progress import FitClock, format_duration
from ..device import PRECISIONS, available_devices
from ..provenance import provenance
from ..tiling import TileSizeWarning
from ..upscale import upscaled_geometry

if TYPE_CHECKING:
    import napari

# What the user sees when the input layer holds dask or zarr data: the result is a graph, not pixels yet.
LAZY_NOTE = ", computed block by block as you browse it (lazy: the input is dask or zarr)"
# What the core raises for input or settings it cannot process: the status says why, no traceback.
INPUT_ERRORS = (ValueError, TypeError, MemoryError)
# Below this many seconds of work done, an estimate of the time left is mostly noise (set-up, first tile).
ETA_AFTER_S = 2.0
# The running status is rewritten at most this often: a wrapping label relays the dock out each time, and a
# fit on a small image yields hundreds of steps a second.
STATUS_EVERY_S = 0.25
COMBO_CHARACTERS = 14  # a choice box shows this many characters of a layer's name; longer names are elided
SCROLLBAR_PX = 16  # room for the vertical scroll bar of a dock taller than the window
# Emitted when a model is imported or downloaded: every open task widget re-reads its method list.
models_changed = SignalInstance(())
DEVICE_TIP = ("Where the computation runs: 'auto' picks the fastest available (CUDA, Apple MPS, else the CPU). "
              "Interpolation and classical methods always run on the CPU.")
PRECISION_TIP = ("Arithmetic of the networks (learned models and fits): 'auto' uses bf16 where this CPU "
                 "(AVX512-BF16 or AMX) or GPU computes it fast, else fp32; bf16 moves a learned model's 8-bit "
                 "results by at most one level.")


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


class FitWidth(QObject):
    """Keeps a scroll area at least as wide as its widget: fields are not clipped, the dock scrolls vertically.

    The widget's minimum width is known once it is laid out (style, fonts, layer names), so it is read then.
    """

    def __init__(self, scroll_area):
        super().__init__(scroll_area)
        self._scroll_area = scroll_area

    def eventFilter(self, watched, event):  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.Show, QEvent.Type.LayoutRequest):
            self._scroll_area.setMinimumWidth(watched.minimumSizeHint().width() + SCROLLBAR_PX)
        return False


class TaskWidget(Container):
    """Layer in, worker, layer out. Subclasses set ``run_text`` and implement ``_job``.

    ``fields`` are shown; ``advanced`` fields (and the device) are folded under an
    "advanced options" box, so that a dock stays short; the dock scrolls when it is
    taller than the window.
    """

    run_text = "Run"
    precision_choice = False  # whether the task's networks take a precision (a row under the device)
    image_tip = "The Image layer to process; it is never changed: the result is a new layer."

    def __init__(self, viewer: napari.viewer.Viewer, fields=(), advanced=()):
        super().__init__(scrollable=True, labels=False)
        self._viewer = viewer
        self.worker = None
        self.preview_layer = None
        self._preview_of = None  # (source layer, method name, scale factor) of the running fit
        self._run_device = None  # the device field when the run started: what the result is labelled with
        self._stopped_text = ""
        self._started = None  # time.perf_counter() when the run's first step came: the origin of the ETA
        self._description = ""
        self.image = ComboBox(label="image", choices=self._image_layers, tooltip=self.image_tip)
        self.device = ComboBox(label="device", choices=["auto", *available_devices()], tooltip=DEVICE_TIP)
        self.show_advanced = CheckBox(text="advanced options", value=False,
                                      tooltip="Show the settings most runs leave as they are.")
        self.precision = ComboBox(label="precision", choices=list(PRECISIONS), tooltip=PRECISION_TIP)
        rows = [self.device, self.precision] if self.precision_choice else [self.device]
        self.advanced = Container(widgets=[*advanced, *rows], visible=False)
        self.run_button = PushButton(text=self.run_text, tooltip="Start; the result is added as a new layer.")
        self.cancel_button = PushButton(text="Cancel", enabled=False,
                                        tooltip="Stop the run; nothing is added and the input stays as it was.")
        self.progress = ProgressBar(label="progress", min=0, max=100, value=0,
                                    tooltip="The share of the work done in this run.")
        self.status = Label(value="", tooltip="What the run is doing, what it did, or why it cannot run.")
        # A long message wraps in the width the fields give, instead of widening the dock.
        self.status.native.setWordWrap(True)
        self.status.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # Fields with their labels; below them, buttons, bar and status use the dock's whole width.
        self.extend([Container(widgets=[self.image, *fields, self.show_advanced, self.advanced]), self.run_button,
                     self.cancel_button, self.progress, self.status])
        self._compact()
        self.show_advanced.changed.connect(lambda shown: setattr(self.advanced, "visible", shown))
        self.run_button.changed.connect(self.run)
        self.cancel_button.changed.connect(self.cancel)
        self._pick_only = ()  # optional layer fields filled when exactly one layer fits them
        for event in (viewer.layers.events.inserted, viewer.layers.events.removed):
            event.connect(self.reset_choices)
        models_changed.connect(self._models_changed)  # held weakly: a collected widget drops out
        viewer.layers.events.inserted.connect(self.pick_only_choices)

    @property
    def native(self):
        """The scroll area around the fields: napari docks ``native``, so a dock taller than the window scrolls."""
        return self.root_native_widget

    def _compact(self):
        """Fields at their natural height at the top, choice boxes that elide long layer names."""
        fields = self.root_native_widget.widget()
        fields.layout().addStretch()
        for combo in fields.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(COMBO_CHARACTERS)
        self._fit_width = FitWidth(self.root_native_widget)  # the dock never clips its fields
        fields.installEventFilter(self._fit_width)

    def _models_changed(self):
        try:
            self.reset_choices()
        except RuntimeError as err:  # a closed dock whose Python side outlives its Qt widgets
            if "has been deleted" not in str(err):
                raise

    def pick_only_choices(self, _event=None):
        """Fill each empty optional layer field (a mask, hints) whose choices hold exactly one layer."""
        for combo in self._pick_only:
            layers = [choice for choice in combo.choices if choice is not None]
            if combo.value is None and len(layers) == 1:
                combo.value = layers[0]

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
        self.progress.value = 0  # a refused run must not show the last run's 100 %
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
        self._started = None
        self._description = f"{job.description} on {layer.name}"
        self.status.value = f"{self._description}..."
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
        """Progress and time left from a fraction, or from a :class:`FitStep` (iteration, loss; maybe a preview)."""
        fraction = step.fraction if isinstance(step, FitStep) else step
        self.progress.value = round(100 * fraction)
        self._show_step(step, fraction)
        if not isinstance(step, FitStep):
            return
        if step.stopped:
            self._stopped_text = f"stopped early at iteration {step.iteration}"
        if step.estimate is not None:
            self._show_preview(step.estimate)

    def _show_step(self, step, fraction):
        """The status while running: a fit's iteration, loss and time left; other tasks' time left."""
        now = time.perf_counter()
        if self._started is None:  # the first step comes after the set-up (model loading): time from here
            self._started, self._start_fraction, self._clock = now, fraction, FitClock()
            self._status_at = now - STATUS_EVERY_S
            return
        if isinstance(step, FitStep):
            self._clock.tick(step)
        if now - self._status_at < STATUS_EVERY_S:
            return
        self._status_at = now
        if isinstance(step, FitStep):
            self.status.value = f"{self._description}: {self._clock.status(step)}"
            return
        left = eta_seconds(now - self._started, fraction - self._start_fraction, 1 - fraction)
        if left is not None:
            self.status.value = f"{self._description}: {format_duration(left)} left"

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
        self.progress.value = 0
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


def eta_seconds(elapsed, done, left):
    """Seconds still needed for ``left`` of the work when ``done`` of it took ``elapsed`` s; None while too early."""
    if elapsed < ETA_AFTER_S or done <= 0:
        return None
    return elapsed * left / done

