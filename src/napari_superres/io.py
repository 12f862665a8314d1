"""Reading and writing image files: TIFF through tifffile, the rest through imageio."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

TIFF_SUFFIXES = {".tif", ".tiff"}
ZARR_SUFFIX = ".zarr"


def read_image(path):
    """The image in ``path`` as numpy; a zarr store is opened lazily (read block by block on demand)."""
    path = Path(path)
    if path.suffix.lower() == ZARR_SUFFIX:
        import zarr

        return zarr.open_array(path, mode="r")
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
    TIFF and zarr: ``metadata`` (a JSON-able dict; zarr keeps it in the array's
    attributes). TIFF: ``resolution`` ``(x, y, unit)``. A zarr ``path`` takes numpy or
    dask arrays; a dask array is computed and written block by block, on the
    current dask scheduler (a ``dask.distributed`` client, if one is active).
    """
    if rgb is None:
        rgb = image.ndim == 3 and image.shape[-1] in (3, 4)
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    suffix = path.suffix.lower()
    if suffix == ZARR_SUFFIX:
        return _write_zarr(path, image, metadata)
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


def _write_zarr(path, image, metadata):
    """Write a zarr store next to ``path`` and move it into place when complete."""
    import shutil

    import dask.array as da

    tmp = Path(tempfile.mkdtemp(suffix=ZARR_SUFFIX, prefix=f".{path.stem}-", dir=path.parent or "."))
    try:
        lazy = image if hasattr(image, "dask") else da.from_array(image, chunks="auto")
        target = tmp / "array.zarr"
        lazy.to_zarr(str(target))
        if metadata:
            import zarr

            zarr.open_array(target, mode="r+").attrs.update({"napari_superres": metadata})
        if path.exists():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path
