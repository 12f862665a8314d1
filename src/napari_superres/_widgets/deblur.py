"""The Deblur / JPEG dock widget: a trained blind model or a deconvolution by a known blur; JPEG artefact removal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, FloatSpinBox

from ..blur import BLURS, make_kernel
from ..deblur import CLASSICAL, available_deblurrers, iter_deblur
from ..jpeg import available_jpeg_methods, iter_remove_jpeg_artifacts
from .base import Job, TaskWidget

if TYPE_CHECKING:
    import napari

TASKS = {"deblur": (available_deblurrers, iter_deblur), "JPEG artefacts": (available_jpeg_methods,
                                                                             iter_remove_jpeg_artifacts)}
TIP_TASK = "deblur: undo Gaussian (out of focus) or motion blur; JPEG artefacts: remove blocks and ringing."
TIP_METHOD = ("A trained model (blind: it needs no blur setting), or richardson-lucy / wiener, deconvolutions by the "
              "blur set below. Deep Image Prior, slower, is in its own widget.")
TIP_BLUR = "Richardson-Lucy and Wiener: the blur to undo, a Gaussian (out of focus) or a straight motion."
TIP_BLUR_SIZE = "The Gaussian's σ, or the motion's length, in pixels."
TIP_ANGLE = "The motion's direction in degrees, counter-clockwise from the X axis."


class DeblurWidget(TaskWidget):
    """Deblur an Image layer, or remove its JPEG artefacts, into a new layer."""

    run_text = "Restore"
    precision_choice = True

    def __init__(self, viewer: napari.viewer.Viewer):
        self.task = ComboBox(label="task", choices=list(TASKS), value="deblur", tooltip=TIP_TASK)
        self.method = ComboBox(label="method", choices=self._methods, tooltip=TIP_METHOD)
        self.blur = ComboBox(label="blur", choices=list(BLURS), value="gaussian", tooltip=TIP_BLUR)
        self.blur_size = FloatSpinBox(label="blur size", value=2.0, min=0.3, max=60.0, step=0.1, tooltip=TIP_BLUR_SIZE)
        self.angle = FloatSpinBox(label="motion angle", value=0.0, min=-180.0, max=180.0, step=5.0, tooltip=TIP_ANGLE)
        super().__init__(viewer, [self.task, self.method, self.blur, self.blur_size, self.angle])
        for field in (self.task, self.method, self.blur):
            field.changed.connect(self._fields_changed)
        self._fields_changed()

    def _methods(self, _widget=None):
        """The task's methods, DIP left to its own widget (it needs a preview and early stopping)."""
        return [name for name in TASKS[self.task.value][0]() if name != "dip"]

    def _fields_changed(self):
        if self.method.value not in self._methods():
            self.method.reset_choices()
        known_blur = self.method.value in CLASSICAL
        self.blur.visible = self.blur_size.visible = known_blur
        self.angle.visible = known_blur and self.blur.value == "motion"
        self._check_choices()

    def _ready(self):
        return bool(self.method.value)

    def _job(self, layer):
        if not self.method.value:
            raise ValueError(f"no {self.task.value} method is installed (weights/dncnn_*.json)")
        task, method = self.task.value, self.method.value
        kwargs = {"method": method, "channel_axis": -1 if layer.rgb else None}
        settings = {}
        if method in CLASSICAL:
            kwargs["kernel"] = make_kernel(self.blur.value, self.blur_size.value, self.angle.value)
            settings = {"blur": self.blur.value, "blur_size": self.blur_size.value}
            settings.update({"angle": self.angle.value} if self.blur.value == "motion" else {})
        else:
            kwargs.update(device=self._device(), precision=self.precision.value)

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({method})",
                             {"task": "deblur" if task == "deblur" else "jpeg", "method": method, **settings})
            self.status.value = f"Done: {result.shape}."

        return Job(steps=TASKS[task][1], args=(layer.data,), kwargs=kwargs, description=f"{task} with {method}",
                   on_result=on_result)
