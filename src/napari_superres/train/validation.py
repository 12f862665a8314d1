"""Validation: the mean PSNR (dB) a model reaches on held-out images, one measure per task.

Each puts the model in eval mode and back in train mode; the inputs are fixed
(seeded noise and holes), so scores of one run compare across steps.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..color import rgb_to_ycbcr
from ..metrics import psnr
from ..models.inference import on_grid
from ..resize import imresize
from .data import central_crop, cie_lab, gray_levels, model_space
from .degrade import free_form_mask


@torch.no_grad()
def validate(model, images, scale, channels=1, multiple=1):
    """Mean PSNR (Y, border of ``scale`` shaved) of bicubic-degraded images.

    ``multiple``, here and in the other validations: the one the sides of the
    model's input must be (see :func:`~napari_superres.models.inference.on_grid`).
    """
    forward = on_grid(model, multiple, scale)
    model.eval()
    scores = []
    for hr in images:
        hr = hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]
        lr = imresize(hr, 1 / scale, channel_axis=-1)
        if channels == 1:
            x = torch.from_numpy(rgb_to_ycbcr(lr)[..., 0]).float()[None, None]
            sr_y = forward(x)[0, 0].clamp(0, 1).numpy()
        else:
            x = torch.from_numpy(lr / 255.0).float().permute(2, 0, 1)[None]
            sr_y = rgb_to_ycbcr(forward(x)[0].clamp(0, 1).permute(1, 2, 0).numpy())[..., 0]
        hr_y = rgb_to_ycbcr(hr)[..., 0] * 255
        scores.append(psnr(hr_y, sr_y * 255, data_range=255, crop_border=scale))
    model.train()
    return float(np.mean(scores))


@torch.no_grad()
def validate_denoiser(model, images, channels=1, sigma=25.0, crop=256, seed=0, multiple=1):
    """Mean PSNR of central ``crop``² crops denoised from Gaussian noise ``sigma`` (fixed seed)."""
    forward = on_grid(model, multiple)
    model.eval()
    scores = []
    for k, image in enumerate(images):
        hr = torch.from_numpy(np.ascontiguousarray(central_crop(image, crop)))
        clean = model_space(hr.permute(2, 0, 1)[None].float(), channels)
        rng = np.random.default_rng([seed, k])
        noisy = clean + torch.from_numpy(rng.normal(0, sigma / 255, clean.shape)).float()
        scores.append(psnr(clean.numpy() * 255, forward(noisy).numpy() * 255, data_range=255))
    model.train()
    return float(np.mean(scores))


@torch.no_grad()
def validate_restorer(model, images, degradation, crop=256, seed=0, multiple=1):
    """Mean PSNR of gray central ``crop``² crops restored from ``degradation`` (fixed draws: seed per image).

    ``degradation``: a :class:`~napari_superres.train.degrade.Degradation` (JPEG, blur, noise).
    """
    forward = on_grid(model, multiple)
    model.eval()
    scores = []
    for k, image in enumerate(images):
        rgb = torch.from_numpy(np.ascontiguousarray(central_crop(image, crop))).permute(2, 0, 1)[None].float()
        clean = gray_levels(rgb)
        degraded = degradation.restoration_input(clean, np.random.default_rng([seed, k]))
        restored = forward(degraded / 255).clamp(0, 1) * 255
        scores.append(psnr(clean.numpy(), restored.numpy(), data_range=255))
    model.train()
    return float(np.mean(scores))


def validate_inpainter(model, images, crop=256, multiple=1):
    """Mean PSNR (dB) over the whole central crop of ``images``, after filling fixed free-form holes."""
    forward = on_grid(model, multiple)
    rng = np.random.default_rng(12345)
    scores = []
    model.eval()
    with torch.no_grad():
        for image in images:
            clean = torch.from_numpy(central_crop(image, crop) / 255).float().permute(2, 0, 1)[None]
            mask = torch.from_numpy(free_form_mask(clean.shape[-2:], rng, (0.2, 0.4))).float()[None, None]
            out = forward(torch.cat([clean * (1 - mask), mask], dim=1))
            filled = out * mask + clean * (1 - mask)
            scores.append(psnr(clean[0].numpy(), filled[0].numpy(), data_range=1.0))
    model.train()
    return float(np.mean(scores))


def validate_colorizer(model, images, crop=256, multiple=8):
    """Mean PSNR (dB) of the colours guessed for central crops of ``images``, automatic mode (no hints).

    The crops' sides are cut to ``multiple``: the colorizer's guesses are at a quarter of the size.
    """
    from skimage.color import lab2rgb

    from ..colorize import ab_bins, annealed_mean, network_input

    bins = torch.from_numpy(ab_bins()).float()
    scores = []
    model.eval()
    with torch.no_grad():
        for image in images:
            truth = central_crop(image, crop, multiple=multiple)
            lab = cie_lab(truth / 255)
            lightness = torch.from_numpy(lab[..., 0]).float()[None, None]
            ab = annealed_mean(model(network_input(lightness)), bins)
            ab = F.interpolate(ab, size=truth.shape[:2], mode="bilinear", align_corners=False)
            ab = ab[0].permute(1, 2, 0).numpy()
            guess = np.clip(np.round(lab2rgb(np.dstack([lab[..., 0], ab])) * 255), 0, 255).astype(np.uint8)
            scores.append(psnr(truth, guess, data_range=255))
    model.train()
    return float(np.mean(scores))


def recalibrate_batch_norm(model, sampler, batches=100):
    """Replace batch norm's running statistics by their average over ``batches`` training batches.

    The running averages kept while training (momentum 0.1) reflect the last ten or
    so batches, each with its own random mix of noise levels: validated with them,
    a denoiser's PSNR swung by 3 dB between checkpoints (26.7 → 23.6 dB from step
    3000 to 4000) while its loss kept falling. Every validation, and so the choice
    of the best weights, sees statistics of many batches instead. Returns False,
    changing nothing, for a model without batch norm.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return False
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(sampler.sample()[0])
    for m, momentum in zip(norms, saved, strict=True):
        m.momentum = momentum
    return True
