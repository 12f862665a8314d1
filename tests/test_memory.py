"""Out-of-memory fallback: a tile that does not fit is redone with smaller tiles, and the user is told."""

import numpy as np
import pytest
import torch

from napari_superres import upscale
from napari_superres.tiling import TileSizeWarning, iter_tiled_adaptive
from napari_superres.upscale import run_to_end


def test_tiles_shrink_until_they_fit(fails_above):
    x = torch.rand(1, 1, 100, 90)
    forward, sizes = fails_above(40, lambda t: t.repeat_interleave(2, -1).repeat_interleave(2, -2))
    with pytest.warns(TileSizeWarning) as caught:
        out = run_to_end(iter_tiled_adaptive(forward, x, 2, 128, 4))
    assert [str(w.message) for w in caught] == [
        "out of memory with 128-pixel tiles; retrying with 64-pixel tiles",
        "out of memory with 64-pixel tiles; retrying with 32-pixel tiles",
    ]
    assert max(sizes[-1:]) <= 40
    torch.testing.assert_close(out, x.repeat_interleave(2, -1).repeat_interleave(2, -2))


def test_other_errors_and_hopeless_sizes_are_raised(fails_above):
    def broken(x):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        run_to_end(iter_tiled_adaptive(broken, torch.rand(1, 1, 64, 64), 2, 64, 4))
    forward, _ = fails_above(4, lambda t: t)
    with pytest.warns(TileSizeWarning), pytest.raises(torch.OutOfMemoryError):
        run_to_end(iter_tiled_adaptive(forward, torch.rand(1, 1, 64, 64), 1, 64, 4))


def test_upscale_falls_back_to_smaller_tiles(espcn_with_little_memory, astronaut_small):
    expected = upscale(astronaut_small, 2, method="espcn", channel_axis=-1, tile=32)
    with pytest.warns(TileSizeWarning, match="retrying with 36-pixel tiles"):
        out = upscale(astronaut_small, 2, method="espcn", channel_axis=-1, tile=64)
    np.testing.assert_array_equal(out, expected)
