"""Screenshot of the Train widget mid-run: Noise2Void learning a synthetic fluorescence stack, its loss drawn live.

The stack is ``benchmarks/denoise_microscopy.py``'s scene (8x128², peak 30 photons, read
noise 3 ADU). A 1280×800 window, as ``make_widget_screenshots.py``. Run it as::

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/make_train_screenshot.py docs/widgets
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from denoise_microscopy import OFFSET, camera_image, synthetic_truth  # noqa: E402

from napari_superres._widgets.train import TrainWidget  # noqa: E402

RUN_SECONDS = 40  # long enough for the curve to fall and the time left to settle


def pump(seconds=0.3):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        QApplication.processEvents()
        time.sleep(0.01)


def main(folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["NAPARI_SUPERRES_WEIGHTS"] = tempfile.mkdtemp()  # the model is not kept
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    noisy = camera_image(synthetic_truth((8, 128, 128), 30.0, 0), 3.0, 0)
    layer = viewer.add_image(noisy, name="stack (noisy)", scale=(0.3, 0.1, 0.1), units="µm",
                             contrast_limits=(OFFSET, OFFSET + 40))
    widget = TrainWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Train (Noise2Void)")
    widget.image.value = layer
    widget.model_name.value, widget.description.value = "confocal_gfp", "synthetic puncta and filaments, GFP"
    widget.iterations.value = 1500
    widget.run()
    pump(RUN_SECONDS)
    viewer.screenshot(str(folder / "train_running.png"), canvas_only=False)
    widget.stop()
    while widget.worker is not None:
        pump(0.1)
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/widgets")
