r"""Build the training and validation folders that docs/training.md trains every shipped model on.

    bash ../shared/tools/get-training-images.sh /work/data/sr-train
    git --git-dir=<fetched jiny2001/dcscn-super-resolution> archive HEAD data/yang91 data/bsd200 \
        | tar -x -C /work/data/dcscn
    python scripts/prepare_training_data.py --photos /work/data/sr-train --t91-bsd200 /work/data/dcscn/data \
        --out /work/data/train

writes ``OUT/hr_png`` (T91, BSD200 but every 20th image, the wallpaper photographs shrunk 2x to at
most 1600 px so that their JPEG artifacts are not learned as detail, and the images bundled in
wheels except astronaut and camera, which the tests use) and ``OUT/val_png`` (the 10 held-out
BSD200 images). None of the evaluation images (Set5, Set14, Set12) is among them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

from napari_superres.train import list_images

LONGEST_SIDE = 1600
TEST_IMAGES = ("astronaut", "camera")


def images_in(folder: Path):
    """The images training reads from ``folder``, in its order."""
    return list_images([folder])


def shrunk_photo(path: Path) -> Image.Image:
    """Half size (or less, to fit ``LONGEST_SIDE``), antialiased: JPEG blocks vanish below a pixel."""
    image = Image.open(path).convert("RGB")
    factor = max(2.0, max(image.size) / LONGEST_SIDE)
    size = tuple(max(1, round(side / factor)) for side in image.size)
    return image.resize(size, Image.Resampling.LANCZOS)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, required=True, help="DEST of get-training-images.sh")
    parser.add_argument("--t91-bsd200", type=Path, required=True, help="folder holding yang91/ and bsd200/")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    train, val = args.out / "hr_png", args.out / "val_png"
    train.mkdir(parents=True, exist_ok=True)
    val.mkdir(parents=True, exist_ok=True)

    for path in images_in(args.t91_bsd200 / "yang91"):
        Image.open(path).convert("RGB").save(train / f"t91_{path.stem}.png")
    for index, path in enumerate(images_in(args.t91_bsd200 / "bsd200")):
        held_out = index % 20 == 19
        Image.open(path).convert("RGB").save((val if held_out else train) / f"bsd_{path.stem}.png")
    for path in images_in(args.photos / "photos"):
        shrunk_photo(path).save(train / f"photo_{path.stem}.png")
    for path in images_in(args.photos / "bundled"):
        if not path.stem.endswith(TEST_IMAGES):  # names are like skimage_camera
            Image.open(path).save(train / f"bundled_{path.stem}.png")
    print(f"{len(images_in(train))} training images in {train}, {len(images_in(val))} held out in {val}")


if __name__ == "__main__":
    main()
