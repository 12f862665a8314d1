"""Small torch calls with OpenMP's default wait policy and with ``OMP_WAIT_POLICY=PASSIVE``, quiet and loaded.

OpenMP reads its wait policy once, when torch loads it, so each case is a fresh
Python process with its environment set before torch is imported. "Loaded" runs a
CPU hog (one busy process per core, beside the measured one) for the whole case,
as a napari session's other threads (Qt, vispy, workers) or other jobs would.
Each case times a bare FSRCNN forward on a 64² input (the smallest call the
plugin makes, e.g. a preview) and ``upscale`` of a 256² RGB image with FSRCNN x4
(a usual call), the median of repeated runs after a warm-up.

    nice -n 10 python benchmarks/omp_policy.py --out benchmarks/results/omp_policy.md
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _report import emit_table

POLICIES = {"default (unset)": None, "PASSIVE": "PASSIVE"}


def child(repeats):
    """Time the two calls in this process; print a JSON line of their medians in seconds.

    torch is imported before napari_superres, so that OpenMP starts with the policy
    of this process's environment (the package sets its own only before torch is loaded).
    """
    import torch  # noqa: I001 - first: see above

    import numpy as np
    from skimage import data

    from napari_superres import upscale
    from napari_superres.models import find_model
    from napari_superres.models.inference import load_on

    model, _ = load_on(find_model("fsrcnn", 4), "cpu")
    tiny = torch.rand(1, 1, 64, 64)
    image = np.ascontiguousarray(data.astronaut()[:256, :256])

    def forward():
        with torch.inference_mode():
            model(tiny)

    def call():
        upscale(image, 4, method="fsrcnn", channel_axis=-1)

    medians = {}
    for name, run, count in (("forward_64", forward, repeats * 4), ("upscale_256", call, repeats)):
        run()  # warm-up
        times = []
        for _ in range(count):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
        medians[name] = statistics.median(times)
    print(json.dumps({**medians, "policy": os.environ.get("OMP_WAIT_POLICY"), "threads": torch.get_num_threads()}))


def run_case(policy, loaded, repeats):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy is not None:
        env["OMP_WAIT_POLICY"] = policy
    hog = [sys.executable, "-c", "while True: pass"]
    hogs = [subprocess.Popen(hog) for _ in range(os.cpu_count() if loaded else 0)]
    try:
        out = subprocess.run([sys.executable, __file__, "--child", "--repeats", str(repeats)], env=env, check=True,
                             capture_output=True, text=True).stdout
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    return json.loads(out.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        return child(args.repeats)
    rows = []
    for loaded in (False, True):
        for label, policy in POLICIES.items():
            r = run_case(policy, loaded, args.repeats)
            rows.append(f"| {'loaded' if loaded else 'quiet'} | {label} | {r['forward_64'] * 1e3:.1f} | "
                        f"{r['upscale_256'] * 1e3:.0f} |")
            print(rows[-1], flush=True)
    load = os.getloadavg()[0]
    emit_table([
        f"Median seconds ×1000 of FSRCNN x4 calls, {os.cpu_count()} cores, torch's default thread count; "
        f"'loaded': {os.cpu_count()} busy processes beside it. The machine's own load average at the end: "
        f"{load:.1f} (other jobs ran beside the quiet cases too).\n",
        "| setting | OMP_WAIT_POLICY | forward 64² (ms) | upscale 256² RGB (ms) |", "|---|---|---|---|",
        *rows], args.out)


if __name__ == "__main__":
    main()
