"""Deep Video Prior: one network for all frames takes out flicker that frame-by-frame processing left."""

import numpy as np
import pytest

from napari_superres import fit_video_prior, temporal_flicker


def test_flicker_of_a_per_frame_gain_is_taken_out(moving_scene):
    clean, static = moving_scene()
    gains = np.random.default_rng(0).uniform(0.8, 1.2, (len(clean), 1, 1))
    flickering = np.clip(clean * gains, 0, 255).astype(np.uint8)
    out = fit_video_prior(clean, flickering, epochs=15, features=8, depth=1)
    assert out.shape == flickering.shape and out.dtype == np.uint8
    before, after = temporal_flicker(flickering, static=static), temporal_flicker(out, static=static)
    assert after < before / 3, (before, after)
    # The moving square is still where each frame has it.
    assert all(out[t, 30, 10 + 6 * t] > out[t, 30, 60] + 50 for t in range(len(out)) if 10 + 6 * t < 60)


def test_gray_to_colour_and_deterministic(moving_scene):
    clean, _ = moving_scene(frames=3, side=32)
    coloured = np.stack([clean, clean // 2, 255 - clean], axis=-1)
    gray = clean[..., None]  # one channel on the same axis as the colours
    first = fit_video_prior(gray, coloured, channel_axis=-1, epochs=2, features=4, depth=1)
    assert first.shape == coloured.shape
    np.testing.assert_array_equal(first, fit_video_prior(gray, coloured, channel_axis=-1, epochs=2, features=4,
                                                         depth=1))


def test_refuses_mismatched_or_single_frames(moving_scene):
    clean, _ = moving_scene(frames=3, side=32)
    with pytest.raises(ValueError, match="must match"):
        fit_video_prior(clean, clean[:, :16])
    with pytest.raises(ValueError, match="stack of frames"):
        fit_video_prior(clean[:1], clean[:1])


def test_command_line(tmp_path, moving_scene):
    import tifffile

    from napari_superres.cli import main

    clean, static = moving_scene(frames=4, side=32)
    flickering = np.clip(clean * np.array([0.8, 1.2, 0.9, 1.1])[:, None, None], 0, 255).astype(np.uint8)
    tifffile.imwrite(tmp_path / "frames.tif", clean, photometric="minisblack")  # a stack of 4, not RGBA
    tifffile.imwrite(tmp_path / "flicker.tif", flickering, photometric="minisblack")
    main(["video-prior", str(tmp_path / "frames.tif"), str(tmp_path / "flicker.tif"), str(tmp_path / "out.tif"),
          "--epochs", "2"])
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.series[0].shape == clean.shape
        assert tif.shaped_metadata[0]["task"] == "video prior"
