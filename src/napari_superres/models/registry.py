"""Registry: a model name maps to an architecture, a safetensors file and a card.

Each weights file ``NAME.safetensors`` in a weights folder has a model card
``NAME.json`` beside it that says which architecture and configuration to build,
the scale, the SHA-256 of the weights, how they were trained and what they
scored. Weights are only ever read with safetensors (no pickle, no code).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .colorizer import Colorizer
from .dncnn import DnCNN
from .edsr import EDSR
from .espcn import ESPCN
from .fsrcnn import FSRCNN
from .gated_unet import GatedUNet
from .srcnn import SRCNN
from .srresnet import SRResNet
from .unet import UNetSR
from .vdsr import VDSR

# name -> architecture; every one takes (scale, channels=...). Those run tile by tile
# (SR models, denoisers) have a ``halo`` attribute: their receptive-field radius on
# the input grid. The colorizer and the inpainting network see whole planes.
ARCHITECTURES = {
    "srcnn": SRCNN,
    "fsrcnn": FSRCNN,
    "espcn": ESPCN,
    "vdsr": VDSR,
    "edsr": EDSR,
    "srresnet": SRResNet,
    "unet": UNetSR,
    "dncnn": DnCNN,  # a denoiser: its cards have scale 1
    "colorizer": Colorizer,  # L → ab bins; its cards say task "colorize"
    "gatedunet": GatedUNet,  # free-form inpainting; its cards say task "inpaint"
}

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def weights_dirs():
    """Folders searched for model cards, first match wins.

    ``$NAPARI_SUPERRES_WEIGHTS`` (``os.pathsep``-separated) first, then the
    weights installed inside the package, then ``weights/`` of a source checkout.
    """
    dirs = [Path(p) for p in os.environ.get("NAPARI_SUPERRES_WEIGHTS", "").split(os.pathsep) if p]
    dirs += [_PACKAGE_DIR / "weights", _PACKAGE_DIR.parent.parent / "weights"]
    return [d for d in dirs if d.is_dir()]


@dataclass(frozen=True)
class ModelCard:
    name: str
    architecture: str
    scale: int
    weights: Path
    sha256: str
    config: dict = field(default_factory=dict, compare=False, hash=False)
    input: str = "y"  # 'y': luma of YCbCr (BT.601); 'rgb': three channels
    # What users pick: the architecture's name, unless the training makes another model of
    # it (an EDSR fine-tuned with perceptual and adversarial losses is 'srgan').
    method: str = ""
    # 'upscale', 'denoise' (scale-1 restorers) or 'colorize'; by default from the scale.
    task: str = ""
    info: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_json(cls, path):
        path = Path(path)
        data = json.loads(path.read_text())
        return cls(
            name=data["name"],
            architecture=data["architecture"],
            scale=int(data["scale"]),
            weights=path.with_name(data["weights"]),
            sha256=data["sha256"],
            config=data.get("config", {}),
            input=data.get("input", "y"),
            method=data.get("method") or data["architecture"],
            task=data.get("task") or ("upscale" if int(data["scale"]) > 1 else "denoise"),
            info=data,
        )

    def build(self):
        """The architecture with this card's configuration, untrained."""
        channels = 3 if self.input == "rgb" else 1
        return ARCHITECTURES[self.architecture](scale=self.scale, channels=channels, **self.config)


def list_models():
    """All model cards found, as ``{name: ModelCard}``."""
    cards = {}
    for folder in weights_dirs():
        for path in sorted(folder.glob("*.json")):
            card = ModelCard.from_json(path)
            if card.architecture in ARCHITECTURES:
                cards.setdefault(card.name, card)
    return cards


def find_model(method, scale):
    """The card for ``method`` (a card name, or a method such as ``'edsr'``) at ``scale``."""
    cards = list_models()
    if method in cards:
        card = cards[method]
        if card.scale != scale:
            raise ValueError(f"model {method!r} upscales x{card.scale}, not x{scale}")
        return card
    matches = [c for c in cards.values() if c.method == method and c.scale == scale]
    if not matches:
        scales = sorted(c.scale for c in cards.values() if c.method == method)
        if scales:
            raise ValueError(f"{method} has weights for scales {scales}, not x{scale}")
        raise ValueError(f"unknown method {method!r}; available_methods() (or napari-superres methods) lists them")
    return matches[0]


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_load_lock = threading.Lock()


@lru_cache(maxsize=16)
def _load_cached(card, device):
    import torch
    from safetensors.torch import load_file

    actual = _sha256(card.weights)
    if actual != card.sha256:
        raise ValueError(
            f"weights file {card.weights} does not match its model card "
            f"(SHA-256 {actual[:12]}..., expected {card.sha256[:12]}...): "
            "the file is damaged or was replaced; reinstall napari-superres"
        )
    model = card.build()
    try:
        state = load_file(str(card.weights))
        model.load_state_dict(state)
    except Exception as err:  # safetensors' own errors, or tensors that do not fit the architecture
        raise ValueError(f"{card.weights} is not a safetensors file of a {card.architecture} x{card.scale} "
                         f"model as its card says ({err}); only safetensors weights are accepted") from err
    model.eval().requires_grad_(False)
    # NHWC is 1.6x faster for these convolutions on CPU (ESPCN x4 on 512²: 0.40 s vs 0.66 s).
    return model.to(device, memory_format=torch.channels_last)


def load_model(card, device):
    """The model of ``card`` on ``device``, in eval mode; shared, never modify it."""
    with _load_lock:
        return _load_cached(card, str(device))
