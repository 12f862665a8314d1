"""Training of restoration models (super-resolution, denoising, inpainting, colorization) on folders of photographs.

HR crops are degraded on the fly (super-resolution: MATLAB-compatible bicubic,
including its uint8 rounding, so training pairs match the published evaluation
protocol). Runs are resumable: a checkpoint is written every few minutes and at
the end.

Modules, in the order a run uses them:

- :mod:`~napari_superres.train.data`: finding and reading training images.
- :mod:`~napari_superres.train.degrade`: bicubic, blur (Gaussian, motion), noise, JPEG and holes.
- :mod:`~napari_superres.train.holes`: hole masks by family (strokes, boxes, blobs) for inpainting.
- :mod:`~napari_superres.train.samplers`: batches ``(model input, target)``, one kind per task.
- :mod:`~napari_superres.train.objectives`: the losses a step minimises.
- :mod:`~napari_superres.train.validation`: PSNR on held-out images, one measure per task.
- :mod:`~napari_superres.train.recipes`: the table of tasks, naming each one's sampler, objective and validation.
- :mod:`~napari_superres.train.loop`: :class:`TrainConfig` and :func:`train`.
- :mod:`~napari_superres.train.export`: weights and model cards.
"""

from .data import IMAGE_SUFFIXES, central_crop, gray_levels, list_images, load_hr, luma, model_space
from .degrade import Degradation, bicubic_shrink, free_form_mask, jpeg_round_trip, random_blur_kernel
from .export import export_model, export_weights
from .loop import TrainConfig, train
from .objectives import ColorObjective, HoleObjective, Objective
from .recipes import RECIPES, Recipe, recipe_for, task_of
from .samplers import (
    ColorSampler,
    HoleSampler,
    NoisySampler,
    PatchSampler,
    RestorationSampler,
    calibration_batches,
)
from .validation import (
    recalibrate_batch_norm,
    validate,
    validate_colorizer,
    validate_denoiser,
    validate_inpainter,
    validate_restorer,
)

__all__ = [
    "IMAGE_SUFFIXES", "RECIPES", "ColorObjective", "ColorSampler", "Degradation", "HoleObjective", "HoleSampler",
    "NoisySampler", "Objective", "PatchSampler", "Recipe", "RestorationSampler", "TrainConfig", "bicubic_shrink",
    "calibration_batches", "central_crop", "export_model", "export_weights", "free_form_mask", "gray_levels",
    "jpeg_round_trip", "list_images", "load_hr", "luma", "model_space", "random_blur_kernel",
    "recalibrate_batch_norm", "recipe_for", "task_of", "train", "validate", "validate_colorizer",
    "validate_denoiser", "validate_inpainter", "validate_restorer",
]
