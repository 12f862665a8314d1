"""Task recipes: how each task trains, in one table.

A recipe says what a task's batches are (sampler: model input and target), what
it minimises (objective), how it is validated and how its model card describes
the training. The training loop and the export read the recipe of a run's task and
never the architecture's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..inpaint import LARGE_HOLE_DEPTH
from ..models.catalog import CONTRACTS
from .degrade import Degradation
from .holes import MAX_COVERAGE, describe_training_masks
from .objectives import HOLE_LOSS_WEIGHTS, ColorObjective, HoleObjective, Objective
from .samplers import (
    ColorSampler,
    HoleSampler,
    NoisySampler,
    PatchSampler,
    PyramidSampler,
    RestorationSampler,
    ScalePerBatchSampler,
)
from .validation import (
    validate,
    validate_colorizer,
    validate_denoiser,
    validate_inpainter,
    validate_restorer,
)


@dataclass(frozen=True)
class Recipe:
    """How one task trains.

    ``sampler(cfg, images)`` gives the batches ``(model input, target)``,
    ``objective(cfg, sampler)`` what a step minimises, ``validate(model, images, cfg)``
    the validation PSNR; ``cfg`` is the run's :class:`TrainConfig`. ``pairs(config)``
    and ``losses(config)`` describe the training on the model card, from the run's
    ``config.json`` (a dict, possibly of an older version). ``psnr_is_the_aim``:
    False keeps a run's latest weights rather than those of the best validation PSNR.
    ``gray_input``: a 1-channel model of the task sees full-range gray (card input
    ``'gray'``), not luma.
    """

    task: str
    sampler: Callable
    objective: Callable
    validate: Callable
    pairs: Callable
    losses: Callable
    psnr_is_the_aim: bool = True
    gray_input: bool = False


def size_multiple(cfg):
    """The multiple the sides of the network's input must be in the run ``cfg``."""
    return CONTRACTS[cfg.architecture].size_multiple(cfg.config)


def task_of(architecture, scale, degradation=None):
    """The task (a model card's ``task``) a run of ``architecture`` at ``scale`` trains for.

    The architecture's contract names it; an image-to-image network (an upscaler
    or a denoiser) trained at scale 1 is, by its ``degradation`` (keyword
    arguments of :class:`Degradation`), a JPEG artefact remover (a JPEG quality
    range), a blind deblurrer (a blur range), else a denoiser.
    """
    task = CONTRACTS[architecture].task
    if task not in ("upscale", "denoise"):
        return task
    if scale > 1:
        return "upscale"
    degradation = Degradation(**(degradation or {}))
    return "jpeg" if degradation.jpeg_quality else "deblur" if degradation.blurs else "denoise"


def recipe_for(architecture, scale, degradation=None):
    """The :class:`Recipe` of a run of ``architecture`` at ``scale`` with ``degradation`` (see :func:`task_of`)."""
    return RECIPES[task_of(architecture, scale, degradation)]


def _degraded_pairs(cfg, images):
    contract = CONTRACTS[cfg.architecture]
    degradation = Degradation(**cfg.degradation)
    if contract.training == "scale_per_batch":
        return ScalePerBatchSampler(images, contract.served_scales(cfg.scale, cfg.config), cfg.lr_patch,
                                    cfg.batch_size, cfg.seed, degradation, cfg.channels)
    sampler = PyramidSampler if contract.training == "pyramid" else PatchSampler
    return sampler(images, cfg.scale, cfg.lr_patch, cfg.batch_size, cfg.seed, degradation, cfg.channels)


def _noisy_pairs(cfg, images):
    sigmas = tuple(cfg.degradation.get("noise_sigma") or (0.0, 0.0))
    if sigmas[1] <= 0:
        raise ValueError("a scale-1 model is a denoiser: give the noise range to train for (--noise 0:55)")
    return NoisySampler(images, cfg.lr_patch, cfg.batch_size, sigmas, cfg.seed, cfg.channels)


def _restoration_pairs(cfg, images):
    if cfg.channels != 1:
        raise ValueError("JPEG artefact removers and deblurrers are gray models: train them with --channels 1")
    return RestorationSampler(images, cfg.lr_patch, cfg.batch_size, Degradation(**cfg.degradation), cfg.seed)


def _validate_restorer(model, images, cfg):
    return validate_restorer(model, images, Degradation(**cfg.degradation), seed=cfg.seed,
                             multiple=size_multiple(cfg))


def _hole_pairs(cfg, images):
    return HoleSampler(images, cfg.lr_patch, cfg.batch_size, cfg.seed)


def _hole_description(config):
    return (f"RGB crops with random holes zeroed, the large holes method='auto' gives the network: "
            f"{describe_training_masks()}; each mask redrawn until a hole is {LARGE_HOLE_DEPTH:g} pixels deep "
            f"and at most {MAX_COVERAGE:.0%} of the crop is missing")


