"""Issue 20 item 1: EDSR x4 on a 512² RGB layer, delete every layer, EDSR x4 on a 1024² RGB layer.

napari segfaulted inside its OpenGL drawing on this sequence (software OpenGL under
Xvfb). A crash kills the interpreter, so the sequence runs in a child process, drawn
in a shown window, and every handler that touches napari must run on the GUI thread.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import napari_superres

SEQUENCE = textwrap.dedent("""
    import faulthandler, threading, time
    import numpy as np
    import napari
    from qtpy.QtWidgets import QApplication
    from napari_superres._widgets.upscale import UpscaleWidget

    faulthandler.enable()
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1280, 800)
    widget = UpscaleWidget(viewer)
    viewer.window.add_dock_widget(widget)
    app, rng, off_gui_thread = QApplication.instance(), np.random.default_rng(0), []

    def on_gui_thread_only(*_):
        if threading.current_thread() is not threading.main_thread():
            off_gui_thread.append(threading.current_thread().name)

    for event in (viewer.layers.events.inserted, viewer.layers.events.removed, widget.progress.changed):
        event.connect(on_gui_thread_only)

    def pump(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.01)

    def upscale(side):
        widget.image.value = viewer.add_image(rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
        widget.method.value, widget.scale.value = "edsr", 4
        widget.run()
        while widget.worker is not None:
            pump(0.05)
        pump(1.0)  # the result layer is drawn
        assert viewer.layers[-1].data.shape == (4 * side, 4 * side, 3), widget.status.value

    upscale(512)
    viewer.layers.select_all()
    viewer.layers.remove_selected()
    pump(1.0)
    upscale(1024)
    assert not off_gui_thread, off_gui_thread
    print("survived")
    viewer.close()
""")


def test_edsr_then_delete_all_then_edsr_on_a_larger_layer_does_not_crash():
    source = str(Path(napari_superres.__file__).parents[1])  # this checkout's package, in the child too
    env = {**os.environ, "PYTHONFAULTHANDLER": "1",
           "PYTHONPATH": os.pathsep.join([source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    run = subprocess.run([sys.executable, "-c", SEQUENCE], capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0 and "survived" in run.stdout, run.stderr[-4000:]
