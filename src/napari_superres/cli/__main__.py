"""``python -m napari_superres.cli``: the ``napari-superres`` command."""

from . import main

main()
