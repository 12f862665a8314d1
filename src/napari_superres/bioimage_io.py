"""bioimage.io model packages: export any model of napari-superres, import packages of its architectures.

A package (a zip archive, or a folder) holds ``rdf.yaml`` (the bioimage.io model
description, format 0.5), the weights as a PyTorch state dict whose architecture
is imported from the installed ``napari_superres`` (no code in the package), a
TorchScript trace of the same network (what deepImageJ runs), a test input and the
output that napari-superres's own core makes of it, a cover image, a README and an
environment file. ``bioimageio.core`` (the ``bioimageio`` extra) runs and tests it;
this module needs neither it nor ``bioimageio.spec``.

What a package's network sees is written as bioimage.io pre- and postprocessing:
learned models see the image's minimum to maximum as 0 to 1 (``scale_range``),
luma models the BT.601 Y of that gray (``scale_linear``), and their output is
clipped to 0-1; a saved Noise2Void network sees its training data's
standardisation (``fixed_zero_mean_unit_variance``) and gives values in the
image's own units.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import math
import re
import shutil
import tempfile
import warnings
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .models.bioimageio import (
    FORMAT_VERSION,
    INPUT_ID,
    LUMA_GAIN,
    LUMA_OFFSET,
    OUTPUT_ID,
    RDF_NAME,
    build_network,
    import_bioimageio,
    read_weights,
)

__all__ = ["export_bioimageio", "import_bioimageio"]

# Papers of the architectures, cited in the package (arXiv pages).
PAPERS = {
    "srcnn": ("Dong et al. 2015, Image Super-Resolution Using Deep Convolutional Networks", "1501.00092"),
    "fsrcnn": ("Dong et al. 2016, Accelerating the Super-Resolution Convolutional Neural Network", "1608.00367"),
    "espcn": ("Shi et al. 2016, Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel "
              "Convolutional Neural Network", "1609.05158"),
    "vdsr": ("Kim et al. 2016, Accurate Image Super-Resolution Using Very Deep Convolutional Networks", "1511.04587"),
    "edsr": ("Lim et al. 2017, Enhanced Deep Residual Networks for Single Image Super-Resolution", "1707.02921"),
    "srresnet": ("Ledig et al. 2017, Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial "
                 "Network", "1609.04802"),
    "unet": ("Ronneberger et al. 2015, U-Net: Convolutional Networks for Biomedical Image Segmentation", "1505.04597"),
    "dncnn": ("Zhang et al. 2017, Beyond a Gaussian Denoiser: Residual Learning of Deep CNN for Image Denoising",
              "1608.03981"),
    "rrdbnet": ("Wang et al. 2018, ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", "1809.00219"),
    "imdn": ("Hui et al. 2019, Lightweight Image Super-Resolution with Information Multi-distillation Network",
             "1909.11856"),
    "swinir": ("Liang et al. 2021, SwinIR: Image Restoration Using Swin Transformer", "2108.10257"),
    "hat": ("Chen et al. 2023, Activating More Pixels in Image Super-Resolution Transformer", "2205.04437"),
    "span": ("Wan et al. 2024, Swift Parameter-free Attention Network for Efficient Super-Resolution", "2311.12770"),
    "noise2void": ("Krull, Buchholz, Jug 2019, Noise2Void - Learning Denoising from Single Noisy Images",
                   "1811.10980"),
}
PAPERS["swinir_denoise"] = PAPERS["swinir"]
# The core function that makes a task's test output, and what the task is called in a package.
TASK_CORES = {"upscale": ("upscale", "super-resolution", "upscale"), "denoise": ("denoise", "denoising", "denoise"),
              "jpeg": ("remove_jpeg_artifacts", "JPEG artefact removal", "jpeg"),
              "deblur": ("deblur", "deblurring", "deblur")}  # (function, name, its module)
# What the models that bioimage.io export refuses see besides the image (their contract's '+' inputs).
EXTRA_INPUTS = {"mask": "a mask of the holes", "hints": "colour hints", "sigma": "a noise level map"}
# A learned model's test input is at least this many pixels a side (and more than twice its halo).
TEST_SIDE = 64
# The TorchScript trace is kept only if it matches the network to this (it may hard-code a size).
TRACE_TOLERANCE = 1e-4
# What bioimageio.core's test accepts between a package's output and its test output: float32 arithmetic
# in other libraries, threads and instruction sets.
TOLERANCE = {"relative_tolerance": 1e-3, "absolute_tolerance": 1e-4, "mismatched_elements_per_million": 100}


def export_bioimageio(model, path, *, test_image=None, name=None, description=None, authors=None, license=None,
                      torchscript=True, overwrite=False):
    """Write a model of napari-superres as a bioimage.io model package (bioimageio.core, ilastik, deepImageJ).

    Parameters
    ----------
    model : str, Path or ModelCard
        A learned model of :func:`~napari_superres.available_methods` or
        :func:`~napari_superres.available_denoisers` (its name, or its card), or a
        saved Noise2Void model (its name, or the path of its card, see
        :func:`~napari_superres.fit_noise2void`'s ``save_to``). Models that see
        more than the image (a mask, colour hints, a noise level map) are refused.
    path : str or Path
        ``NAME.zip`` for an archive (what bioimage.io uploads and deepImageJ
        installs), else a folder.
    test_image : ndarray, optional
        The package's test input: ``(H, W)``, ``(H, W, C)`` (the model's channels
        last) or, for a 3D Noise2Void model, ``(Z, H, W[, C])``; cropped to the
        model's grid. By default skimage's camera (astronaut for RGB); for
        Noise2Void a noisy camera at the training data's mean and spread: pass a
        crop of your own data instead.
    name, description : str, optional
        For the package; by default from the model's name and card.
    authors : list of str, optional
        The package's authors (by default "napari-superres").
    license : str, optional
        SPDX identifier of the weights' licence; by default the card's (imported
        models), else BSD-3-Clause (models trained by napari-superres).
    torchscript : bool
        Add a TorchScript trace of the network (what deepImageJ runs), kept only
        if it matches the network at a second input size.
    overwrite : bool
        Replace ``path`` if it exists.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        For an unknown model, one that sees more than the image, a licence that is
        not an SPDX identifier, or a test image of the wrong shape.
    FileExistsError
        When ``path`` exists and ``overwrite`` is False.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> export_bioimageio("espcn_x2", f"{folder}/espcn_x2.zip").name
    'espcn_x2.zip'
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists: pass overwrite=True (--overwrite) to replace it")
    if license is not None:
        _check_license(license)
    if name is not None:
        _package_name(name, None)
    exported = _exported_model(model)
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        rdf = _write_network_files(exported, folder, test_image, torchscript)
        rdf.update(_description(exported, name, description, authors, license))
        _write_extras(folder, rdf, exported)
        (folder / RDF_NAME).write_text(_yaml(rdf))
        _place(folder, path, overwrite)
    return path


