"""Command line: ``napari-superres upscale IN OUT --scale 4 --method espcn``."""

from __future__ import annotations

import argparse
import math
import re
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

LONG_FIT_SECONDS = 600  # a fit predicted to take longer is told of --quick and --crop
CHANNEL_AXIS_HELP = ("axis of colour channels, or 'none' (default: what the file says: TIFF samples or channels, "
                     "PNG/JPEG colours; refused where it does not say)")


class _HelpFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless the help says it already or there is none to say."""

    def _get_help_string(self, action):
        help = action.help or ""
        silent = action.default in (None, False, argparse.SUPPRESS, {}, []) or action.nargs == 0
        if silent or "default" in help or not action.option_strings:
            return help
        default = " ".join(map(str, action.default)) if isinstance(action.default, (tuple, list)) else action.default
        return f"{help} (default: {_shown(default)})"


def _shown(default):
    """A default as it would be typed: ``l1=1.0`` for a dict of key values."""
    if isinstance(default, dict):
        return ",".join(f"{key}={value}" for key, value in default.items())
    return str(default).replace("%", "%%")


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        """Usage, then one ``error:`` line, as for every other refusal of the command line."""
        self.print_usage(sys.stderr)
        sys.exit(f"error: {self.prog}: {message}")


def _checked(convert, accept, name):
    """An argparse type: ``convert`` the text, refusing values that ``accept`` rejects as not a ``name``."""
    def parse(text):
        value = convert(text)
        if not accept(value):
            raise argparse.ArgumentTypeError(f"must be a {name}, not {text}")
        return value

    parse.__name__ = name  # argparse names the type in its message: "invalid positive integer value: 'x'"
    return parse


_positive_int = _checked(int, lambda value: value >= 1, "positive integer")
_non_negative_int = _checked(int, lambda value: value >= 0, "non-negative integer")
_finite_float = _checked(float, math.isfinite, "finite number")
_positive_float = _checked(float, lambda value: math.isfinite(value) and value > 0, "finite positive number")


def _channel_axis(text):
    return "none" if text.lower() == "none" else int(text)


_channel_axis.__name__ = "axis (an integer or 'none')"


def _file_parser(sub, name, help):
    """A sub-command that reads INPUT (a file or a folder) and writes OUTPUT, with the shared options."""
    p = sub.add_parser(name, help=help, description=help)
    p.add_argument("input", type=Path, help="an image file (TIFF, PNG, JPEG, zarr...) or a folder of them")
    p.add_argument("output", type=Path,
                   help="the result's file (its suffix names the format), or a folder for a folder INPUT")
    p.add_argument("--channel-axis", type=_channel_axis, default=None, help=CHANNEL_AXIS_HELP)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--scheduler", default=None,
                   help="address of a dask.distributed scheduler that computes zarr results (default: this machine)")
    return p


def _add_upscale(sub):
    p = _file_parser(sub, "upscale", "upscale an image file, or every image of a folder into a folder")
    p.add_argument("--scale", type=_finite_float, default=4, help="zoom factor")
    p.add_argument("--method", default="bicubic", help="interpolation or model name (see 'methods')")
    p.add_argument("--tile", type=_positive_int, default=None, help="tile size in input pixels (default: automatic)")
    _add_value_range(p)
    _add_model_speed(p)


def _add_denoise(sub):
    p = _file_parser(sub, "denoise", "denoise an image file, or every image of a folder into a folder")
    p.add_argument("--method", default="nlm", help="nlm, tv, wavelet, bilateral, a trained denoiser, n2v or dip")
    p.add_argument("--sigma", type=float, default=None, help="classical methods: noise σ (default: estimated)")
    p.add_argument("--iterations", type=_positive_int, default=None,
                   help="n2v and dip: training steps (default: n2v 1500, dip 3000 at most, early stopping)")
    p.add_argument("--volumetric", action="store_true", help="n2v and dip: fit 3D volumes (Z before Y, X)")
    p.add_argument("--seed", type=int, default=0, help="n2v and dip: random seed (same seed, same result)")
    _add_fit_options(p, "n2v: 600 iterations of an 8-feature network on 4 patches of 32² a step; "
                        "dip: 600 iterations", crop=True)
    _add_value_range(p)
    _add_model_speed(p)


def _add_model_speed(p):
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="learned models: bf16 where the CPU or GPU computes it fast (auto), or always fp32 / bf16")
    p.add_argument("--threads", type=_positive_int, default=None, help="learned models: CPU threads (default: all)")


def _add_value_range(p):
    p.add_argument("--value-range", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                   help="learned models: the values that are black and white (default: uint8 0-255, floats "
                        "inside [0, 1] as they are, else the image's min and max)")


def _add_colorize(sub):
    p = _file_parser(sub, "colorize", "colour a gray image file (or a folder of them) with a colorization network")
    p.add_argument("--hints", type=Path, default=None,
                   help="an RGBA image of the input's size: the colour wanted where alpha > 0, transparent "
                        "elsewhere (default: no hints, the network's guess)")
    p.add_argument("--method", default="colorizer", help="a colorization model of the weights folders")


def _add_inpaint(sub):
    p = _file_parser(sub, "inpaint", "fill missing pixels of an image file (known pixels are kept exactly)")
    p.add_argument("--mask", type=Path, default=None, help="image, non-zero where pixels are missing")
    p.add_argument("--missing-value", type=float, default=float("nan"),
                   help="without --mask: the value that marks missing pixels (default NaN)")
    p.add_argument("--method", default="biharmonic", help="biharmonic, dip, or a trained inpainting network")
    p.add_argument("--iterations", type=_positive_int, default=None, help="dip: iterations (default 5000)")
    p.add_argument("--seed", type=int, default=0, help="dip: random seed (same seed, same result)")
    _add_fit_options(p, "dip: 600 iterations", crop=True)


def _add_dip(sub):
    p = _file_parser(sub, "dip", "restore an image file with Deep Image Prior (no training data)")
    p.add_argument("--task", default="denoise", choices=["denoise", "inpaint", "super-resolve", "jpeg"],
                   help="the degradation to undo")
    p.add_argument("--mask", type=Path, default=None, help="inpaint: image, non-zero where pixels are missing")
    p.add_argument("--scale", type=_positive_int, default=4, help="super-resolve: zoom factor")
    p.add_argument("--network", default="fast", choices=["fast", "paper"],
                   help="fast: 32 channels a level; paper: the paper's 128 (about 10x slower on a CPU)")
    p.add_argument("--iterations", type=_positive_int, default=None,
                   help="upper bound (default: the task's: denoise 3000, jpeg 2400, inpaint 5000, "
                        "super-resolve 2000)")
    p.add_argument("--learning-rate", type=_positive_float, default=0.01, help="Adam's step size")
    p.add_argument("--no-early-stopping", action="store_true",
                   help="run every iteration (denoise and jpeg stop early by default)")
    p.add_argument("--volumetric", action="store_true", help="one 3D fit per volume (Z before Y, X)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    _add_fit_options(p, "600 iterations", crop=True)


def _add_video_prior(sub):
    p = sub.add_parser("video-prior",
                       help="take the flicker out of a stack processed frame by frame (Deep Video Prior)")
    p.add_argument("frames", type=Path, help="the input stack (T first)")
    p.add_argument("processed", type=Path, help="its frame-by-frame result")
    p.add_argument("output", type=Path, help="the consistent result's file (its suffix names the format)")
    p.add_argument("--channel-axis", type=_channel_axis, default=None, help=CHANNEL_AXIS_HELP + "; of both stacks")
    p.add_argument("--epochs", type=_positive_int, default=25,
                   help="passes over the frames (the paper's early stop: more lets the flicker back)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    _add_fit_options(p, "10 epochs")


def _add_fit_options(p, quick, crop=False):
    """A fit's --quick (``quick``: what the preset is), --estimate and, for per-image fits, --crop."""
    p.add_argument("--quick", action="store_true", help=f"a quick preset: {quick} (--iterations still applies)")
    p.add_argument("--estimate", action="store_true",
                   help="time a few warm-up iterations, print the predicted run time and stop (nothing written)")
    if crop:
        p.add_argument("--crop", type=_geometry, default=None, metavar="WxH[+X+Y]",
                       help="fit and write only this crop of each image (centred without +X+Y): see the result "
                            "of a small fit before committing to the whole image")


