r"""Inpainting methods side by side on the Deep Image Prior paper's images: PSNR and time.

Cases as in ``benchmarks/dip.py`` (kate, library, vase with the paper's masks; 50 % of the
pixels of barbara and kate dropped at random, seed 0). Methods: any of
``available_inpainters()`` (biharmonic, dip, trained networks). PSNR over the whole image (the
known pixels are returned exactly, so only the holes differ).

    python benchmarks/inpaint.py ../shared/data/dev/DIP --methods biharmonic \
        --out benchmarks/results/inpaint.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from _report import emit_table
from dip import load_case

from napari_superres import inpaint, psnr

CASES = ["inpaint-kate", "inpaint-library", "inpaint-vase", "drop50-barbara", "drop50-kate"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="the DIP folder of ../shared/data/dev")
    parser.add_argument("--cases", nargs="+", default=CASES)
    parser.add_argument("--methods", nargs="+", default=["biharmonic"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for case in args.cases:
        observed, clean, _, kwargs, _ = load_case(args.folder, case)
        axis = -1 if observed.ndim == 3 else None
        for method in args.methods:
            start = time.perf_counter()
            result = inpaint(observed, kwargs["mask"], method=method, channel_axis=axis)
            seconds = time.perf_counter() - start
            rows.append(f"| {case} | {observed.shape[1]} x {observed.shape[0]} | {kwargs['mask'].mean():.0%} | "
                        f"{method} | {psnr(clean, result, data_range=255):.2f} | {seconds:.1f} |")
            print(rows[-1], flush=True)
    emit_table(["Inpainting on the DIP paper's images (PSNR in dB over the whole image, RGB or gray as "
                "stored).\n", "| case | size | missing | method | PSNR | seconds |", "|---|---|---|---|---|---|",
                *rows], args.out)


if __name__ == "__main__":
    main()
