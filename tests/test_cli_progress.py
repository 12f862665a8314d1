"""The command line's progress bar moves while a lazy (zarr) result is computed and written, block by block."""

import numpy as np
import pytest
import tqdm
from skimage import data

from napari_superres import upscale
from napari_superres.cli import main
from napari_superres.io import read_image


@pytest.fixture
def bar_counts(monkeypatch):
    """The count shown by every update of the command's progress bars."""
    counts = []

    class Recording(tqdm.tqdm):
        def update(self, n=1):
            shown = super().update(n)
            counts.append((self.n, self.total))
            return shown

    monkeypatch.setattr(tqdm, "tqdm", Recording)
    return counts


@pytest.mark.parametrize("suffix", [".zarr", ".tif"])
def test_the_bar_counts_the_blocks_of_a_zarr_input_as_they_are_written(tmp_path, bar_counts, suffix):
    zarr = pytest.importorskip("zarr")
    image = np.ascontiguousarray(data.astronaut()[:96, :160])
    store = zarr.create_array(tmp_path / "in.zarr", shape=image.shape, chunks=(64, 64, 3), dtype=image.dtype)
    store[:] = image
    target = tmp_path / f"out{suffix}"
    main(["upscale", str(tmp_path / "in.zarr"), str(target), "--scale", "2", "--channel-axis", "-1",
          "--tile", "32"])  # 3 x 5 blocks
    counts = [n for n, total in bar_counts]
    total = bar_counts[-1][1]
    assert len(counts) >= 15 and counts == sorted(counts) and counts[-1] == pytest.approx(total)
    assert sum(0 < n < total for n in counts) >= 10  # it moved, not 0 then 100%
    np.testing.assert_array_equal(np.asarray(read_image(target)),
                                  upscale(image, 2, method="bicubic", channel_axis=-1, tile=32))
