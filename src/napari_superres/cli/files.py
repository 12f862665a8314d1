"""Files in and out of a sub-command: paths checked before any work, crops, channel axes, folder batches."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from .._arrays import is_lazy, run_to_end
from .progress import _run_with_bar


def _channel_axis_for(args, path, image):
    """The channel axis of ``image`` read from ``path``: ``--channel-axis`` if given, else what the file says."""
    from ..io import channel_axis_of

    if args.channel_axis is not None:
        return None if args.channel_axis == "none" else args.channel_axis
    return channel_axis_of(path, image.shape)


def _channels_last(axis, result):
    """Whether ``result``'s last axis holds its channels: the file then stores them as channels (RGB, gray + alpha)."""
    return axis is not None and axis % result.ndim == result.ndim - 1


@dataclass
class _Job:
    """What the command line runs on each input file: a progress generator and how to describe and record it."""

    description: str
    make_steps: Callable  # (image, channel axis) -> generator of progress
    record: dict  # provenance written into TIFF and zarr outputs
    zoom: float = 1  # output pixels per input pixel along H and W
    early_stopping: bool = False  # a fit's iterations are an upper bound
    result_axis: Callable = staticmethod(lambda axis: axis)  # the result's channel axis from the input's


def _crop(image, channel_axis, geometry):
    """``image`` cut to ``geometry`` (see :func:`_geometry`) in its H and W axes; as it is without one.

    A zarr image is sliced before it is read: only the crop is loaded.
    """
    if geometry is None:
        return image
    width, height, x, y = geometry
    spatial = [axis for axis in range(image.ndim) if channel_axis is None or axis != channel_axis % image.ndim]
    h_axis, w_axis = spatial[-2:]
    h, w = image.shape[h_axis], image.shape[w_axis]
    x = (w - width) // 2 if x is None else x
    y = (h - height) // 2 if y is None else y
    if width > w or height > h or x + width > w or y + height > h:
        raise ValueError(f"the crop {width}x{height}+{x}+{y} does not fit in the {w}x{h} image")
    box = [slice(None)] * image.ndim
    box[h_axis], box[w_axis] = slice(y, y + height), slice(x, x + width)
    return image[tuple(box)]


def _record(task, method, **settings):
    from ..provenance import provenance

    return provenance(task, method, **{k: v for k, v in settings.items() if k != "preview_every"})


def _is_folder_batch(args):
    """Whether INPUT is a folder of images (a zarr store is one image)."""
    return args.input.is_dir() and args.input.suffix.lower() != ".zarr"


def _input_paths(args):
    """Every file the command reads: none of them may be an output."""
    names = ("input", "mask", "hints", "frames", "processed")
    return [path for path in (getattr(args, name, None) for name in names) if path is not None]


