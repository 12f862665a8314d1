"""The Deep Image Prior dock widget: fits in a worker, shows the estimate live in a preview layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox

from ..dip import NETWORKS, TASK_DEFAULTS, TASKS, iter_fit_dip
from .base import InWorker, Job, TaskWidget
from .layers import mask_maker

if TYPE_CHECKING:
    import napari


class DIPWidget(TaskWidget):
    """Denoise, inpaint or super-resolve an Image layer with Deep Image Prior."""

    run_text = "Fit"

    def __init__(self, viewer: napari.viewer.Viewer):
        self.task = ComboBox(label="task", choices=list(TASKS), value="denoise")
        self.mask = ComboBox(label="mask (Labels/Shapes)", nullable=True)
        self.scale = SpinBox(label="scale", value=4, min=2, max=8)
        self.network = ComboBox(label="network", choices=list(NETWORKS), value="fast")
        self.iterations = SpinBox(label="iterations", value=3000, min=1, max=100_000, step=100)
        self.learning_rate = FloatSpinBox(label="learning rate", value=0.01, min=1e-5, max=1.0, step=0.001)
        self.early_stopping = CheckBox(label="early stopping", value=True)
        self.preview_every = SpinBox(label="preview every", value=25, min=1, max=10_000)
        super().__init__(viewer, [self.task, self.mask, self.scale, self.network, self.iterations,
                                  self.learning_rate, self.early_stopping, self.preview_every])
        self.mask.choices = self._mask_layers  # needs the viewer, so after the base init
        self.task.changed.connect(self._task_changed)
        self._task_changed()

    def _task_changed(self):
        task = self.task.value
        self.mask.visible = task == "inpaint"
        self.scale.visible = task == "super-resolve"
        self.iterations.value = TASK_DEFAULTS[task]["iterations"]
        self.early_stopping.value = TASK_DEFAULTS[task]["early_stopping"]

    def _job(self, layer):
        task, factor = self.task.value, (self.scale.value if self.task.value == "super-resolve" else 1)
        kwargs = {
            "channel_axis": -1 if layer.rgb else None,
            "iterations": self.iterations.value,
            "learning_rate": self.learning_rate.value,
            "network": self.network.value,
            "early_stopping": self.early_stopping.value,
            "preview_every": self.preview_every.value,
            "device": self._device(),
        }
        if task == "inpaint":
            if self.mask.value is None:
                raise ValueError("Inpainting needs a mask: add a Labels or Shapes layer over the missing pixels.")
            kwargs["mask"] = InWorker(mask_maker(self.mask.value, layer))
        if task == "super-resolve":
            kwargs["scale"] = factor
        self._preview_of = (layer, "DIP", factor)
        settings = {k: v for k, v in kwargs.items() if k not in ("mask", "channel_axis")}

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} (DIP {task})",
                             {"task": f"dip-{task}", "method": "deep image prior", **settings}, factor)
            self.progress.value = 100  # early stopping ends before the iteration budget
            self.status.value = f"Done: {result.shape}, {self._stopped_text}."

        self._stopped_text = "ran all iterations"
        return Job(steps=iter_fit_dip, args=(layer.data, task), kwargs=kwargs, description=f"Fitting DIP ({task})",
                   on_result=on_result)
