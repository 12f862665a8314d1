"""Tiled inference: a model runs on overlapping tiles so that memory stays bounded.

Each tile is cut with ``halo`` pixels of real context on every side that has a
neighbour; when ``halo`` is at least the network's receptive-field radius, the
stitched result equals the untiled one (no seams), because every kept output
pixel saw exactly the input it would have seen in one pass.

Exactly in the arithmetic's sense, not always to the last bit: a convolution library
picks its algorithm and its split of the sums by the tile's shape, the thread count
and the CPU's instructions, so the same pixel may round differently in float32.
After rounding to an integer dtype, results of the same call with other tiles,
threads, processes (a dask cluster) or CPUs differ by at most ``ROUNDING_BOUND``
levels (seen: one pixel in 259,560 off by one); bf16 precision stays within the
same bound of fp32. Interpolations are exact: the same bytes whatever the blocks.
"""

from __future__ import annotations

import gc
import math
import warnings

MIN_TILE = 16
ROUNDING_BOUND = 1  # levels of an integer result; see the module's docstring


class TileSizeWarning(ResourceWarning):
    """A tile ran out of memory and the work was redone with smaller tiles."""


def _starts(length, tile):
    return range(0, length, tile)


def count_tiles(shape, tile):
    """The number of ``tile``-sided tiles that cover the last two axes of ``shape``."""
    rows, cols = shape[-2:]
    return math.ceil(rows / tile) * math.ceil(cols / tile)


def iter_tiled(forward, x, scale, tile, halo):
    """Apply ``forward`` to ``x`` of shape ``(N, C, H, W)`` tile by tile.

    A generator: yields the fraction of tiles done after each tile and returns
    the stitched output ``(N, C_out, H * scale, W * scale)``.
    """
    rows, cols = x.shape[-2:]
    if tile is None or (rows <= tile and cols <= tile):
        out = forward(x)
        yield 1.0
        return out
    total, done, out = count_tiles(x.shape, tile), 0, None
    for top in _starts(rows, tile):
        for left in _starts(cols, tile):
            bottom, right = min(top + tile, rows), min(left + tile, cols)
            t0, l0 = max(top - halo, 0), max(left - halo, 0)
            t1, l1 = min(bottom + halo, rows), min(right + halo, cols)
            piece = forward(x[..., t0:t1, l0:l1])
            if out is None:
                out = piece.new_empty(piece.shape[:2] + (rows * scale, cols * scale))
            crop = piece[..., (top - t0) * scale : (bottom - t0) * scale,
                         (left - l0) * scale : (right - l0) * scale]
            out[..., top * scale : bottom * scale, left * scale : right * scale] = crop
            done += 1
            yield done / total
    return out


def is_out_of_memory(error):
    """Whether ``error`` is a host or device out-of-memory error (CUDA, MPS, CPU)."""
    if isinstance(error, MemoryError):
        return True
    import torch

    if isinstance(error, getattr(torch, "OutOfMemoryError", ())):
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def iter_tiled_adaptive(forward, x, scale, tile, halo):
    """:func:`iter_tiled` that halves the tile and starts again when a tile runs out of memory.

    Each retry is announced with a :class:`TileSizeWarning` (napari workers turn
    warnings into their ``warned`` signal, which the widgets show). Below
    ``MIN_TILE`` pixels the error is raised as it is.
    """
    tile = tile or max(x.shape[-2:])
    while True:
        try:
            return (yield from iter_tiled(forward, x, scale, tile, halo))
        except Exception as error:  # noqa: BLE001 - only out-of-memory errors are handled
            if not is_out_of_memory(error) or tile // 2 < MIN_TILE:
                raise
            _release_memory(x.device)
            warnings.warn(f"out of memory with {tile}-pixel tiles; retrying with {tile // 2}-pixel tiles",
                          TileSizeWarning, stacklevel=2)
            tile //= 2


def _release_memory(device):
    gc.collect()
    import torch

    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()
