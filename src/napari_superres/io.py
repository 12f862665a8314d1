"""Reading and writing image files: TIFF through tifffile, the rest through imageio."""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import socket
from pathlib import Path

import numpy as np

from ._arrays import is_lazy, run_to_end
from .lazy import iter_blocks, iter_computed_blocks

TIFF_SUFFIXES = {".tif", ".tiff"}
ZARR_SUFFIX = ".zarr"
# What write_image can write, by the output's suffix; the command line reads the same from folders.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".webp", ZARR_SUFFIX)
# Hidden files and folders a write goes through before its rename into place; a run killed mid-write leaves
# one behind, which the next write to the same output removes: "<prefix><output tag>-<host tag>-<pid>-<random>".
TEMP_PREFIX = ".napari-superres-tmp-"


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
    from PIL import Image

    try:
        return np.asarray(iio.imread(path))
    except Image.DecompressionBombError as err:
        raise ValueError(f"{path} has more pixels than Pillow decodes safely ({err}); "
                         "if the file is trusted, convert it to TIFF and process that") from None


def channel_axis_of(path, shape):
    """The axis of colour channels that the file ``path`` declares for its image of ``shape``.

    A negative index, or None for a single-channel image (a plane or a stack of
    planes). TIFF: its samples axis (RGB, gray + alpha, ...), else an ImageJ or OME
    channel axis; PNG, JPEG and the like: the colour axis of the decoded image
    (L, LA, RGB, RGBA); zarr: the one napari-superres stored with it. Raises
    ValueError where the file does not say which axis holds channels: a zarr
    array with a last axis of 4 or fewer, or planar TIFF colours (tifffile's
    default for a stack of 3 or 4 planes).
    """
    path, ndim = Path(path), len(shape)
    suffix = path.suffix.lower()
    if suffix in TIFF_SUFFIXES:
        import tifffile

        with tifffile.TiffFile(path) as tif:
            axes = tif.series[0].axes
        if axes.endswith("S"):
            return -1
        if "S" in axes:  # planar RGB(A): what tifffile also makes of any stack of 3 or 4 planes saved as it is
            raise ValueError(f"{path} stores its {tuple(shape)} image as colour planes, as tifffile does by default "
                             "with a stack of 3 or 4 planes: pass --channel-axis "
                             f"{axes.index('S') - len(axes)} (colours) or --channel-axis none (a stack)")
        return axes.index("C") - len(axes) if "C" in axes else None
    if suffix == ZARR_SUFFIX:
        import zarr

        attributes = zarr.open_array(path, mode="r").attrs
        if "channel_axis" in attributes:
            return attributes["channel_axis"]
        if ndim > 2 and shape[-1] <= 4:
            raise ValueError(f"{path} does not say whether the last axis of its {tuple(shape)} array holds colour "
                             "channels: pass --channel-axis -1 (colours) or --channel-axis none (one channel)")
        return None
    import imageio.v3 as iio

    properties = iio.improps(path)
    return -1 if len(properties.shape) - properties.is_batch == 3 else None


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


