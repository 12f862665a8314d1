"""The package version, in one place (the package and the provenance record read it)."""

__version__ = "0.1.0"