def _exported_model(model):
    """The :class:`_LearnedModel` or :class:`_Noise2VoidModel` that ``model`` names."""
    from .models.registry import ModelCard, list_models
    from .noise2void import read_noise2void_card

    if isinstance(model, ModelCard):
        return _LearnedModel(model)
    cards = list_models()
    if str(model) in cards:
        return _LearnedModel(cards[str(model)])
    by_method = [card for card in cards.values() if card.method == str(model)]
    if len(by_method) == 1:
        return _LearnedModel(by_method[0])
    try:
        return _Noise2VoidModel(read_noise2void_card(model))
    except ValueError:
        pass
    hint = f" (it has weights for scales {sorted(c.scale for c in by_method)}: name one)" if by_method else ""
    raise ValueError(f"no model {str(model)!r} to export{hint}: give the name of a learned model "
                     "(available_methods(), available_denoisers()) or of a saved Noise2Void model, or its card")


class _LearnedModel:
    """A contract-built model of a card: sees the image in [0, 1] (luma models its BT.601 Y)."""

    def __init__(self, card):
        extra = [kind.split("+")[1] for kind in card.contract.inputs if "+" in kind]
        if extra or card.halo is None:
            sees = f"{EXTRA_INPUTS.get(extra[0], extra[0])} besides the image" if extra else \
                "whole planes only (it cannot be tiled)"
            raise ValueError(f"{card.name} is a {card.architecture}, which sees {sees}: bioimage.io export covers "
                             "models that take the image alone, in tiles")
        if card.task not in TASK_CORES:
            raise ValueError(f"{card.name} is a {card.task} model: bioimage.io export covers "
                             f"{', '.join(TASK_CORES)} models")
        self.card = card
        self.name = card.name
        self.paper = card.architecture
        self.tag = TASK_CORES[card.task][1].lower().replace(" ", "-")
        self.channels = 3 if card.input == "rgb" else 1
        self.multiple = card.size_multiple
        self.halo = card.halo
        self.scale = card.scale
        self.dims = 2

    def weights(self):
        return self.card.weights, self.card.sha256

    def architecture(self):
        contract = self.card.contract
        return {"callable": contract.class_name, "import_from": f"napari_superres.models.{contract.module}",
                "kwargs": {"scale": self.scale, "channels": self.channels, **_plain(dict(self.card.config))}}

    def default_test_image(self, side):
        from skimage import data
        from skimage.transform import resize

        picture = data.astronaut() if self.channels == 3 else data.camera()
        return resize(picture.astype(np.float64), (side, side), anti_aliasing=True)

    def prepared(self, image):
        """``image`` as the package's float32 input: its minimum 0 and its maximum 1 (what the package scales to)."""
        low, high = float(image.min()), float(image.max())
        return ((image - low) / (high - low if high > low else 1.0)).astype(np.float32)

    def restored(self, image):
        function, _, module = TASK_CORES[self.card.task]
        channel_axis = -1 if self.channels == 3 else None
        options = {"method": self.name, "channel_axis": channel_axis, "device": "cpu", "precision": "fp32"}
        core = getattr(importlib.import_module(f"{__package__}.{module}"), function)
        return core(image, self.scale, **options) if self.card.task == "upscale" else core(image, **options)

    values_text = ("each input's minimum to maximum are scaled onto 0-1 (scale_range; luma models see the BT.601 Y "
                   "of that, scale_linear), the output is in 0-1.")

    @property
    def restored_by(self):
        scale = f", {self.scale}" if self.card.task == "upscale" else ""
        return f"`{TASK_CORES[self.card.task][0]}(test_input{scale}, method={self.name!r})`"

    def preprocessing(self):
        axes = ["channel", "y", "x"]
        steps = [{"id": "scale_range", "kwargs": {"axes": axes, "min_percentile": 0.0, "max_percentile": 100.0}}]
        if self.card.input == "y":
            steps.append({"id": "scale_linear", "kwargs": {"gain": LUMA_GAIN, "offset": LUMA_OFFSET}})
        return steps

    def postprocessing(self):
        steps = []
        if self.card.input == "y":
            steps.append({"id": "scale_linear", "kwargs": {"gain": 1 / LUMA_GAIN, "offset": -LUMA_OFFSET / LUMA_GAIN}})
        return steps + [{"id": "clip", "kwargs": {"min": 0.0, "max": 1.0}}]

    def info(self):
        return {"kind": "model", "card": {k: v for k, v in self.card.info.items() if k not in ("weights", "sha256")}}

    def summary(self):
        info = self.card.info
        what = TASK_CORES[self.card.task][1] + (f" x{self.scale}" if self.card.task == "upscale" else "")
        sees = {"y": "the luma (BT.601 Y) of a gray image", "rgb": "RGB images", "gray": "gray images"}[self.card.input]
        training = info.get("training", {}).get("data") or (f"imported from {info['source'].get('file')}"
                                                              if isinstance(info.get("source"), dict) else "")
        return what, sees, training, info.get("license")