def _video_prior(args):
    from .io import TIFF_SUFFIXES, read_image, write_image
    from .video_prior import QUICK, iter_fit_video_prior

    frames, processed = np.asarray(read_image(args.frames)), np.asarray(read_image(args.processed))
    axis = _channel_axis_for(args, args.frames, frames)
    options = {"epochs": args.epochs, **(QUICK if args.quick else {})}
    steps = iter_fit_video_prior(frames, processed, channel_axis=axis, device=args.device, seed=args.seed, **options)
    result = _run_with_bar(steps, "Deep Video Prior", frames.size / 1e6, estimate=args.estimate)
    if result is None:
        return
    record = {**_record("video prior", "deep video prior", device=args.device, seed=args.seed, **options),
              "command": " ".join(sys.argv[1:]), "source": str(args.frames), "processed": str(args.processed)}
    write_image(args.output, result, overwrite=args.overwrite, rgb=_channels_last(axis, result),
                metadata=record if args.output.suffix.lower() in TIFF_SUFFIXES else None)
    print(f"{args.processed} {processed.shape} -> {args.output} {result.shape} {result.dtype}")


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _key_values(text):
    """``'l1=1,hf=0.1'`` -> ``{'l1': 1, 'hf': 0.1}``; a bare name stands for ``name=1``."""
    pairs = (item.split("=", 1) if "=" in item else (item, "1") for item in text.split(",") if item)
    return {key: _number(value) for key, value in pairs}


