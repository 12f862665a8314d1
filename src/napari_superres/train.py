"""Training of super-resolution models on a folder of high-resolution photographs.

HR crops are degraded on the fly with MATLAB-compatible bicubic (including its
uint8 rounding), so training pairs match the published evaluation protocol.
Runs are resumable: a checkpoint is written every few minutes and at the end.
"""

from __future__ import annotations

import copy
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .color import rgb_to_ycbcr
from .degrade import Degradation
from .io import read_image
from .metrics import psnr
from .models.registry import ARCHITECTURES
from .resize import imresize

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


@dataclass
class TrainConfig:
    architecture: str
    scale: int
    train_dirs: list
    out_dir: str
    val_dirs: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    channels: int = 1  # 1: luma (BT.601 Y) models; 3: RGB models
    steps: int = 20000
    batch_size: int = 32
    lr_patch: int = 24
    lr: float = 1e-3
    min_lr: float = 1e-5
    losses: dict = field(default_factory=lambda: {"l1": 1.0})
    discriminator_features: int = 64  # adversarial loss only; its cost grows with the square of this
    degradation: dict = field(default_factory=dict)  # keyword arguments of Degradation
    init: str | None = None  # safetensors weights to start from (matching shapes only)
    val_every: int = 1000
    checkpoint_minutes: float = 5.0
    jpeg_downscale: int = 2
    max_side: int = 1600
    seed: int = 0
    threads: int = 0


