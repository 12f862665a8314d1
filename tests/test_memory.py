"""Out-of-memory fallback: a tile that does not fit is redone with smaller tiles, and the user is told."""

import numpy as np
import pytest
import torch

from napari_superres import upscale
from napari_superres._widgets.upscale import UpscaleWidget
from napari_superres.models import find_model, load_model
from napari_superres.tiling import TileSizeWarning, iter_tiled_adaptive
from napari_superres.upscale import run_to_end


def _fails_above(limit, forward):
    """``forward`` that runs out of memory on inputs larger than ``limit`` pixels a side."""
    sizes = []

    def run(x):
        sizes.append(max(x.shape[-2:]))
        if max(x.shape[-2:]) > limit:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return forward(x)

    return run, sizes


def test_tiles_shrink_until_they_fit():
    x = torch.rand(1, 1, 100, 90)
    forward, sizes = _fails_above(40, lambda t: t.repeat_interleave(2, -1).repeat_interleave(2, -2))
    with pytest.warns(TileSizeWarning) as caught:
        out = run_to_end(iter_tiled_adaptive(forward, x, 2, 128, 4))
    assert [str(w.message) for w in caught] == [
        "out of memory with 128-pixel tiles; retrying with 64-pixel tiles",
        "out of memory with 64-pixel tiles; retrying with 32-pixel tiles",
    ]
    assert max(sizes[-1:]) <= 40
    torch.testing.assert_close(out, x.repeat_interleave(2, -1).repeat_interleave(2, -2))


def test_other_errors_and_hopeless_sizes_are_raised():
    def broken(x):
        raise RuntimeError("shape mismatch")

    with pytest.raises(RuntimeError, match="shape mismatch"):
        run_to_end(iter_tiled_adaptive(broken, torch.rand(1, 1, 64, 64), 2, 64, 4))
    forward, _ = _fails_above(4, lambda t: t)
    with pytest.warns(TileSizeWarning), pytest.raises(torch.OutOfMemoryError):
        run_to_end(iter_tiled_adaptive(forward, torch.rand(1, 1, 64, 64), 1, 64, 4))


@pytest.fixture
def espcn_with_little_memory(monkeypatch):
    """The shared ESPCN x2 model, made to run out of memory on tiles over 48 pixels."""
    card = find_model("espcn", 2)
    model = load_model(card, torch.device("cpu"))
    forward, sizes = _fails_above(48 + 2 * card.halo, model.forward)
    monkeypatch.setattr(model, "forward", forward)
    return sizes


def test_upscale_falls_back_to_smaller_tiles(espcn_with_little_memory, astronaut_small):
    expected = upscale(astronaut_small, 2, "espcn", channel_axis=-1, tile=32)
    with pytest.warns(TileSizeWarning, match="retrying with 36-pixel tiles"):
        out = upscale(astronaut_small, 2, "espcn", channel_axis=-1, tile=64)
    np.testing.assert_array_equal(out, expected)


def test_widget_tells_the_user(espcn_with_little_memory, make_napari_viewer, qtbot, astronaut_small):
    viewer = make_napari_viewer()
    layer = viewer.add_image(astronaut_small)
    widget = UpscaleWidget(viewer)
    widget.image.value = layer
    widget.method.value = "espcn"
    widget.scale.value = 2
    widget.tile.value = 64
    messages = []
    widget.run()
    widget.worker.warned.connect(lambda args: messages.append(widget.status.value))
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert any("retrying with 36-pixel tiles" in m for m in messages), messages
    assert viewer.layers[-1].data.shape == (128, 128, 3)
