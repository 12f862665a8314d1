"""What each sub-command does with its parsed arguments."""

from __future__ import annotations

import sys
from functools import partial

import numpy as np

from .files import _channel_axis_for, _channels_last, _crop, _Job, _process_file, _record
from .progress import _run_with_bar, _training_log


def _video_prior(args):
    from ..io import TIFF_SUFFIXES, read_image, write_image
    from ..video_prior import QUICK, iter_fit_video_prior

    frames, processed = np.asarray(read_image(args.frames)), np.asarray(read_image(args.processed))
    axis = _channel_axis_for(args, args.frames, frames)
    options = {"epochs": args.epochs, "precision": args.precision, **(QUICK if args.quick else {})}
    steps = iter_fit_video_prior(frames, processed, channel_axis=axis, device=args.device, seed=args.seed, **options)
    result = _run_with_bar(steps, "Deep Video Prior", frames.size / 1e6, estimate=args.estimate)
    if result is None:
        return
    record = {**_record("video prior", "deep video prior", device=args.device, seed=args.seed, **options),
              "command": " ".join(sys.argv[1:]), "source": str(args.frames), "processed": str(args.processed)}
    write_image(args.output, result, overwrite=args.overwrite, rgb=_channels_last(axis, result),
                metadata=record if args.output.suffix.lower() in TIFF_SUFFIXES else None)
    print(f"{args.processed} {processed.shape} -> {args.output} {result.shape} {result.dtype}")


def _upscale(args):
    from ..uncertainty import iter_sample_upscale
    from ..upscale import iter_upscale

    scale = int(args.scale) if float(args.scale).is_integer() else args.scale
    run, drawn = iter_upscale, {}
    if args.sample_seed is not None:  # a variational model's draw from its prior
        run, drawn = partial(iter_sample_upscale, seed=args.sample_seed), {"sample_seed": args.sample_seed}
    _process_file(args, _Job(f"{args.method} x{scale}", lambda image, axis: run(
        image, scale, method=args.method, channel_axis=axis, device=args.device, tile=args.tile,
        value_range=args.value_range, precision=args.precision, threads=args.threads),
        record=_record("upscale", args.method, scale=scale, device=args.device, tile=args.tile,
                       value_range=args.value_range, **drawn), zoom=scale))


def _dip(args):
    from ..dip import QUICK, TASK_DEFAULTS, iter_fit_dip
    from ..io import read_image

    kwargs = {"scale": args.scale} if args.task == "super-resolve" else {}
    if args.task == "inpaint":
        if args.mask is None:
            sys.exit("error: inpaint needs --mask (an image, non-zero where pixels are missing)")
        kwargs["mask"] = _crop(read_image(args.mask), None, args.crop)
    blur = {}
    if args.task == "deblur":
        from ..blur import make_kernel

        blur = {"blur": args.blur, "blur_size": args.blur_size, "angle": args.angle}
        kwargs["kernel"] = make_kernel(args.blur, args.blur_size, args.angle)
    options = {"network": args.network, "precision": args.precision, **(QUICK if args.quick else {})}
    options.update({"iterations": args.iterations} if args.iterations is not None else {})
    early_stopping = not args.no_early_stopping and TASK_DEFAULTS[args.task]["early_stopping"]
    record = _record(f"dip-{args.task}", "deep image prior", scale=kwargs.get("scale", 1), device=args.device,
                     seed=args.seed, volumetric=args.volumetric, crop=args.crop, **blur, **options)
    _process_file(args, _Job(f"DIP {args.task}", lambda image, axis: iter_fit_dip(
        image, args.task, channel_axis=axis, learning_rate=args.learning_rate,
        early_stopping=False if args.no_early_stopping else None, device=args.device,
        seed=args.seed, preview_every=0, volumetric=args.volumetric, **options, **kwargs),
        record=record, zoom=kwargs.get("scale", 1), early_stopping=early_stopping))


def _fit_options(args, quick):
    """Options of a per-image fit (Noise2Void, DIP) from the command line; ``quick``: the method's preset."""
    options = {"seed": args.seed, "device": args.device, "preview_every": 0, "precision": args.precision,
               **(quick if args.quick else {})}
    return {**options, "iterations": args.iterations} if args.iterations is not None else options


def _quick_preset(method):
    """The ``--quick`` settings of a fitted method (n2v, dip)."""
    if method == "n2v":
        from ..noise2void import QUICK
    else:
        from ..dip import QUICK
    return QUICK


def _denoise(args):
    from ..denoise import CLASSICAL, FITTED, iter_denoise

    if args.method in CLASSICAL:
        options = {"sigma": args.sigma}
    elif args.method in FITTED:
        options = _fit_options(args, _quick_preset(args.method))
        options.update({"volumetric": True} if args.volumetric else {})
    elif _names_saved_noise2void(args.method):  # applied without training: the device is its one setting
        options = {"device": args.device}
    else:  # a trained denoiser
        options = {"device": args.device, "value_range": args.value_range, "precision": args.precision,
                   "threads": args.threads}
    if args.save_model is not None:
        if args.method != "n2v":
            raise ValueError(f"--save-model keeps a Noise2Void network: it needs --method n2v, not {args.method}")
        options["save_to"] = str(args.save_model)
    _process_file(args, _Job(f"{args.method} denoise", lambda image, axis: iter_denoise(
        image, method=args.method, channel_axis=axis, **options),
        record=_record("denoise", args.method, crop=args.crop, **options), early_stopping=args.method == "dip"))


