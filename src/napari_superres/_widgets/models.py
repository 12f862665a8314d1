"""The Models dock widget: published models to download on request, and checkpoints to import from a file.

Nothing downloads until the user picks a model, presses Download and accepts the
licence shown; the download and the import run in a worker, with progress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox, Container, Label, ProgressBar, PushButton
from napari.qt.threading import create_worker
from qtpy.QtCore import QObject, Signal
from qtpy.QtWidgets import QFileDialog, QMessageBox

from ..models import list_models
from ..models.download import describe, published_models, pull
from ..models.importer import import_model
from .base import models_changed

if TYPE_CHECKING:
    import napari

CHECKPOINT_FILTER = "Checkpoints (*.safetensors *.pth *.pt *.param)"  # .param: ncnn, its .bin beside it


class _Progress(QObject):
    """A tqdm-like bar for pooch that signals the percentage done; the signal reaches the GUI thread queued."""

    percent = Signal(int)

    def __init__(self):
        super().__init__()
        self.total, self.done = 0, 0

    def update(self, count):
        self.done += count
        if self.total:
            self.percent.emit(min(100, round(100 * self.done / self.total)))

    def reset(self):
        self.done = 0

    def close(self):
        self.percent.emit(100)


class ModelsWidget(Container):
    """Download a published model of the catalogue, or import a checkpoint file; both become methods."""

    def __init__(self, viewer: napari.viewer.Viewer = None, catalogue=None):
        super().__init__()
        self._catalogue = catalogue
        self._entries = published_models(catalogue)
        self.worker = None
        self.published = ComboBox(label="published", choices=self._published_choices)
        self.about = Label(value="")
        self.download_button = PushButton(text="Download")
        self.import_button = PushButton(text="Import file...")
        self.installed = Label(label="installed", value="")
        self.progress = ProgressBar(label="progress", min=0, max=100, value=0)
        self.status = Label(value="")
        self.extend([self.published, self.about, self.download_button, self.import_button, self.installed,
                     self.progress, self.status])
        self.about.native.setWordWrap(True)
        self.status.native.setWordWrap(True)
        self.published.changed.connect(self._show_entry)
        self.download_button.changed.connect(self.download)
        self.import_button.changed.connect(self.import_file)
        self._show_entry()
        self._show_installed()

    def _published_choices(self, _widget=None):
        installed = list_models()
        return [(f"{name} ({entry['task']} x{entry['scale']}, {entry['size'] / 1e6:.1f} MB)"
                 + (" - installed" if name in installed else ""), name) for name, entry in self._entries.items()]

    def _show_entry(self):
        name = self.published.value
        self.about.value = describe(self._entries[name]) if name else "No published model in the catalogue."
        self.download_button.enabled = bool(name) and self.worker is None

    def _show_installed(self):
        imported = sorted(card.name for card in list_models().values() if "source" in card.info)
        self.installed.value = ", ".join(imported) or "none imported yet"

    def _confirm(self, entry):
        """Whether the user accepts the download of ``entry`` after reading its size and licence."""
        answer = QMessageBox.question(self.native, f"Download {entry['name']}?", describe(entry))
        return answer == QMessageBox.StandardButton.Yes

    def download(self):
        """Download (after the user's yes) and import the chosen published model, in a worker."""
        name = self.published.value
        if not name or self.worker is not None or not self._confirm(self._entries[name]):
            return
        bar = _Progress()
        bar.percent.connect(lambda value: setattr(self.progress, "value", value))
        self._start(pull, (name,), {"progressbar": bar, "catalogue": self._catalogue, "overwrite": True},
                    f"Downloading {name}", bar)

    def import_file(self, path=None):
        """Import a checkpoint file (asked for with a file dialog if ``path`` is None), in a worker."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.native, "Import a checkpoint", "", CHECKPOINT_FILTER)
        if path and self.worker is None:
            self._start(import_model, (path,), {}, f"Importing {path}")

    def _start(self, function, args, kwargs, description, bar=None):
        # errored given here: napari's default handler would re-raise what the status already says
        worker = create_worker(function, *args, **kwargs, _start_thread=False,
                               _connect={"errored": lambda err: setattr(self.status, "value", f"Failed: {err}")})
        worker.returned.connect(self._done)
        worker.finished.connect(self._finished)
        self._bar = bar  # kept alive until the worker is done: it signals from the worker thread
        self.worker = worker
        self.progress.value = 0
        self.status.value = f"{description}..."
        self.download_button.enabled = self.import_button.enabled = False
        worker.start()

    def _done(self, card):
        self.progress.value = 100
        models_changed.emit()
        self.status.value = (f"Imported {card.name} ({card.architecture}, {card.task} x{card.scale}): pick it as the "
                             "method of every task widget.")

    def _finished(self):
        self.worker, self._bar = None, None
        self.import_button.enabled = True
        self.published.reset_choices()
        self._show_entry()
        self._show_installed()
