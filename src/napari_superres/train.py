"""Training of super-resolution models on a folder of high-resolution photographs.

HR crops are degraded on the fly with MATLAB-compatible bicubic (including its
uint8 rounding), so training pairs match the published evaluation protocol.
Runs are resumable: a checkpoint is written every few minutes and at the end.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .color import rgb_to_ycbcr
from .io import read_image
from .metrics import psnr
from .models.registry import ARCHITECTURES
from .resize import imresize, resize_matrix

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


@dataclass
class TrainConfig:
    architecture: str
    scale: int
    train_dirs: list
    out_dir: str
    val_dirs: list = field(default_factory=list)
    config: dict = field(default_factory=dict)
    steps: int = 20000
    batch_size: int = 32
    lr_patch: int = 24
    lr: float = 1e-3
    min_lr: float = 1e-5
    loss: str = "l1"
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


class PatchSampler:
    """Random HR crops with flips and 90° rotations, degraded by MATLAB bicubic."""

    def __init__(self, images, scale, lr_patch, batch_size, seed=0):
        self.images = [im for im in images if min(im.shape[:2]) >= lr_patch * scale]
        areas = np.array([im.shape[0] * im.shape[1] for im in self.images], dtype=np.float64)
        self.p = areas / areas.sum()
        self.scale, self.lr_patch, self.batch_size = scale, lr_patch, batch_size
        self.rng = np.random.default_rng(seed)
        hr = lr_patch * scale
        self.down = torch.tensor(resize_matrix(hr, lr_patch), dtype=torch.float32)

    def sample(self):
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
        hr = torch.from_numpy(np.ascontiguousarray(np.stack(crops))).permute(0, 3, 1, 2).float()
        # Rows then columns, rounding to uint8 in between, as MATLAB's imresize.
        lr = torch.clamp(torch.floor(self.down @ hr + 0.5), 0, 255)
        lr = torch.clamp(torch.floor(lr @ self.down.T + 0.5), 0, 255)
        return luma(lr), luma(hr)


def _loss(name, sr, hr):
    if name == "l1":
        return F.l1_loss(sr, hr)
    if name == "l2":
        return F.mse_loss(sr, hr)
    raise ValueError(f"unknown loss {name!r}")


def _lr_at(cfg, step):
    # Cosine decay from lr to min_lr over the run.
    t = min(step / max(cfg.steps, 1), 1.0)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * t))


@torch.no_grad()
def validate(model, images, scale):
    """Mean PSNR (Y, border of ``scale`` shaved) of bicubic-degraded images."""
    model.eval()
    scores = []
    for hr in images:
        hr = hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]
        lr = imresize(hr, 1 / scale, channel_axis=-1)
        y = torch.from_numpy(rgb_to_ycbcr(lr)[..., 0]).float()[None, None]
        sr = model(y)[0, 0].clamp(0, 1).numpy() * 255
        hr_y = rgb_to_ycbcr(hr)[..., 0] * 255
        scores.append(psnr(hr_y, sr, data_range=255, crop_border=scale))
    model.train()
    return float(np.mean(scores))


def train(cfg: TrainConfig, log=print):
    """Train (or resume) a model; writes checkpoints, a log and the best weights."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2))
    log(f"loading images from {cfg.train_dirs}")
    train_images = [load_hr(p, cfg.jpeg_downscale, cfg.max_side) for p in list_images(cfg.train_dirs)]
    val_images = [load_hr(p, cfg.jpeg_downscale, cfg.max_side) for p in list_images(cfg.val_dirs)]
    log(f"{len(train_images)} training images, {len(val_images)} validation images")
    sampler = PatchSampler(train_images, cfg.scale, cfg.lr_patch, cfg.batch_size, cfg.seed)

    model = ARCHITECTURES[cfg.architecture](scale=cfg.scale, **cfg.config)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step, best = 0, -1.0
    ckpt_path = out / "checkpoint.pt"
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, best = state["step"], state["best"]
        sampler.rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        log(f"resumed at step {step}, best validation PSNR {best:.3f}")

    def save_checkpoint():
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "step": step,
                "best": best,
                "rng": sampler.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
            },
            tmp,
        )
        tmp.replace(ckpt_path)

    last_save, t0, running = time.monotonic(), time.monotonic(), 0.0
    model.train()
    while step < cfg.steps:
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(cfg, step)
        lr, hr = sampler.sample()
        loss = _loss(cfg.loss, model(lr), hr)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        running += loss.item()
        if step % cfg.val_every == 0 or step == cfg.steps:
            score = validate(model, val_images, cfg.scale) if val_images else float("nan")
            record = {
                "step": step,
                "loss": running / cfg.val_every,
                "val_psnr": score,
                "lr": _lr_at(cfg, step),
                "sec_per_step": (time.monotonic() - t0) / cfg.val_every,
            }
            with open(out / "log.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            log(json.dumps(record))
            running, t0 = 0.0, time.monotonic()
            if score > best or not val_images:
                best = score
                export_weights(model, cfg, out / "best.safetensors", step)
        if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
            save_checkpoint()
            last_save = time.monotonic()
    save_checkpoint()
    return out / "best.safetensors"


def export_weights(model, cfg, path, step):
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, str(path))
    path.with_suffix(".step").write_text(str(step))


def export_model(run_dir, weights_dir, *, name=None, data_description=""):
    """Copy a run's best weights into ``weights_dir`` with a model card.

    The card's ``metrics`` stay empty until ``benchmarks/sr_quality.py
    --update-cards`` measures them.
    """
    import hashlib
    import shutil

    from safetensors.torch import load_file

    run_dir, weights_dir = Path(run_dir), Path(weights_dir)
    cfg = json.loads((run_dir / "config.json").read_text())
    name = name or f"{cfg['architecture']}_x{cfg['scale']}"
    target = weights_dir / f"{name}.safetensors"
    shutil.copyfile(run_dir / "best.safetensors", target)
    tensors = load_file(str(target))
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    best_step = int((run_dir / "best.step").read_text())
    card = {
        "name": name,
        "architecture": cfg["architecture"],
        "scale": cfg["scale"],
        "input": "y",
        "config": cfg["config"],
        "weights": target.name,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "parameters": int(sum(t.numel() for t in tensors.values())),
        "training": {
            "data": data_description,
            "degradation": "MATLAB bicubic (antialiased, uint8 rounding), Y channel of BT.601",
            "steps": best_step,
            "steps_planned": cfg["steps"],
            "batch_size": cfg["batch_size"],
            "lr_patch": cfg["lr_patch"],
            "loss": cfg["loss"],
            "optimizer": f"Adam, lr {cfg['lr']} cosine to {cfg['min_lr']}",
            "validation_psnr_curve": [[r["step"], round(r["val_psnr"], 3)] for r in log],
        },
        "metrics": {},
    }
    card_path = weights_dir / f"{name}.json"
    if card_path.exists():  # keep measured metrics when re-exporting the same weights
        old = json.loads(card_path.read_text())
        if old.get("sha256") == card["sha256"]:
            card["metrics"] = old.get("metrics", {})
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return card_path
