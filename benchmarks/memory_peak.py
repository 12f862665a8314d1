"""Peak memory of x4 SR against the memory check's estimate, on the numpy, TIFF and zarr paths.

Each case is a fresh Python process: it imports dask, zarr and tifffile, loads torch
and the model on a small image, takes its resident memory then as the baseline (and
resets the kernel's record of its peak, Linux), runs the case and reads its peak
resident memory (``VmHWM``). The estimate is what the memory check compared with the
free memory (``blocks_peak_bytes``): what the job adds to the baseline. Paths:

- ``numpy``: ``upscale(array)``, the result in memory;
- ``tiff``: ``napari-superres upscale in.tif out.tif`` (the input read by the command counts in its peak);
- ``tiff-blocks``: the same with the free memory made to look just too small for the result
  (``psutil`` patched to report the numpy path's estimate as free): the result is written block by
  block into the TIFF instead of being refused;
- ``zarr``: ``napari-superres upscale in.zarr out.zarr``, block by block.

    nice -n 10 python benchmarks/memory_peak.py --sizes 1024 2048 4096 --out benchmarks/results/memory_peak.md
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import emit_table
from large_image import make_image

MODES = ("numpy", "tiff", "tiff-blocks", "zarr")


def child(method, mode, size, scale, workdir):
    """Run one case in this process and print a JSON line of its figures."""
    from unittest import mock

    import dask.array  # noqa: F401 - imported by the zarr path: its modules are no part of the job
    import psutil
    import tifffile  # noqa: F401
    import zarr  # noqa: F401

    from napari_superres import _arrays, upscale
    from napari_superres.cli import main as cli

    upscale(make_image(48), scale, method=method, channel_axis=-1)  # torch and the model loaded
    estimates = []
    check = _arrays.check_memory
    _arrays.check_memory = lambda nbytes, what: (estimates.append(nbytes), check(nbytes, what))[1]
    source = Path(workdir) / ("in.zarr" if mode == "zarr" else "in.tif")
    target = source.with_name(f"out-{mode}{source.suffix}")
    image = make_image(size) if mode == "numpy" else None
    baseline = reset_peak()
    start = time.perf_counter()
    if mode == "numpy":
        shape = upscale(image, scale, method=method, channel_axis=-1).shape
    else:
        command = ["upscale", str(source), str(target), "--scale", str(scale), "--method", method,
                   "--channel-axis", "-1"]
        if mode == "tiff-blocks":
            free = json.loads((Path(workdir) / "numpy_estimate.json").read_text())
            memory = psutil.virtual_memory()._replace(available=free)
            with mock.patch("psutil.virtual_memory", return_value=memory):
                cli(command)
        else:
            cli(command)
        shape = (size * scale, size * scale, 3)
    seconds = time.perf_counter() - start
    peak = peak_since_reset()
    print(json.dumps({"seconds": seconds, "baseline": baseline, "peak": peak, "estimate": estimates[-1],
                      "estimates": estimates, "shape": list(shape)}))


def reset_peak():
    """The resident memory of the process now, after resetting the kernel's record of its peak to it (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")
    return peak_since_reset()


def peak_since_reset():
    """The peak resident memory since :func:`reset_peak`, in bytes."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


def prepare(mode, size, workdir):
    """The input file a command-line case reads."""
    image = make_image(size)
    if mode == "zarr":
        import zarr

        store = zarr.create_array(Path(workdir) / "in.zarr", shape=image.shape, chunks=(1024, 1024, 3),
                                  dtype=image.dtype)
        store[:] = image
        store.attrs["channel_axis"] = -1
    elif mode != "numpy":
        import tifffile

        tifffile.imwrite(Path(workdir) / "in.tif", image, photometric="rgb")


def run_case(method, mode, size, scale, workdir):
    prepare(mode, size, workdir)
    command = [sys.executable, __file__, "--child", method, mode, "--sizes", str(size), "--scale", str(scale),
               "--workdir", workdir]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=["fsrcnn", "edsr"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1024, 2048, 4096])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--skip", nargs="*", default=[], help="METHOD:MODE:SIZE cases to leave out")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        return child(*args.child, args.sizes[0], args.scale, args.workdir)
    import torch

    gib = 2**30
    rows = []
    for method in args.methods:
        for size in args.sizes:
            with tempfile.TemporaryDirectory() as workdir:
                for mode in args.modes:
                    if f"{method}:{mode}:{size}" in args.skip:
                        continue
                    try:
                        r = run_case(method, mode, size, args.scale, workdir)
                    except RuntimeError as refused:  # tiff-blocks where one block is not small enough beside it
                        rows.append(f"| {method} | {size}² | {mode} | refused: {str(refused).strip()} |||||||")
                        print(rows[-1], flush=True)
                        continue
                    if mode == "numpy":  # what tiff-blocks makes the free memory look like
                        (Path(workdir) / "numpy_estimate.json").write_text(json.dumps(r["estimate"]))
                    added = r["peak"] - r["baseline"]
                    rows.append(f"| {method} | {size}² | {mode} | {r['seconds']:.0f} | {r['peak'] / gib:.2f} | "
                                f"{r['baseline'] / gib:.2f} | {added / gib:.2f} | {r['estimate'] / gib:.2f} | "
                                f"{r['estimate'] / added:.2f} |")
                    print(rows[-1], flush=True)
    emit_table([
        f"x{args.scale} SR of RGB uint8 images, {torch.get_num_threads()} threads. Peak: resident memory of the "
        "whole process; baseline: before the case (Python, torch and the model loaded); added: peak - baseline "
        "(the TIFF paths include reading the input); estimate: what the memory check compared with the free "
        "memory (x0.8); ratio: estimate / added.\n",
        "| method | input | path | seconds | peak (GiB) | baseline (GiB) | added (GiB) | estimate (GiB) | ratio |",
        "|---|---|---|---|---|---|---|---|---|", *rows], args.out)


if __name__ == "__main__":
    main()