def check_output(path, *, overwrite=False, inputs=()):
    """Refuse, before any work, an output ``path`` that :func:`write_image` could not write.

    Raises ValueError for a suffix that names no writable format (the format
    follows the suffix), a folder where a file is wanted, a missing parent
    folder, or a path that is one of the ``inputs`` (even with ``overwrite``: an
    input is never replaced by its result); FileExistsError for an existing
    output without ``overwrite``; PermissionError for a folder that refuses a new
    file (tried with a temporary file, which root's permission bits would not tell).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        found = f"{path.suffix!r} is not one of them" if path.suffix else "it has none"
        raise ValueError(f"cannot write {path}: the output's suffix names its format ({', '.join(IMAGE_SUFFIXES)}), "
                         f"and {found}")
    if suffix != ZARR_SUFFIX and path.is_dir():
        raise ValueError(f"{path} is a folder; name the output file (e.g. {path / ('result' + '.tif')})")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {path}: the folder {path.parent} does not exist")
    clash = next((source for source in inputs if _same_path(path, source)), None)
    if clash is not None:
        raise ValueError(f"cannot write {path}: it is the input {clash}; name another output (inputs are never "
                         "replaced)")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    check_writable(path.parent)


def check_writable(folder):
    """Refuse a ``folder`` that does not take a new file: PermissionError (or the OSError met) naming it."""
    try:
        probe = _temporary_beside(Path(folder) / "probe")
    except OSError as err:
        raise type(err)(f"cannot write into the folder {folder}: {err.strerror or err}") from None
    probe.unlink()


def _same_path(a, b):
    """Whether paths ``a`` and ``b`` name the same file (links and ``..`` resolved)."""
    a, b = Path(a), Path(b)
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def write_image(path, image, *, overwrite=False, rgb=None, metadata=None, resolution=None):
    """Write ``image`` to ``path`` atomically (temporary file, then rename).

    The format follows the suffix (:data:`IMAGE_SUFFIXES`); refuses to replace an
    existing file unless ``overwrite`` (see :func:`check_output`). ``rgb`` says whether
    the last axis holds channels (colours, colours + alpha, gray + alpha; default: a
    2D image with 3 or 4 channels); TIFF stacks are otherwise stored as grey pages,
    never reinterpreted as colour. TIFF and zarr: ``metadata`` (a JSON-able dict;
    zarr keeps it in the array's attributes). TIFF: ``resolution`` ``(x, y, unit)``.
    A dask ``image`` is computed and written block by block into a zarr store or an
    (uncompressed) TIFF, holding one block at a time (see
    :func:`~napari_superres.lazy.iter_computed_blocks`); other formats compute it
    whole first. Files and folders get the permissions ``open()`` would give them
    (the umask applies).
    """
    return run_to_end(iter_write_image(path, image, overwrite=overwrite, rgb=rgb, metadata=metadata,
                                       resolution=resolution))


def iter_write_image(path, image, *, overwrite=False, rgb=None, metadata=None, resolution=None):
    """:func:`write_image` as a generator that yields the fraction of the blocks written and returns the path."""
    if rgb is None:
        rgb = image.ndim == 3 and image.shape[-1] in (3, 4)
    path = Path(path)
    check_output(path, overwrite=overwrite)
    _remove_stale_temporaries(path)
    suffix = path.suffix.lower()
    if suffix == ZARR_SUFFIX:
        return (yield from _iter_write_zarr(path, image, metadata, channel_axis=-1 if rgb else None))
    if is_lazy(image) and suffix not in TIFF_SUFFIXES:
        image = yield from iter_blocks(image)
    tmp = _temporary_beside(path)
    try:
        if suffix in TIFF_SUFFIXES:
            options = {"metadata": metadata, **_tiff_layout(image, rgb)}
            if resolution:
                options.update(resolution=resolution[:2], resolutionunit=resolution[2])
            yield from _iter_write_tiff(tmp, image, options)
        else:
            import imageio.v3 as iio

            iio.imwrite(tmp, image, extension=suffix)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _iter_write_tiff(tmp, image, options):
    """Write numpy at once; a dask array into the file's image data block by block, through a short-lived map."""
    import tifffile

    if not is_lazy(image):
        tifffile.imwrite(tmp, image, **options)
        return
    offset, _ = tifffile.imwrite(tmp, shape=image.shape, dtype=image.dtype, returnoffset=True, **options)
    total = math.prod(image.numblocks)
    for done, (where, value) in enumerate(iter_computed_blocks(image), start=1):
        stored = np.memmap(tmp, image.dtype, "r+", offset=offset, shape=image.shape)
        stored[where] = value
        stored.flush()
        del stored  # unmapped: the written pages leave this process's memory
        yield done / total


def _tiff_layout(image, channels_last):
    """The tifffile photometric options: RGB(A) colours, other channels as samples, or grey pages."""
    if not channels_last:
        return {"photometric": "minisblack"}
    if image.shape[-1] in (3, 4):
        return {"photometric": "rgb"}
    extra = ["unassalpha"] if image.shape[-1] == 2 else []  # gray + alpha
    return {"photometric": "minisblack", "planarconfig": "contig", "extrasamples": extra}


def _iter_write_zarr(path, image, metadata, channel_axis):
    """Write a zarr store block by block next to ``path`` and move it into place when complete."""
    import shutil

    import dask.array as da
    import zarr

    tmp = _temporary_beside(path, folder=True)
    try:
        lazy = image if is_lazy(image) else da.from_array(image, chunks="auto")
        target = tmp / "array.zarr"
        store = zarr.create_array(target, shape=lazy.shape, chunks=tuple(c[0] for c in lazy.chunks), dtype=lazy.dtype)
        total = math.prod(lazy.numblocks)
        for done, (where, value) in enumerate(iter_computed_blocks(lazy), start=1):
            store[where] = value
            yield done / total
        attributes = {"channel_axis": channel_axis}
        store.attrs.update({**attributes, "napari_superres": metadata} if metadata else attributes)
        if path.exists():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def _temporary_tag(path):
    """``<prefix><output tag>-<host tag>-``: a short name shared by every temporary of one output on this host."""
    output = hashlib.sha256(str(Path(path).name).encode()).hexdigest()[:8]
    host = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:4]
    return f"{TEMP_PREFIX}{output}-{host}-"


def _temporary_beside(path, *, folder=False):
    """A new empty file (or folder) in the output's folder, short whatever the output's name.

    Created as ``open()`` and ``mkdir`` would (mode 0o666 / 0o777 less the umask),
    not as ``tempfile`` does (0o600 / 0o700), so the output is as readable as any.
    """
    for _ in range(100):
        tmp = path.parent / f"{_temporary_tag(path)}{os.getpid()}-{secrets.token_hex(4)}{path.suffix.lower()}"
        try:
            if folder:
                os.mkdir(tmp, 0o777)
            else:
                os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {path.parent}")


def _remove_stale_temporaries(path):
    """Remove what earlier writes of ``path`` on this host left behind when killed (their process is gone)."""
    import shutil

    import psutil

    tag = _temporary_tag(path)
    for leftover in path.parent.glob(f"{tag}*"):
        pid = re.match(r"(\d+)-", leftover.name[len(tag):])
        if pid is None or psutil.pid_exists(int(pid.group(1))):
            continue  # a write still under way, perhaps in another process
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
