"""Export: a run's weights as safetensors, and as a model with its card in a weights folder."""

from __future__ import annotations

import json
from pathlib import Path

from ..models.registry import ARCHITECTURES, CONTRACTS
from .recipes import recipe_for


def export_weights(model, path, step):
    """Write ``model``'s weights to ``path`` (safetensors) and the step they are of beside it (``.step``)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(tensors, str(path))
    path.with_suffix(".step").write_text(str(step))


def export_model(run_dir, weights_dir=None, *, name=None, data_description="", overwrite=False):
    """Copy a run's best weights into ``weights_dir`` with a model card.

    ``weights_dir`` defaults to the user weights folder
    (:func:`napari_superres.models.registry.user_weights_dir`), which is searched
    for models. A model of the same name there is replaced only with ``overwrite``.
    The card's ``metrics`` stay empty until ``benchmarks/sr_quality.py
    --update-cards`` measures them.
    """
    import hashlib

    from ..models.registry import user_weights_dir

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
    log_path = run_dir / "log.jsonl"  # absent when a run was stopped before its first validation
    log = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
    best_step = int((run_dir / "best.step").read_text())
    recipe = recipe_for(cfg["architecture"], cfg["scale"], cfg.get("degradation"))
    scales = CONTRACTS[cfg["architecture"]].served_scales(cfg["scale"], cfg["config"])
    card = {
        "name": name,
        "architecture": cfg["architecture"],
        "method": name.rsplit("_x", 1)[0],
        "scale": cfg["scale"],
        **({"scales": list(scales)} if len(scales) > 1 else {}),
        "task": recipe.task,
        "input": _card_input(cfg, recipe),
        "config": cfg["config"],
        "weights": target.name,
        "sha256": hashlib.sha256(weights).hexdigest(),
        "parameters": _parameter_count(cfg),
        "training": {
            "data": data_description,
            "pairs": recipe.pairs(cfg),
            "steps": best_step,
            "steps_planned": cfg["steps"],
            "batch_size": cfg["batch_size"],
            "lr_patch": cfg["lr_patch"],
            "losses": recipe.losses(cfg),
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


def _card_input(cfg, recipe):
    """What the exported model sees: 'rgb' (3 channels), 'gray' or 'y' (1 channel: full-range gray or luma)."""
    if cfg.get("channels", 1) == 3:
        return "rgb"
    return "gray" if recipe.gray_input else "y"


def _parameter_count(cfg):
    """Trainable parameters of the run's architecture (not batch-norm statistics, which the weights file also holds)."""
    model = ARCHITECTURES[cfg["architecture"]](scale=cfg["scale"], channels=cfg.get("channels", 1), **cfg["config"])
    return int(sum(p.numel() for p in model.parameters()))
