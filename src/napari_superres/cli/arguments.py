"""The command line's parser: sub-commands, their options and the types that check them."""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

DESCRIPTION = 'Command line: ``napari-superres upscale IN OUT --scale 4 --method espcn``.'


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
    p.add_argument("--sample-seed", type=int, default=None,
                   help="variational models (vae_sr): one plausible output, its latent drawn from the prior with "
                        "this seed (default: the deterministic output, latent 0)")
    _add_value_range(p)
    _add_model_speed(p)


def _add_denoise(sub):
    p = _file_parser(sub, "denoise", "denoise an image file, or every image of a folder into a folder")
    p.add_argument("--method", default="nlm", help="nlm, tv, wavelet, bilateral, a trained denoiser, n2v or dip; or "
                   "a Noise2Void model saved by --save-model (its .json card, or its name in a weights folder)")
    p.add_argument("--save-model", type=Path, default=None,
                   help="n2v: keep the trained network as SAVE_MODEL.safetensors and its card SAVE_MODEL.json, to "
                        "denoise other stacks of the same noise with --method SAVE_MODEL.json, without training")
    p.add_argument("--sigma", type=float, default=None, help="classical methods: noise σ (default: estimated)")
    p.add_argument("--iterations", type=_positive_int, default=None,
                   help="n2v and dip: training steps (default: n2v 1500, dip 3000 at most, early stopping)")
    p.add_argument("--volumetric", action="store_true", help="n2v and dip: fit 3D volumes (Z before Y, X)")
    p.add_argument("--seed", type=int, default=0, help="n2v and dip: random seed (same seed, same result)")
    _add_fit_options(p, "n2v: 600 iterations of an 8-feature network on 4 patches of 32² a step; "
                        "dip: 600 iterations", crop=True)
    _add_value_range(p)
    _add_model_speed(p)


def _add_deblur(sub):
    p = _file_parser(sub, "deblur", "remove blur from an image file, or every image of a folder into a folder")
    p.add_argument("--method", default="dncnn_deblur",
                   help="a trained blind deblurrer (no kernel needed), or richardson-lucy, wiener or dip "
                        "(deconvolution by the blur that --blur, --blur-size and --angle describe)")
    _add_blur_kernel(p, "richardson-lucy, wiener and dip", default=None)
    p.add_argument("--iterations", type=_positive_int, default=None,
                   help="richardson-lucy: iterations (default 30); dip: upper bound (default 2000)")
    p.add_argument("--balance", type=_positive_float, default=None,
                   help="wiener: regularisation, higher is smoother (default 0.03)")
    p.add_argument("--seed", type=int, default=0, help="dip: random seed (same seed, same result)")
    _add_fit_options(p, "dip: 600 iterations", crop=True)
    _add_value_range(p)
    _add_model_speed(p)


def _add_jpeg(sub):
    p = _file_parser(sub, "jpeg", "remove JPEG artefacts (blocks, ringing) from an image file or a folder of them")
    p.add_argument("--method", default="dncnn_jpeg", help="a trained JPEG artefact remover, or dip (slow)")
    p.add_argument("--iterations", type=_positive_int, default=None, help="dip: upper bound (default 2400)")
    p.add_argument("--seed", type=int, default=0, help="dip: random seed (same seed, same result)")
    _add_fit_options(p, "dip: 600 iterations", crop=True)
    _add_value_range(p)
    _add_model_speed(p)


def _add_blur_kernel(p, who, default="gaussian"):
    """--blur, --blur-size and --angle: the kernel of :func:`~napari_superres.blur.make_kernel`."""
    p.add_argument("--blur", default=default, choices=["gaussian", "motion"], help=f"{who}: the blur to undo")
    p.add_argument("--blur-size", type=_positive_float, default=2.0,
                   help=f"{who}: the Gaussian's sigma or the motion's length (at least 1), in pixels")
    p.add_argument("--angle", type=float, default=0.0,
                   help=f"{who}, motion: direction in degrees, counter-clockwise from the X axis")


def _add_model_speed(p):
    _add_precision(p, "learned models and fits")
    p.add_argument("--threads", type=_positive_int, default=None, help="learned models: CPU threads (default: all)")


