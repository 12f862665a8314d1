"""Samplers: random batches ``(model input, target)`` cut from the training images, one kind per task."""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from .data import cie_lab, gray_levels, model_space
from .degrade import Degradation, bicubic_shrink
from .holes import large_hole_mask


class PatchSampler:
    """Random HR crops with flips and 90° rotations, degraded into LR inputs."""

    def __init__(self, images, scale, lr_patch, batch_size, seed=0, degradation=None, channels=1):
        self.images = [im for im in images if min(im.shape[:2]) >= lr_patch * scale]
        if not self.images:
            raise ValueError(f"no training image is {lr_patch * scale} pixels or more on its shorter side "
                             f"(the crop of --lr-patch {lr_patch} at --scale {scale})")
        areas = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        self.p = areas / areas.sum()
        self.scale, self.lr_patch, self.batch_size = scale, lr_patch, batch_size
        self.degradation = degradation or Degradation()
        self.channels = channels
        self.rng = np.random.default_rng(seed)

    def sample(self):
        """``(lr, hr)`` float tensors in [0, 1]: luma ``(N, 1, h, w)`` or RGB ``(N, 3, h, w)``."""
        hr = self.crops()
        lr = self.degradation(hr, self.scale, self.rng)
        return model_space(lr, self.channels), model_space(hr, self.channels)

    def crops(self):
        """A batch of random HR crops ``(N, 3, H, W)``, float in 0-255, randomly flipped and turned."""
        hr_size = self.lr_patch * self.scale
        crops = []
        for idx in self.rng.choice(len(self.images), self.batch_size, p=self.p):
            im = self.images[idx]
            y = self.rng.integers(0, im.shape[0] - hr_size + 1)
            x = self.rng.integers(0, im.shape[1] - hr_size + 1)
            crop = im[y : y + hr_size, x : x + hr_size]
            crop = np.rot90(crop, self.rng.integers(4))
            if self.rng.random() < 0.5:
                crop = crop[:, ::-1]
            crops.append(crop)
        return torch.from_numpy(np.ascontiguousarray(np.stack(crops))).permute(0, 3, 1, 2).float()


class ScalePerBatchSampler(PatchSampler):
    """Batches each at a scale drawn from ``scales``, for a network that makes them all (MDSR).

    The model input is ``(lr, scale)``: the model is called ``model(lr, scale)``.
    """

    def __init__(self, images, scales, lr_patch, batch_size, seed=0, degradation=None, channels=1):
        super().__init__(images, max(scales), lr_patch, batch_size, seed, degradation, channels)
        self.scales = tuple(scales)

    def sample(self):
        """``((lr, scale), hr)``, the scale drawn uniformly."""
        self.scale = int(self.rng.choice(self.scales))
        lr, hr = super().sample()
        return (lr, self.scale), hr


class PyramidSampler(PatchSampler):
    """LR crops and the pyramid of targets of a x2-level network (LapSRN): the HR shrunk to each level's size."""

    def sample(self):
        """``(lr, [x2 target, x4 target, ..., hr])``, each target MATLAB-bicubic shrunk from the HR crop."""
        hr = self.crops()
        lr = self.degradation(hr, self.scale, self.rng)
        levels = self.scale.bit_length() - 1
        targets = [bicubic_shrink(hr, 2 ** (levels - k)) for k in range(1, levels)] + [hr]
        return model_space(lr, self.channels), [model_space(t, self.channels) for t in targets]


class NoisySampler(PatchSampler):
    """Denoiser training pairs: clean crops and the same with Gaussian noise of a random σ.

    σ (grey levels of 0-255) is drawn per crop from ``sigma_range``; the noise is
    added in floating point and not clipped (the DnCNN protocol), in the model's own
    space: to the luma for 1-channel models, so that σ is the gray image's σ.
    """

    def __init__(self, images, patch, batch_size, sigma_range, seed=0, channels=1):
        super().__init__(images, 1, patch, batch_size, seed, channels=channels)
        self.sigma_range = sigma_range

    def sample(self):
        """``(noisy, clean)`` float tensors in [0, 1]."""
        clean = model_space(self.crops(), self.channels)
        sigmas = self.rng.uniform(*self.sigma_range, size=(len(clean), 1, 1, 1)) / 255
        noise = torch.from_numpy(self.rng.standard_normal(clean.shape) * sigmas).float()
        return clean + noise, clean


