"""The napari front end: one dock widget per task (``napari.yaml`` points here), the shared base and layer helpers.

Only this folder imports Qt, magicgui widgets or napari's Qt parts; the rest of the package stays GUI-free.
"""