def _batch(args):
    """``(source, target)`` of every image of the INPUT folder, in OUTPUT."""
    from ..io import IMAGE_SUFFIXES

    sources = sorted(p for p in args.input.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [(source, args.output / source.name) for source in sources]


def _check_paths(args):
    """Refuse, before any work, an OUTPUT that cannot be written: its folder, suffix, permissions, an input."""
    from ..io import check_output, check_writable

    if getattr(args, "input", None) is not None and _is_folder_batch(args):
        if args.output.exists() and not args.output.is_dir():
            raise ValueError(f"{args.input} is a folder, so OUTPUT must be a folder too, not the file {args.output}")
        args.output.mkdir(parents=True, exist_ok=True)
        check_writable(args.output)
        refused = []
        for source, target in _batch(args):
            try:
                check_output(target, overwrite=args.overwrite, inputs=[source, *_input_paths(args)])
            except (ValueError, OSError) as err:
                refused.append(str(err))
        if refused:
            raise ValueError("nothing done, these outputs cannot be written:\n  " + "\n  ".join(refused))
    elif getattr(args, "output", None) is not None:
        check_output(args.output, overwrite=args.overwrite, inputs=_input_paths(args))


def _check_device(args):
    """Refuse, before any work, a ``--device`` that torch does not know or this machine does not have."""
    if getattr(args, "device", None) is None:
        return
    from ..device import select_device

    select_device(args.device)


def _process_file(args, job):
    """Run ``job`` on one file, or on every image of a folder into an output folder, continuing past bad files."""
    if getattr(args, "scheduler", None):
        from distributed import Client

        with Client(args.scheduler):  # dask computes zarr results on the cluster from here on
            unscheduled = argparse.Namespace(**{**vars(args), "scheduler": None})
            return _process_file(unscheduled, job)
    if not _is_folder_batch(args):
        _process_one(args.input, args.output, args, job)
        return
    pairs = _batch(args)
    failures = []
    for number, (path, target) in enumerate(pairs, 1):
        try:
            numbered = replace(job, description=f"{job.description}, image {number}/{len(pairs)}")
            _process_one(path, target, args, numbered)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch; all are reported
            failures.append((path, err))
            print(f"failed: {path}: {err}", file=sys.stderr)
    print(f"{len(pairs) - len(failures)} of {len(pairs)} images done")
    if failures:
        sys.exit("error: these files failed:\n" + "\n".join(f"  {path}: {err}" for path, err in failures))


def _process_one(source, target, args, job):
    """Read ``source``, run the job's progress generator with a bar, write ``target`` atomically.

    A lazy result (zarr input, or a result too large for memory going to a TIFF or
    zarr file) is computed as it is written, block by block, and the bar counts the blocks.
    """
    from ..io import check_output, read_image

    check_output(target, overwrite=args.overwrite, inputs=[source, *_input_paths(args)])
    image = read_image(source)
    axis = _channel_axis_for(args, source, image)
    image = _crop(image, axis, getattr(args, "crop", None))
    channels = 1 if axis is None else image.shape[axis]
    save = partial(_iter_save, source, target, args, job, image, axis)
    result = _run_with_bar(_saved_if_lazy(_job_steps(job, image, axis, target), save), job.description,
                           image.size / channels * job.zoom**2 / 1e6, early_stopping=job.early_stopping,
                           estimate=getattr(args, "estimate", False))
    if result is None:
        print(f"{source}: nothing written (--estimate)")
        return
    if not is_lazy(result):
        run_to_end(save(result))
    print(f"{source} {image.shape} {image.dtype} -> {target} {result.shape} {result.dtype}")


def _job_steps(job, image, axis, target):
    """The job's progress generator; block by block into the file when the result would not fit in memory.

    Tasks that take lazy input (learned upscaling and denoising, interpolation) then
    write a TIFF or zarr output block by block instead of refusing.
    """
    from ..io import TIFF_SUFFIXES, ZARR_SUFFIX

    try:
        return job.make_steps(image, axis)
    except MemoryError as refused:
        if is_lazy(image) or target.suffix.lower() not in {ZARR_SUFFIX, *TIFF_SUFFIXES}:
            raise
        too_large = refused
    import dask.array as da

    try:
        return job.make_steps(da.from_array(image, chunks=-1), axis)
    except Exception:  # noqa: BLE001 - a task that cannot work lazily: what stops it is the memory
        raise too_large from None


def _saved_if_lazy(steps, save):
    """``steps``, then ``save(result)`` when the result is lazy (computed as it is written), progress going on."""
    progress = 0.0
    while True:
        try:
            progress = next(steps)
            yield progress
        except StopIteration as done:
            result = done.value
            break
    if is_lazy(result):
        for fraction in save(result):
            yield progress + (1 - progress) * fraction
    return result


def _iter_save(source, target, args, job, image, axis, result):
    """Write ``result`` to ``target`` with the provenance and the pixel size of ``source``, yielding progress."""
    from ..io import TIFF_SUFFIXES, ZARR_SUFFIX, iter_write_image, read_resolution

    tiff = target.suffix.lower() in TIFF_SUFFIXES
    keeps_metadata = tiff or target.suffix.lower() == ZARR_SUFFIX
    provenance = {**job.record, "command": " ".join(sys.argv[1:]) or job.description, "source": str(source)}
    resolution = read_resolution(source) if tiff else None
    result_axis = job.result_axis(axis)
    if resolution:  # physical pixel size shrinks with the zoom: pixels per unit grow by it
        zoom = result.shape[_height_axis(result.ndim, result_axis)] / image.shape[_height_axis(image.ndim, axis)]
        resolution = (resolution[0] * zoom, resolution[1] * zoom, resolution[2])
    return (yield from iter_write_image(target, result, overwrite=args.overwrite,
                                        rgb=_channels_last(result_axis, result),
                                        metadata=provenance if keeps_metadata else None, resolution=resolution))


def _height_axis(ndim, channel_axis):
    """The index of H among ``ndim`` axes whose channels are on ``channel_axis`` (None: none)."""
    return -2 if channel_axis is None or channel_axis % ndim < ndim - 2 else -3