def _range(text):
    low, _, high = text.partition(":")
    return (float(low), float(high or low))


def _add_train(sub):
    p = sub.add_parser("train", help="train a super-resolution model on a folder of HR images",
                       description="Train a model on folders of high-resolution images.\n\n" + _architectures_help(),
                       formatter_class=_RawDescriptionHelpFormatter)
    p.add_argument("architecture", help="the network to train (the list above)")
    p.add_argument("--scale", type=_positive_int, required=True, help="zoom factor (1 for denoisers)")
    p.add_argument("--data", nargs="+", required=True, help="folders of HR training images")
    p.add_argument("--val", nargs="*", default=[], help="folders of HR validation images (default: none)")
    p.add_argument("--out", required=True, help="run folder (resumes if it holds a checkpoint)")
    p.add_argument("--config", type=_key_values, default={},
                   help="architecture options, e.g. 'blocks=8,features=32' (default: the architecture's own)")
    p.add_argument("--channels", type=int, default=1, choices=[1, 3], help="1: luma model, 3: RGB model")
    p.add_argument("--steps", type=_positive_int, default=20000, help="optimiser steps")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="patches per step")
    p.add_argument("--lr-patch", type=_positive_int, default=24, help="low-resolution patch size")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="initial learning rate (Adam)")
    p.add_argument("--min-lr", type=float, default=1e-5, help="learning rate at the end of the cosine decay")
    p.add_argument("--losses", type=_key_values, default={"l1": 1.0},
                   help="weighted losses: l1, l2, ms_ssim_l1, hf, perceptual, adversarial "
                        "(e.g. 'l1=1,perceptual=0.1,adversarial=0.005')")
    p.add_argument("--discriminator-features", type=_positive_int, default=64,
                   help="width of the adversarial loss's discriminator (SRGAN: 64; 16 is 16x cheaper on a CPU)")
    p.add_argument("--blur", type=_range, default=(0.0, 0.0),
                   help="Gaussian blur sigma range 'lo:hi' (HR px; default 0:0, none)")
    p.add_argument("--noise", type=_range, default=(0.0, 0.0),
                   help="noise sigma range 'lo:hi' (grey levels; default 0:0, none)")
    p.add_argument("--jpeg", type=_range, default=None, help="JPEG quality range 'lo:hi' (default: no JPEG)")
    p.add_argument("--init", default=None, help="safetensors weights to start from (default: random)")
    p.add_argument("--val-every", type=_positive_int, default=1000,
                   help="steps between validations (each prints the loss, PSNR and time left)")
    p.add_argument("--checkpoint-minutes", type=_positive_float, default=5.0,
                   help="minutes between checkpoints a new run resumes from")
    p.add_argument("--threads", type=_non_negative_int, default=0, help="CPU threads for torch (0: torch's choice)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same run)")


class _RawDescriptionHelpFormatter(argparse.RawDescriptionHelpFormatter, _HelpFormatter):
    """The description's lines as written (a list of architectures), options with their defaults."""