class _Noise2VoidModel:
    """A saved Noise2Void U-Net: sees the image standardised as its training data was."""

    def __init__(self, card):
        self.card = card
        self.name = card["name"]
        self.paper, self.tag = "noise2void", "denoising"
        network = card["network"]
        self.channels = network["in_channels"]
        self.multiple = 2 ** network["depth"]
        from ._fitting import HALO

        self.halo = HALO
        self.scale = 1
        self.dims = network["dims"]
        self.mean = [float(v) for v in np.atleast_1d(card["normalization"]["mean"])]
        self.std = [float(v) for v in np.atleast_1d(card["normalization"]["std"])]

    def weights(self):
        return Path(self.card["path"]).parent / self.card["weights"], self.card["sha256"]

    def architecture(self):
        network = self.card["network"]
        return {"callable": "UNet", "import_from": "napari_superres.models.unet",
                "kwargs": {"in_channels": network["in_channels"], "out_channels": network["out_channels"],
                           "features": network["features"], "depth": network["depth"], "dims": network["dims"]}}

    def default_test_image(self, side):
        from skimage import data
        from skimage.transform import resize

        camera = resize(data.camera().astype(np.float64), (side, side), anti_aliasing=True)
        standard = (camera - camera.mean()) / camera.std()
        rng = np.random.default_rng(0)
        depth = (4,) if self.dims == 3 else ()
        noisy = standard + 0.5 * rng.standard_normal(depth + standard.shape)
        if self.channels > 1:
            noisy = np.stack([noisy] * self.channels, axis=-1)
        return noisy * np.asarray(self.std) + np.asarray(self.mean)

    def prepared(self, image):
        return image.astype(np.float32)

    def restored(self, image):
        from .noise2void import apply_noise2void

        return apply_noise2void(image, self.card["path"], channel_axis=-1 if self.channels > 1 else None,
                                device="cpu")

    restored_by = "`apply_noise2void(test_input, model)`"
    values_text = ("inputs in their own units, standardised with the training data's mean and standard deviation "
                   "(fixed_zero_mean_unit_variance); the output is in the input's units.")

    def preprocessing(self):
        return [{"id": "fixed_zero_mean_unit_variance", "kwargs": {"axis": "channel", "mean": self.mean,
                                                                    "std": self.std}}]

    def postprocessing(self):
        return [{"id": "scale_linear", "kwargs": {"axis": "channel", "gain": self.std, "offset": self.mean}}]

    def info(self):
        return {"kind": "noise2void", "card": {k: v for k, v in self.card.items()
                                               if k not in ("path", "weights", "sha256")}}

    def summary(self):
        data = self.card.get("data", {})
        what = f"Noise2Void {'3D ' if self.dims == 3 else ''}denoising (self-supervised, fitted by napari-superres)"
        training = "; ".join(f"{k}: {v}" for k, v in data.items() if v not in (None, ""))
        return what, f"images in their own units ({self.channels} channel(s))", training, None


