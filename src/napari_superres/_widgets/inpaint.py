"""The Inpaint dock widget: missing pixels from a Labels/Shapes layer or from the image (NaN, a value)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, LineEdit, SpinBox

from ..dip import TASK_DEFAULTS
from ..inpaint import LARGE_HOLE_DEPTH, available_inpainters, default_large_hole_method, iter_inpaint
from .base import InWorker, Job, TaskWidget
from .layers import mask_maker

if TYPE_CHECKING:
    import napari


TIP_MASK = ("The Labels or Shapes layer marking the missing pixels (every non-zero label, every drawn shape). "
            "None: the pixels equal to 'missing value' are filled.")
TIP_MISSING = "Without a mask: the value that marks missing pixels (a number, or nan)."
TIP_METHOD = ("auto: per hole, biharmonic for thin or scattered holes, and for large ones biharmonic averaged with "
              "the 'large holes' method; biharmonic: smooth fill, a second for small holes; learned models: "
              "texture, a second per megapixel; dip: fits Deep Image Prior, minutes (the time left is shown).")
TIP_LARGE = (f"auto: what fills holes at least {LARGE_HOLE_DEPTH:g} pixels deep (strokes, boxes): a trained network "
             "(a second), dip (minutes, when you can wait), or biharmonic.")
TIP_ITERATIONS = "dip: optimisation steps; the run time grows in proportion."
TIP_PREVIEW = "dip: every this many iterations, show the current fill in a preview layer (0: never)."


class InpaintWidget(TaskWidget):
    """Fill the missing pixels of an Image layer into a new layer; known pixels are kept exactly."""

    run_text = "Inpaint"

    def __init__(self, viewer: napari.viewer.Viewer):
        self.mask = ComboBox(label="mask", nullable=True, tooltip=TIP_MASK)
        self.missing_value = LineEdit(label="missing value", value="nan", tooltip=TIP_MISSING)
        self.method = ComboBox(label="method", choices=lambda _widget: list(available_inpainters()), value="auto",
                               tooltip=TIP_METHOD)
        self.large_holes = ComboBox(label="large holes", choices=self._large_hole_methods,
                                    value=default_large_hole_method(), tooltip=TIP_LARGE)
        self.iterations = SpinBox(label="iterations", value=TASK_DEFAULTS["inpaint"]["iterations"], min=1,
                                  max=100_000, step=100, tooltip=TIP_ITERATIONS)
        self.preview_every = SpinBox(label="preview every", value=100, min=0, max=100_000, tooltip=TIP_PREVIEW)
        super().__init__(viewer, [self.mask, self.method, self.large_holes, self.iterations],
                         advanced=[self.missing_value, self.preview_every])
        self.mask.choices = self._mask_layers  # needs the viewer, so after the base init
        self._pick_only = (self.mask,)
        self.pick_only_choices()
        self.method.changed.connect(self._method_changed)
        self.large_holes.changed.connect(self._method_changed)
        self._method_changed()

    @staticmethod
    def _large_hole_methods(_widget=None):
        return [m for m in available_inpainters() if m != "auto"]

    def _fit_method(self):
        """The method whose settings apply: the large holes' under auto."""
        return self.large_holes.value if self.method.value == "auto" else self.method.value

    def _method_changed(self):
        self.large_holes.visible = self.method.value == "auto"
        for field in (self.iterations, self.preview_every):
            field.visible = self._fit_method() == "dip"

    def _job(self, layer):
        method = self.method.value
        kwargs = {"channel_axis": -1 if layer.rgb else None}
        if self.mask.value is not None:
            kwargs["mask"] = InWorker(mask_maker(self.mask.value, layer))
            source = self.mask.value.name
        else:
            try:
                kwargs["missing_value"] = float(self.missing_value.value)
            except ValueError:
                raise ValueError(
                    f"the missing value must be a number or nan, got {self.missing_value.value!r}") from None
            source = f"pixels equal to {self.missing_value.value}"
        if method == "auto":
            kwargs["large_holes"] = self.large_holes.value
        if self._fit_method() == "dip":
            kwargs.update(iterations=self.iterations.value, preview_every=self.preview_every.value,
                          device=self._device())
            self._preview_of = (layer, "DIP", 1)
        elif self._fit_method() != "biharmonic":  # a trained network
            kwargs["device"] = self._device()
        settings = {k: v for k, v in kwargs.items() if k not in ("mask", "channel_axis")}

        def on_result(result):
            self._add_result(layer, result, f"{layer.name} ({method} inpaint)",
                             {"task": "inpaint", "method": method, "mask": source, **settings})
            self.progress.value = 100
            self.status.value = f"Done: filled the pixels of {source}."

        return Job(steps=iter_inpaint, args=(layer.data,), kwargs={"method": method, **kwargs},
                   description=f"Inpainting ({method})", on_result=on_result)
