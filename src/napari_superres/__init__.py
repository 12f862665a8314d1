"""napari-superres: image restoration for napari and for scripts.

The core (this package minus the ``_``-prefixed widget modules) is numpy in, numpy out and never imports Qt.
"""

from .device import available_devices, select_device
from .denoise import denoise, estimate_noise, iter_denoise
from .dip import fit_dip, iter_fit_dip
from .metrics import psnr, sr_scores, ssim
from .resize import imresize
from .upscale import available_methods, iter_upscale, upscale, upscaled_geometry

__version__ = "0.1.0"

__all__ = [
    "available_devices",
    "available_methods",
    "denoise",
    "estimate_noise",
    "fit_dip",
    "imresize",
    "iter_denoise",
    "iter_fit_dip",
    "iter_upscale",
    "psnr",
    "select_device",
    "sr_scores",
    "ssim",
    "upscale",
    "upscaled_geometry",
]
