"""Large tensors reuse freed heap memory while a model runs, instead of fresh pages from the kernel each time.

glibc's malloc serves a block over 32 MiB (a 48-channel feature map of a 512² plane
is 50 MB) with a new ``mmap`` and unmaps it when it is freed, so the output of every
layer is faulted in page by page, and the kernel zeroes each page first. Measured on
this project's 2-core CPU, that was 40-55 % of a SPAN or EDSR pass over a 512²
plane (``benchmarks/results/speed.md``). Inside :func:`reused_heap` large blocks
come from the heap (``M_MMAP_MAX`` 0) and stay there when freed (``M_TRIM_THRESHOLD``
at its largest), so the next layer's output lands in memory already mapped. When the
last such context ends, the two settings go back and ``malloc_trim`` returns what
is free to the system, so a call leaves the process's footprint as it found it.

Only glibc's malloc has these settings; elsewhere (macOS, Windows, musl) the context
changes nothing. ``NAPARI_SUPERRES_HEAP=mmap`` turns it off.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading

M_TRIM_THRESHOLD = -1  # mallopt's parameter numbers (malloc.h)
M_MMAP_MAX = -4
KEEP_FREED = 2**31 - 1  # bytes: mallopt takes an int
# After a model: glibc's own default for M_MMAP_MAX, and the trim threshold that its dynamic rule reaches
# (twice the 32 MiB mmap ceiling), which mallopt would otherwise leave frozen at whatever it was set to.
DEFAULT_MMAP_MAX = 65536
TRIM_AFTER = 64 * 2**20

_lock = threading.Lock()
_depth = 0


def _glibc():
    """The C library, if it is glibc (it has ``mallopt``), unless the user opted out; else None."""
    if os.environ.get("NAPARI_SUPERRES_HEAP") == "mmap":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    return libc


_LIBC = _glibc()


@contextlib.contextmanager
def reused_heap():
    """A context in which freed large blocks are kept for the next allocation (glibc; nothing elsewhere).

    Contexts may nest and overlap across threads: the settings change when the first
    begins and go back when the last ends.

    Examples
    --------
    >>> with reused_heap():
    ...     result = model(x)  # doctest: +SKIP
    """
    global _depth
    if _LIBC is None:
        yield
        return
    with _lock:
        if _depth == 0:
            _LIBC.mallopt(M_MMAP_MAX, 0)
            _LIBC.mallopt(M_TRIM_THRESHOLD, KEEP_FREED)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _LIBC.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
                _LIBC.mallopt(M_TRIM_THRESHOLD, TRIM_AFTER)
                _LIBC.malloc_trim(0)


def active():
    """Whether a :func:`reused_heap` context is open (in any thread) and changes anything."""
    return _LIBC is not None and _depth > 0
