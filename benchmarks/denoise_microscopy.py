"""Denoising of synthetic fluorescence microscopy: Poisson-Gaussian noise, 2D image and 3D stack.

    python benchmarks/denoise_microscopy.py --out benchmarks/results/denoise_microscopy.md
    python benchmarks/denoise_microscopy.py --reuse 5 --out benchmarks/results/denoise_microscopy_reuse.md

The ground truth is made reproducibly from a seed: blurred puncta (diffraction-limited
spots), cell-like blobs and curvilinear filaments on a dim background, in expected
photons per pixel (peak ``--photons``). The camera image is then Poisson shot noise
on it, plus Gaussian read noise (``--read-noise`` ADU), plus an offset of 100 ADU, as
uint16: the noise is signal dependent, as in real data, and no method is told its
level (the classical ones use the wavelet estimate). The 3D stack is the same
construction in a volume (objects span several slices), denoised plane by plane by
the 2D methods and as a volume by ``n2v-3d``. PSNR and SSIM against the ground truth
(in ADU, data range of the ground truth), and seconds per megapixel on this machine.
BM3D (``pip install bm3d``) is the strongest classical peer, shown when installed.

``--reuse N``: Noise2Void trained once on one 3D stack (seed ``--seed``, saved with
``save_to``) and applied to N new stacks of the same construction and noise (seeds
``--seed + 1`` on), against fitting each of them from scratch with the same
settings: PSNR and seconds per stack. Training once can afford more iterations
(``--train-iterations``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import emit_table
from scipy import ndimage

from napari_superres import denoise, estimate_noise, psnr, ssim
from napari_superres.noise2void import fit_noise2void

OFFSET = 100.0


def synthetic_truth(shape, photons, seed):
    """Expected photons per pixel of a fluorescence-like scene of ``shape`` (2D or 3D)."""
    rng = np.random.default_rng(seed)
    ndim = len(shape)
    scene = np.zeros(shape)
    # Cell-like blobs: large soft ellipsoids of moderate brightness.
    for _ in range(max(3, int(np.prod(shape[-2:]) / 6000))):
        center = [rng.uniform(0, s) for s in shape]
        radii = [rng.uniform(0.25, 0.5) * s if ndim == 3 and i == 0 else rng.uniform(10, 22)
                 for i, s in enumerate(shape)]
        grids = np.ogrid[tuple(slice(0, s) for s in shape)]
        distance = sum(((g - c) / r) ** 2 for g, c, r in zip(grids, center, radii, strict=True))
        scene += rng.uniform(0.2, 0.4) * (distance < 1)
    # Filaments: smooth random walks drawn as lines, each pixel once (a walk may cross itself).
    filaments = np.zeros(shape)
    for _ in range(max(4, int(np.prod(shape[-2:]) / 5000))):
        point = np.array([rng.uniform(0, s) for s in shape])
        direction = rng.normal(size=ndim)
        for _ in range(400):
            direction += rng.normal(scale=0.15, size=ndim)
            if ndim == 3:
                direction[0] *= 0.3
            direction /= np.linalg.norm(direction)
            point = point + direction
            index = np.round(point).astype(int)
            if np.all((index >= 0) & (index < shape)):
                filaments[tuple(index)] = 0.8
    scene += filaments
    # Puncta: bright points.
    for _ in range(max(20, int(np.prod(shape[-2:]) / 800))):
        index = tuple(rng.integers(0, s) for s in shape)
        scene[index] += rng.uniform(2, 5)
    sigma = (1.0, 1.5, 1.5) if ndim == 3 else 1.5  # the microscope's blur (PSF)
    scene = ndimage.gaussian_filter(scene, sigma)
    return 0.5 + photons * scene / np.percentile(scene, 99.9)  # a few brighter spots go over the peak


def camera_image(truth, read_noise, seed):
    rng = np.random.default_rng(seed + 1)
    noisy = rng.poisson(truth) + rng.normal(0, read_noise, truth.shape) + OFFSET
    return np.clip(np.round(noisy), 0, 65535).astype(np.uint16)


def run_method(method, noisy, iterations):
    if method == "bm3d":
        import bm3d

        sigma = estimate_noise(noisy)
        planes = noisy.reshape((-1,) + noisy.shape[-2:]).astype(np.float64)
        return np.stack([bm3d.bm3d(p, sigma_psd=sigma) for p in planes]).reshape(noisy.shape)
    if method == "n2v":
        return denoise(noisy, method="n2v", iterations=iterations, preview_every=0)
    if method == "n2v-3d":
        return denoise(noisy, method="n2v", volumetric=True, iterations=iterations, preview_every=0)
    if method == "dip":
        return denoise(noisy, method="dip", preview_every=0)
    return denoise(noisy, method=method)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256, help="side of the 2D image (the stack is half)")
    parser.add_argument("--depth", type=int, default=16, help="slices of the 3D stack (0: no stack)")
    parser.add_argument("--photons", type=float, default=30.0, help="expected photons at the 99.9th percentile")
    parser.add_argument("--read-noise", type=float, default=3.0, help="Gaussian read noise, ADU")
    parser.add_argument("--methods", nargs="+", default=["nlm", "tv", "wavelet", "bilateral", "bm3d", "n2v",
                                                         "n2v-3d", "dip"])
    parser.add_argument("--iterations", type=int, default=1500, help="Noise2Void training steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reuse", type=int, default=0, help="new stacks to apply one trained N2V model to")
    parser.add_argument("--volumetric", action="store_true", help="with --reuse: a 3D N2V model")
    parser.add_argument("--train-iterations", type=int, default=None,
                        help="with --reuse: iterations of the one training (default: --iterations)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.reuse:
        emit_table(reuse_rows(args), args.out)
        return

    cases = {"2D": (args.size, args.size)}
    if args.depth:
        cases["3D"] = (args.depth, args.size // 2, args.size // 2)
    rows = [f"Poisson-Gaussian, peak {args.photons:g} photons, read noise {args.read_noise:g} ADU, seed {args.seed}",
            "", "| scene | method | PSNR | SSIM | s / MP |", "|---|---|---|---|---|"]
    for case, shape in cases.items():
        truth, noisy = _microscopy_stack(shape, args, args.seed)
        span = float(truth.max() - truth.min())

        def scores(image, truth=truth, span=span):
            return psnr(truth, image, data_range=span), _ssim(truth, image, span)

        rows.append(f"| {case} {'x'.join(map(str, shape))} | noisy input | {scores(noisy)[0]:.2f} | "
                    f"{scores(noisy)[1]:.4f} | |")
        print(rows[-1], flush=True)
        for method in args.methods:
            if method == "n2v-3d" and case == "2D":
                continue
            if method == "bm3d" and not _has_bm3d():
                continue
            start = time.perf_counter()
            out = run_method(method, noisy, args.iterations)
            seconds = time.perf_counter() - start
            p, s = scores(out)
            rows.append(f"| {case} {'x'.join(map(str, shape))} | {method} | {p:.2f} | {s:.4f} | "
                        f"{seconds / noisy.size * 1e6:.2f} |")
            print(rows[-1], flush=True)
    emit_table(rows, args.out)


def reuse_rows(args):
    """Train once, apply to ``args.reuse`` new stacks; against a fit of each from scratch (same settings)."""
    shape = (args.depth, args.size // 2, args.size // 2)
    settings = {"iterations": args.iterations, "volumetric": args.volumetric, "preview_every": 0}
    kind = "3D" if args.volumetric else "2D (plane by plane)"
    trained = args.train_iterations or args.iterations
    rows = [f"Noise2Void {kind}, {args.iterations} iterations a fit ({trained} for the saved model), "
            f"stacks {'x'.join(map(str, shape))}; Poisson-Gaussian, "
            f"peak {args.photons:g} photons, read noise {args.read_noise:g} ADU; trained on seed {args.seed}", "",
            "| stack (seed) | noisy PSNR | saved model PSNR | saved model s | fitted from scratch PSNR | fit s |",
            "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        _, noisy = _microscopy_stack(shape, args, args.seed)
        start = time.perf_counter()
        fit_noise2void(noisy, save_to=Path(folder) / "model", **{**settings, "iterations": trained})
        rows.insert(1, f"Training once on seed {args.seed} (and saving): {time.perf_counter() - start:.1f} s.")
        for seed in range(args.seed + 1, args.seed + 1 + args.reuse):
            truth, noisy = _microscopy_stack(shape, args, seed)
            span = float(truth.max() - truth.min())
            start = time.perf_counter()
            applied = denoise(noisy, method=Path(folder) / "model.json")
            applied_seconds = time.perf_counter() - start
            start = time.perf_counter()
            fitted = fit_noise2void(noisy, **settings)
            fit_seconds = time.perf_counter() - start
            rows.append(f"| {seed} | {psnr(truth, noisy, data_range=span):.2f} | "
                        f"{psnr(truth, applied, data_range=span):.2f} | {applied_seconds:.2f} | "
                        f"{psnr(truth, fitted, data_range=span):.2f} | {fit_seconds:.1f} |")
            print(rows[-1], flush=True)
    return rows


def _microscopy_stack(shape, args, seed):
    """``(truth, camera image)`` in ADU of the scene of ``seed``."""
    truth = synthetic_truth(shape, args.photons, seed) + OFFSET
    return truth, camera_image(truth - OFFSET, args.read_noise, seed)


def _ssim(truth, image, span):
    planes = zip(truth.reshape((-1,) + truth.shape[-2:]), image.reshape((-1,) + image.shape[-2:]), strict=True)
    return float(np.mean([ssim(t, i, data_range=span) for t, i in planes]))


def _has_bm3d():
    try:
        import bm3d  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
