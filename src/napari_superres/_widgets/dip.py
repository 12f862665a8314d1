"""The Deep Image Prior dock widget: fits in a worker, shows the estimate live in a preview layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, SpinBox

from ..blur import BLURS, make_kernel
from ..dip import NETWORKS, TASK_DEFAULTS, TASKS, iter_fit_dip
from .base import InWorker, Job, TaskWidget
from .layers import mask_maker

if TYPE_CHECKING:
    import napari


TIP_TASK = ("denoise: the fit stops before it learns the noise; inpaint: fills the pixels under the mask; "
            "super-resolve: an image whose downscaled version matches this one; deblur: an image which, blurred "
            "by the blur set below, matches this one.")
TIP_BLUR = "Deblur: the blur to undo, a Gaussian (out of focus) or a straight motion."
TIP_BLUR_SIZE = "Deblur: the Gaussian's σ, or the motion's length, in pixels."
TIP_ANGLE = "Deblur: the motion's direction in degrees, counter-clockwise from the X axis."
TIP_MASK = "Inpaint: the Labels or Shapes layer whose labelled or drawn pixels are missing and get filled."
TIP_SCALE = "Super-resolve: how many times the image grows along Y and X."
TIP_NETWORK = "The network fitted: 'fast' (fewer features, some times quicker) or the original hourglass."
TIP_ITERATIONS = ("Upper bound on the optimisation steps: the run time grows in proportion (the status shows the "
                  "time left); early stopping may end sooner.")
TIP_RATE = "Adam's step size: larger fits faster but may diverge (the loss grows)."
TIP_EARLY = "Stop when the estimate stops improving (denoise: before the network learns the noise)."
TIP_PREVIEW = "Every this many iterations, show the current estimate in a preview layer (each costs a forward pass)."


class DIPWidget(TaskWidget):
    """Denoise, inpaint, super-resolve or deblur an Image layer with Deep Image Prior."""

    run_text = "Fit"
    precision_choice = True

    def __init__(self, viewer: napari.viewer.Viewer):
        self.task = ComboBox(label="task", choices=list(TASKS), value="denoise", tooltip=TIP_TASK)
        self.mask = ComboBox(label="mask", nullable=True, tooltip=TIP_MASK)
        self.scale = SpinBox(label="scale", value=4, min=2, max=8, tooltip=TIP_SCALE)
        self.blur = ComboBox(label="blur", choices=list(BLURS), value="gaussian", tooltip=TIP_BLUR)
        self.blur_size = FloatSpinBox(label="blur size", value=2.0, min=0.3, max=60.0, step=0.1, tooltip=TIP_BLUR_SIZE)
        self.angle = FloatSpinBox(label="motion angle", value=0.0, min=-180.0, max=180.0, step=5.0, tooltip=TIP_ANGLE)
        self.network = ComboBox(label="network", choices=list(NETWORKS), value="fast", tooltip=TIP_NETWORK)
        self.iterations = SpinBox(label="iterations", value=3000, min=1, max=100_000, step=100,
                                  tooltip=TIP_ITERATIONS)
        self.learning_rate = FloatSpinBox(label="learning rate", value=0.01, min=1e-5, max=1.0, step=0.001,
                                          tooltip=TIP_RATE)
        self.early_stopping = CheckBox(label="early stopping", value=True, tooltip=TIP_EARLY)
        self.preview_every = SpinBox(label="preview every", value=25, min=1, max=10_000, tooltip=TIP_PREVIEW)
        super().__init__(viewer, [self.task, self.mask, self.scale, self.blur, self.blur_size, self.angle,
                                  self.iterations, self.early_stopping],
                         advanced=[self.network, self.learning_rate, self.preview_every])
        self.mask.choices = self._mask_layers  # needs the viewer, so after the base init
        self._pick_only = (self.mask,)
        self.pick_only_choices()
        self.task.changed.connect(self._task_changed)
        self.blur.changed.connect(self._task_changed)
        self._task_changed()

    def _task_changed(self):
        task = self.task.value
        self.mask.visible = task == "inpaint"
        self.scale.visible = task == "super-resolve"
        self.blur.visible = self.blur_size.visible = task == "deblur"
        self.angle.visible = task == "deblur" and self.blur.value == "motion"
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
            "precision": self.precision.value,
        }
        if task == "inpaint":
            if self.mask.value is None:
                raise ValueError("Inpainting needs a mask: add a Labels or Shapes layer over the missing pixels.")
            kwargs["mask"] = InWorker(mask_maker(self.mask.value, layer))
        if task == "super-resolve":
            kwargs["scale"] = factor
        if task == "deblur":
            kwargs["kernel"] = make_kernel(self.blur.value, self.blur_size.value, self.angle.value)
        self._preview_of = (layer, "DIP", factor)
        settings = {k: v for k, v in kwargs.items() if k not in ("mask", "channel_axis", "kernel")}
        if task == "deblur":
            settings.update(blur=self.blur.value, blur_size=self.blur_size.value)
            settings.update({"angle": self.angle.value} if self.blur.value == "motion" else {})

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} (DIP {task})",
                             {"task": f"dip-{task}", "method": "deep image prior", **settings}, factor)
            self.progress.value = 100  # early stopping ends before the iteration budget
            self.status.value = f"Done: {result.shape}, {self._stopped_text}."

        self._stopped_text = "ran all iterations"
        return Job(steps=iter_fit_dip, args=(layer.data, task), kwargs=kwargs, description=f"Fitting DIP ({task})",
                   on_result=on_result)
