"""The Train dock widget: a Noise2Void model trained on a layer, its loss drawn live; Stop keeps the model.

The model is saved under its name in the user weights folder (a card with the
layer's pixel size and the training settings); every open widget lists it at once,
and the Denoise widget applies it to other stacks without training.
"""

from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

from magicgui.widgets import CheckBox, LineEdit, PushButton, SpinBox
from qtpy.QtCore import QPointF, Qt
from qtpy.QtGui import QColor, QPainter, QPen, QPolygonF
from qtpy.QtWidgets import QWidget

from .._fitting import FitStep
from ..models.registry import user_weights_dir
from ..noise2void import iter_fit_noise2void
from .base import Job, TaskWidget, models_changed
from .denoise import check_model_name

if TYPE_CHECKING:
    import napari

TIP_NAME = ("The model's name: it is saved under it in the user weights folder and appears in the Denoise "
            "widget's methods, to denoise other stacks of the same instrument in seconds.")
TIP_ITERATIONS = "Training steps; Stop ends sooner and keeps the model as trained so far."
TIP_VOLUMETRIC = "Train a 3D network on the stack's Z axis (slower; neighbouring slices help)."
TIP_DESCRIPTION = "What the data is (instrument, sample, channel): written in the model's card."
TIP_FEATURES = "Width of the U-Net: more learns finer structure, and costs time in proportion."
TIP_PATCH = "Side of the training patches, in pixels."
PLOT_HEIGHT = 150
SMOOTHING = 0.05  # weight of each new loss in the drawn running mean: a step's loss is one noisy batch


class LossPlot(QWidget):
    """The training loss against the iteration, drawn as it comes: each step in grey, the running mean in colour."""

    def __init__(self):
        super().__init__()
        self.setMinimumHeight(PLOT_HEIGHT)
        self.setToolTip("Training loss (mean squared error at the blind spots, in the data's standard deviations) "
                        "against the iteration; the bright line is its running mean.")
        self.points = []  # (iteration, loss)
        self.smoothed = []

    def add(self, iteration, loss):
        previous = self.smoothed[-1] if self.smoothed else loss
        self.points.append((iteration, loss))
        self.smoothed.append(previous + SMOOTHING * (loss - previous))
        self.update()

    def clear(self):
        self.points, self.smoothed = [], []
        self.update()

    def paintEvent(self, _event):  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(38, 41, 48))
        painter.setPen(QColor(200, 200, 200))
        if len(self.points) < 2:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "the loss appears here while training")
            return
        losses = [loss for _, loss in self.points]
        low, high = min(losses), max(losses)
        last = self.points[-1][0]
        margin, width, height = 6, self.width() - 12, self.height() - 30

        def at(iteration, loss):
            return QPointF(margin + width * iteration / last, margin + height * (high - loss) / (high - low or 1))

        painter.setPen(QPen(QColor(110, 110, 110), 1))
        painter.drawPolyline(QPolygonF([at(i, loss) for i, loss in self.points]))
        painter.setPen(QPen(QColor(255, 160, 60), 2))
        painter.drawPolyline(QPolygonF([at(i, s) for (i, _), s in zip(self.points, self.smoothed, strict=True)]))
        painter.setPen(QColor(220, 220, 220))
        painter.drawText(margin, self.height() - 8, f"iteration {last}: loss {self.smoothed[-1]:.3g}")


class TrainingWidget(TaskWidget):
    """A task widget that trains: a "Stop and keep" button under Cancel and the loss plot under the status."""

    run_text = "Train"

    def __init__(self, viewer, fields, advanced):
        self.stop_button = PushButton(text="Stop and keep", enabled=False,
                                      tooltip="End the training now and save the model as trained so far.")
        super().__init__(viewer, fields, advanced=advanced)
        self.plot = LossPlot()
        layout = self.root_native_widget.widget().layout()
        layout.insertWidget(layout.indexOf(self.cancel_button.native) + 1, self.stop_button.native)
        layout.insertWidget(layout.indexOf(self.status.native) + 1, self.plot)
        self.stop_button.changed.connect(self.stop)
        self._stop = threading.Event()

    def _start_training(self):
        """Reset the stop request and the plot for a new run; Stop is offered while it runs."""
        self._stop.clear()
        self.plot.clear()
        self.stop_button.enabled = True

    def stop(self):
        """End the training at the next step, keeping the model as trained so far."""
        self._stop.set()
        self.stop_button.enabled = False
        self.status.value = "Stopping: saving the model as trained so far..."

    def _on_yielded(self, step):
        super()._on_yielded(step)
        if isinstance(step, FitStep):
            self.plot.add(step.iteration, step.loss)

    def _finished(self):
        super()._finished()
        self.stop_button.enabled = False


