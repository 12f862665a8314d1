"""How exactly our imresize reproduces MATLAB's bicubic low-resolution files.

    python benchmarks/matlab_bicubic.py ../shared/data/dev/Set5 ../shared/data/dev/Set14

For each dataset (``HR/`` + ``LR_bicubic/X{s}/``) and scale: HR is cropped to a
multiple of the scale, shrunk with ``imresize(hr, 1/s)``, and compared pixel by
pixel with the published file.
"""

import argparse
from pathlib import Path

import numpy as np

from napari_superres import imresize
from napari_superres.io import read_image


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    args = parser.parse_args()
    print("| dataset | scale | exact pixels | max abs difference |\n|---|---|---|---|")
    for dataset in args.datasets:
        for s in args.scales:
            exact = total = worst = 0
            for hr_path in sorted((dataset / "HR").glob("*.png")):
                hr = read_image(hr_path)
                hr = hr[: hr.shape[0] // s * s, : hr.shape[1] // s * s]
                ours = imresize(hr, 1 / s, channel_axis=-1 if hr.ndim == 3 else None)
                diff = np.abs(ours.astype(int) - read_image(dataset / "LR_bicubic" / f"X{s}" / hr_path.name))
                exact, total, worst = exact + (diff == 0).sum(), total + diff.size, max(worst, diff.max())
            print(f"| {dataset.name} | x{s} | {exact / total:.4%} ({exact}/{total}) | {worst} |")


if __name__ == "__main__":
    main()
