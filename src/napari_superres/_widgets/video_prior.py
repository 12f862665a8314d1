"""The Deep Video Prior dock widget: a stack and its frame-by-frame result in, the result without flicker out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, SpinBox

from ..video_prior import iter_fit_video_prior
from .base import Job, TaskWidget

if TYPE_CHECKING:
    import napari


class VideoPriorWidget(TaskWidget):
    """Fit one network from the frames of ``image`` to those of ``processed``; add its output as a layer."""

    run_text = "Remove flicker"

    def __init__(self, viewer: napari.viewer.Viewer):
        self.processed = ComboBox(label="processed frame by frame")
        self.epochs = SpinBox(label="epochs", value=25, min=1, max=1000)
        self.preview_every = SpinBox(label="preview every", value=0, min=0, max=100_000)
        super().__init__(viewer, [self.processed, self.epochs, self.preview_every])
        self.processed.choices = self._image_layers  # needs the viewer, so after the base init

    def _job(self, layer):
        processed = self.processed.value
        if processed is None or processed is layer:
            raise ValueError("pick the frame-by-frame result of the stack as 'processed'")
        if processed.rgb and not layer.rgb:
            raise ValueError("a gray stack and a colour result: give the stack a colour axis first")
        options = {"epochs": self.epochs.value, "preview_every": self.preview_every.value, "device": self._device()}
        self._preview_of = (processed, "video prior", 1)

        def on_result(result):
            self._add_result(processed, result, f"{processed.name} (video prior)",
                             {"task": "video prior", "method": "deep video prior", "frames": layer.name,
                              **options})
            self.status.value = "Done."

        kwargs = {"channel_axis": -1 if layer.rgb else None, **options}
        return Job(steps=iter_fit_video_prior, args=(layer.data, processed.data), kwargs=kwargs,
                   description="Fitting Deep Video Prior", on_result=on_result)
