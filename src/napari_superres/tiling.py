"""Tiled inference: a model runs on overlapping tiles so that memory stays bounded.

Each tile is cut with ``halo`` pixels of real context on every side that has a
neighbour; when ``halo`` is at least the network's receptive-field radius, the
stitched result equals the untiled one (no seams), because every kept output
pixel saw exactly the input it would have seen in one pass.
"""

from __future__ import annotations

import math


def _starts(length, tile):
    return range(0, length, tile)


def count_tiles(shape, tile):
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
