"""Peak memory and time of x4 SR on a large image (4096 x 4096 RGB uint8 by default).

Each run is a fresh Python process, so that its peak resident memory (``ru_maxrss``)
is its own. Modes:

- ``numpy``: ``upscale(array)``, the result in memory (block by block, one block's
  working copy at a time);
- ``zarr``: the input in a zarr store, ``upscale`` returns a dask array that is
  written to a zarr store chunk by chunk (``--scheduler`` for a dask.distributed
  cluster; the default is dask's threads).

    python benchmarks/large_image.py --methods bicubic espcn --modes numpy zarr \
        --out benchmarks/results/large_image.md
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


def make_image(size):
    """A ``size x size`` RGB uint8 photograph: scikit-image's astronaut, tiled and mirrored."""
    import numpy as np
    from skimage import data

    tile = data.astronaut()
    reps = -(-size // tile.shape[0])
    rows = [np.concatenate([tile if (i + j) % 2 == 0 else tile[:, ::-1] for j in range(reps)], axis=1)
            for i in range(reps)]
    mosaic = np.concatenate(rows, axis=0)
    return np.ascontiguousarray(mosaic[:size, :size])


def child(method, mode, size, scale, workdir, scheduler):
    """Run one case in this process and print a JSON line of its figures."""
    import resource

    import numpy as np

    from napari_superres import upscale

    image = make_image(size)
    start = time.perf_counter()
    if mode == "numpy":
        result = upscale(image, scale, method=method, channel_axis=-1)
        shape, checksum = result.shape, int(result[::97, ::89].sum())
    else:
        import dask.array as da
        import zarr

        store = Path(workdir) / "in.zarr"
        zarr.create_array(store, shape=image.shape, chunks=(1024, 1024, 3), dtype=image.dtype)[:] = image
        del image
        start = time.perf_counter()
        lazy = upscale(zarr.open_array(store, mode="r"), scale, method=method, channel_axis=-1)
        if scheduler:
            from distributed import Client

            with Client(scheduler):
                lazy.to_zarr(str(Path(workdir) / "out.zarr"))
        else:
            lazy.to_zarr(str(Path(workdir) / "out.zarr"))
        result = da.from_zarr(str(Path(workdir) / "out.zarr"))
        shape, checksum = result.shape, int(np.asarray(result[::97, ::89]).sum())
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    print(json.dumps({"method": method, "mode": mode, "seconds": seconds, "peak_gib": peak,
                      "shape": list(shape), "checksum": checksum}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=["bicubic", "espcn"])
    parser.add_argument("--modes", nargs="+", default=["numpy", "zarr"])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--scheduler", default=None, help="dask.distributed scheduler address (zarr mode)")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        return child(*args.child, args.size, args.scale, args.workdir, args.scheduler)
    import torch

    rows = []
    for method in args.methods:
        for mode in args.modes:
            with tempfile.TemporaryDirectory() as workdir:
                command = [sys.executable, __file__, "--child", method, mode, "--size", str(args.size),
                           "--scale", str(args.scale), "--workdir", workdir]
                if args.scheduler:
                    command += ["--scheduler", args.scheduler]
                line = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1]
            r = json.loads(line)
            rows.append(f"| {method} | {mode} | {' x '.join(map(str, r['shape']))} | {r['seconds']:.1f} | "
                        f"{r['peak_gib']:.2f} |")
            print(rows[-1], flush=True)
    emit_table([
        f"x{args.scale} SR of a {args.size} x {args.size} RGB uint8 image, {torch.get_num_threads()} threads "
        "(peak: resident memory of the whole process, Python and torch included).\n",
        "| method | mode | output | seconds | peak memory (GiB) |", "|---|---|---|---|---|", *rows], args.out)


if __name__ == "__main__":
    main()