def _color_pairs(cfg, images):
    return ColorSampler(images, cfg.lr_patch, cfg.batch_size, cfg.seed, rebalancing=_rebalancing(cfg.losses))


def _rebalancing(losses):
    """Zhang's λ of a colorizer run: 1 (no rebalancing) with ``--losses cross_entropy``, else 0.5."""
    from ..colorize import REBALANCE_LAMBDA

    return 1.0 if "cross_entropy" in losses else REBALANCE_LAMBDA


def _color_losses(config):
    return {"cross_entropy": 1.0} if _rebalancing(config.get("losses", {})) == 1 else {"rebalanced_cross_entropy": 1.0}


def _color_description(config):
    lam = _rebalancing(config.get("losses", {}))
    loss = "plain cross-entropy (no rebalancing)" if lam == 1 else f"class-rebalanced (λ = {lam:g})"
    return (f"L of CIE Lab in, ab out at 1/4 resolution, soft-encoded over 261 bins, {loss}; "
            "half the crops with random user hints")


def _weighted_losses(cfg, sampler):
    return Objective(cfg.losses, cfg.channels, cfg.lr, cfg.discriminator_features)


def _configured_losses(config):
    """The ``--losses`` weights (``loss``, a single name, in older runs)."""
    return config.get("losses", {config.get("loss"): 1.0})


def _model_space(config):
    return "luma models see BT.601 Y" if config.get("channels", 1) == 1 else "RGB"


def _bicubic_description(config):
    return f"MATLAB bicubic (antialiased, uint8 rounding); {_model_space(config)}"


def _noise_description(config):
    low, high = config["degradation"]["noise_sigma"]
    return (f"clean crops + Gaussian noise, σ uniform in [{low:g}, {high:g}] grey levels, unclipped; "
            f"{_model_space(config)}")


def _ranges(config, *keys):
    """The degradation's ranges ``keys`` that are open, as 'lo-hi' text."""
    degradation = config["degradation"]
    return {key: "{:g}-{:g}".format(*degradation[key]) for key in keys if (degradation.get(key) or (0, 0))[1] > 0}


def _jpeg_description(config):
    return (f"gray (BT.601 weights, full range) crops, Pillow JPEG round trip at a quality drawn per crop in "
            f"{_ranges(config, 'jpeg_quality')['jpeg_quality']}")


def _blur_description(config):
    ranges = _ranges(config, "blur_sigma", "motion_length", "noise_sigma")
    kinds = [f"Gaussian blur σ {ranges['blur_sigma']} px"] * ("blur_sigma" in ranges) + [
        f"straight motion blur of {ranges['motion_length']} px at a uniform angle"] * ("motion_length" in ranges)
    noise = f", Gaussian noise σ {ranges['noise_sigma']} grey levels" if "noise_sigma" in ranges else ""
    return (f"gray (BT.601 weights, full range) crops, each blurred by one random kernel ({' or '.join(kinds)}, "
            f"mirrored borders){noise}, rounded to uint8")


RECIPES = {
    "upscale": Recipe(
        task="upscale",
        sampler=_degraded_pairs,
        objective=_weighted_losses,
        validate=lambda model, images, cfg: validate(model, images, cfg.scale, cfg.channels,
                                                     multiple=size_multiple(cfg)),
        pairs=_bicubic_description,
        losses=_configured_losses,
    ),
    "denoise": Recipe(
        task="denoise",
        sampler=_noisy_pairs,
        objective=_weighted_losses,
        validate=lambda model, images, cfg: validate_denoiser(model, images, cfg.channels, multiple=size_multiple(cfg)),
        pairs=_noise_description,
        losses=_configured_losses,
    ),
    "jpeg": Recipe(
        task="jpeg",
        sampler=_restoration_pairs,
        objective=_weighted_losses,
        validate=_validate_restorer,
        pairs=_jpeg_description,
        losses=_configured_losses,
        gray_input=True,
    ),
    "deblur": Recipe(
        task="deblur",
        sampler=_restoration_pairs,
        objective=_weighted_losses,
        validate=_validate_restorer,
        pairs=_blur_description,
        losses=_configured_losses,
        gray_input=True,
    ),
    "inpaint": Recipe(
        task="inpaint",
        sampler=_hole_pairs,
        objective=lambda cfg, sampler: HoleObjective(HOLE_LOSS_WEIGHTS),
        validate=lambda model, images, cfg: validate_inpainter(model, images, multiple=size_multiple(cfg)),
        pairs=_hole_description,
        losses=lambda config: dict(HOLE_LOSS_WEIGHTS),
    ),
    "colorize": Recipe(
        task="colorize",
        sampler=_color_pairs,
        objective=lambda cfg, sampler: ColorObjective(sampler.class_weights),
        validate=lambda model, images, cfg: validate_colorizer(model, images, multiple=size_multiple(cfg)),
        pairs=_color_description,
        losses=_color_losses,
        psnr_is_the_aim=False,  # rebalanced colours aim at vivid, not mean, colours
    ),
}