def _architectures_help():
    """The trainable architectures, one line per task, from their torch-free contracts."""
    from .models.catalog import CONTRACTS

    tasks = {}
    for name, contract in CONTRACTS.items():
        tasks.setdefault(contract.task, []).append(name)
    return "architectures:\n" + "\n".join(f"  {task}: {', '.join(names)}" for task, names in tasks.items())


def _add_export(sub):
    p = sub.add_parser("export", help="copy a training run's best weights into a weights folder, with a card")
    p.add_argument("run", type=Path, help="the training run's folder (train --out)")
    p.add_argument("--weights-dir", type=Path, default=None,
                   help="default: the user weights folder, searched for models (the first folder of "
                        "$NAPARI_SUPERRES_WEIGHTS if set, else napari-superres/weights in the user data folder)")
    p.add_argument("--name", default=None, help="model name (default ARCH_xSCALE)")
    p.add_argument("--data-description", default="", help="what the model was trained on, for its card")
    p.add_argument("--overwrite", action="store_true", help="replace a model of the same name in that folder")


def _add_models(sub):
    p = sub.add_parser("models", help="import a published checkpoint, or list and download published models")
    cmd = p.add_subparsers(dest="models_command", required=True)
    cmd.add_parser("list", help="the published models that 'pull' downloads, and the installed models")
    q = cmd.add_parser("import", help="import a .safetensors/.pth/.pt state dict of a known architecture")
    q.add_argument("file", type=Path, help="the checkpoint file")
    q.add_argument("--name", default=None, help="model and method name (default: the file name)")
    q.add_argument("--license", default=None, help="the licence of the weights, for the model card")
    q.add_argument("--architecture", default=None, help="read it as this architecture (when several fit)")
    q.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    q = cmd.add_parser("pull", help="download a published model of 'models list' (explicitly) and import it")
    q.add_argument("name", help="a name that 'models list' shows")
    q.add_argument("--overwrite", action="store_true", help="replace a model of the same name")


def _channel_axis_for(args, path, image):
    """The channel axis of ``image`` read from ``path``: ``--channel-axis`` if given, else what the file says."""
    from .io import channel_axis_of

    if args.channel_axis is not None:
        return None if args.channel_axis == "none" else args.channel_axis
    return channel_axis_of(path, image.shape)


def _channels_last(axis, result):
    """Whether ``result``'s last axis holds its channels: the file then stores them as channels (RGB, gray + alpha)."""
    return axis is not None and axis % result.ndim == result.ndim - 1


@dataclass
class _Job:
    """What the command line runs on each input file: a progress generator and how to describe and record it."""

    description: str
    make_steps: Callable  # (image, channel axis) -> generator of progress
    record: dict  # provenance written into TIFF and zarr outputs
    zoom: float = 1  # output pixels per input pixel along H and W
    early_stopping: bool = False  # a fit's iterations are an upper bound
    result_axis: Callable = staticmethod(lambda axis: axis)  # the result's channel axis from the input's


def _upscale(args):
    from .upscale import iter_upscale

    scale = int(args.scale) if float(args.scale).is_integer() else args.scale
    _process_file(args, _Job(f"{args.method} x{scale}", lambda image, axis: iter_upscale(
        image, scale, method=args.method, channel_axis=axis, device=args.device, tile=args.tile,
        value_range=args.value_range, precision=args.precision, threads=args.threads),
        record=_record("upscale", args.method, scale=scale, device=args.device, tile=args.tile,
                       value_range=args.value_range), zoom=scale))


def _dip(args):
    from .dip import QUICK, TASK_DEFAULTS, iter_fit_dip
    from .io import read_image

    kwargs = {"scale": args.scale} if args.task == "super-resolve" else {}
    if args.task == "inpaint":
        if args.mask is None:
            sys.exit("error: inpaint needs --mask (an image, non-zero where pixels are missing)")
        kwargs["mask"] = _crop(read_image(args.mask), None, args.crop)
    options = {"network": args.network, **(QUICK if args.quick else {})}
    options.update({"iterations": args.iterations} if args.iterations is not None else {})
    early_stopping = not args.no_early_stopping and TASK_DEFAULTS[args.task]["early_stopping"]
    record = _record(f"dip-{args.task}", "deep image prior", scale=kwargs.get("scale", 1), device=args.device,
                     seed=args.seed, volumetric=args.volumetric, crop=args.crop, **options)
    _process_file(args, _Job(f"DIP {args.task}", lambda image, axis: iter_fit_dip(
        image, args.task, channel_axis=axis, learning_rate=args.learning_rate,
        early_stopping=False if args.no_early_stopping else None, device=args.device,
        seed=args.seed, preview_every=0, volumetric=args.volumetric, **options, **kwargs),
        record=record, zoom=kwargs.get("scale", 1), early_stopping=early_stopping))


