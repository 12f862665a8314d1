"""The catalogue of published models, and their download on request (never on import or start-up).

``published.json`` beside this module lists checkpoints whose bytes were verified
here: a URL pinned to a commit, the SHA-256 and size, the licence and where it is
stated, the paper, the published figure and the one our benchmark measured.
:func:`pull` downloads one with pooch into the user cache (hash-checked), then
imports it (:func:`~napari_superres.models.importer.import_model`) so that it is a
method of every task and widget.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlparse

CATALOGUE = Path(__file__).with_name("published.json")
CHUNK = 1 << 16


class OfflineError(ConnectionError):
    """A published model could not be downloaded: no connection to its server."""


def published_models(catalogue=None):
    """``{name: entry}`` of the catalogue (default: the package's ``published.json``)."""
    entries = json.loads(Path(catalogue or CATALOGUE).read_text())["models"]
    return {entry["name"]: entry for entry in entries}


def cache_dir():
    """Where downloads are kept: ``$NAPARI_SUPERRES_CACHE``, else napari-superres in the platform's user cache."""
    import pooch

    return Path(os.environ.get("NAPARI_SUPERRES_CACHE") or pooch.os_cache("napari-superres")) / "published"


def describe(entry):
    """One paragraph for a user about to download ``entry``: what it is, its size and its licence."""
    return (f"{entry['name']}: {entry['description']} ({entry['size'] / 1e6:.1f} MB from {entry['url']}).\n"
            f"Licence: {entry['license']} ({entry['license_source']}).")


def fetch_published(entry, *, progressbar=True):
    """The local path of the catalogue ``entry``'s file, downloaded into :func:`cache_dir` if not there yet.

    The file's SHA-256 is checked against the entry's (ValueError if it differs: the
    partial download is removed). ``progressbar``: True for a text bar on stderr, or
    an object with tqdm's ``total``/``update``/``reset``/``close``. OfflineError if
    the server cannot be reached.
    """
    import pooch
    import requests

    target = cache_dir()
    try:
        return Path(pooch.retrieve(entry["url"], known_hash=f"sha256:{entry['sha256']}", fname=entry["file"],
                                   path=target, downloader=_downloader(entry["url"], progressbar)))
    except (requests.ConnectionError, requests.Timeout) as err:
        raise OfflineError(
            f"could not download {entry['name']}: {entry['url']} cannot be reached ({type(err).__name__}); you seem "
            f"to be offline. Retry when connected, or fetch the file elsewhere, check its SHA-256 is "
            f"{entry['sha256']} and run: napari-superres models import FILE --name {entry['name']} "
            f"--architecture {entry['architecture']} --license '{entry['license']}'") from err
    except ValueError as err:
        if "hash" not in str(err).lower():
            raise
        raise ValueError(f"the file downloaded for {entry['name']} from {entry['url']} is not the one catalogued "
                         f"(SHA-256 differs; nothing was kept): {err}") from err


def pull(name, *, weights_dir=None, overwrite=False, progressbar=True, catalogue=None):
    """Download the catalogued model ``name`` (if not cached yet) and import it; returns its ModelCard."""
    from .importer import import_model

    models = published_models(catalogue)
    if name not in models:
        raise ValueError(f"no published model {name!r} in the catalogue; known: {', '.join(models)}")
    entry = models[name]
    path = fetch_published(entry, progressbar=progressbar)
    return import_model(path, name=name, license=entry["license"], architecture=entry["architecture"],
                        weights_dir=weights_dir, overwrite=overwrite, source=entry["url"])


def _downloader(url, progressbar):
    """The HTTP downloader of pooch, or a copy for a ``file://`` URL (a local mirror of the catalogue)."""
    import pooch

    if urlparse(url).scheme != "file":
        return pooch.HTTPDownloader(progressbar=progressbar, timeout=60)

    def copy(url, output_file, pooch_obj, check_only=False):
        source = Path(unquote(urlparse(url).path))
        if check_only:
            return source.is_file()
        bar = None if isinstance(progressbar, bool) else progressbar
        if bar is not None:
            bar.total = source.stat().st_size
        with open(source, "rb") as src, open(output_file, "wb") as out:
            while chunk := src.read(CHUNK):
                out.write(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        if bar is not None:
            bar.close()
        return None

    return copy
