"""Deep Video Prior: one network for all frames takes out flicker that frame-by-frame processing left."""

import numpy as np
import pytest
from skimage import data

from napari_superres import fit_video_prior, temporal_flicker


def moving_scene(frames=6, side=64):
    """A static camera background with a bright square crossing it; the static pixels' mask."""
    background = data.camera()[::8, ::8][:side, :side].astype(np.float64)
    clean = np.repeat(background[None], frames, axis=0)
    static = np.ones((side, side), bool)
    for t in range(frames):
        clean[t, 24:36, 4 + 6 * t: 16 + 6 * t] = 255
        static[24:36, 4 + 6 * t: 16 + 6 * t] = False
    return clean.astype(np.uint8), static


def test_flicker_of_a_per_frame_gain_is_taken_out():
    clean, static = moving_scene()
    gains = np.random.default_rng(0).uniform(0.8, 1.2, (len(clean), 1, 1))
    flickering = np.clip(clean * gains, 0, 255).astype(np.uint8)
    out = fit_video_prior(clean, flickering, epochs=15, features=8, depth=1)
    assert out.shape == flickering.shape and out.dtype == np.uint8
    before, after = temporal_flicker(flickering, static=static), temporal_flicker(out, static=static)
    assert after < before / 3, (before, after)
    # The moving square is still where each frame has it.
    assert all(out[t, 30, 10 + 6 * t] > out[t, 30, 60] + 50 for t in range(len(out)) if 10 + 6 * t < 60)


def test_gray_to_colour_and_deterministic():
    clean, _ = moving_scene(frames=3, side=32)
    coloured = np.stack([clean, clean // 2, 255 - clean], axis=-1)
    gray = clean[..., None]  # one channel on the same axis as the colours
    first = fit_video_prior(gray, coloured, channel_axis=-1, epochs=2, features=4, depth=1)
    assert first.shape == coloured.shape
    np.testing.assert_array_equal(first, fit_video_prior(gray, coloured, channel_axis=-1, epochs=2, features=4,
                                                         depth=1))


def test_refuses_mismatched_or_single_frames():
    clean, _ = moving_scene(frames=3, side=32)
    with pytest.raises(ValueError, match="must match"):
        fit_video_prior(clean, clean[:, :16])
    with pytest.raises(ValueError, match="stack of frames"):
        fit_video_prior(clean[:1], clean[:1])


def test_widget_adds_the_consistent_stack(make_napari_viewer, qtbot):
    from napari_superres._widgets.video_prior import VideoPriorWidget

    clean, static = moving_scene(frames=4, side=32)
    gains = np.random.default_rng(1).uniform(0.8, 1.2, (4, 1, 1))
    viewer = make_napari_viewer()
    frames = viewer.add_image(clean, name="frames", scale=(5.0, 0.5, 0.5))
    flickering = viewer.add_image(np.clip(clean * gains, 0, 255).astype(np.uint8), name="per frame",
                                  scale=(5.0, 0.5, 0.5))
    widget = VideoPriorWidget(viewer)
    widget.image.value = frames
    widget.processed.value = frames
    widget.run()
    assert "pick the frame-by-frame result" in widget.status.value and widget.worker is None
    widget.processed.value = flickering
    widget.epochs.value = 3
    widget.run()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    result = viewer.layers[-1]
    assert result.name == "per frame (video prior)" and result.data.shape == clean.shape, widget.status.value
    np.testing.assert_allclose(result.scale, [5.0, 0.5, 0.5])
    assert result.metadata["napari_superres"]["frames"] == "frames"


def test_command_line(tmp_path):
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