def _fit_options(args, quick):
    """Options of a per-image fit (Noise2Void, DIP) from the command line; ``quick``: the method's preset."""
    options = {"seed": args.seed, "device": args.device, "preview_every": 0, **(quick if args.quick else {})}
    return {**options, "iterations": args.iterations} if args.iterations is not None else options


def _quick_preset(method):
    """The ``--quick`` settings of a fitted method (n2v, dip)."""
    if method == "n2v":
        from .noise2void import QUICK
    else:
        from .dip import QUICK
    return QUICK


def _denoise(args):
    from .denoise import CLASSICAL, FITTED, iter_denoise

    if args.method in CLASSICAL:
        options = {"sigma": args.sigma}
    elif args.method in FITTED:
        options = _fit_options(args, _quick_preset(args.method))
        options.update({"volumetric": True} if args.volumetric else {})
    else:  # a trained denoiser
        options = {"device": args.device, "value_range": args.value_range, "precision": args.precision,
                   "threads": args.threads}
    _process_file(args, _Job(f"{args.method} denoise", lambda image, axis: iter_denoise(
        image, method=args.method, channel_axis=axis, **options),
        record=_record("denoise", args.method, crop=args.crop, **options), early_stopping=args.method == "dip"))


def _inpaint(args):
    from .inpaint import iter_inpaint
    from .io import read_image

    if args.method == "dip":
        options = _fit_options(args, _quick_preset("dip"))
    elif args.method == "biharmonic":
        options = {}
    else:  # a trained inpainting network
        options = {"device": args.device}
    mask = _crop(read_image(args.mask), None, args.crop) if args.mask else None
    _process_file(args, _Job(f"{args.method} inpaint", lambda image, axis: iter_inpaint(
        image, mask, method=args.method, channel_axis=axis, missing_value=args.missing_value, **options),
        record=_record("inpaint", args.method, crop=args.crop, **options)))


def _colorize(args):
    from .colorize import iter_colorize
    from .io import read_image

    hints = _hints(read_image(args.hints)) if args.hints else None
    _process_file(args, _Job(f"{args.method} colorize", lambda image, axis: iter_colorize(
        image, hints, method=args.method, channel_axis=axis, device=args.device),
        record=_record("colorize", args.method, device=args.device, hints=str(args.hints) if args.hints else None),
        result_axis=lambda axis: -1 if axis is None else axis))


def _hints(image):
    """An RGBA hints image as colorize takes it: values in [0, 1], alpha > 0 where a colour is wanted."""
    image = np.asarray(image)
    if image.ndim < 3 or image.shape[-1] != 4:
        raise ValueError(f"--hints must be an RGBA image (colour where alpha > 0, transparent elsewhere), got shape "
                         f"{image.shape}")
    if np.issubdtype(image.dtype, np.integer):
        return image / np.iinfo(image.dtype).max
    return image.astype(np.float64)


def _geometry(text):
    """``'WxH+X+Y'`` (or ``'W'``, ``'WxH'``: centred) -> ``(W, H, X, Y)``, X and Y None when centred."""
    match = re.fullmatch(r"(\d+)(?:x(\d+))?(?:\+(\d+)\+(\d+))?", text.strip())
    if match is None or int(match[1]) < 1 or (match[2] is not None and int(match[2]) < 1):
        raise argparse.ArgumentTypeError(f"must be WIDTHxHEIGHT, WIDTHxHEIGHT+X+Y or SIDE, not {text}")
    width = int(match[1])
    height = int(match[2]) if match[2] else width
    return (width, height) + ((int(match[3]), int(match[4])) if match[3] else (None, None))


_geometry.__name__ = "crop geometry"


