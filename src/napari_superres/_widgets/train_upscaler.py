"""The Train (super-resolution) dock widget: an upscaler trained on a folder of photographs, its loss drawn live.

The run lives in a folder of its own under the user data folder, so a run stopped
or cancelled resumes where it was when started again under the same name. When
it ends (or Stop is pressed) the model goes into the user weights folder with its
card, every open widget lists it at once, and it is tried on the chosen layer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, FileEdit, LineEdit, SpinBox

from ..models.catalog import CONTRACTS
from ..models.registry import ARCHITECTURES, user_weights_dir
from ..train import TrainConfig, export_model
from ..train.loop import iter_train
from ..upscale import upscale
from .base import Job, models_changed
from .denoise import check_model_name
from .train import TrainingWidget

if TYPE_CHECKING:
    import napari

UPSCALERS = tuple(name for name in ARCHITECTURES if CONTRACTS[name].task == "upscale")
SCALES = (2, 3, 4, 8)
TIP_NAME = ("The model's name: it appears under it in the Super-resolution widget's methods. Training again "
            "under the same name resumes the run.")
TIP_ARCHITECTURE = ("The network: espcn and fsrcnn train in minutes and run fast; edsr and the larger ones learn "
                    "more and cost more per step.")
TIP_SCALE = "The enlargement the model learns."
TIP_FOLDER = ("A folder of high-resolution photographs (PNG, JPEG, TIFF); training pairs are made by shrinking "
              "crops of them with MATLAB's bicubic, as the published models were.")
TIP_VALIDATION = ("Optional: a folder of other photographs. The weights that score best on them are kept; without "
                  "it, the last weights are.")
TIP_STEPS = "Training steps (batches); Stop ends sooner and keeps the model as trained so far."
TIP_BATCH = "Crops per step: more is smoother and costs time in proportion."
TIP_PATCH = "Side of the low-resolution training crops, in pixels."


def runs_dir():
    """Where the widget's training runs live (checkpoints, logs): the ``runs`` folder beside the user weights."""
    return user_weights_dir().parent / "runs"


class TrainUpscalerWidget(TrainingWidget):
    """Train a super-resolution model on a folder of photographs; Stop keeps it, a new run under its name resumes."""

    image_tip = "The layer the model is tried on when training ends; it is never changed."

    def __init__(self, viewer: napari.viewer.Viewer):
        self.model_name = LineEdit(label="model name", value="", tooltip=TIP_NAME)
        self.architecture = ComboBox(label="architecture", choices=UPSCALERS, value="espcn", tooltip=TIP_ARCHITECTURE)
        self.scale = ComboBox(label="scale", choices=SCALES, value=2, tooltip=TIP_SCALE)
        self.folder = FileEdit(label="photographs", mode="d", tooltip=TIP_FOLDER)
        self.validation = FileEdit(label="validation", mode="d", tooltip=TIP_VALIDATION)
        self.steps = SpinBox(label="steps", value=2000, min=1, max=10_000_000, step=100, tooltip=TIP_STEPS)
        self.batch_size = SpinBox(label="batch size", value=16, min=1, max=1024, tooltip=TIP_BATCH)
        self.patch = SpinBox(label="patch size", value=24, min=4, max=512, tooltip=TIP_PATCH)
        super().__init__(viewer, [self.model_name, self.architecture, self.scale, self.folder, self.validation,
                                  self.steps], advanced=[self.batch_size, self.patch])

    def _job(self, layer):
        name, scale = self.model_name.value.strip(), self.scale.value
        if not name:
            raise ValueError("give the model a name: it is saved under it")
        check_model_name(name)
        served = CONTRACTS[self.architecture.value].scales
        if served and scale not in served:
            raise ValueError(f"{self.architecture.value} learns x{', x'.join(map(str, served))}, not x{scale}")
        cfg = TrainConfig(architecture=self.architecture.value, scale=scale, train_dirs=[_folder(self.folder)],
                          val_dirs=[_folder(self.validation)] if _chosen(self.validation) else [],
                          out_dir=str(runs_dir() / f"{name}_x{scale}"), steps=self.steps.value,
                          batch_size=self.batch_size.value, lr_patch=self.patch.value,
                          val_every=max(1, min(1000, self.steps.value // 10)))
        _check_resumable(cfg)
        channel_axis = -1 if layer.rgb else None
        self._start_training()

        def on_result(result):
            models_changed.emit()  # every open widget lists the model now
            trained = self.plot.points[-1][0] if self.plot.points else 0
            self._add_result(layer, result, f"{layer.name} ({name} x{scale})",
                             {"task": "upscale", "method": name, "scale": scale, "trained_steps": trained},
                             factor=scale)
            self.status.value = (f"Model {name!r} saved after {trained} steps: pick it as the Super-resolution "
                                 f"widget's method. Train again under this name to go on from here.")

        return Job(steps=iter_train_and_try, args=(cfg, self._stop, name, layer.data, channel_axis),
                   description=f"Training {cfg.architecture} x{scale} model {name}", on_result=on_result)


def iter_train_and_try(cfg, stop, name, image, channel_axis):
    """Train (or resume) ``cfg`` until it ends or ``stop`` is set; keep the model as ``name``; upscale ``image``.

    Closing this generator (Cancel) leaves the run resumable and keeps no model.
    """
    steps = iter_train(cfg, log=lambda _message: None)
    try:
        for step in steps:
            yield step
            if stop.is_set():
                break
    finally:
        steps.close()  # here, in the worker: the checkpoint and the weights as trained so far are written
    export_model(cfg.out_dir, name=f"{name}_x{cfg.scale}", overwrite=True,
                 data_description=f"photographs in {', '.join(map(str, cfg.train_dirs))}")
    return upscale(image, cfg.scale, method=name, channel_axis=channel_axis)


def _chosen(field):
    return str(field.value) not in ("", ".")


def _folder(field):
    if not _chosen(field) or not Path(field.value).is_dir():
        raise ValueError(f"choose a folder of photographs for {field.label!r}")
    return str(field.value)


def _check_resumable(cfg):
    """Refuse a run whose folder holds another architecture or scale under the same name."""
    config = Path(cfg.out_dir) / "config.json"
    if not config.exists():
        return
    earlier = json.loads(config.read_text())
    if (earlier["architecture"], earlier["scale"]) != (cfg.architecture, cfg.scale):
        raise ValueError(f"a run under this name trained a {earlier['architecture']} x{earlier['scale']}: "
                         "choose another name to train a different model")