class TrainWidget(TrainingWidget):
    """Train a Noise2Void model on an Image layer and save it under a name; Stop keeps it as trained so far."""

    image_tip = "The noisy layer to learn from (no clean data needed); it is never changed."

    def __init__(self, viewer: napari.viewer.Viewer):
        self.model_name = LineEdit(label="model name", value="", tooltip=TIP_NAME)
        self.iterations = SpinBox(label="iterations", value=1500, min=1, max=1_000_000, step=100,
                                  tooltip=TIP_ITERATIONS)
        self.volumetric = CheckBox(label="3D (train on volumes)", value=False, tooltip=TIP_VOLUMETRIC)
        self.description = LineEdit(label="data", value="", tooltip=TIP_DESCRIPTION)
        self.features = SpinBox(label="features", value=16, min=1, max=256, tooltip=TIP_FEATURES)
        self.patch_size = SpinBox(label="patch size", value=64, min=5, max=1024, tooltip=TIP_PATCH)
        super().__init__(viewer, [self.model_name, self.iterations, self.volumetric, self.description],
                         advanced=[self.features, self.patch_size])

    def _channel_axis(self, layer):
        return -1 if layer.rgb else None

    def _job(self, layer):
        name = self.model_name.value.strip()
        if not name:
            raise ValueError("give the model a name: it is saved under it")
        check_model_name(name)
        units = ", ".join(str(unit) for unit in layer.units[-2:])
        info = {"pixel_size": [float(side) for side in layer.scale[-2:]],
                "description": f"{self.description.value} (pixel size in {units})".strip()}
        options = {"iterations": self.iterations.value, "volumetric": self.volumetric.value,
                   "features": self.features.value, "patch_size": self.patch_size.value, "device": self._device(),
                   "channel_axis": self._channel_axis(layer), "save_to": str(user_weights_dir() / name),
                   "save_info": info}
        self._start_training()
        self._preview_of = (layer, "Noise2Void", 1)

        def on_result(result):
            models_changed.emit()  # every open widget lists the model now
            kept = f"Model {name!r} saved: pick it as the Denoise widget's method to denoise other stacks."
            if result is None:
                done = self.plot.points[-1][0] if self.plot.points else 0
                self.status.value = f"Stopped at iteration {done}. {kept}"
                return
            self._add_result(layer, result, f"{layer.name} ({name} training result)",
                             {"task": "denoise", "method": "n2v", "saved_as": name,
                              **{k: v for k, v in options.items() if k not in ("save_info", "channel_axis")}})
            self.status.value = f"Done: all iterations. {kept}"

        return Job(steps=iter_train_until_stopped, args=(layer.data, self._stop), kwargs=options,
                   description=f"Training Noise2Void model {name}", on_result=on_result)


def iter_train_until_stopped(image, stop, **options):
    """:func:`~napari_superres.noise2void.iter_fit_noise2void` that ends when ``stop`` is set, saving the model.

    Returns the denoised image, or None when stopped (the model is saved either way).
    Closing this generator (the Cancel button) ends the fit without keeping its network.
    """
    steps = iter_fit_noise2void(image, save_on_stop=True, **options)
    try:
        while not stop.is_set():
            try:
                step = next(steps)
            except StopIteration as done:
                return done.value
            yield step
    except GeneratorExit:
        with contextlib.suppress(Discarded):
            steps.throw(Discarded())  # not a close(): that would save it
        raise
    steps.close()  # here, in the worker: saves the network as trained so far
    return None


class Discarded(Exception):
    """Thrown into a fit that is cancelled: it ends without saving its network."""