def _crop(image, channel_axis, geometry):
    """``image`` cut to ``geometry`` (see :func:`_geometry`) in its H and W axes; as it is without one.

    A zarr image is sliced before it is read: only the crop is loaded.
    """
    if geometry is None:
        return image
    width, height, x, y = geometry
    spatial = [axis for axis in range(image.ndim) if channel_axis is None or axis != channel_axis % image.ndim]
    h_axis, w_axis = spatial[-2:]
    h, w = image.shape[h_axis], image.shape[w_axis]
    x = (w - width) // 2 if x is None else x
    y = (h - height) // 2 if y is None else y
    if width > w or height > h or x + width > w or y + height > h:
        raise ValueError(f"the crop {width}x{height}+{x}+{y} does not fit in the {w}x{h} image")
    box = [slice(None)] * image.ndim
    box[h_axis], box[w_axis] = slice(y, y + height), slice(x, x + width)
    return image[tuple(box)]


def _record(task, method, **settings):
    from .provenance import provenance

    return provenance(task, method, **{k: v for k, v in settings.items() if k != "preview_every"})


def _is_folder_batch(args):
    """Whether INPUT is a folder of images (a zarr store is one image)."""
    return args.input.is_dir() and args.input.suffix.lower() != ".zarr"


def _input_paths(args):
    """Every file the command reads: none of them may be an output."""
    names = ("input", "mask", "hints", "frames", "processed")
    return [path for path in (getattr(args, name, None) for name in names) if path is not None]


def _batch(args):
    """``(source, target)`` of every image of the INPUT folder, in OUTPUT."""
    from .io import IMAGE_SUFFIXES

    sources = sorted(p for p in args.input.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    return [(source, args.output / source.name) for source in sources]


def _check_paths(args):
    """Refuse, before any work, an OUTPUT that cannot be written: its folder, suffix, permissions, an input."""
    from .io import check_output, check_writable

    if getattr(args, "input", None) is not None and _is_folder_batch(args):
        if args.output.exists() and not args.output.is_dir():
            raise ValueError(f"{args.input} is a folder, so OUTPUT must be a folder too, not the file {args.output}")
        args.output.mkdir(parents=True, exist_ok=True)
        check_writable(args.output)
        refused = []
        for source, target in _batch(args):
            try:
                check_output(target, overwrite=args.overwrite, inputs=[source, *_input_paths(args)])
            except (ValueError, OSError) as err:
                refused.append(str(err))
        if refused:
            raise ValueError("nothing done, these outputs cannot be written:\n  " + "\n  ".join(refused))
    elif getattr(args, "output", None) is not None:
        check_output(args.output, overwrite=args.overwrite, inputs=_input_paths(args))


def _check_device(args):
    """Refuse, before any work, a ``--device`` that torch does not know or this machine does not have."""
    if getattr(args, "device", None) is None:
        return
    from .device import select_device

    select_device(args.device)


def _process_file(args, job):
    """Run ``job`` on one file, or on every image of a folder into an output folder, continuing past bad files."""
    if getattr(args, "scheduler", None):
        from distributed import Client

        with Client(args.scheduler):  # dask computes zarr results on the cluster from here on
            unscheduled = argparse.Namespace(**{**vars(args), "scheduler": None})
            return _process_file(unscheduled, job)
    if not _is_folder_batch(args):
        _process_one(args.input, args.output, args, job)
        return
    pairs = _batch(args)
    failures = []
    for number, (path, target) in enumerate(pairs, 1):
        try:
            numbered = replace(job, description=f"{job.description}, image {number}/{len(pairs)}")
            _process_one(path, target, args, numbered)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch; all are reported
            failures.append((path, err))
            print(f"failed: {path}: {err}", file=sys.stderr)
    print(f"{len(pairs) - len(failures)} of {len(pairs)} images done")
    if failures:
        sys.exit("error: these files failed:\n" + "\n".join(f"  {path}: {err}" for path, err in failures))


def _run_with_bar(steps, description, megapixels, *, early_stopping=False, estimate=False):
    """Exhaust a progress generator behind a progress bar on stderr; return its result.

    A fit's bar counts iterations with the loss and the time left, and prints the
    run time predicted from its warm-up iterations; with ``estimate`` it stops
    there and returns None. Other work is counted in ``megapixels`` (MP/s).
    """
    from ._fitting import FitStep
    from ._progress import FitClock

    clock = FitClock()  # before the first step: its set-up counts in the elapsed time
    first = _next_progress(steps)
    if isinstance(first[0], FitStep):
        return _run_fit_bar(steps, first, clock, description, early_stopping, estimate)
    return _run_megapixel_bar(steps, first, clock, description, megapixels)


def _next_progress(steps):
    """``(next progress, None)``, or ``(None, result)`` once the generator has ended."""
    try:
        return next(steps), None
    except StopIteration as done:
        return None, done.value


def _bar(clock, **options):
    """A tqdm bar on stderr whose clock started with ``clock`` (a FitClock), before the first step was asked for."""
    from tqdm import tqdm

    bar = tqdm(file=sys.stderr, smoothing=0, **options)  # rates: the mean since the start
    bar.start_t = bar.last_print_t = bar.start_t - (clock.elapsed_now())
    return bar


def _run_megapixel_bar(steps, first, clock, description, megapixels):
    progress, result = first
    with _bar(clock, total=round(megapixels, 2), unit="MP", desc=description,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} MP [{elapsed}<{remaining}, "
                         "{rate_fmt}]") as bar:
        while progress is not None:
            bar.update(min(progress, 1) * bar.total - bar.n)
            progress, result = _next_progress(steps)
        bar.update(bar.total - bar.n)
    return result


def _run_fit_bar(steps, first, clock, description, early_stopping, estimate):
    from ._progress import iterations_done, iterations_total

    step, result = first
    clock.tick(step)
    with _bar(clock, total=iterations_total(step), unit="it", desc=description,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}, {rate_fmt}{postfix}]") as bar:
        while step is not None:
            bar.set_postfix_str(clock.status(step), refresh=False)
            bar.update(iterations_done(step) - bar.n)
            if clock.warmed_up():
                slow = clock.predicted_seconds(step) > LONG_FIT_SECONDS
                bar.write(f"{description}: {clock.prediction(step, early_stopping)}"
                          + ("" if estimate else "; Ctrl-C stops it")
                          + ("; --quick (and --crop) give a first look sooner" if slow else ""), file=sys.stderr)
                if estimate:
                    steps.close()
                    return None
            step, result = _next_progress(steps)
            if step is not None:
                clock.tick(step)
    return result