def _add_precision(p, what):
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help=f"{what}: bf16 where the CPU or GPU computes it fast (auto), or always fp32 / bf16")


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
    p.add_argument("--look", choices=["natural", "colourful", "vivid", "faithful"], default="natural",
                   help="natural (default): the guess's mean, its colour raised where the network is torn between "
                        "colours (about 0.7x photographs' colourfulness, closer to the true colours than gray); "
                        "colourful: raised more; vivid: Zhang et al.'s saturated look, more often wrong; faithful: "
                        "the guess's mean as it is (palest, closest to the truth)")


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
    p.add_argument("--task", default="denoise", choices=["denoise", "inpaint", "super-resolve", "jpeg", "deblur"],
                   help="the degradation to undo")
    p.add_argument("--mask", type=Path, default=None, help="inpaint: image, non-zero where pixels are missing")
    p.add_argument("--scale", type=_positive_int, default=4, help="super-resolve: zoom factor")
    _add_blur_kernel(p, "deblur")
    p.add_argument("--network", default="fast", choices=["fast", "paper"],
                   help="fast: 32 channels a level; paper: the paper's 128 (about 10x slower on a CPU)")
    p.add_argument("--iterations", type=_positive_int, default=None,
                   help="upper bound (default: the task's: denoise 3000, jpeg 2400, inpaint 5000, "
                        "super-resolve 2000, deblur 2000)")
    p.add_argument("--learning-rate", type=_positive_float, default=0.01, help="Adam's step size")
    p.add_argument("--no-early-stopping", action="store_true",
                   help="run every iteration (denoise, jpeg and deblur stop early by default)")
    p.add_argument("--volumetric", action="store_true", help="one 3D fit per volume (Z before Y, X)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same result)")
    _add_precision(p, "the network's arithmetic")
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
    _add_precision(p, "the network's arithmetic")
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
                   help="weighted losses: l1, l2, ms_ssim_l1, hf, perceptual, and one GAN loss: adversarial "
                        "(SRGAN's discriminator) or dcgan (DCGAN's) (e.g. SRGAN 'l1=1,perceptual=0.1,adversarial=0.005'"
                        ", DCGAN + L1 'l1=1,dcgan=0.005'); kl: the KL term a VAE reports (vae: 'l1=1,kl=0.03')")
    p.add_argument("--discriminator-features", type=_positive_int, default=64,
                   help="width of the GAN loss's discriminator (SRGAN, DCGAN: 64; 16 is 16x cheaper on a CPU)")
    p.add_argument("--blur", type=_range, default=(0.0, 0.0),
                   help="Gaussian blur sigma range 'lo:hi' (HR px; default 0:0, none)")
    p.add_argument("--noise", type=_range, default=(0.0, 0.0),
                   help="noise sigma range 'lo:hi' (grey levels; default 0:0, none)")
    p.add_argument("--jpeg", type=_range, default=None, help="JPEG quality range 'lo:hi' (default: no JPEG)")
    p.add_argument("--motion", type=_range, default=(0.0, 0.0),
                   help="scale 1: motion blur length range 'lo:hi' (px, random angle) to train a blind deblurrer "
                        "(with --blur too: half Gaussian, half motion); a scale-1 run with --jpeg trains a JPEG "
                        "artefact remover")
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
    from ..models.catalog import CONTRACTS

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
    p = sub.add_parser("models", help="import a published checkpoint, list and download published models, "
                                      "export or import bioimage.io packages")
    cmd = p.add_subparsers(dest="models_command", required=True)
    cmd.add_parser("list", help="the published models that 'pull' downloads, and the installed models")
    q = cmd.add_parser("import", help="import a .safetensors/.pth/.pt state dict, or an ncnn .param with its .bin "
                                      "beside it, of a known architecture")
    q.add_argument("file", type=Path, help="the checkpoint file (for ncnn, the .param)")
    q.add_argument("--name", default=None, help="model and method name (default: the file name)")
    q.add_argument("--license", default=None, help="the licence of the weights, for the model card")
    q.add_argument("--architecture", default=None, help="read it as this architecture (when several fit)")
    q.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    q = cmd.add_parser("pull", help="download a published model of 'models list' (explicitly) and import it")
    q.add_argument("name", help="a name that 'models list' shows")
    q.add_argument("--overwrite", action="store_true", help="replace a model of the same name")
    q = cmd.add_parser("export-bioimageio", help="write a learned or saved Noise2Void model as a bioimage.io "
                                                 "package (deepImageJ, CAREamics, bioimageio.core)")
    q.add_argument("name", help="a learned model (napari-superres methods) or a saved Noise2Void model or card")
    # Not 'output': that name is an image file that the image commands check before any work.
    q.add_argument("package", metavar="OUTPUT", type=Path, help="OUT.zip for an archive, else a folder")
    q.add_argument("--test-image", type=Path, default=None,
                   help="the package's test input, a crop of your data (default: skimage's camera or astronaut)")
    q.add_argument("--license", default=None, help="SPDX licence of the weights (default: the card's)")
    q.add_argument("--author", action="append", default=None, help="an author of the package (repeatable)")
    q.add_argument("--no-torchscript", action="store_true", help="leave out the TorchScript weights")
    q.add_argument("--overwrite", action="store_true", help="replace OUTPUT")
    q = cmd.add_parser("import-bioimageio", help="import a bioimage.io package of one of our architectures")
    q.add_argument("package", type=Path, help="the package's zip archive or folder")
    q.add_argument("--name", default=None, help="model and method name (default: its name when exported)")
    q.add_argument("--overwrite", action="store_true", help="replace a model of the same name")


def _geometry(text):
    """``'WxH+X+Y'`` (or ``'W'``, ``'WxH'``: centred) -> ``(W, H, X, Y)``, X and Y None when centred."""
    match = re.fullmatch(r"(\d+)(?:x(\d+))?(?:\+(\d+)\+(\d+))?", text.strip())
    if match is None or int(match[1]) < 1 or (match[2] is not None and int(match[2]) < 1):
        raise argparse.ArgumentTypeError(f"must be WIDTHxHEIGHT, WIDTHxHEIGHT+X+Y or SIDE, not {text}")
    width = int(match[1])
    height = int(match[2]) if match[2] else width
    return (width, height) + ((int(match[3]), int(match[4])) if match[3] else (None, None))


_geometry.__name__ = "crop geometry"


def _parser():
    """The command line's parser, with every sub-command."""
    from .._version import __version__

    parser = _Parser(prog="napari-superres", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_upscale(sub)
    _add_denoise(sub)
    _add_deblur(sub)
    _add_jpeg(sub)
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
