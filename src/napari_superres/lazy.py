"""Block-wise processing with dask: images larger than memory, bounded memory for large ones.

A task that is local (each output pixel depends on input pixels at most ``halo``
away: SR models, interpolation, trained and local classical denoisers) is
expressed as a ``dask.array.map_overlap`` graph: every block is cut with ``halo``
pixels of real context from its neighbours, processed on its own and trimmed back,
so the stitched result equals the one-pass result. The same graph serves three
callers:

- dask or zarr input: the result is returned lazily, computed block by block when
  napari draws it or when it is stored (to zarr, by the CLI), on any dask scheduler,
  a ``dask.distributed`` cluster included;
- numpy input: :func:`iter_blocks` computes the blocks one at a time into a numpy
  result, so that memory holds the result plus one block's working copy, and a
  job can report progress and be cancelled between blocks.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from ._arrays import is_lazy, run_to_end, to_planes
from .device import torch_threads, usable_cores

# is_lazy lives with the array plumbing (UnitScale needs it too); it is part of this module's API.
__all__ = ["channels_last", "compute", "is_lazy", "iter_blocks", "iter_computed_blocks", "iter_map_planes",
           "map_planes"]


def channels_last(image, channel_axis):
    """A dask or zarr array as a dask array ``(..., H, W, C)``: colours last, or one channel added."""
    import dask.array as da

    x = da.asarray(image)
    return x[..., None] if channel_axis is None else da.moveaxis(x, channel_axis, -1)


def map_planes(process, image, *, scale, halo, channel_axis=None, block=512, dtype=None):
    """Apply ``process`` to ``image`` block by block, lazily, with ``halo`` pixels of overlap.

    Parameters
    ----------
    process : callable
        Takes an ``(H, W, C)`` plane (a block of one, with its halo) and returns the
        ``(H * scale, W * scale, C)`` result in the image's dtype.
    image : array-like
        numpy, dask or zarr; ``(..., H, W)`` with an optional channel axis.
    scale : int
        Integer factor between output and input sides.
    halo : int
        Context each output pixel needs, in input pixels.
    block : int
        Side of the blocks in input pixels (without the halo).

    Returns
    -------
    dask.array.Array
        ``image``'s layout with the two spatial axes ``scale`` times longer.
    """
    import dask.array as da

    if is_lazy(image):
        x = channels_last(image, channel_axis)
    else:
        x = image[..., None] if channel_axis is None else np.moveaxis(image, channel_axis, -1)
    lead = len(x.shape) - 3
    chunks = (1,) * lead + tuple(_split(n, block, halo) for n in x.shape[lead:lead + 2]) + (-1,)
    x = x.rechunk(chunks) if is_lazy(x) else da.from_array(x, chunks=chunks)
    if not float(scale).is_integer() and max(x.numblocks[lead:lead + 2]) > 1:
        raise ValueError(f"blocks need an integer scale, got {scale}; use one block per plane")
    out_chunks = x.chunks[:lead] + tuple(tuple(math.ceil(n * scale) for n in c)
                                         for c in x.chunks[lead:lead + 2]) + x.chunks[-1:]
    depth = {axis: halo if x.numblocks[axis] > 1 else 0 for axis in (lead, lead + 1)}

    def run(piece, block_info=None):
        location = block_info[0]["chunk-location"]
        counts = block_info[0]["num-chunks"]
        planes, unstack = to_planes(piece, -1)
        with torch_threads(_worker_share()):
            result = unstack(np.stack([process(plane) for plane in planes]))
        trim = [slice(None)] * lead
        for axis in (lead, lead + 1):  # halos exist only between blocks (boundary="none")
            before = depth[axis] * scale if location[axis] > 0 else 0
            after = depth[axis] * scale if location[axis] < counts[axis] - 1 else 0
            trim.append(slice(before, result.shape[axis] - after))
        return result[tuple(trim)]

    out = da.map_overlap(run, x, depth=depth, boundary="none", trim=False, chunks=out_chunks,
                         dtype=dtype or x.dtype, meta=np.empty((0,) * x.ndim, dtype or x.dtype))
    return out[..., 0] if channel_axis is None else da.moveaxis(out, -1, channel_axis)


_SHARES = {}  # a dask.distributed worker's address -> its tasks' torch threads


def _worker_share():
    """The torch threads of a task on a dask.distributed worker (None elsewhere): its host's cores, shared.

    The cores are divided among the threads of all the workers on the host (a worker
    started by a nanny would otherwise compute on one thread: it sets OMP_NUM_THREADS=1).
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:  # not in a worker
        return None
    if worker.address not in _SHARES:
        workers = distributed.get_client().scheduler_info(n_workers=-1)["workers"]
        host = workers[worker.address]["host"]
        threads = sum(w["nthreads"] for w in workers.values() if w["host"] == host)
        _SHARES[worker.address] = max(1, usable_cores() // max(1, threads))
    return _SHARES[worker.address]


def _split(length, block, halo):
    """Block sides along an axis: ``block`` each, the last one merged into its neighbour when shorter than the halo."""
    sides = [block] * (length // block) + ([length % block] if length % block else [])
    if len(sides) > 1 and sides[-1] < halo:
        sides[-2:] = [sides[-2] + sides[-1]]
    return tuple(sides)


def iter_map_planes(process, image, **options):
    """:func:`map_planes` as a task generator: the dask array at once for lazy input, else numpy block by block.

    numpy input runs the same blocks, with the same halos, without dask: no graph to
    build, no ``process`` (and the model it holds) to pickle and tokenize.
    """
    if is_lazy(image):
        return map_planes(process, image, **options)
    return (yield from _iter_numpy_blocks(process, image, **options))


def _iter_numpy_blocks(process, image, *, scale, halo, channel_axis=None, block=512, dtype=None):
    """:func:`map_planes`'s blocks of a numpy image, computed one at a time into a numpy result."""
    source = image[..., None] if channel_axis is None else np.moveaxis(image, channel_axis, -1)
    lead = source.shape[:-3]
    grids = [_block_bounds(n, block, halo) for n in source.shape[-3:-1]]
    if not float(scale).is_integer() and max(len(grid) for grid in grids) > 1:
        raise ValueError(f"blocks need an integer scale, got {scale}; use one block per plane")
    sides = [math.ceil(n * scale) for n in source.shape[-3:-1]]
    shape = list(lead) + sides
    if channel_axis is not None:
        shape.insert(channel_axis % image.ndim, image.shape[channel_axis])
    out = np.empty(shape, dtype or image.dtype)  # in the image's layout, C-contiguous
    target = out[..., None] if channel_axis is None else np.moveaxis(out, channel_axis, -1)
    total, done = math.prod(lead) * len(grids[0]) * len(grids[1]), 0
    for index in np.ndindex(*lead):
        for rows in grids[0]:
            for cols in grids[1]:
                result = process(source[index + (_with_halo(rows), _with_halo(cols))])
                target[index + (_scaled_span(rows, scale), _scaled_span(cols, scale))] = result[
                    _trimmed(rows, scale, result.shape[0]), _trimmed(cols, scale, result.shape[1])]
                done += 1
                yield done / total
    return out


def _block_bounds(length, block, halo):
    """``(start, stop, halo before, halo after)`` of each block along an axis, as :func:`map_planes` cuts them."""
    sides = _split(length, block, halo)
    depth = halo if len(sides) > 1 else 0  # halos exist only between blocks
    starts = np.cumsum((0,) + sides[:-1])
    return [(int(start), int(start) + side, depth if i > 0 else 0, depth if i < len(sides) - 1 else 0)
            for i, (start, side) in enumerate(zip(starts, sides, strict=True))]


def _with_halo(bounds):
    start, stop, before, after = bounds
    return slice(start - before, stop + after)


def _scaled_span(bounds, scale):
    return slice(math.ceil(bounds[0] * scale), math.ceil(bounds[1] * scale))


def _trimmed(bounds, scale, length):
    """The part of a block's result that is its own (its halos' results cut off)."""
    before, after = int(bounds[2] * scale), int(bounds[3] * scale)
    return slice(before, length - after)


def iter_blocks(lazy, out=None):
    """Compute a dask array block by block into ``out`` (numpy), yielding the fraction done.

    A generator that returns ``out``; one block is in memory at a time (beside ``out``).
    """
    if out is None:
        out = np.empty(lazy.shape, lazy.dtype)
    total = math.prod(lazy.numblocks)
    for done, (where, value) in enumerate(iter_computed_blocks(lazy), start=1):
        out[where] = value
        yield done / total
    return out


def iter_computed_blocks(lazy):
    """``(where, value)`` of each block of a dask array, in order: its slices in the array and its numpy value.

    One block at a time, in this process, torch using every core; with a
    ``dask.distributed`` client active, as many at a time as its workers have
    threads, on the cluster. So memory holds one block (or one per worker thread)
    and whoever writes or stores the blocks can count them.
    """
    indices = list(np.ndindex(*lazy.numblocks))
    batch = _cluster_threads()
    for start in range(0, len(indices), batch or 1):
        chosen = indices[start:start + (batch or 1)]
        if batch is None:
            values = [lazy.blocks[chosen[0]].compute(scheduler="synchronous")]
        else:
            import dask

            values = dask.compute(*(lazy.blocks[index] for index in chosen))
        for index, value in zip(chosen, values, strict=True):
            yield _block_slices(lazy.chunks, index), value


def _block_slices(chunks, index):
    return tuple(slice(sum(c[:i]), sum(c[:i + 1])) for c, i in zip(chunks, index, strict=True))


def _cluster_threads():
    """The threads of the active ``dask.distributed`` client's workers, or None without one."""
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        client = distributed.default_client()
    except ValueError:  # no client
        return None
    return max(1, sum(w["nthreads"] for w in client.scheduler_info(n_workers=-1)["workers"].values()))


def compute(lazy):
    """A dask array's value as numpy, block by block (see :func:`iter_blocks`)."""
    return run_to_end(iter_blocks(lazy))
