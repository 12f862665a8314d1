"""Reading and writing image files: TIFF through tifffile, the rest through imageio."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

TIFF_SUFFIXES = {".tif", ".tiff"}


def read_image(path):
    path = Path(path)
    if path.suffix.lower() in TIFF_SUFFIXES:
        import tifffile

        return tifffile.imread(path)
    import imageio.v3 as iio

    return np.asarray(iio.imread(path))


def read_resolution(path):
    """``(x, y, unit)`` pixels per unit of a TIFF file, or None (other formats, or none stored)."""
    if Path(path).suffix.lower() not in TIFF_SUFFIXES:
        return None
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        if "XResolution" not in page.tags:
            return None
        return (*page.resolution, page.resolutionunit)


def write_image(path, image, *, overwrite=False, rgb=None, metadata=None, resolution=None):
    """Write ``image`` to ``path`` atomically (temporary file, then rename).

    Refuses to replace an existing file unless ``overwrite``. ``rgb`` says whether
    the last axis holds colours (default: a 2D image with 3 or 4 channels); TIFF
    stacks are otherwise stored as grey pages, never reinterpreted as colour.
    TIFF only: ``metadata`` (a JSON-able dict) and ``resolution`` ``(x, y, unit)``.
    """
    if rgb is None:
        rgb = image.ndim == 3 and image.shape[-1] in (3, 4)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    suffix = path.suffix.lower()
    fd, tmp = tempfile.mkstemp(suffix=suffix, prefix=f".{path.stem}-", dir=path.parent or ".")
    os.close(fd)
    try:
        if suffix in TIFF_SUFFIXES:
            import tifffile

            extra = {"resolution": resolution[:2], "resolutionunit": resolution[2]} if resolution else {}
            tifffile.imwrite(tmp, image, photometric="rgb" if rgb else "minisblack", metadata=metadata, **extra)
        else:
            import imageio.v3 as iio

            iio.imwrite(tmp, image, extension=suffix)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