def _process_one(source, target, args, job):
    """Read ``source``, run the job's progress generator with a bar, write ``target`` atomically."""
    from .io import TIFF_SUFFIXES, ZARR_SUFFIX, check_output, read_image, read_resolution, write_image
    from .lazy import is_lazy

    check_output(target, overwrite=args.overwrite, inputs=[source, *_input_paths(args)])
    image = read_image(source)
    axis = _channel_axis_for(args, source, image)
    image = _crop(image, axis, getattr(args, "crop", None))
    channels = 1 if axis is None else image.shape[axis]
    result = _run_with_bar(job.make_steps(image, axis), job.description, image.size / channels * job.zoom**2 / 1e6,
                           early_stopping=job.early_stopping, estimate=getattr(args, "estimate", False))
    if result is None:
        print(f"{source}: nothing written (--estimate)")
        return
    if is_lazy(result) and target.suffix.lower() != ZARR_SUFFIX:
        raise ValueError(f"a zarr input gives a lazy result: write it to a .zarr store, not {target.name}")
    tiff = target.suffix.lower() in TIFF_SUFFIXES
    keeps_metadata = tiff or target.suffix.lower() == ZARR_SUFFIX
    provenance = {**job.record, "command": " ".join(sys.argv[1:]) or job.description, "source": str(source)}
    resolution = read_resolution(source) if tiff else None
    result_axis = job.result_axis(axis)
    if resolution:  # physical pixel size shrinks with the zoom: pixels per unit grow by it
        zoom = result.shape[_height_axis(result.ndim, result_axis)] / image.shape[_height_axis(image.ndim, axis)]
        resolution = (resolution[0] * zoom, resolution[1] * zoom, resolution[2])
    write_image(target, result, overwrite=args.overwrite, rgb=_channels_last(result_axis, result),
                metadata=provenance if keeps_metadata else None, resolution=resolution)
    print(f"{source} {image.shape} {image.dtype} -> {target} {result.shape} {result.dtype}")


