"""The ``napari-superres`` command line: :func:`main` runs one sub-command and ends cleanly on Ctrl-C."""

from __future__ import annotations

import signal
import sys
import threading
import warnings
from contextlib import contextmanager

from .arguments import _parser
from .commands import (
    _colorize,
    _deblur,
    _denoise,
    _dip,
    _export,
    _inpaint,
    _jpeg,
    _methods,
    _models,
    _sample,
    _train,
    _upscale,
    _video_prior,
)
from .files import _check_device, _check_paths


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning as one line, as the command line's errors are."""
    print(f"warning: {message}", file=sys.stderr if file is None else file)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


@contextmanager
def _sigterm_exits():
    """SIGTERM ends the command as Ctrl+C does: half-written outputs are removed on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def main(argv=None):
    """Run the ``napari-superres`` command line on ``argv`` (default: ``sys.argv[1:]``).

    Ctrl-C ends it with one line and exit status 130, as a shell reports an interrupted command.
    """
    try:
        _main(argv)
    except KeyboardInterrupt:
        print("\ninterrupted (Ctrl-C): nothing more written", file=sys.stderr)
        sys.exit(130)


def _main(argv):
    args = _parser().parse_args(argv)
    handlers = {"upscale": _upscale, "denoise": _denoise, "deblur": _deblur, "jpeg": _jpeg, "inpaint": _inpaint,
                "colorize": _colorize, "dip": _dip,
                "video-prior": _video_prior, "train": _train, "export": _export, "models": _models, "methods": _methods,
                "sample": _sample}
    from .._arrays import ChannelAxisWarning

    with _sigterm_exits(), warnings.catch_warnings():
        warnings.showwarning = _show_warning
        # The file's metadata or --channel-axis has settled the channel axis: no advice to pass channel_axis.
        warnings.simplefilter("ignore", ChannelAxisWarning)
        try:
            _check_paths(args)
            _check_device(args)
            handlers[args.command](args)
        except (ValueError, TypeError, MemoryError, OSError) as err:
            sys.exit(f"error: {err}")
