"""The fits' --quick presets against the noisy input and TV: a better image, and in how long.

    python benchmarks/quick_presets.py --out benchmarks/results/quick_presets.md

The README's two fitted examples, shortened as ``--quick`` does: Noise2Void on an
8x128² uint16 stack of ``denoise_microscopy.py``'s fluorescence scene (200 photons,
read noise 2 ADU, ``--volumetric``) and Deep Image Prior on a 128² gray crop of the
astronaut with Gaussian noise of σ = 25. Each fit runs on one torch thread;
CPU seconds are the process's (other jobs on a shared machine do not inflate
them, wall seconds they do). PSNR against the noise-free image, over the scene's range
for the stack and over 0-255 for the uint8 crop.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _report import emit_table
from denoise_microscopy import OFFSET, camera_image, synthetic_truth
from skimage import data

from napari_superres import denoise, psnr


def stack_case(seed):
    truth = synthetic_truth((8, 128, 128), 200.0, seed)
    truth = truth + OFFSET
    return truth, camera_image(truth - OFFSET, 2.0, seed), float(np.ptp(truth)), {"volumetric": True}


def crop_case(seed):
    clean = data.astronaut()[160:288, 160:288].mean(axis=-1)
    noisy = np.clip(clean + np.random.default_rng(seed).normal(0, 25, clean.shape), 0, 255).astype(np.uint8)
    return clean, noisy, 255.0, {}


def timed(image, method, options):
    """``denoise(image, method=method, **options)``, its wall and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = denoise(image, method=method, **options)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    import torch

    from napari_superres.dip import QUICK as DIP_QUICK
    from napari_superres.noise2void import QUICK as N2V_QUICK

    torch.set_num_threads(1)
    rows = ["| case | method | PSNR (dB) | CPU s | wall s |", "|---|---|---|---|---|"]
    cases = {"8x128² stack, n2v --volumetric": (stack_case, "n2v", N2V_QUICK),
             "128² crop, dip": (crop_case, "dip", DIP_QUICK)}
    for name, (make, method, quick) in cases.items():
        truth, noisy, span, options = make(args.seed)
        rows.append(f"| {name} | noisy input | {psnr(truth, noisy, data_range=span):.2f} | | |")
        runs = (("tv", "tv", {}), (f"{method} --quick {quick}", method, {"preview_every": 0, **options, **quick}))
        for label, run_method, run_options in runs:
            out, wall, cpu = timed(noisy, run_method, run_options)
            rows.append(f"| {name} | {label} | {psnr(truth, out, data_range=span):.2f} | {cpu:.0f} | {wall:.0f} |")
            print(rows[-1], flush=True)
    emit_table(rows, args.out)


if __name__ == "__main__":
    main()