def _height_axis(ndim, channel_axis):
    """The index of H among ``ndim`` axes whose channels are on ``channel_axis`` (None: none)."""
    return -2 if channel_axis is None or channel_axis % ndim < ndim - 2 else -3


def _train(args):
    from .train import TrainConfig, train

    degradation = {"blur_sigma": args.blur, "noise_sigma": args.noise,
                   "jpeg_quality": tuple(int(q) for q in args.jpeg) if args.jpeg else None}
    cfg = TrainConfig(
        architecture=args.architecture, scale=args.scale, train_dirs=args.data, val_dirs=args.val,
        out_dir=args.out, config=args.config, channels=args.channels, steps=args.steps,
        batch_size=args.batch_size, lr_patch=args.lr_patch, lr=args.lr, min_lr=args.min_lr,
        losses=args.losses, discriminator_features=args.discriminator_features, degradation=degradation,
        init=args.init, val_every=args.val_every,
        checkpoint_minutes=args.checkpoint_minutes, threads=args.threads, seed=args.seed,
    )
    best = train(cfg, log=partial(_training_log, total=args.steps))
    print(f"best weights: {best}")


def _training_log(message, total):
    """Print a training message; a validation record as one line with its step, loss, PSNR and time left."""
    import json

    from ._progress import format_duration

    record = json.loads(message) if message.startswith("{") else None
    if not isinstance(record, dict) or "sec_per_step" not in record:
        print(message, flush=True)
        return
    left = format_duration(record["sec_per_step"] * (total - record["step"]))
    print(f"step {record['step']}/{total}, loss {record['loss']:.4g}, validation {record['val_psnr']:.2f} dB, "
          f"{record['sec_per_step']:.3g} s/step, {left} left", flush=True)


def _export(args):
    from .train import export_model

    card = export_model(args.run, args.weights_dir, name=args.name, data_description=args.data_description,
                        overwrite=args.overwrite)
    print(f"wrote {card}")


def _methods(args):
    from .upscale import available_methods

    for name, scales in available_methods().items():
        print(f"{name:12s} {'any scale' if scales is None else 'x' + ', x'.join(map(str, scales))}")
    from .denoise import available_denoisers

    print(f"{'denoise':12s} {', '.join(available_denoisers())}")


def _models(args):
    from .models import download, importer, list_models

    if args.models_command == "list":
        for name, entry in download.published_models().items():
            print(f"{name:24s} {entry['task']} x{entry['scale']}  {entry['license']:12s} {entry['description']}")
        imported = [card.name for card in list_models().values() if "source" in card.info]
        print(f"installed (imported): {', '.join(imported) or 'none'}")
        return
    if args.models_command == "import":
        card = importer.import_model(args.file, name=args.name, license=args.license,
                                     architecture=args.architecture, overwrite=args.overwrite)
    else:
        entry = download.published_models().get(args.name)
        if entry is not None:
            print(download.describe(entry), file=sys.stderr)
        card = download.pull(args.name, overwrite=args.overwrite)
    print(f"imported {card.name}: {card.architecture} {card.task} x{card.scale} ({card.weights.with_suffix('.json')})")


def _sample(args):
    from ._sample_data import low_resolution_astronaut
    from .io import write_image

    write_image(args.output, low_resolution_astronaut(), overwrite=args.overwrite)
    print(f"wrote {args.output}")


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


def _parser():
    """The command line's parser, with every sub-command."""
    from ._version import __version__

    parser = _Parser(prog="napari-superres", description=__doc__)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_upscale(sub)
    _add_denoise(sub)
    _add_inpaint(sub)
    _add_colorize(sub)
    _add_dip(sub)
    _add_video_prior(sub)
    _add_train(sub)
    _add_export(sub)
    _add_models(sub)
    sub.add_parser("methods", help="list upscaling methods and their scales")
    p = sub.add_parser("sample", help="write the bundled low-resolution sample image")
    p.add_argument("output", type=Path, help="the file to write (its suffix names the format)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    return parser


def _main(argv):
    args = _parser().parse_args(argv)
    handlers = {"upscale": _upscale, "denoise": _denoise, "inpaint": _inpaint, "colorize": _colorize, "dip": _dip,
                "video-prior": _video_prior, "train": _train, "export": _export, "models": _models, "methods": _methods,
                "sample": _sample}
    from ._arrays import ChannelAxisWarning

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


if __name__ == "__main__":
    main()
