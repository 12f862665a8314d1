"""napari-superres: image restoration for napari and for scripts.

The core (this package minus the ``_widgets`` subpackage) is numpy in, numpy out and never imports Qt.
"""

from . import _openmp  # noqa: F401 - first: OpenMP's wait policy, before anything loads torch
from ._arrays import ChannelAxisWarning
from ._version import __version__ as __version__  # the alias re-exports it
from .bioimage_io import export_bioimageio, import_bioimageio
from .colorize import available_colorizers, colorize, colour_confidence, iter_colorize
from .deblur import available_deblurrers, deblur, iter_deblur
from .denoise import available_denoisers, denoise, estimate_noise, iter_denoise
from .device import available_devices, select_device
from .dip import fit_dip, iter_fit_dip
from .inpaint import available_inpainters, inpaint, iter_inpaint, missing_mask, plan_holes
from .jpeg import available_jpeg_methods, iter_remove_jpeg_artifacts, remove_jpeg_artifacts
from .metrics import laplacian_variance, perceptual_distance, psnr, sr_scores, ssim, temporal_flicker
from .models.importer import import_model
from .noise2void import apply_noise2void, fit_noise2void, iter_apply_noise2void, iter_fit_noise2void
from .provenance import provenance
from .resize import imresize
from .uncertainty import (
    augmentation_spread,
    backprojection_residual,
    iter_augmentation_spread,
    iter_sample_spread,
    iter_sample_upscale,
    iter_seed_spread,
    sample_spread,
    sample_upscale,
    seed_spread,
)
from .upscale import available_methods, iter_upscale, iter_upscale_axes, upscale, upscale_axes, upscaled_geometry
from .video_prior import fit_video_prior, iter_fit_video_prior

__all__ = [
    "ChannelAxisWarning",
    "apply_noise2void",
    "augmentation_spread",
    "available_colorizers",
    "available_deblurrers",
    "available_jpeg_methods",
    "backprojection_residual",
    "colorize",
    "colour_confidence",
    "iter_apply_noise2void",
    "iter_augmentation_spread",
    "iter_colorize",
    "available_denoisers",
    "available_inpainters",
    "available_devices",
    "available_methods",
    "deblur",
    "denoise",
    "estimate_noise",
    "export_bioimageio",
    "fit_dip",
    "fit_noise2void",
    "fit_video_prior",
    "import_bioimageio",
    "import_model",
    "imresize",
    "inpaint",
    "iter_deblur",
    "iter_denoise",
    "iter_fit_dip",
    "iter_fit_noise2void",
    "iter_fit_video_prior",
    "iter_inpaint",
    "iter_remove_jpeg_artifacts",
    "iter_sample_spread",
    "iter_sample_upscale",
    "iter_seed_spread",
    "iter_upscale",
    "iter_upscale_axes",
    "laplacian_variance",
    "missing_mask",
    "perceptual_distance",
    "plan_holes",
    "provenance",
    "psnr",
    "remove_jpeg_artifacts",
    "sample_spread",
    "sample_upscale",
    "seed_spread",
    "select_device",
    "sr_scores",
    "ssim",
    "temporal_flicker",
    "upscale",
    "upscale_axes",
    "upscaled_geometry",
]