def list_images(dirs):
    files = []
    for d in dirs:
        files += sorted(p for p in Path(d).rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return files


def load_hr(path, jpeg_downscale=2, max_side=1600):
    """An HR training image as uint8 RGB; JPEGs are shrunk so their artefacts vanish."""
    image = read_image(path)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    if image.dtype != np.uint8:
        image = (image / np.iinfo(image.dtype).max * 255).round().astype(np.uint8)
    factor = jpeg_downscale if Path(path).suffix.lower() in {".jpg", ".jpeg"} else 1
    factor = max(factor, max(image.shape[:2]) / max_side)
    if factor > 1:
        image = imresize(image, 1 / factor, channel_axis=-1)
    return image


def luma(rgb):
    """Y of BT.601 YCbCr in [0, 1] for a float tensor (..., 3, H, W) in [0, 255]."""
    w = torch.tensor([65.481, 128.553, 24.966], dtype=rgb.dtype, device=rgb.device) / 255.0
    return (16.0 + torch.einsum("...chw,c->...hw", rgb, w)).unsqueeze(-3) / 255.0


def model_space(rgb, channels):
    """What a model sees of an RGB batch in 0-255: its luma (1 channel) or the RGB itself, in [0, 1]."""
    return luma(rgb) if channels == 1 else rgb / 255


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
        clean = model_space(self.crops(), self.channels)
        sigmas = self.rng.uniform(*self.sigma_range, size=(len(clean), 1, 1, 1)) / 255
        noise = torch.from_numpy(self.rng.standard_normal(clean.shape) * sigmas).float()
        return clean + noise, clean


class ColorSampler(PatchSampler):
    """Colorization batches: network input (L and random user hints) and ab targets.

    Hints as in Zhang et al. 2017: half the crops have none (automatic
    colorization); the others a geometric number of hints (p = 1/8, at most 32),
    each a square of 1 to 5 pixels at a uniform random place holding the mean ab of
    the true colours there. Also counts the ab bins of the training images for the
    class-rebalancing weights.
    """

    def __init__(self, images, patch, batch_size, seed=0, prior_crops=2000):
        super().__init__(images, 1, patch, batch_size, seed)
        from .colorize import ab_bins, rebalancing_weights

        self.bins = torch.from_numpy(ab_bins()).float()
        counts = np.zeros(len(self.bins))
        prior_rng = np.random.default_rng(seed + 1)  # the prior does not move the training sequence
        for index in prior_rng.choice(len(self.images), prior_crops, p=self.p):
            image = self.images[index]
            y, x = (prior_rng.integers(0, n - 32 + 1) for n in image.shape[:2])
            ab = torch.from_numpy(_lab(image[y:y + 32, x:x + 32] / 255)[..., 1:].reshape(-1, 2)).float()
            counts += np.bincount(torch.cdist(ab, self.bins).argmin(1).numpy(), minlength=len(self.bins))
        self.class_weights = torch.from_numpy(rebalancing_weights(counts, ab_bins())).float()

    def sample(self):
        from .colorize import network_input

        rgb = self.crops() / 255
        lab = torch.from_numpy(_lab(rgb.permute(0, 2, 3, 1).numpy())).float().permute(0, 3, 1, 2)
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


def _lab(rgb):
    """CIE Lab of RGB in [0, 1]."""
    from skimage.color import rgb2lab

    return rgb2lab(np.asarray(rgb, dtype=np.float64))


class _SingleLoss:
    """An objective with one loss and nothing else to train or save (no discriminator)."""

    discriminator = None

    def discriminator_step(self, sr, hr):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class ColorObjective(_SingleLoss):
    """Zhang et al.'s loss: cross-entropy against soft-encoded ab, each pixel weighted by its colour's rarity."""

    def __init__(self, class_weights):
        from .colorize import ab_bins

        self.class_weights = class_weights
        self.bins = torch.from_numpy(ab_bins()).float()

    def generator_loss(self, logits, target_ab):
        from .colorize import soft_encode

        soft, nearest = soft_encode(target_ab, self.bins)
        per_pixel = -(soft * F.log_softmax(logits, dim=1)).sum(dim=1)
        return (per_pixel * self.class_weights[nearest]).mean()


def central_crop(image, crop, multiple=1):
    """The centre of ``image``, at most ``crop`` a side, each side a multiple of ``multiple`` (validation crops)."""
    h, w = (min(n, crop) // multiple * multiple for n in image.shape[:2])
    top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
    return image[top:top + h, left:left + w]


def free_form_mask(shape, rng, coverage=(0.1, 0.5)):
    """A random free-form hole mask (True: missing): brush strokes and boxes, as users scribble or sensors fail.

    Strokes are random walks of a round brush 4-24 pixels wide (after Yu et al.
    2019); boxes cover a tenth to a third of a side. Drawn until the hole covers a
    share of the image drawn from ``coverage``.
    """
    h, w = shape
    rows, cols = np.mgrid[:h, :w].astype(np.float64)
    mask = np.zeros(shape, bool)
    target = rng.uniform(*coverage)
    while mask.mean() < target:
        if rng.random() < 0.2:
            bh, bw = (int(rng.integers(n // 10, n // 3 + 1)) for n in shape)
            y, x = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
            mask[y:y + bh, x:x + bw] = True
            continue
        y, x, radius = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(2, 12)
        for _ in range(int(rng.integers(3, 10))):
            angle, length = rng.uniform(0, 2 * np.pi), rng.uniform(5, max(h, w) / 3)
            y2, x2 = np.clip(y + length * np.sin(angle), 0, h - 1), np.clip(x + length * np.cos(angle), 0, w - 1)
            mask |= _distance_to_segment(rows, cols, (y, x), (y2, x2)) <= radius
            y, x = y2, x2
    return mask


def _distance_to_segment(rows, cols, start, end):
    """Distance of every pixel to the segment from ``start`` to ``end`` (row, col)."""
    dy, dx = end[0] - start[0], end[1] - start[1]
    along = ((rows - start[0]) * dy + (cols - start[1]) * dx) / max(dy * dy + dx * dx, 1e-12)
    along = np.clip(along, 0, 1)
    return np.hypot(rows - start[0] - along * dy, cols - start[1] - along * dx)


class HoleSampler(PatchSampler):
    """Inpainting batches: input (RGB crops in [0, 1], holes zeroed, and the mask), target (the crops and the mask).

    A share ``scattered`` of the masks are pixels dropped at random (30-70 %, as
    from a sparse sensor or the Deep Image Prior paper's 50 % test), the rest free-form holes.
    """

    def __init__(self, images, patch, batch_size, seed=0, scattered=0.2):
        super().__init__(images, 1, patch, batch_size, seed)
        self.scattered = scattered

    def hole(self, shape):
        if self.rng.random() < self.scattered:
            return self.rng.random(shape) < self.rng.uniform(0.3, 0.7)
        return free_form_mask(shape, self.rng)

    def sample(self):
        clean = self.crops() / 255
        masks = np.stack([self.hole(clean.shape[-2:]) for _ in range(len(clean))])
        mask = torch.from_numpy(masks).float()[:, None]
        return torch.cat([clean * (1 - mask), mask], dim=1), torch.cat([clean, mask], dim=1)


class HoleObjective(_SingleLoss):
    """L1 on the hole (weight 6) and on the known pixels (weight 1), as in Liu et al. 2018 without the style terms."""

    def generator_loss(self, output, target):
        clean, mask = target[:, :-1], target[:, -1:]
        error = (output - clean).abs()
        return 6 * (error * mask).mean() + (error * (1 - mask)).mean()


def validate_inpainter(model, images, crop=256):
    """Mean PSNR (dB) over the whole central crop of ``images``, after filling fixed free-form holes."""
    rng = np.random.default_rng(12345)
    scores = []
    model.eval()
    with torch.no_grad():
        for image in images:
            clean = torch.from_numpy(central_crop(image, crop) / 255).float().permute(2, 0, 1)[None]
            mask = torch.from_numpy(free_form_mask(clean.shape[-2:], rng, (0.2, 0.4))).float()[None, None]
            out = model(torch.cat([clean * (1 - mask), mask], dim=1))
            filled = out * mask + clean * (1 - mask)
            scores.append(psnr(clean[0].numpy(), filled[0].numpy(), data_range=1.0))
    model.train()
    return float(np.mean(scores))


def validate_colorizer(model, images, crop=256):
    """Mean PSNR (dB) of the colours guessed for central crops of ``images``, automatic mode (no hints)."""
    from skimage.color import lab2rgb

    from .colorize import ab_bins, annealed_mean, network_input

    bins = torch.from_numpy(ab_bins()).float()
    scores = []
    model.eval()
    with torch.no_grad():
        for image in images:
            truth = central_crop(image, crop, multiple=model.multiple)
            lab = _lab(truth / 255)
            lightness = torch.from_numpy(lab[..., 0]).float()[None, None]
            ab = annealed_mean(model(network_input(lightness)), bins)
            ab = F.interpolate(ab, size=truth.shape[:2], mode="bilinear", align_corners=False)[0].permute(1, 2, 0).numpy()
            guess = np.clip(np.round(lab2rgb(np.dstack([lab[..., 0], ab])) * 255), 0, 255).astype(np.uint8)
            scores.append(psnr(truth, guess, data_range=255))
    model.train()
    return float(np.mean(scores))


def _lr_at(cfg, step):
    # Cosine decay from lr to min_lr over the run.
    t = min(step / max(cfg.steps, 1), 1.0)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * t))


@torch.no_grad()
def validate_denoiser(model, images, channels=1, sigma=25.0, crop=256, seed=0):
    """Mean PSNR of central ``crop``² crops denoised from Gaussian noise ``sigma`` (fixed seed)."""
    model.eval()
    scores = []
    for k, image in enumerate(images):
        hr = torch.from_numpy(np.ascontiguousarray(central_crop(image, crop)))
        clean = model_space(hr.permute(2, 0, 1)[None].float(), channels)
        rng = np.random.default_rng([seed, k])
        noisy = clean + torch.from_numpy(rng.normal(0, sigma / 255, clean.shape)).float()
        scores.append(psnr(clean.numpy() * 255, model(noisy).numpy() * 255, data_range=255))
    model.train()
    return float(np.mean(scores))


@torch.no_grad()
def validate(model, images, scale, channels=1):
    """Mean PSNR (Y, border of ``scale`` shaved) of bicubic-degraded images."""
    model.eval()
    scores = []
    for hr in images:
        hr = hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]
        lr = imresize(hr, 1 / scale, channel_axis=-1)
        if channels == 1:
            x = torch.from_numpy(rgb_to_ycbcr(lr)[..., 0]).float()[None, None]
            sr_y = model(x)[0, 0].clamp(0, 1).numpy()
        else:
            x = torch.from_numpy(lr / 255.0).float().permute(2, 0, 1)[None]
            sr_y = rgb_to_ycbcr(model(x)[0].clamp(0, 1).permute(1, 2, 0).numpy())[..., 0]
        hr_y = rgb_to_ycbcr(hr)[..., 0] * 255
        scores.append(psnr(hr_y, sr_y * 255, data_range=255, crop_border=scale))
    model.train()
    return float(np.mean(scores))


class Objective:
    """Weighted sum of losses named in ``TrainConfig.losses``.

    ``l1``, ``l2``, ``ms_ssim_l1``, ``hf`` (high-frequency), ``perceptual``
    (SqueezeNet features, see :mod:`napari_superres.losses.perceptual`) and
    ``adversarial`` (SRGAN discriminator, trained alongside).
    """

    def __init__(self, weights, channels, lr, discriminator_features=64):
        from .losses.pixel import high_frequency_loss, ms_ssim_l1_loss

        self.weights = dict(weights)
        known = {"l1": F.l1_loss, "l2": F.mse_loss, "ms_ssim_l1": ms_ssim_l1_loss, "hf": high_frequency_loss}
        unknown = set(self.weights) - set(known) - {"perceptual", "adversarial"}
        if unknown:
            raise ValueError(f"unknown losses {sorted(unknown)}; choose from {sorted(known)} + perceptual, adversarial")
        self.terms = {name: fn for name, fn in known.items() if name in self.weights}
        if "perceptual" in self.weights:
            from .losses.perceptual import PerceptualLoss

            self.terms["perceptual"] = PerceptualLoss()
        self.discriminator = self.d_optimizer = None
        if "adversarial" in self.weights:
            from .models.srresnet import SRGANDiscriminator

            self.discriminator = SRGANDiscriminator(channels=channels, features=discriminator_features)
            self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(0.9, 0.999))

    def generator_loss(self, sr, hr):
        total = sum(self.weights[name] * fn(sr, hr) for name, fn in self.terms.items())
        if self.discriminator is not None:
            real = torch.ones(len(sr), 1)
            total = total + self.weights["adversarial"] * F.binary_cross_entropy_with_logits(
                self.discriminator(sr), real)
        return total

    def discriminator_step(self, sr, hr):
        if self.discriminator is None:
            return
        logits = self.discriminator(torch.cat([hr, sr.detach()]))
        labels = torch.cat([torch.ones(len(hr), 1), torch.zeros(len(sr), 1)])
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.d_optimizer.step()

    def state_dict(self):
        if self.discriminator is None:
            return {}
        return {"discriminator": self.discriminator.state_dict(), "d_optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state):
        if self.discriminator is not None and state:
            self.discriminator.load_state_dict(state["discriminator"])
            self.d_optimizer.load_state_dict(state["d_optimizer"])


def _warm_start(model, path, log):
    """Copy the parameters of ``path`` whose names and shapes match (e.g. x2 body into x4)."""
    from safetensors.torch import load_file

    own = model.state_dict()
    matching = {k: v for k, v in load_file(path).items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(matching, strict=False)
    log(f"initialised {len(matching)}/{len(own)} tensors from {path}")


def _check_config(cfg):
    """Refuse, before any work, a run that cannot start; the training and validation image files."""
    import inspect

    if cfg.architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {cfg.architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    try:
        inspect.signature(ARCHITECTURES[cfg.architecture]).bind(scale=cfg.scale, channels=cfg.channels, **cfg.config)
    except TypeError as err:
        raise ValueError(f"--config does not fit a {cfg.architecture} ({err})") from None
    for folder in [*cfg.train_dirs, *cfg.val_dirs]:
        if not Path(folder).is_dir():
            raise ValueError(f"the image folder {folder} does not exist")
    train_paths = list_images(cfg.train_dirs)
    if not train_paths:
        raise ValueError(f"no training images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {', '.join(map(str, cfg.train_dirs))}")
    return train_paths, list_images(cfg.val_dirs)


def _load_images(paths, cfg):
    images = []
    for path in paths:
        try:
            images.append(load_hr(path, cfg.jpeg_downscale, cfg.max_side))
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot read the training image {path}: {err}") from err
    return images


def train(cfg: TrainConfig, log=print):
    """Train (or resume) a model; writes checkpoints, a log and the best weights.

    The best weights by validation PSNR are kept, except for adversarial and
    colorization runs, where PSNR is not the aim and the latest weights are kept.
    """
    train_paths, val_paths = _check_config(cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    log(f"loading images from {cfg.train_dirs}")
    train_images, val_images = _load_images(train_paths, cfg), _load_images(val_paths, cfg)
    log(f"{len(train_images)} training images, {len(val_images)} validation images")
    if cfg.architecture == "colorizer":  # gray → colours
        sampler = ColorSampler(train_images, cfg.lr_patch, cfg.batch_size, cfg.seed)

        def check(model):
            return validate_colorizer(model, val_images)
    elif cfg.architecture == "gatedunet":  # holes → filled
        sampler = HoleSampler(train_images, cfg.lr_patch, cfg.batch_size, cfg.seed)

        def check(model):
            return validate_inpainter(model, val_images)
    elif cfg.scale == 1:  # a denoiser: noisy → clean
        sigmas = tuple(cfg.degradation.get("noise_sigma") or (0.0, 0.0))
        if sigmas[1] <= 0:
            raise ValueError("a scale-1 model is a denoiser: give the noise range to train for (--noise 0:55)")
        sampler = NoisySampler(train_images, cfg.lr_patch, cfg.batch_size, sigmas, cfg.seed, cfg.channels)

        def check(model):
            return validate_denoiser(model, val_images, cfg.channels)
    else:
        sampler = PatchSampler(train_images, cfg.scale, cfg.lr_patch, cfg.batch_size, cfg.seed,
                               Degradation(**cfg.degradation), cfg.channels)

        def check(model):
            return validate(model, val_images, cfg.scale, cfg.channels)

    model = ARCHITECTURES[cfg.architecture](scale=cfg.scale, channels=cfg.channels, **cfg.config)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    if cfg.architecture == "colorizer":
        objective = ColorObjective(sampler.class_weights)
    elif cfg.architecture == "gatedunet":
        objective = HoleObjective()
    else:
        objective = Objective(cfg.losses, cfg.channels, cfg.lr, cfg.discriminator_features)
    # PSNR is not what adversarial or rebalanced-colour training aims at: keep their latest weights.
    keep_latest = objective.discriminator is not None or isinstance(objective, ColorObjective)
    step, best = 0, -1.0
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=True)  # never unpickle code
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        objective.load_state_dict(state.get("objective", {}))
        step, best = state["step"], state["best"]
        sampler.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed at step {step}, best validation PSNR {best:.3f}")
    elif cfg.init:
        _warm_start(model, cfg.init, log)

    def save_checkpoint():
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "objective": objective.state_dict(),
                "step": step,
                "best": best,
                "rng": sampler.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
            },
            tmp,
        )
        tmp.replace(ckpt_path)

    last_save, t0, running, since = time.monotonic(), time.monotonic(), 0.0, 0  # since the last record
    model.train()
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(cfg, step)
        lr, hr = sampler.sample()
        sr = model(lr)
        loss = objective.generator_loss(sr, hr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        objective.discriminator_step(sr, hr)
        step += 1
        running, since = running + loss.item(), since + 1
        if step % cfg.val_every == 0 or step == cfg.steps:
            recalibrated = bool(val_images) and not keep_latest and recalibrate_batch_norm(
                model, calibration_batches(sampler, cfg.seed))
            score = check(model) if val_images else float("nan")
            record = {
                "step": step,
                "loss": running / since,
                "val_psnr": score,
                **({"batch_norm": "recalibrated"} if recalibrated else {}),
                "lr": _lr_at(cfg, step),
                "sec_per_step": (time.monotonic() - t0) / since,
            }
            with open(out / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            log(json.dumps(record))
            running, since, t0 = 0.0, 0, time.monotonic()
            if keep_latest or not val_images or score > best:
                best = max(best, score)
                export_weights(model, out / "best.safetensors", step)
        if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
            save_checkpoint()
            last_save = time.monotonic()
    save_checkpoint()
    return out / "best.safetensors"


def calibration_batches(sampler, seed):
    """A copy of ``sampler`` drawing the same fixed batches at every call: training's stream is untouched."""
    calibration = copy.copy(sampler)
    calibration.rng = np.random.default_rng([seed, 1])
    return calibration


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
    for m, momentum in zip(norms, saved):
        m.momentum = momentum
    return True


def export_weights(model, path, step):
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, str(path))
    path.with_suffix(".step").write_text(str(step))


def _losses_description(cfg):
    """The loss weights a run really trained with: colorizer and inpainter runs use their own objective."""
    if cfg["architecture"] == "gatedunet":
        return {"l1_holes": 6.0, "l1_known_pixels": 1.0}
    if cfg["architecture"] == "colorizer":
        return {"rebalanced_cross_entropy": 1.0}
    return cfg.get("losses", {cfg.get("loss"): 1.0})


def _pairs_description(cfg):
    if cfg["architecture"] == "gatedunet":
        return ("RGB crops with random holes zeroed: free-form (brush strokes and boxes, 10-50 % of the pixels) "
                "or, one in five, 30-70 % of the pixels dropped at random")
    if cfg["architecture"] == "colorizer":
        return ("L of CIE Lab in, ab out at 1/4 resolution, soft-encoded over 261 bins, class-rebalanced (λ = 0.5); "
                "half the crops with random user hints")
    space = "luma models see BT.601 Y" if cfg.get("channels", 1) == 1 else "RGB"
    if cfg["scale"] == 1:
        low, high = cfg["degradation"]["noise_sigma"]
        return f"clean crops + Gaussian noise, σ uniform in [{low:g}, {high:g}] grey levels, unclipped; {space}"
    return f"MATLAB bicubic (antialiased, uint8 rounding); {space}"


def _parameter_count(cfg):
    """Trainable parameters of the run's architecture (not batch-norm statistics, which the weights file also holds)."""
    model = ARCHITECTURES[cfg["architecture"]](scale=cfg["scale"], channels=cfg.get("channels", 1), **cfg["config"])
    return int(sum(p.numel() for p in model.parameters()))


def _card_task(cfg):
    tasks = {"colorizer": "colorize", "gatedunet": "inpaint"}
    return tasks.get(cfg["architecture"], "upscale" if cfg["scale"] > 1 else "denoise")


def export_model(run_dir, weights_dir=None, *, name=None, data_description="", overwrite=False):
    """Copy a run's best weights into ``weights_dir`` with a model card.

    ``weights_dir`` defaults to the user weights folder
    (:func:`napari_superres.models.registry.user_weights_dir`), which is searched
    for models. A model of the same name there is replaced only with ``overwrite``.
    The card's ``metrics`` stay empty until ``benchmarks/sr_quality.py
    --update-cards`` measures them.
    """
    import hashlib

    from .models.registry import user_weights_dir

    run_dir = Path(run_dir)
    weights_dir = user_weights_dir() if weights_dir is None else Path(weights_dir)
    if name is None:
        cfg = json.loads((run_dir / "config.json").read_text())
        name = f"{cfg['architecture']}_x{cfg['scale']}"
    target, card_path = weights_dir / f"{name}.safetensors", weights_dir / f"{name}.json"
    existing = [p.name for p in (target, card_path) if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"a model named {name!r} is in {weights_dir} already ({', '.join(existing)}): "
                              "pass --overwrite (overwrite=True) to replace it, or choose another --name")
    cfg = json.loads((run_dir / "config.json").read_text())
    weights = (run_dir / "best.safetensors").read_bytes()
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    best_step = int((run_dir / "best.step").read_text())
    card = {
        "name": name,
        "architecture": cfg["architecture"],
        "method": name.rsplit("_x", 1)[0],
        "scale": cfg["scale"],
        "task": _card_task(cfg),
        "input": "y" if cfg.get("channels", 1) == 1 else "rgb",
        "config": cfg["config"],
        "weights": target.name,
        "sha256": hashlib.sha256(weights).hexdigest(),
        "parameters": _parameter_count(cfg),
        "training": {
            "data": data_description,
            "pairs": _pairs_description(cfg),
            "steps": best_step,
            "steps_planned": cfg["steps"],
            "batch_size": cfg["batch_size"],
            "lr_patch": cfg["lr_patch"],
            "losses": _losses_description(cfg),
            "degradation": cfg.get("degradation") or "bicubic only",
            "init": cfg.get("init"),
            "optimizer": f"Adam, lr {cfg['lr']} cosine to {cfg['min_lr']}",
            "validation_psnr_curve": [[r["step"], round(r["val_psnr"], 3)] for r in log],
        },
        "metrics": {},
    }
    if card_path.exists():  # keep measured metrics when re-exporting the same weights
        old = json.loads(card_path.read_text())
        if old.get("sha256") == card["sha256"]:
            card["metrics"] = old.get("metrics", {})
    weights_dir.mkdir(parents=True, exist_ok=True)
    target.write_bytes(weights)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path
