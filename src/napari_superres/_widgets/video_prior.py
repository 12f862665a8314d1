"""The Deep Video Prior dock widget: a stack and its frame-by-frame result in, the result without flicker out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, SpinBox

from ..video_prior import iter_fit_video_prior
from .base import Job, TaskWidget

if TYPE_CHECKING:
    import napari


TIP_PROCESSED = ("The stack after a frame-by-frame processing (e.g. denoised or colorized plane by plane), same "
                 "frames as 'image': the result keeps its look without the flicker between frames.")
TIP_EPOCHS = "Passes over all frames while fitting: the run time grows in proportion (the time left is shown)."
TIP_PREVIEW = "Every this many iterations, show the current result in a preview layer (0: never)."


class VideoPriorWidget(TaskWidget):
    """Fit one network from the frames of ``image`` to those of ``processed``; add its output as a layer."""

    run_text = "Remove flicker"
    precision_choice = True
    image_tip = "The original stack (frames along the first axis), before the frame-by-frame processing."

    def __init__(self, viewer: napari.viewer.Viewer):
        self.processed = ComboBox(label="processed", tooltip=TIP_PROCESSED)
        self.epochs = SpinBox(label="epochs", value=25, min=1, max=1000, tooltip=TIP_EPOCHS)
        self.preview_every = SpinBox(label="preview every", value=0, min=0, max=100_000, tooltip=TIP_PREVIEW)
        super().__init__(viewer, [self.processed, self.epochs], advanced=[self.preview_every])
        self.processed.choices = self._image_layers  # needs the viewer, so after the base init
        for field in (self.image, self.processed):
            field.changed.connect(self._check_choices)
        self._pick_distinct()
        viewer.layers.events.inserted.connect(self._pick_distinct)

    def _pick_distinct(self, _event=None):
        """Never start with one layer in both fields: 'processed' takes the newest other layer, if any."""
        if self.processed.value is not self.image.value or self.image.value is None:
            return
        others = [layer for layer in self.processed.choices if layer is not self.image.value]
        if others:
            self.processed.value = others[-1]
        self._check_choices()

    def _ready(self):
        return self.image.value is not None and self.processed.value is not self.image.value

    def _check_choices(self):
        super()._check_choices()
        if self.worker is None:
            self.status.value = "" if self._ready() else "Pick the stack and, as 'processed', its per-frame result."

    def _job(self, layer):
        processed = self.processed.value
        if processed is None or processed is layer:
            raise ValueError("pick the frame-by-frame result of the stack as 'processed'")
        if processed.rgb and not layer.rgb:
            raise ValueError("a gray stack and a colour result: give the stack a colour axis first")
        options = {"epochs": self.epochs.value, "preview_every": self.preview_every.value, "device": self._device(),
                   "precision": self.precision.value}
        self._preview_of = (processed, "video prior", 1)

        def on_result(result):
            self._add_result(processed, result, f"{processed.name} (video prior)",
                             {"task": "video prior", "method": "deep video prior", "frames": layer.name,
                              **options})
            self.status.value = "Done."

        kwargs = {"channel_axis": -1 if layer.rgb else None, **options}
        return Job(steps=iter_fit_video_prior, args=(layer.data, processed.data), kwargs=kwargs,
                   description="Fitting Deep Video Prior", on_result=on_result)