def _write_network_files(model, folder, test_image, torchscript):
    """Weights, test tensors and cover of ``model`` in ``folder``; the rdf's inputs, outputs and weights."""
    import tifffile
    import torch

    image = _test_image(model, test_image)
    restored = np.asarray(model.restored(image), dtype=np.float32)
    test_input, test_output = _as_tensor(image, model), _as_tensor(restored, model)
    for kind, tensor in (("input", test_input), ("output", test_output)):
        np.save(folder / f"test_{kind}.npy", tensor)
        tifffile.imwrite(folder / f"sample_{kind}.tif", tensor, photometric="minisblack")
    _write_cover(folder / "cover.png", image, restored, model)
    state = read_weights(*model.weights())
    torch.save(state, folder / "weights.pt")
    net = build_network(model.architecture(), state)
    version = torch.__version__.split("+")[0]
    weights = {"pytorch_state_dict": {"source": "weights.pt", "sha256": _sha256(folder / "weights.pt"),
                                      "architecture": model.architecture(), "pytorch_version": version}}
    if torchscript and _write_trace(net, model, folder / "weights_torchscript.pt"):
        weights["torchscript"] = {"source": "weights_torchscript.pt", "parent": "pytorch_state_dict",
                                  "sha256": _sha256(folder / "weights_torchscript.pt"), "pytorch_version": version}
    return {"inputs": [_input_description(model, folder)], "outputs": [_output_description(model, folder)],
            "weights": weights}


