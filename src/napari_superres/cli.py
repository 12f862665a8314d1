"""Command line: ``napari-superres upscale IN OUT --scale 4 --method espcn``."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np

CHANNEL_AXIS_HELP = ("axis of colour channels, or 'none' (default: what the file says: TIFF samples or channels, "
                     "PNG/JPEG colours; refused where it does not say)")


class _Parser(argparse.ArgumentParser):
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
    p = sub.add_parser(name, help=help)
    p.add_argument("input", type=Path)
    p.add_argument("output", type=Path)
    p.add_argument("--channel-axis", type=_channel_axis, default=None, help=CHANNEL_AXIS_HELP)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1, mps (default: best available)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--scheduler", default=None,
                   help="address of a dask.distributed scheduler that computes zarr results (default: this machine)")
    return p


def _add_upscale(sub):
    p = _file_parser(sub, "upscale", "upscale an image file, or every image of a folder into a folder")
    p.add_argument("--scale", type=_finite_float, default=4, help="zoom factor (default 4)")
    p.add_argument("--method", default="bicubic", help="interpolation or model name (see 'methods')")
    p.add_argument("--tile", type=_positive_int, default=None, help="tile size in input pixels (default: automatic)")
    _add_value_range(p)
    _add_model_speed(p)


def _add_denoise(sub):
    p = _file_parser(sub, "denoise", "denoise an image file, or every image of a folder into a folder")
    p.add_argument("--method", default="nlm", help="nlm, tv, wavelet, bilateral, a trained denoiser, n2v or dip")
    p.add_argument("--sigma", type=float, default=None, help="classical methods: noise σ (default: estimated)")
    p.add_argument("--iterations", type=_positive_int, default=None, help="n2v and dip: training steps")
    p.add_argument("--volumetric", action="store_true", help="n2v and dip: fit 3D volumes (Z before Y, X)")
    p.add_argument("--seed", type=int, default=0, help="n2v and dip")
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


def _add_inpaint(sub):
    p = _file_parser(sub, "inpaint", "fill missing pixels of an image file (known pixels are kept exactly)")
    p.add_argument("--mask", type=Path, default=None, help="image, non-zero where pixels are missing")
    p.add_argument("--missing-value", type=float, default=float("nan"),
                   help="without --mask: the value that marks missing pixels (default NaN)")
    p.add_argument("--method", default="biharmonic", help="biharmonic, dip, or a trained inpainting network")
    p.add_argument("--iterations", type=_positive_int, default=None, help="dip: iterations")
    p.add_argument("--seed", type=int, default=0, help="dip")


def _add_dip(sub):
    p = _file_parser(sub, "dip", "restore an image file with Deep Image Prior (no training data)")
    p.add_argument("--task", default="denoise", choices=["denoise", "inpaint", "super-resolve", "jpeg"])
    p.add_argument("--mask", type=Path, default=None, help="inpaint: image, non-zero where pixels are missing")
    p.add_argument("--scale", type=_positive_int, default=4, help="super-resolve: zoom factor (default 4)")
    p.add_argument("--network", default="fast", choices=["fast", "paper"])
    p.add_argument("--iterations", type=_positive_int, default=None, help="upper bound (default: the task's)")
    p.add_argument("--learning-rate", type=_positive_float, default=0.01)
    p.add_argument("--no-early-stopping", action="store_true",
                   help="run every iteration (denoise and jpeg stop early by default)")
    p.add_argument("--volumetric", action="store_true", help="one 3D fit per volume (Z before Y, X)")
    p.add_argument("--seed", type=int, default=0)


def _add_video_prior(sub):
    p = sub.add_parser("video-prior",
                       help="take the flicker out of a stack processed frame by frame (Deep Video Prior)")
    p.add_argument("frames", type=Path, help="the input stack (T first)")
    p.add_argument("processed", type=Path, help="its frame-by-frame result")
    p.add_argument("output", type=Path)
    p.add_argument("--channel-axis", type=_channel_axis, default=None, help=CHANNEL_AXIS_HELP + "; of both stacks")
    p.add_argument("--epochs", type=_positive_int, default=25)
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")


def _video_prior(args):
    from .io import TIFF_SUFFIXES, read_image, write_image
    from .video_prior import iter_fit_video_prior

    frames, processed = np.asarray(read_image(args.frames)), np.asarray(read_image(args.processed))
    axis = _channel_axis_for(args, args.frames, frames)
    steps = iter_fit_video_prior(frames, processed, channel_axis=axis, epochs=args.epochs,
                                 device=args.device, seed=args.seed)
    result = _run_with_bar(steps, "Deep Video Prior", _step_fraction)
    record = {**_record("video prior", "deep video prior", device=args.device, epochs=args.epochs, seed=args.seed),
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
    p = sub.add_parser("train", help="train a super-resolution model on a folder of HR images")
    p.add_argument("architecture")
    p.add_argument("--scale", type=_positive_int, required=True)
    p.add_argument("--data", nargs="+", required=True, help="folders of HR training images")
    p.add_argument("--val", nargs="*", default=[], help="folders of HR validation images")
    p.add_argument("--out", required=True, help="run folder (resumes if it holds a checkpoint)")
    p.add_argument("--config", type=_key_values, default={},
                   help="architecture options, e.g. 'blocks=8,features=32'")
    p.add_argument("--channels", type=int, default=1, choices=[1, 3], help="1: luma model, 3: RGB model")
    p.add_argument("--steps", type=_positive_int, default=20000)
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--lr-patch", type=_positive_int, default=24, help="low-resolution patch size")
    p.add_argument("--lr", type=_positive_float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-5)
    p.add_argument("--losses", type=_key_values, default={"l1": 1.0},
                   help="weighted losses: l1, l2, ms_ssim_l1, hf, perceptual, adversarial "
                        "(e.g. 'l1=1,perceptual=0.1,adversarial=0.005')")
    p.add_argument("--discriminator-features", type=_positive_int, default=64,
                   help="width of the adversarial loss's discriminator (SRGAN: 64; 16 is 16x cheaper on a CPU)")
    p.add_argument("--blur", type=_range, default=(0.0, 0.0), help="Gaussian blur sigma range 'lo:hi' (HR px)")
    p.add_argument("--noise", type=_range, default=(0.0, 0.0), help="noise sigma range 'lo:hi' (grey levels)")
    p.add_argument("--jpeg", type=_range, default=None, help="JPEG quality range 'lo:hi'")
    p.add_argument("--init", default=None, help="safetensors weights to start from")
    p.add_argument("--val-every", type=_positive_int, default=1000)
    p.add_argument("--checkpoint-minutes", type=_positive_float, default=5.0)
    p.add_argument("--threads", type=_non_negative_int, default=0)
    p.add_argument("--seed", type=int, default=0)


def _add_export(sub):
    p = sub.add_parser("export", help="copy a training run's best weights into a weights folder, with a card")
    p.add_argument("run", type=Path)
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
    q.add_argument("file", type=Path)
    q.add_argument("--name", default=None, help="model and method name (default: the file name)")
    q.add_argument("--license", default=None, help="the licence of the weights, for the model card")
    q.add_argument("--architecture", default=None, help="read it as this architecture (when several fit)")
    q.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    q = cmd.add_parser("pull", help="download a published model of 'models list' (explicitly) and import it")
    q.add_argument("name")
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


def _upscale(args):
    from .upscale import iter_upscale

    scale = int(args.scale) if float(args.scale).is_integer() else args.scale
    _process_file(args, f"{args.method} x{scale}", lambda image, axis: iter_upscale(
        image, scale, method=args.method, channel_axis=axis, device=args.device, tile=args.tile,
        value_range=args.value_range, precision=args.precision, threads=args.threads), fraction=float,
        record=_record("upscale", args.method, scale=scale, device=args.device, tile=args.tile,
                       value_range=args.value_range))


def _dip(args):
    from .dip import iter_fit_dip
    from .io import read_image

    kwargs = {"scale": args.scale} if args.task == "super-resolve" else {}
    if args.task == "inpaint":
        if args.mask is None:
            sys.exit("error: inpaint needs --mask (an image, non-zero where pixels are missing)")
        kwargs["mask"] = read_image(args.mask)
    record = _record(f"dip-{args.task}", "deep image prior", scale=kwargs.get("scale", 1), device=args.device,
                     iterations=args.iterations, network=args.network, seed=args.seed, volumetric=args.volumetric)
    _process_file(args, f"DIP {args.task}", lambda image, axis: iter_fit_dip(
        image, args.task, channel_axis=axis, iterations=args.iterations, learning_rate=args.learning_rate,
        network=args.network, early_stopping=False if args.no_early_stopping else None, device=args.device,
        seed=args.seed, preview_every=0, volumetric=args.volumetric, **kwargs), fraction=_step_fraction,
        record=record)


def _step_fraction(step):
    return getattr(step, "fraction", step)  # a FitStep, or a plain fraction


def _fit_options(args):
    """Options of a per-image fit (Noise2Void, DIP) from the command line."""
    options = {"seed": args.seed, "device": args.device, "preview_every": 0}
    return {**options, "iterations": args.iterations} if args.iterations is not None else options


def _denoise(args):
    from .denoise import CLASSICAL, FITTED, iter_denoise

    if args.method in CLASSICAL:
        options = {"sigma": args.sigma}
    elif args.method in FITTED:
        options = _fit_options(args)
        options.update({"volumetric": True} if args.volumetric else {})
    else:  # a trained denoiser
        options = {"device": args.device, "value_range": args.value_range, "precision": args.precision,
                   "threads": args.threads}
    _process_file(args, f"{args.method} denoise", lambda image, axis: iter_denoise(
        image, args.method, channel_axis=axis, **options), fraction=_step_fraction,
        record=_record("denoise", args.method, **options))


def _inpaint(args):
    from .inpaint import iter_inpaint
    from .io import read_image

    if args.method == "dip":
        options = _fit_options(args)
    elif args.method == "biharmonic":
        options = {}
    else:  # a trained inpainting network
        options = {"device": args.device}
    mask = read_image(args.mask) if args.mask else None
    _process_file(args, f"{args.method} inpaint", lambda image, axis: iter_inpaint(
        image, mask, args.method, channel_axis=axis, missing_value=args.missing_value, **options),
        fraction=_step_fraction, record=_record("inpaint", args.method, **options))


def _record(task, method, **settings):
    from .provenance import provenance

    return provenance(task, method, **{k: v for k, v in settings.items() if k != "preview_every"})


def _is_folder_batch(args):
    """Whether INPUT is a folder of images (a zarr store is one image)."""
    return args.input.is_dir() and args.input.suffix.lower() != ".zarr"


def _input_paths(args):
    """Every file the command reads: none of them may be an output."""
    return [path for path in (getattr(args, name, None) for name in ("input", "mask", "frames", "processed"))
            if path is not None]


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


def _process_file(args, description, make_steps, fraction, record):
    """Run one file, or every image of a folder into an output folder, continuing past bad files."""
    if getattr(args, "scheduler", None):
        from distributed import Client

        with Client(args.scheduler):  # dask computes zarr results on the cluster from here on
            unscheduled = argparse.Namespace(**{**vars(args), "scheduler": None})
            return _process_file(unscheduled, description, make_steps, fraction, record)
    if not _is_folder_batch(args):
        _process_one(args.input, args.output, args, description, make_steps, fraction, record)
        return
    pairs = _batch(args)
    failures = []
    for path, target in pairs:
        try:
            _process_one(path, target, args, description, make_steps, fraction, record)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch; all are reported
            failures.append((path, err))
            print(f"failed: {path}: {err}", file=sys.stderr)
    print(f"{len(pairs) - len(failures)} of {len(pairs)} images done")
    if failures:
        sys.exit("error: these files failed:\n" + "\n".join(f"  {path}: {err}" for path, err in failures))


def _run_with_bar(steps, description, fraction):
    """Exhaust a progress generator behind a progress bar on stderr; return its result."""
    from tqdm import tqdm

    with tqdm(total=100, unit="%", desc=description, file=sys.stderr) as bar:
        while True:
            try:
                progress = next(steps)
            except StopIteration as done:
                return done.value
            bar.update(round(100 * fraction(progress)) - bar.n)


def _process_one(source, target, args, description, make_steps, fraction, record):
    """Read ``source``, run the progress generator with a bar, write ``target`` atomically."""
    from .io import TIFF_SUFFIXES, ZARR_SUFFIX, check_output, read_image, read_resolution, write_image
    from .lazy import is_lazy

    check_output(target, overwrite=args.overwrite, inputs=[source, *_input_paths(args)])
    image = read_image(source)
    axis = _channel_axis_for(args, source, image)
    result = _run_with_bar(make_steps(image, axis), description, fraction)
    if is_lazy(result) and target.suffix.lower() != ZARR_SUFFIX:
        raise ValueError(f"a zarr input gives a lazy result: write it to a .zarr store, not {target.name}")
    tiff = target.suffix.lower() in TIFF_SUFFIXES
    keeps_metadata = tiff or target.suffix.lower() == ZARR_SUFFIX
    provenance = {**record, "command": " ".join(sys.argv[1:]) or description, "source": str(source)}
    resolution = read_resolution(source) if tiff else None
    if resolution:  # physical pixel size shrinks with the zoom: pixels per unit grow by it
        zoom = result.shape[-2 if axis is None else -3] / image.shape[-2 if axis is None else -3]
        resolution = (resolution[0] * zoom, resolution[1] * zoom, resolution[2])
    write_image(target, result, overwrite=args.overwrite, rgb=_channels_last(axis, result),
                metadata=provenance if keeps_metadata else None, resolution=resolution)
    print(f"{source} {image.shape} {image.dtype} -> {target} {result.shape} {result.dtype}")


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
    best = train(cfg, log=lambda msg: print(msg, flush=True))
    print(f"best weights: {best}")


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
            print(f"{name:24s} {entry['task']} x{entry['scale']}  {entry['license']:10s} {entry['description']}")
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
    """Run the ``napari-superres`` command line on ``argv`` (default: ``sys.argv[1:]``)."""
    parser = _Parser(prog="napari-superres", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_upscale(sub)
    _add_denoise(sub)
    _add_inpaint(sub)
    _add_dip(sub)
    _add_video_prior(sub)
    _add_train(sub)
    _add_export(sub)
    _add_models(sub)
    sub.add_parser("methods", help="list upscaling methods and their scales")
    p = sub.add_parser("sample", help="write the bundled low-resolution sample image")
    p.add_argument("output", type=Path)
    p.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    handlers = {"upscale": _upscale, "denoise": _denoise, "inpaint": _inpaint, "dip": _dip,
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
