"""How exactly our imresize reproduces MATLAB's bicubic low-resolution files.

    python benchmarks/matlab_bicubic.py ../shared/data/dev/Set5 ../shared/data/dev/Set14

For each dataset (``HR/`` + ``LR_bicubic/X{s}/``) and scale: HR is cropped to a
multiple of the scale, shrunk with ``imresize(hr, 1/s)``, and compared pixel by
pixel with the published file.

With ``--write ROOT`` the shrunk images are also written to ``ROOT/<dataset>/LR_bicubic/X{s}/``
(next to a link ``ROOT/<dataset>/HR`` to the dataset's HR folder), so that a scale without
published files can be evaluated by ``sr_quality.py`` (x8 as in LapSRN, which made its LR the
same way, with MATLAB's ``imresize``):

    python benchmarks/matlab_bicubic.py ../shared/data/dev/Set5 ../shared/data/dev/Set14 \
        --scales 8 --write /work/ext/x8
"""

import argparse
from pathlib import Path

import numpy as np

from napari_superres import imresize
from napari_superres.io import read_image, write_image


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("datasets", nargs="+", type=Path)
    parser.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    parser.add_argument("--write", type=Path, default=None, help="also write our LR files under this folder")
    args = parser.parse_args()
    print("| dataset | scale | exact pixels | max abs difference |\n|---|---|---|---|")
    for dataset in args.datasets:
        if args.write:
            link_hr(dataset, args.write / dataset.name)
        for s in args.scales:
            exact = total = worst = 0
            for hr_path in sorted((dataset / "HR").glob("*.png")):
                ours = shrink(read_image(hr_path), s)
                if args.write:
                    folder = args.write / dataset.name / "LR_bicubic" / f"X{s}"
                    folder.mkdir(parents=True, exist_ok=True)
                    write_image(folder / hr_path.name, ours, overwrite=True, rgb=ours.ndim == 3)
                published = dataset / "LR_bicubic" / f"X{s}" / hr_path.name
                if published.exists():
                    diff = np.abs(ours.astype(int) - read_image(published))
                    exact, total, worst = exact + (diff == 0).sum(), total + diff.size, max(worst, diff.max())
            if total:
                print(f"| {dataset.name} | x{s} | {exact / total:.4%} ({exact}/{total}) | {worst} |")
            else:
                print(f"| {dataset.name} | x{s} | no published files | |")


def shrink(hr, scale):
    """MATLAB's bicubic LR: HR cropped to a multiple of ``scale``, then ``imresize(hr, 1 / scale)``."""
    hr = hr[: hr.shape[0] // scale * scale, : hr.shape[1] // scale * scale]
    return imresize(hr, 1 / scale, channel_axis=-1 if hr.ndim == 3 else None)


def link_hr(dataset, root):
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "HR").exists():
        (root / "HR").symlink_to((dataset / "HR").resolve(), target_is_directory=True)


if __name__ == "__main__":
    main()