def _test_image(model, test_image):
    """The test image, channels last, cropped to the model's grid, as the package's input values."""
    side = model.multiple * math.ceil(max(TEST_SIDE, 2 * model.halo + 1) / model.multiple)
    image = model.default_test_image(side) if test_image is None else np.asarray(test_image, dtype=np.float64)
    spatial = model.dims + (model.channels > 1)
    if image.ndim != spatial or (model.channels > 1 and image.shape[-1] != model.channels):
        layout = ("Z, " if model.dims == 3 else "") + "H, W" + (f", {model.channels}" if model.channels > 1 else "")
        raise ValueError(f"test_image must be ({layout}) for {model.name}, got shape {image.shape}")
    if not np.isfinite(image).all():
        raise ValueError("test_image has NaN or infinite values")
    y, x = model.dims - 2, model.dims - 1
    h, w = (n // model.multiple * model.multiple for n in image.shape[y : x + 1])
    if min(h, w) <= 2 * model.halo:
        raise ValueError(f"test_image must be larger than {2 * model.halo} pixels a side on a grid of "
                         f"{model.multiple} (twice the model's halo), got {image.shape}")
    return model.prepared(image[(slice(None),) * y + (slice(h), slice(w))])


def _as_tensor(image, model):
    """A channels-last image as the package's ``(batch, channel[, z], y, x)`` float32 tensor."""
    image = image if model.channels > 1 else image[..., None]
    return np.ascontiguousarray(np.moveaxis(image, -1, 0)[None], dtype=np.float32)


def _spatial_axes(model):
    return (["z"] if model.dims == 3 else []) + ["y", "x"]


def _channel_names(model):
    if model.channels == 3 and model.paper != "noise2void":
        return ["red", "green", "blue"]
    return [f"channel{i}" for i in range(model.channels)]


def _input_description(model, folder):
    minimum = model.multiple * math.ceil((2 * model.halo + 1) / model.multiple)
    axes = [{"type": "batch"}, {"type": "channel", "channel_names": _channel_names(model)}]
    for axis in _spatial_axes(model):
        size = {"min": 1, "step": 1} if axis == "z" else {"min": minimum, "step": model.multiple}
        axes.append({"type": "space", "id": axis, "size": size})
    return {"id": INPUT_ID, "axes": axes, "data": {"type": "float32"},
            **_tensor_files(folder, "input"),
            "preprocessing": model.preprocessing()}


def _output_description(model, folder):
    axes = [{"type": "batch"}, {"type": "channel", "channel_names": _channel_names(model)}]
    for axis in _spatial_axes(model):
        described = {"type": "space", "id": axis, "size": {"tensor_id": INPUT_ID, "axis_id": axis}}
        if axis != "z":
            described.update({"scale": 1 / model.scale, "halo": model.halo * model.scale})
        axes.append(described)
    return {"id": OUTPUT_ID, "axes": axes, "data": {"type": "float32"},
            **_tensor_files(folder, "output"),
            "postprocessing": model.postprocessing()}


def _tensor_files(folder, kind):
    """The rdf's test tensor (numpy) and sample tensor (TIFF, for people and viewers) of ``kind``."""
    return {name: {"source": source, "sha256": _sha256(folder / source)}
            for name, source in (("test_tensor", f"test_{kind}.npy"), ("sample_tensor", f"sample_{kind}.tif"))}


def _write_trace(net, model, target):
    """Trace ``net`` to ``target``; False (nothing written) if the trace differs from it at another size."""
    import torch

    shape = (1, model.channels) + (2,) * (model.dims == 3)
    side = model.multiple * math.ceil((2 * model.halo + 1) / model.multiple)
    generator = torch.Generator().manual_seed(0)
    example = torch.rand(shape + (side, side), generator=generator)
    other = torch.rand(shape + (side + model.multiple, side + 2 * model.multiple), generator=generator)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is what deepImageJ runs
        try:
            traced = torch.jit.trace(net, example, check_trace=False)
            matches = torch.allclose(traced(other), net(other), rtol=TRACE_TOLERANCE, atol=TRACE_TOLERANCE)
            problem = None if matches else "the trace does not match the network at another size"
        except Exception as err:  # whatever tracing raises, the package goes without a trace
            problem = f"the network cannot be traced ({type(err).__name__}: {err})"
        if problem is None:
            torch.jit.save(traced, str(target))
    if problem is not None:
        warnings.warn(f"{model.name}: no TorchScript weights in the package (deepImageJ needs them): {problem}",
                      UserWarning, stacklevel=4)
    return problem is None


def _write_cover(target, image, restored, model):
    """Input (enlarged to the output's size) beside the output, as an 8-bit PNG."""
    import imageio.v3 as iio

    def shown(array):
        array = array[array.shape[0] // 2] if model.dims == 3 else array
        array = array if array.ndim == 2 or array.shape[-1] == 3 else array[..., 0]
        low, high = np.percentile(array, (0.5, 99.5))
        return np.clip((array - low) / (high - low if high > low else 1.0) * 255, 0, 255).astype(np.uint8)

    before = np.repeat(np.repeat(shown(image), model.scale, axis=0), model.scale, axis=1)
    iio.imwrite(target, np.concatenate([before, shown(restored)], axis=1))


def _description(model, name, description, authors, license):
    what, sees, training, card_license = model.summary()
    if license is None:
        license = _default_license(model, card_license)
    text, arxiv = PAPERS.get(model.paper, (None, None))
    return {
        "name": _package_name(name, model),
        "description": description or f"{what} by napari-superres's {model.name} model; it sees {sees}.",
        "authors": [{"name": author} for author in (authors or ["napari-superres"])],
        "cite": [{"text": text, "url": f"https://arxiv.org/abs/{arxiv}"}] if text else [],
        "license": license,
        "tags": ["napari-superres", model.tag, "pytorch",
                 "3d" if model.dims == 3 else "2d"],
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "config": {"bioimageio": {"reproducibility_tolerance": [TOLERANCE]}, "napari_superres": model.info()},
        "_training": training,
    }


def _package_name(name, model):
    """``name``, or one made of the model's name; bioimage.io takes letters, digits, spaces and ``_+-()``."""
    if name is None:
        return re.sub(r"[^A-Za-z0-9_+\- ()]", "-", f"napari-superres {model.name}")
    if not re.fullmatch(r"[A-Za-z0-9_+\- ()]+", name):
        raise ValueError(f"a bioimage.io name is letters, digits, spaces and _+-(), not {name!r}")
    return name


def _default_license(model, card_license):
    """The card's licence; BSD-3-Clause (the project's) for weights trained by napari-superres."""
    if card_license not in (None, "", "not given"):
        _check_license(card_license)
        return card_license
    if "source" in model.info()["card"]:
        raise ValueError(f"the licence of {model.name}'s weights is not on its card (it was imported): pass license=")
    return "BSD-3-Clause"


def _check_license(license):
    if not license or any(c.isspace() for c in license):
        raise ValueError(f"license must be an SPDX identifier such as 'MIT' or 'Apache-2.0', not {license!r}")


def _write_extras(folder, rdf, model):
    """The README, the environment file and the cover's entries in ``rdf``."""
    from ._version import __version__

    training = rdf.pop("_training")
    readme = [f"# {rdf['name']}", "", rdf["description"], "",
              f"Made with napari-superres {__version__}: the network is `{_callable(rdf)}` of the installed "
              "`napari-superres` package (`pip install napari-superres`); this package holds no code.", ""]
    if training:
        readme += [f"Training data: {training}", ""]
    readme += ["Inputs: float32 " + ", ".join(a.get("id", a["type"]) for a in rdf["inputs"][0]["axes"]) +
               f"; sides a multiple of {model.multiple}, and the output's outer {model.halo * model.scale} pixels "
               "are cropped when tiles are stitched (halo). bioimageio.core pads the image's edges by the halo, "
               "so within it of the edges its results differ from napari-superres's, whose network sees the edge "
               "itself; inside they agree.", "",
               f"Values: {model.values_text}", "",
               "Run it with bioimageio.core (`bioimageio predict`, with napari-superres installed: the state dict's "
               "network is imported from it) or ilastik's neural network workflow in such an environment; "
               "deepImageJ runs its TorchScript weights, which need no Python. napari-superres imports it back "
               "(`napari-superres models import-bioimageio`).", "",
               "## Validation", "",
               f"`test_output.npy` is what napari-superres {__version__} itself makes of `test_input.npy` "
               f"({model.restored_by}, in float32 on the CPU); bioimageio.core's test runs both weights formats "
               "on the test input and compares (tolerances in `config.bioimageio`). "
               "`sample_*.tif` hold the same tensors for viewers.", ""]
    (folder / "README.md").write_text("\n".join(readme))
    (folder / "environment.yaml").write_text(
        f"name: napari-superres\ndependencies:\n  - python>=3.10\n  - pip\n  - pip:\n"
        f"    - napari-superres=={__version__}\n")
    rdf["documentation"] = "README.md"
    rdf["covers"] = ["cover.png"]
    rdf["weights"]["pytorch_state_dict"]["dependencies"] = {"source": "environment.yaml",
                                                              "sha256": _sha256(folder / "environment.yaml")}
    rdf.update({"format_version": FORMAT_VERSION, "type": "model"})


def _callable(rdf):
    architecture = rdf["weights"]["pytorch_state_dict"]["architecture"]
    return f"{architecture['import_from']}.{architecture['callable']}"


def _yaml(rdf):
    import yaml

    order = ["format_version", "type", "name", "description", "authors", "cite", "license", "tags", "documentation",
             "covers", "timestamp", "inputs", "outputs", "weights", "config"]
    return yaml.safe_dump({key: rdf[key] for key in order if key in rdf}, sort_keys=False, allow_unicode=True)


def _place(folder, path, overwrite):
    """Move the package made in ``folder`` to ``path``: a zip archive for ``.zip``, else a folder."""
    if path.exists() and overwrite:
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".zip":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(folder.iterdir()):
                archive.write(file, file.name)
        path.write_bytes(buffer.getvalue())
    else:
        shutil.copytree(folder, path)


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _plain(value):
    """``value`` with tuples as lists (YAML and JSON have lists only)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