class RestorationSampler(PatchSampler):
    """Scale-1 restoration pairs in full-range gray: each crop degraded by ``degradation``'s ranges.

    JPEG round trips train the artefact remover, random blur kernels plus noise the
    blind deblurrer (:meth:`~napari_superres.train.degrade.Degradation.restoration_input`).
    Gray, not luma: such models clean each channel of an image as a gray plane.
    """

    def __init__(self, images, patch, batch_size, degradation, seed=0):
        super().__init__(images, 1, patch, batch_size, seed, degradation)

    def sample(self):
        """``(degraded, clean)`` float tensors ``(N, 1, h, w)`` in [0, 1]."""
        clean = gray_levels(self.crops())
        return self.degradation.restoration_input(clean, self.rng) / 255, clean / 255


class ColorSampler(PatchSampler):
    """Colorization batches: network input (L and random user hints) and ab targets.

    Hints as in Zhang et al. 2017: half the crops have none (automatic
    colorization); the others a geometric number of hints (p = 1/8, at most 32),
    each a square of 1 to 5 pixels at a uniform random place holding the mean ab of
    the true colours there. Also counts the ab bins of the training images for the
    class-rebalancing weights (Zhang's λ ``rebalancing``: 1 weighs every colour alike).
    """

    def __init__(self, images, patch, batch_size, seed=0, prior_crops=2000, rebalancing=0.5):
        super().__init__(images, 1, patch, batch_size, seed)
        from ..colorize import ab_bins, rebalancing_weights

        self.bins = torch.from_numpy(ab_bins()).float()
        counts = np.zeros(len(self.bins))
        prior_rng = np.random.default_rng(seed + 1)  # the prior does not move the training sequence
        for index in prior_rng.choice(len(self.images), prior_crops, p=self.p):
            image = self.images[index]
            y, x = (prior_rng.integers(0, n - 32 + 1) for n in image.shape[:2])
            ab = torch.from_numpy(cie_lab(image[y:y + 32, x:x + 32] / 255)[..., 1:].reshape(-1, 2)).float()
            counts += np.bincount(torch.cdist(ab, self.bins).argmin(1).numpy(), minlength=len(self.bins))
        self.class_weights = torch.from_numpy(rebalancing_weights(counts, ab_bins(), rebalancing)).float()

    def sample(self):
        """``(network input, ab target)``: L with random hints, and the crops' ab."""
        from ..colorize import network_input

        rgb = self.crops() / 255
        lab = torch.from_numpy(cie_lab(rgb.permute(0, 2, 3, 1).numpy())).float().permute(0, 3, 1, 2)
        lightness, ab = lab[:, :1], lab[:, 1:]
        hint_ab, hint_mask = torch.zeros_like(ab), torch.zeros_like(lightness)
        for i in range(len(rgb)):
            if self.rng.random() < 0.5:
                continue
            for _ in range(min(int(self.rng.geometric(1 / 8)), 32)):
                size = int(self.rng.integers(1, 6))
                y, x = (int(self.rng.integers(0, n - size + 1)) for n in ab.shape[-2:])
                window = (i, slice(None), slice(y, y + size), slice(x, x + size))
                hint_ab[window] = ab[window].mean(dim=(-2, -1), keepdim=True)
                hint_mask[window] = 1
        target = F.avg_pool2d(ab, 4)  # the network predicts at a quarter of the resolution
        return network_input(lightness, hint_ab, hint_mask), target


class HoleSampler(PatchSampler):
    """Inpainting batches: input (RGB crops in [0, 1], holes zeroed, and the mask), target (the crops and the mask).

    The masks are those ``method="auto"`` gives the network: large holes of the families
    ``families`` (name: share; default :data:`~napari_superres.train.holes.LARGE_HOLE_FAMILIES`,
    brush strokes, boxes, blobs, free-form), with random counts and sizes.
    """

    def __init__(self, images, patch, batch_size, seed=0, families=None):
        super().__init__(images, 1, patch, batch_size, seed)
        self.families = families
        self.drawn = []  # the family of each mask of the last batch

    def hole(self, shape):
        """A random boolean hole mask of ``shape`` with at least one large hole; its family in :attr:`drawn`."""
        family, mask = large_hole_mask(shape, self.rng, self.families)
        self.drawn.append(family)
        return mask

    def sample(self):
        """``(input, target)``: crops with holes zeroed plus the mask, and the crops plus the mask."""
        clean = self.crops() / 255
        self.drawn = []
        masks = np.stack([self.hole(clean.shape[-2:]) for _ in range(len(clean))])
        mask = torch.from_numpy(masks).float()[:, None]
        return torch.cat([clean * (1 - mask), mask], dim=1), torch.cat([clean, mask], dim=1)


def calibration_batches(sampler, seed):
    """A copy of ``sampler`` drawing the same fixed batches at every call: training's stream is untouched."""
    calibration = copy.copy(sampler)
    calibration.rng = np.random.default_rng([seed, 1])
    return calibration
