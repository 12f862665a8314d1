"""The Video prior widget: the frame-by-frame result made consistent, as a new stack."""

import numpy as np

from napari_superres._widgets.video_prior import VideoPriorWidget


def test_widget_adds_the_consistent_stack(make_napari_viewer, qtbot, moving_scene):
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