def _deblur(args):
    from ..deblur import CLASSICAL, iter_deblur

    if args.method in CLASSICAL:
        setting = {"richardson-lucy": ("iterations", args.iterations), "wiener": ("balance", args.balance)}
        name, value = setting[args.method]
        options = {name: value} if value is not None else {}
    elif args.method == "dip":
        options = _fit_options(args, _quick_preset("dip"))
    else:  # a trained blind deblurrer
        options = {"device": args.device, "value_range": args.value_range, "precision": args.precision,
                   "threads": args.threads}
    blur = {}
    if args.blur is not None:
        from ..blur import make_kernel

        blur = {"blur": args.blur, "blur_size": args.blur_size, "angle": args.angle}
        options["kernel"] = make_kernel(args.blur, args.blur_size, args.angle)
    record = _record("deblur", args.method, crop=args.crop, **blur,
                     **{k: v for k, v in options.items() if k != "kernel"})
    _process_file(args, _Job(f"{args.method} deblur", lambda image, axis: iter_deblur(
        image, method=args.method, channel_axis=axis, **options), record=record, early_stopping=args.method == "dip"))


def _jpeg(args):
    from ..jpeg import iter_remove_jpeg_artifacts

    if args.method == "dip":
        options = _fit_options(args, _quick_preset("dip"))
    else:
        options = {"device": args.device, "value_range": args.value_range, "precision": args.precision,
                   "threads": args.threads}
    _process_file(args, _Job(f"{args.method} JPEG artefact removal", lambda image, axis: iter_remove_jpeg_artifacts(
        image, method=args.method, channel_axis=axis, **options),
        record=_record("jpeg", args.method, crop=args.crop, **options), early_stopping=args.method == "dip"))


def _names_saved_noise2void(method):
    from ..noise2void import find_saved_model

    try:
        find_saved_model(method)
    except ValueError:
        return False
    return True


def _inpaint(args):
    from ..inpaint import iter_inpaint
    from ..io import read_image

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
    from ..colorize import iter_colorize
    from ..io import read_image

    hints = _hints(read_image(args.hints)) if args.hints else None
    _process_file(args, _Job(f"{args.method} colorize", lambda image, axis: iter_colorize(
        image, hints, method=args.method, look=args.look, channel_axis=axis, device=args.device),
        record=_record("colorize", args.method, device=args.device, look=args.look,
                       hints=str(args.hints) if args.hints else None),
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


def _train(args):
    from ..train import TrainConfig, train

    degradation = {"blur_sigma": args.blur, "noise_sigma": args.noise, "motion_length": args.motion,
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


def _export(args):
    from ..train import export_model

    card = export_model(args.run, args.weights_dir, name=args.name, data_description=args.data_description,
                        overwrite=args.overwrite)
    print(f"wrote {card}")


def _methods(args):
    from ..upscale import available_methods

    for name, scales in available_methods().items():
        print(f"{name:12s} {'any scale' if scales is None else 'x' + ', x'.join(map(str, scales))}")
    from ..denoise import available_denoisers

    print(f"{'denoise':12s} {', '.join(available_denoisers())}")
    from ..deblur import available_deblurrers
    from ..jpeg import available_jpeg_methods

    print(f"{'deblur':12s} {', '.join(available_deblurrers())}")
    print(f"{'jpeg':12s} {', '.join(available_jpeg_methods())}")


def _models(args):
    from ..models import download, importer, list_models

    if args.models_command == "list":
        for name, entry in download.published_models().items():
            print(f"{name:24s} {entry['task']} x{entry['scale']}  {entry['license']:12s} {entry['description']}")
        imported = [card.name for card in list_models().values() if "source" in card.info]
        print(f"installed (imported): {', '.join(imported) or 'none'}")
        return
    if args.models_command.endswith("-bioimageio"):
        return _bioimageio(args)
    if args.models_command == "import":
        card = importer.import_model(args.file, name=args.name, license=args.license,
                                     architecture=args.architecture, overwrite=args.overwrite)
    else:
        entry = download.published_models().get(args.name)
        if entry is not None:
            print(download.describe(entry), file=sys.stderr)
        card = download.pull(args.name, overwrite=args.overwrite)
    print(f"imported {card.name}: {card.architecture} {card.task} x{card.scale} ({card.weights.with_suffix('.json')})")


def _bioimageio(args):
    from ..bioimage_io import export_bioimageio, import_bioimageio
    from ..io import read_image

    if args.models_command == "export-bioimageio":
        test_image = None if args.test_image is None else read_image(args.test_image)
        path = export_bioimageio(args.name, args.package, test_image=test_image, authors=args.author,
                                 license=args.license, torchscript=not args.no_torchscript, overwrite=args.overwrite)
        print(f"wrote the bioimage.io package {path}")
        return
    card = import_bioimageio(args.package, args.name, overwrite=args.overwrite)
    name, where = (card["name"], card["path"]) if isinstance(card, dict) else (card.name, card.weights.parent)
    print(f"imported {name} ({where})")


def _sample(args):
    from .._sample_data import low_resolution_astronaut
    from ..io import write_image

    write_image(args.output, low_resolution_astronaut(), overwrite=args.overwrite)
    print(f"wrote {args.output}")
