"""The architectures and their contracts: what a caller must know to run each, readable without torch.

A :class:`ModelContract` says, for one architecture, which module and class build
it, which configuration options it takes (with their defaults), its task, the
scales it makes, what it sees as input, its halo and the multiple its input sides
must be. The registry validates model cards against it, and callers read the halo
and size multiple from it, so listing models never imports torch: an architecture's
module is imported only when a model of it is built (:func:`architecture`).

To add an architecture: write its module (a ``torch.nn.Module`` taking
``scale``, ``channels`` and its options as keywords) and add its contract to
:data:`CONTRACTS`.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

# A card's task; an image-to-image architecture's cards at scale 1 may also be JPEG artefact removers or deblurrers.
TASKS = ("upscale", "denoise", "colorize", "inpaint", "jpeg", "deblur")


@dataclass(frozen=True)
class ModelContract:
    """How to build and call one architecture.

    Parameters
    ----------
    task : {'upscale', 'denoise', 'colorize', 'inpaint'}
        What its models do.
    module, class_name : str
        Where the architecture lives: ``napari_superres.models.<module>.<class_name>``.
    options : mapping
        The configuration options it takes besides ``scale`` and ``channels`` (a
        card's ``config``), with the defaults of the class.
    scales : tuple of int, optional
        The scales it can make; None: any integer ≥ 2.
    inputs : tuple of str
        What it sees: ``'y'`` (luma) or ``'rgb'`` images (a card's ``input``), with
        ``'+mask'`` (the holes to fill), ``'+hints'`` (user colours) or ``'+sigma'``
        (a noise level map, last: σ in the [0, 1] units of the image) as extra channels.
    halo_rule : callable, optional
        ``halo_rule(scale, options)``: the receptive-field radius on the input grid,
        the context a tile needs from its neighbours to match the untiled result.
        None: the model sees whole planes and is never tiled.
    multiple_rule : callable
        ``multiple_rule(options)``: input sides must be a multiple of this (the
        models whose ``forward`` pads do it themselves).
    training : {'single', 'scale_per_batch', 'pyramid'}
        How its batches are made, beyond the task: ``'single'`` one image at the
        run's scale; ``'scale_per_batch'`` each batch at a random one of the
        ``scales`` option (one network for them all, MDSR); ``'pyramid'`` the run's
        scale and every x2 level below it, each supervised (LapSRN).
    draws_latents : bool
        Its models can draw a latent map from a prior, each draw one plausible output
        (variational models; :func:`napari_superres.uncertainty.sample_upscale`).
    """

    task: str
    module: str
    class_name: str
    options: Mapping = field(default_factory=dict)
    scales: tuple | None = None
    inputs: tuple = ("y", "rgb")
    halo_rule: Callable | None = None
    multiple_rule: Callable = lambda options: 1
    training: str = "single"
    draws_latents: bool = False

    def __post_init__(self):
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))

    def halo(self, scale, config=None):
        """The halo in input pixels of a model at ``scale`` with ``config``; None if it is never tiled."""
        return None if self.halo_rule is None else self.halo_rule(scale, {**self.options, **(config or {})})

    def size_multiple(self, config=None):
        """The multiple the input sides of a model with ``config`` must be."""
        return self.multiple_rule({**self.options, **(config or {})})

    @property
    def takes_noise_level(self):
        """Whether its models see a noise level map as their last input channel (``'+sigma'`` inputs)."""
        return any(kind.endswith("+sigma") for kind in self.inputs)

    def served_scales(self, scale, config=None):
        """The scales that one model of this architecture, trained at ``scale``, makes from its weights file."""
        if self.training == "scale_per_batch":
            return tuple({**self.options, **(config or {})}["scales"])
        if self.training == "pyramid":
            return tuple(2**k for k in range(1, scale.bit_length()))
        return (scale,)

    def unknown_options(self, config):
        """The keys of ``config`` that this architecture does not take, sorted."""
        return sorted(set(config) - set(self.options))


_SWINIR_OPTIONS = {"embed_dim": 180, "depths": (6,) * 6, "num_heads": (6,) * 6, "window_size": 8, "mlp_ratio": 2.0,
                   "upsampler": None, "resi_connection": "1conv", "img_range": 1.0}
_HAT_OPTIONS = {"embed_dim": 180, "depths": (6,) * 6, "num_heads": (6,) * 6, "window_size": 16, "mlp_ratio": 2.0,
                "compress_ratio": 3, "squeeze_factor": 30, "overlap_ratio": 0.5, "img_range": 1.0}

# RRDBNet's receptive field grows 15 pixels a block (349 for Real-ESRGAN's 23), but its 0.2-scaled
# residuals make the far context negligible: Real-ESRGAN's own tiler pads tiles by 10 pixels.
RRDB_HALO = 40


def _rrdb_field(scale, o):
    """RRDBNet's receptive-field radius in input pixels: head, 15 convolutions a block, trunk end, 4 at the end."""
    return (2 + 15 * o["blocks"] + 2) * (4 // scale)


CONTRACTS = MappingProxyType({
    "srcnn": ModelContract(  # 8 pixels of context on the enlarged grid, plus 2 for the bicubic kernel
        "upscale", "srcnn", "SRCNN", {"features": 64, "hidden": 32},
        halo_rule=lambda scale, o: math.ceil(8 / scale) + 2),
    "fsrcnn": ModelContract(
        "upscale", "fsrcnn", "FSRCNN", {"d": 56, "s": 12, "m": 4},
        halo_rule=lambda scale, o: 2 + o["m"] + 2),
    "espcn": ModelContract(  # 2 + 1 + 1 pixels: its 5x5 and two 3x3 convolutions
        "upscale", "espcn", "ESPCN", {"features": 64, "hidden": 32},
        halo_rule=lambda scale, o: 4),
    "vdsr": ModelContract(
        "upscale", "vdsr", "VDSR", {"features": 64, "depth": 20},
        halo_rule=lambda scale, o: math.ceil(o["depth"] / scale) + 2),
    "edsr": ModelContract(
        "upscale", "edsr", "EDSR", {"features": 64, "blocks": 16, "res_scale": 1.0},
        halo_rule=lambda scale, o: 2 * o["blocks"] + 5),
    "mdsr": ModelContract(  # head, 2 blocks of 5x5 (8 pixels), body, upsampler convolutions
        "upscale", "mdsr", "MDSR", {"features": 64, "blocks": 16, "scales": (2, 3, 4), "res_scale": 1.0},
        scales=(2, 3, 4), halo_rule=lambda scale, o: 2 * o["blocks"] + 12, training="scale_per_batch"),
    "lapsrn": ModelContract(  # depth+1 convolutions a level on ever finer grids: at most 2(depth+1) input pixels,
        # plus the head, the residual convolutions and the bicubic kernels (2 pixels a level, halving)
        "upscale", "lapsrn", "LapSRN", {"features": 64, "depth": 10, "levels": 3}, scales=(2, 4, 8),
        halo_rule=lambda scale, o: 2 * o["depth"] + 8, training="pyramid"),
    "drcn": ModelContract(  # embedding 2, one pixel a recursion, reconstruction 2: on the enlarged grid
        "upscale", "drcn", "DRCN", {"features": 256, "recursions": 16},
        halo_rule=lambda scale, o: -(-(o["recursions"] + 4) // scale) + 2),
    # Auto-encoders: strided convolutions to a bottleneck 2**downs smaller (input sides on its grid, halos too);
    # their receptive field is 5 + 3.5 (2**(downs+1) - 2) input pixels (26 at downs=2), under the halo.
    "autoencoder": ModelContract(
        "upscale", "autoencoder_sr", "ConvAutoencoderSR", {"features": 32, "downs": 2, "skips": True},
        halo_rule=lambda scale, o: 8 * 2 ** o["downs"], multiple_rule=lambda o: 2 ** o["downs"]),
    "vae": ModelContract(  # tiles are exact with the latent at 0 (the default); drawn latents differ per tile
        "upscale", "autoencoder_sr", "VariationalAutoencoderSR",
        {"features": 32, "downs": 2, "skips": True, "latent": 4, "free_nats": 0.0},
        halo_rule=lambda scale, o: 8 * 2 ** o["downs"], multiple_rule=lambda o: 2 ** o["downs"], draws_latents=True),
    "srresnet": ModelContract(
        "upscale", "srresnet", "SRResNet", {"features": 64, "blocks": 16},
        halo_rule=lambda scale, o: 2 * o["blocks"] + 9),
    "unet": ModelContract(  # context grows with depth; a multiple of 2**depth keeps tiles on the pooling grid
        "upscale", "unet", "UNetSR", {"features": 32, "depth": 3},
        halo_rule=lambda scale, o: 8 * 2 ** o["depth"], multiple_rule=lambda o: 2 ** o["depth"]),
    "dncnn": ModelContract(  # one pixel a layer on the sub-sampled grid, on which a tile must start
        "denoise", "dncnn", "DnCNN", {"features": 64, "depth": 17, "unshuffle": 1, "batch_norm": True}, scales=(1,),
        inputs=("y", "rgb", "gray"), halo_rule=lambda scale, o: (o["depth"] + 2) * o["unshuffle"],
        multiple_rule=lambda o: o["unshuffle"]),
    "fdncnn": ModelContract(  # DnCNN with a noise level map as its last input channel (KAIR), one pixel a layer
        "denoise", "dncnn", "FDnCNN", {"features": 64, "depth": 20}, scales=(1,), inputs=("gray+sigma", "rgb+sigma"),
        halo_rule=lambda scale, o: o["depth"]),
    "colorizer": ModelContract(  # L → ab bins at a quarter of the size
        "colorize", "colorizer", "Colorizer", {"bins": 261, "features": 32, "blocks": 6}, scales=(1,),
        inputs=("y+hints",), multiple_rule=lambda o: 8),
    "gatedunet": ModelContract(  # free-form inpainting
        "inpaint", "gated_unet", "GatedUNet", {"features": 32, "depth": 4}, scales=(1,),
        inputs=("rgb+mask", "y+mask"), multiple_rule=lambda o: 2 ** o["depth"]),
    # Published architectures (models imported from their checkpoints: models/importer.py).
    "span": ModelContract(  # 21 3x3 convolutions on the input grid: head, 6 blocks of 3, tail, upsampler
        "upscale", "span", "SPAN", {"features": 48, "normalize": True, "fused": None}, inputs=("rgb", "y"),
        halo_rule=lambda scale, o: 21),
    "rrdbnet": ModelContract(  # ESRGAN / Real-ESRGAN; x2 unshuffles its input: even sides
        "upscale", "rrdbnet", "RRDBNet", {"features": 64, "blocks": 23, "growth": 32}, scales=(2, 4),
        inputs=("rgb", "y"), halo_rule=lambda scale, o: min(_rrdb_field(scale, o), RRDB_HALO),
        multiple_rule=lambda o: 2),
    "drunet": ModelContract(  # σ-map input; 4 levels: sides multiples of 8, halos too (tiles start on the grid)
        "denoise", "drunet", "DRUNet", {"features": (64, 128, 256, 512), "blocks": 4, "bias": False}, scales=(1,),
        inputs=("gray+sigma", "rgb+sigma"), halo_rule=lambda scale, o: 8 * math.ceil((44 * o["blocks"] + 9) / 8),
        multiple_rule=lambda o: 8),
    "imdn": ModelContract(  # convolutions reach 27 pixels (head, 6 blocks of 4, tail, upsampler); see imdn.py
        "upscale", "imdn", "IMDN", {"features": 64, "blocks": 6}, inputs=("rgb", "y"),
        halo_rule=lambda scale, o: 4 * o["blocks"] + 3),
    # SwinIR: each shifted-window block reaches up to one window further, so its context is the whole
    # image in principle; the halo is four windows, whole windows so that tiles cut on the grid stay on it.
    "swinir": ModelContract(
        "upscale", "swinir", "SwinIR", _SWINIR_OPTIONS, scales=(2, 3, 4, 8), inputs=("rgb", "y"),
        halo_rule=lambda scale, o: 4 * o["window_size"], multiple_rule=lambda o: o["window_size"]),
    "swinir_denoise": ModelContract(  # the same network at scale 1 (a residual output convolution); gray: full range
        "denoise", "swinir", "SwinIR", _SWINIR_OPTIONS, scales=(1,), inputs=("rgb", "gray"),
        halo_rule=lambda scale, o: 4 * o["window_size"], multiple_rule=lambda o: o["window_size"]),
    # HAT: SwinIR's layout with channel attention (pooled over the whole tile: tiles match only nearly)
    # and overlapping cross-attention reaching half a window further; two of its 16-pixel windows of halo.
    "hat": ModelContract(
        "upscale", "hat", "HAT", _HAT_OPTIONS, scales=(2, 3, 4), inputs=("rgb", "y"),
        halo_rule=lambda scale, o: 2 * o["window_size"], multiple_rule=lambda o: o["window_size"]),
})


def architecture(name):
    """The class of the architecture ``name``, its module imported now; KeyError if unknown."""
    contract = CONTRACTS[name]
    return getattr(importlib.import_module(f"{__package__}.{contract.module}"), contract.class_name)


class _Architectures(Mapping):
    """``{name: class}`` of every architecture; a class's module (and torch) is imported on first access."""

    def __getitem__(self, name):
        return architecture(name)

    def __contains__(self, name):
        return name in CONTRACTS

    def __iter__(self):
        return iter(CONTRACTS)

    def __len__(self):
        return len(CONTRACTS)

    def __repr__(self):
        return f"ARCHITECTURES({', '.join(CONTRACTS)})"


ARCHITECTURES = _Architectures()
