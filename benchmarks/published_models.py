r"""Every model of the published catalogue, imported from its file, beside ours and the classical baselines.

    python benchmarks/published_models.py /work/ext/zoo --dev ../shared/data/dev \
        --out benchmarks/results/published_models.md

ZOO is a folder outside the repository holding the catalogued files under their
catalogue names (``file``), fetched from the pinned URLs; each must have the
catalogued SHA-256. Each is imported (``import_model``) into a temporary weights
folder, then run through ``upscale``/``denoise`` as a user would. Super-resolution:
Set5 and Set14 at the model's scale beside bicubic and our models of that scale
(PSNR/SSIM on Y, ``scale`` pixels shaved, as ``sr_quality.py``); denoising: Set12
at σ 15/25/50 (DnCNN's protocol, as ``denoise.py``) beside BM3D (``pip install
bm3d``) and our learned denoisers. Time: seconds per output megapixel.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import emit_table
from denoise import noisy_pairs
from sr_quality import evaluate

from napari_superres import available_denoisers, available_methods, denoise, psnr, ssim
from napari_superres.denoise import CLASSICAL, FITTED
from napari_superres.models.download import published_models
from napari_superres.models.importer import import_model

SR_SETS = ("Set5", "Set14")
SIGMAS = (15, 25, 50)
HEADER = ["| task | data | method | PSNR | SSIM | s / MP | published |", "|---|---|---|---|---|---|---|"]


def imported(zoo, entries, weights_dir):
    """Import each entry's file from ``zoo`` (SHA-256 checked first) into ``weights_dir``."""
    for entry in entries.values():
        path = Path(zoo) / entry["file"]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            raise SystemExit(f"{path}: SHA-256 {digest} is not the catalogued {entry['sha256']}")
        import_model(path, name=entry["name"], license=entry["license"], architecture=entry["architecture"],
                     weights_dir=weights_dir)


def published_figure(entry, data):
    """The entry's published figure on ``data`` ('Set5 x4', 'Set12 σ25'), or ''."""
    return next((f"{p['psnr']:.2f}" for p in entry.get("published", []) if p.get("data") == data), "")


def sr_rows(dev, entries):
    """One row per SR method and dataset, at each scale a catalogued model makes."""
    methods = available_methods()
    ours = [name for name, scales in methods.items() if scales is not None and name not in entries]
    for scale in sorted({entry["scale"] for entry in entries.values() if entry["task"] == "upscale"}):
        catalogued = [name for name, entry in entries.items() if entry["task"] == "upscale" and entry["scale"] == scale]
        candidates = ["bicubic", *[name for name in ours if scale in methods[name]], *catalogued]
        for dataset in SR_SETS:
            for method in candidates:
                psnr_y, ssim_y, speed = evaluate(Path(dev) / dataset, method, scale)
                figure = published_figure(entries[method], f"{dataset} x{scale}") if method in entries else ""
                yield f"| x{scale} | {dataset} | {method} | {psnr_y:.2f} | {ssim_y:.4f} | {speed:.3f} | {figure} |"


def denoise_scores(pairs, run):
    """Mean PSNR, SSIM and seconds per megapixel of ``run(noisy)`` over the (clean, noisy) pairs, 0-255."""
    scores, seconds, pixels = [], 0.0, 0
    for clean, noisy in pairs:
        start = time.perf_counter()
        out = np.clip(run(noisy), 0, 255)
        seconds += time.perf_counter() - start
        pixels += clean.size
        scores.append((psnr(clean, out, data_range=255), ssim(clean, out, data_range=255)))
    return *np.mean(scores, axis=0), seconds / pixels * 1e6


def denoise_rows(dev, entries):
    """One row per denoiser and σ on Set12: BM3D (if installed), our learned denoisers, the catalogued ones."""
    learned = [m for m in available_denoisers() if m not in CLASSICAL + FITTED]
    runs = {name: (lambda noisy, name=name: denoise(noisy, method=name, value_range=(0, 255))) for name in learned}
    try:
        import bm3d

        runs = {"BM3D (bm3d package)": lambda noisy, sigma: bm3d.bm3d(noisy, sigma_psd=sigma), **runs}
    except ImportError:
        print("bm3d is not installed: no BM3D row (pip install bm3d)")
    for sigma in SIGMAS:
        pairs = list(noisy_pairs(Path(dev) / "Set12", sigma, 0))
        for name, run in runs.items():
            told = (lambda noisy, run=run, sigma=sigma: run(noisy, sigma)) if name.startswith("BM3D") else run
            mean_psnr, mean_ssim, speed = denoise_scores(pairs, told)
            figure = published_figure(entries[name], f"Set12 σ{sigma}") if name in entries else ""
            yield f"| denoise | Set12 σ{sigma} | {name} | {mean_psnr:.2f} | {mean_ssim:.4f} | {speed:.3f} | {figure} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("zoo", type=Path, help="folder (outside the repository) of the catalogued files")
    parser.add_argument("--dev", type=Path, default=Path("../shared/data/dev"))
    parser.add_argument("--models", nargs="*", default=None, help="catalogue names (default: all)")
    parser.add_argument("--tasks", nargs="*", default=["upscale", "denoise"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    entries = {name: entry for name, entry in published_models().items()
               if args.models is None or name in args.models}
    rows = list(HEADER)
    with tempfile.TemporaryDirectory() as weights_dir:
        os.environ["NAPARI_SUPERRES_WEIGHTS"] = os.pathsep.join(
            [weights_dir, *filter(None, [os.environ.get("NAPARI_SUPERRES_WEIGHTS")])])
        imported(args.zoo, entries, Path(weights_dir))
        for task, make_rows in (("upscale", sr_rows), ("denoise", denoise_rows)):
            if task in args.tasks:
                for row in make_rows(args.dev, entries):
                    rows.append(row)
                    print(row, flush=True)
    emit_table(rows, args.out)


if __name__ == "__main__":
    main()
