"""Deep Image Prior on the paper's images: PSNR, wall time and the early-stopping point.

Cases (all under the DIP folder of ``../shared/data/dev``):

- ``inpaint-{kate,library,vase}``: the paper's masks (white = known pixels);
- ``drop50-{barbara,kate}``: 50 % of the pixels removed at random (fixed seed);
- ``denoise-f16``: F16 with Gaussian noise of σ = 25/255 (fixed seed);
- ``sr4-zebra``: zebra shrunk 4x by MATLAB-bicubic ``imresize``, restored x4.

Every case runs its classical baseline (the noisy input, biharmonic inpainting,
bicubic) and DIP with each network asked for. DIP runs the whole iteration budget
while a :class:`VarianceStopper` watches, so that the table can show both the PSNR
where early stopping would have stopped (denoising; inpainting and SR run their whole
budget by default) and the best PSNR anywhere on the path.

    python benchmarks/dip.py ../shared/data/dev/DIP --cases denoise-f16 --networks fast \
        --out benchmarks/results/dip.md --curves benchmarks/results/dip_curves.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from skimage.restoration import inpaint_biharmonic

from napari_superres import imresize, psnr, upscale
from napari_superres.dip import TASK_DEFAULTS, VarianceStopper, iter_fit_dip
from napari_superres.io import read_image

# The paper's figures (Ulyanov et al. 2018 and its supplement) where it gives one.
PUBLISHED = {"drop50-barbara": 32.22, "sr4-zebra": None, "denoise-f16": None}
DEFAULT_STOPPER = VarianceStopper()


def load_case(folder, case):
    """``(observed, ground truth, task, fit kwargs, baseline)`` for a case name."""
    kind, name = case.split("-", 1)
    rng = np.random.default_rng(0)
    if kind == "inpaint":
        clean = read_image(folder / "inpainting" / f"{name}.png")[..., :3]
        missing = read_image(folder / "inpainting" / f"{name}_mask.png") < 128
        return _inpaint_case(clean, missing)
    if kind == "drop50":
        clean = read_image(folder / "restoration" / f"{name}.png")
        clean = clean[..., :3] if clean.ndim == 3 else clean
        return _inpaint_case(clean, rng.random(clean.shape[:2]) < 0.5)
    if kind == "denoise":
        clean = read_image(folder / "denoising" / "F16_GT.png")[..., :3]
        noisy = np.clip(np.round(clean + rng.normal(0, 25, clean.shape)), 0, 255).astype(np.uint8)
        return noisy, clean, "denoise", {}, lambda: noisy
    if kind == "sr4":
        clean = read_image(folder / "sr" / "zebra_GT.png")[..., :3]
        clean = clean[: clean.shape[0] // 4 * 4, : clean.shape[1] // 4 * 4]
        low = imresize(clean, 1 / 4, channel_axis=-1)
        return low, clean, "super-resolve", {"scale": 4}, lambda: upscale(low, 4, method="bicubic", channel_axis=-1)
    raise ValueError(f"unknown case {case!r}")


def _inpaint_case(clean, missing):
    observed = clean.copy()
    observed[missing] = 0
    axis = -1 if clean.ndim == 3 else None

    def biharmonic():
        filled = inpaint_biharmonic(observed / 255, missing, channel_axis=axis)
        return np.clip(np.round(filled * 255), 0, 255).astype(np.uint8)

    return observed, clean, "inpaint", {"mask": missing}, biharmonic


def run_dip(observed, clean, task, kwargs, network, iterations, learning_rate=0.01, preview_every=5):
    """Fit the whole budget; return the scores and the curve (iteration, PSNR, variance)."""
    stopper = VarianceStopper(patience=10**9)  # watch only; the stop is replayed below
    axis = -1 if observed.ndim == 3 else None
    curve = {}
    start = time.perf_counter()
    seconds_at = {}
    for step in iter_fit_dip(observed, task, channel_axis=axis, network=network, iterations=iterations,
                             early_stopping=stopper, preview_every=preview_every,
                             learning_rate=learning_rate, **kwargs):
        if step.estimate is not None:
            curve[step.iteration] = psnr(clean, step.estimate, data_range=255)
            seconds_at[step.iteration] = time.perf_counter() - start
    total = time.perf_counter() - start
    if TASK_DEFAULTS[task]["early_stopping"]:
        stop, chosen = DEFAULT_STOPPER.replay(stopper.history)
    else:  # the task runs its whole budget by default
        stop, chosen = None, max(curve)
    best = max(curve, key=curve.get)
    return {
        "network": network, "iterations": iterations, "learning_rate": learning_rate, "seconds": total,
        "seconds_per_iteration": total / iterations,
        "final_psnr": curve[max(curve)], "best_psnr": curve[best], "best_iteration": best,
        "stop_iteration": stop, "chosen_iteration": chosen,
        "stopped_psnr": curve.get(chosen), "seconds_to_stop": seconds_at.get(stop, total),
        "curve": [(i, curve[i], dict(stopper.history).get(i)) for i in sorted(curve)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="the DIP folder of ../shared/data/dev")
    parser.add_argument("--cases", nargs="+", default=["inpaint-kate", "inpaint-library", "inpaint-vase",
                                                        "drop50-barbara", "drop50-kate", "denoise-f16",
                                                        "sr4-zebra"])
    parser.add_argument("--networks", nargs="+", default=["fast"])
    parser.add_argument("--iterations", type=int, default=None, help="default: the task's")
    parser.add_argument("--learning-rate", type=float, default=0.01)
    parser.add_argument("--crop", type=int, default=None, help="centre crop of this size (quick runs)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="Markdown table to write")
    parser.add_argument("--curves", type=Path, default=None, help="JSON of the PSNR/variance curves")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    rows, results = [], []
    for case in args.cases:
        observed, clean, task, kwargs, baseline = load_case(args.folder, case)
        if args.crop:
            observed, clean, kwargs = _crop(observed, clean, kwargs, args.crop, kwargs.get("scale", 1))
            baseline = _crop_baseline(case, observed, kwargs)
        start = time.perf_counter()
        base = baseline()
        rows.append(f"| {case} | {_baseline_name(task)} | {psnr(clean, base, data_range=255):.2f} | | | | "
                    f"{time.perf_counter() - start:.1f} |")
        for network in args.networks:
            iterations = args.iterations or TASK_DEFAULTS[task]["iterations"]
            r = run_dip(observed, clean, task, kwargs, network, iterations, args.learning_rate)
            r["case"] = case
            results.append(r)
            stop = f"{r['stop_iteration']}" if r["stop_iteration"] else f"none (kept {r['chosen_iteration']})"
            rows.append(f"| {case} | DIP {network} | {r['stopped_psnr']:.2f} | {r['best_psnr']:.2f} "
                        f"@ {r['best_iteration']} | {r['final_psnr']:.2f} @ {iterations} | {stop} | "
                        f"{r['seconds_to_stop']:.0f} ({r['seconds_per_iteration']:.3f}/it) |")
            print(rows[-1], flush=True)
    table = "\n".join([
        f"DIP benchmark, {torch.get_num_threads()} threads, crop {args.crop or 'none'}. PSNR in dB against the "
        "ground truth (RGB, all pixels).\n",
        "| case | method | PSNR (early stop) | best on path | at the last iteration | stopped at | seconds to stop |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n")
    if args.curves:
        args.curves.write_text(json.dumps(results))


def _baseline_name(task):
    return {"inpaint": "biharmonic", "denoise": "noisy input", "super-resolve": "bicubic"}[task]


def _crop(observed, clean, kwargs, size, scale):
    h, w = observed.shape[:2]
    top, left = max(0, (h - size // scale) // 2), max(0, (w - size // scale) // 2)
    window = (slice(top, top + size // scale), slice(left, left + size // scale))
    observed = observed[window]
    clean = clean[top * scale: (top + size // scale) * scale, left * scale: (left + size // scale) * scale]
    if "mask" in kwargs:
        kwargs = {**kwargs, "mask": kwargs["mask"][window]}
    return observed, clean, kwargs


def _crop_baseline(case, observed, kwargs):
    if "mask" in kwargs:
        return _inpaint_case(observed, kwargs["mask"])[-1]
    if "scale" in kwargs:
        return lambda: upscale(observed, kwargs["scale"], method="bicubic", channel_axis=-1)
    return lambda: observed


if __name__ == "__main__":
    main()
