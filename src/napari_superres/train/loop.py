"""The training loop: a resumable run of one model on a folder of high-resolution photographs.

What the run's batches, loss and validation are comes from its task's recipe
(:mod:`napari_superres.train.recipes`). A checkpoint is written every few minutes
and at the end; a run started again in the same folder resumes from it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .._fitting import FitStep
from ..models.registry import ARCHITECTURES
from .data import IMAGE_SUFFIXES, list_images, load_hr
from .export import export_weights
from .recipes import recipe_for, size_multiple
from .samplers import calibration_batches
from .validation import recalibrate_batch_norm


@dataclass
class TrainConfig:
    """The settings of one training run: architecture, scale, data folders, output folder and schedule."""

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


def train(cfg: TrainConfig, log=print):
    """Train (or resume) a model; writes checkpoints, a log and the best weights.

    The best weights by validation PSNR are kept, except for adversarial and
    colorization runs, where PSNR is not the aim and the latest weights are kept.
    Returns the path of the kept weights (``best.safetensors`` in ``cfg.out_dir``).
    """
    steps = iter_train(cfg, log)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value


def iter_train(cfg: TrainConfig, log=print):
    """:func:`train`, one :class:`~napari_superres._fitting.FitStep` (step, loss) yielded per step.

    Closing the generator (a widget's Stop) ends the run resumable: its checkpoint is
    written, and the weights as trained so far are kept if no validation has kept any yet.
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
    recipe = recipe_for(cfg.architecture, cfg.scale, cfg.degradation)
    sampler = recipe.sampler(cfg, train_images)
    model = ARCHITECTURES[cfg.architecture](scale=cfg.scale, channels=cfg.channels, **cfg.config)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    objective = recipe.objective(cfg, sampler)
    # PSNR is not what adversarial or rebalanced-colour training aims at: keep their latest weights.
    keep_latest = objective.discriminator is not None or not recipe.psnr_is_the_aim
    parts = {"model": model, "optimizer": optimizer, "objective": objective, "sampler": sampler}
    ckpt_path, kept = out / "checkpoint.pt", out / "best.safetensors"
    step, best = 0, -1.0
    if ckpt_path.exists():
        step, best = _load_checkpoint(ckpt_path, **parts)
        log(f"resumed at step {step}, best validation PSNR {best:.3f}")
    elif cfg.init:
        _warm_start(model, cfg.init, log)

    last_save, t0, running, since = time.monotonic(), time.monotonic(), 0.0, 0  # since the last record
    model.train()
    try:
        while step < cfg.steps:
            for group in optimizer.param_groups:
                group["lr"] = _lr_at(cfg, step)
            lr, hr = sampler.sample()
            sr = training_outputs(model, lr, hr)
            loss = objective.generator_loss(sr, hr) + objective.reported_loss(model)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            objective.discriminator_step(sr, hr)
            step += 1
            running, since = running + loss.item(), since + 1
            if step % cfg.val_every == 0 or step == cfg.steps:
                recalibrated = bool(val_images) and not keep_latest and recalibrate_batch_norm(
                    model, calibration_batches(sampler, cfg.seed))
                score = recipe.validate(model, val_images, cfg) if val_images else float("nan")
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
                    export_weights(model, kept, step)
            if time.monotonic() - last_save > cfg.checkpoint_minutes * 60:
                _save_checkpoint(ckpt_path, step, best, **parts)
                last_save = time.monotonic()
            yield FitStep(step, cfg.steps, 0, 1, float(loss.item()))
    finally:  # the end, or a Stop: resumable, and some weights kept
        _save_checkpoint(ckpt_path, step, best, **parts)
        if not kept.exists():
            export_weights(model, kept, step)
    return kept


def training_outputs(model, inputs, target=None):
    """What a step's loss is computed on: the model's output, or its supervised outputs if it has several.

    Deep-supervised models (LapSRN's pyramid levels, DRCN's recursions) give them all;
    ``inputs`` a tuple: the model's arguments (MDSR's scale). A model whose
    ``sees_target`` is true (a VAE, whose posterior encoder reads the target) is
    called ``model.posterior_outputs(*inputs, target)``; it reports its extra losses
    (the KL term) in ``model.reported_losses``, which the objective weighs.
    """
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    if getattr(model, "sees_target", False):
        return model.posterior_outputs(*inputs, target)
    return getattr(model, "supervised_outputs", model)(*inputs)


def _save_checkpoint(path, step, best, *, model, optimizer, objective, sampler):
    """Everything a resumed run needs, written to a temporary file first so a crash never leaves half of it."""
    tmp = path.with_suffix(".tmp")
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
    tmp.replace(path)


def _load_checkpoint(path, *, model, optimizer, objective, sampler):
    """Restore a run from its checkpoint; its step and best validation PSNR."""
    state = torch.load(path, weights_only=True)  # never unpickle code
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    objective.load_state_dict(state.get("objective", {}))
    sampler.rng.bit_generator.state = state["rng"]
    torch.set_rng_state(state["torch_rng"])
    return state["step"], state["best"]


def _lr_at(cfg, step):
    # Cosine decay from lr to min_lr over the run.
    t = min(step / max(cfg.steps, 1), 1.0)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * t))


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
    multiple = size_multiple(cfg)
    if cfg.lr_patch % multiple:  # training crops go in as they are: they must lie on the network's grid
        raise ValueError(f"--lr-patch must be a multiple of {multiple} for this {cfg.architecture}, "
                         f"got {cfg.lr_patch}")
    for folder in [*cfg.train_dirs, *cfg.val_dirs]:
        if not Path(folder).is_dir():
            raise ValueError(f"the image folder {folder} does not exist")
    train_paths = list_images(cfg.train_dirs)
    if not train_paths:
        raise ValueError(f"no training images ({', '.join(sorted(IMAGE_SUFFIXES))}) "
                         f"in {', '.join(map(str, cfg.train_dirs))}")
    return train_paths, list_images(cfg.val_dirs)


def _load_images(paths, cfg):
    images = []
    for path in paths:
        try:
            images.append(load_hr(path, cfg.jpeg_downscale, cfg.max_side))
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot read the training image {path}: {err}") from err
    return images
