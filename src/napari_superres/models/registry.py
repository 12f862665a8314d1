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
import warnings
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from .catalog import ARCHITECTURES, CONTRACTS, TASKS, architecture  # noqa: F401 (ARCHITECTURES: re-exported)

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def user_weights_dir():
    """Where ``napari-superres export`` puts models by default (it may not exist yet).

    The first folder of ``$NAPARI_SUPERRES_WEIGHTS`` if set, else ``weights`` in the
    user data folder (``~/.local/share/napari-superres/weights`` on Linux).
    """
    listed = [p for p in os.environ.get("NAPARI_SUPERRES_WEIGHTS", "").split(os.pathsep) if p]
    if listed:
        return Path(listed[0])
    from platformdirs import user_data_path

    return user_data_path("napari-superres", appauthor=False) / "weights"


def weights_dirs():
    """Folders searched for model cards, first match wins.

    ``$NAPARI_SUPERRES_WEIGHTS`` (``os.pathsep``-separated) first, then the user
    weights folder (see :func:`user_weights_dir`), then the weights installed inside
    the package, then ``weights/`` of a source checkout.
    """
    dirs = [Path(p) for p in os.environ.get("NAPARI_SUPERRES_WEIGHTS", "").split(os.pathsep) if p]
    dirs += [user_weights_dir(), _PACKAGE_DIR / "weights", _PACKAGE_DIR.parent.parent / "weights"]
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


# What a model sees: 'y' the luma of YCbCr (BT.601, 16-235), 'rgb' three channels, 'gray' one channel in
# the full [0, 1] range (published gray denoisers, trained on gray images, not on luma).
CARD_INPUTS = ("y", "rgb", "gray")


# Cards of networks fitted by napari-superres on the user's data (Noise2Void's save_to): the task that fitted
# them builds and applies them; they are no contract-built ModelCard, and listed apart (saved_fits).
FITTED_KINDS = ("noise2void",)


class ModelCardWarning(UserWarning):
    """A model card in a weights folder was skipped: it cannot be read or does not describe a usable model."""


@dataclass(frozen=True)
class ModelCard:
    """A model found in a weights folder: its architecture, scale, weights file, checksum and task."""

    name: str
    architecture: str
    scale: int
    weights: Path
    sha256: str
    config: dict = field(default_factory=dict, compare=False, hash=False)
    input: str = "y"  # one of CARD_INPUTS
    # What users pick: the architecture's name, unless the training makes another model of
    # it (an EDSR fine-tuned with perceptual and adversarial losses is 'srgan').
    method: str = ""
    # 'upscale', 'denoise' (scale-1 restorers) or 'colorize'; by default from the scale.
    task: str = ""
    info: dict = field(default_factory=dict, compare=False, hash=False)
    # Every scale its weights make (MDSR's heads, LapSRN's pyramid levels); by default its scale alone.
    scales: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "scales", tuple(self.scales) or (self.scale,))

    def at_scale(self, scale):
        """The card of the same weights at another of its ``scales``, named ``NAME@xS``; itself at its own scale."""
        if scale not in self.scales:
            raise ValueError(f"model {self.name!r} upscales {' or '.join(f'x{s}' for s in self.scales)}, not x{scale}")
        return self if scale == self.scale else replace(self, name=f"{self.name}@x{scale}", scale=scale)

    @classmethod
    def from_json(cls, path):
        """The card in the JSON file ``path``; ValueError says what makes it unusable."""
        return cls.from_data(json.loads(Path(path).read_bytes()), path)

    @classmethod
    def from_data(cls, data, path):
        """The card of the parsed JSON ``data`` of the file ``path``; ValueError says what makes it unusable."""
        _check_card(data)
        scale = data["scale"]
        return cls(
            name=data["name"],
            architecture=data["architecture"],
            scale=scale,
            weights=Path(path).parent / data["weights"],
            sha256=data["sha256"].lower(),
            config=data.get("config", {}),
            input=data.get("input", "y"),
            method=data.get("method") or data["architecture"],
            task=data.get("task") or ("upscale" if scale > 1 else "denoise"),
            info=data,
            scales=tuple(data.get("scales", ())),
        )

    @property
    def contract(self):
        """The :class:`~napari_superres.models.catalog.ModelContract` of this card's architecture."""
        return CONTRACTS[self.architecture]

    @property
    def halo(self):
        """Input pixels of context a tile needs (see :meth:`ModelContract.halo`); None: never tiled."""
        return self.contract.halo(self.scale, self.config)

    @property
    def size_multiple(self):
        """The multiple the input sides must be (see :func:`~napari_superres.models.inference.on_grid`)."""
        return self.contract.size_multiple(self.config)

    def build(self):
        """The architecture with this card's configuration, untrained; ValueError naming the card if it cannot be."""
        channels = 3 if self.input == "rgb" else 1
        try:
            return architecture(self.architecture)(scale=self.scale, channels=channels, **self.config)
        except (TypeError, ValueError) as err:
            raise ValueError(f"the model card {self.name!r} ({self.weights.with_suffix('.json')}) describes no "
                             f"{self.architecture} that can be built: {err}") from err


_CARD_FIELDS = {"name": str, "architecture": str, "scale": int, "weights": str, "sha256": str,
                "config": dict, "input": str, "method": str, "task": str}


def _check_card(data):
    """Raise ValueError naming the first field of a card's JSON that makes it unusable."""
    _check_card_types(data)
    if not data["name"]:
        raise ValueError("'name' is empty")
    if data["architecture"] not in CONTRACTS:
        raise ValueError(f"unknown architecture {data['architecture']!r}; known: {', '.join(CONTRACTS)}")
    if data["scale"] < 1:
        raise ValueError(f"'scale' must be at least 1, not {data['scale']}")
    contract = CONTRACTS[data["architecture"]]
    unknown = contract.unknown_options(data.get("config", {}))
    if unknown:
        raise ValueError(f"'config' does not fit a {data['architecture']} (unexpected options {', '.join(unknown)}; "
                         f"it takes {', '.join(contract.options) or 'none'})")
    weights = data["weights"]
    if weights in ("", ".", "..") or Path(weights).name != weights or "/" in weights or "\\" in weights:
        raise ValueError(f"'weights' must name a file in the card's own folder, not {weights!r}")
    if len(data["sha256"]) != 64 or not all(c in "0123456789abcdefABCDEF" for c in data["sha256"]):
        raise ValueError("'sha256' must be the 64 hex digits of the weights file's SHA-256")
    if data.get("input", "y") not in CARD_INPUTS:
        raise ValueError(f"'input' must be one of {', '.join(CARD_INPUTS)}, not {data['input']!r}")
    if data.get("task") and data["task"] not in TASKS:
        raise ValueError(f"'task' must be one of {', '.join(TASKS)}, not {data['task']!r}")
    if "scales" in data:
        _check_scales(data, contract)


def _check_scales(data, contract):
    """A card's ``scales``: integers its architecture makes, its own ``scale`` among them."""
    scales = data["scales"]
    if not isinstance(scales, list) or not all(isinstance(s, int) and not isinstance(s, bool) for s in scales):
        raise ValueError(f"'scales' must be a JSON list of integers, not {scales!r}")
    if data["scale"] not in scales:
        raise ValueError(f"'scales' {scales} must hold the card's 'scale' {data['scale']}")
    foreign = [s for s in scales if contract.scales is not None and s not in contract.scales]
    if foreign:
        raise ValueError(f"'scales' {scales}: a {data['architecture']} makes {list(contract.scales)}, not {foreign}")


def _check_card_types(data):
    if not isinstance(data, dict):
        raise ValueError(f"a model card is a JSON object, not {type(data).__name__}")
    for key in ("name", "architecture", "scale", "weights", "sha256"):
        if key not in data:
            raise ValueError(f"no {key!r}")
    for key, kind in _CARD_FIELDS.items():
        value = data.get(key)
        if key in data and (not isinstance(value, kind) or isinstance(value, bool)):
            raise ValueError(f"{key!r} must be a JSON {kind.__name__}, not {value!r}")


_cards_read = {}  # path -> (its bytes, its ModelCard or None): each bad card warns once, until it changes
_cards_lock = threading.Lock()


def _read_card(path):
    """The card in ``path``, or None (with one ModelCardWarning naming the file) when it is unusable."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raw, problem = None, err
    with _cards_lock:
        if path in _cards_read and _cards_read[path][0] == raw:
            return _cards_read[path][1]
        card = None
        if raw is not None:
            try:
                data = json.loads(raw)
                if _fitted_kind(data):
                    _cards_read[path] = (raw, None)
                    return None
                card = ModelCard.from_data(data, path)
            except ValueError as err:  # JSON syntax and Unicode errors are ValueErrors too
                problem = err
        if card is None:
            warnings.warn(f"skipped the model card {path}: {problem}", ModelCardWarning, stacklevel=2)
        _cards_read[path] = (raw, card)
        return card


def list_models():
    """All usable model cards found, as ``{name: ModelCard}``.

    A card whose weights make several scales is listed once per scale: under its
    name at its own scale, as ``NAME@xS`` at each other (see :meth:`ModelCard.at_scale`).
    A card that cannot be read or does not describe a usable model is skipped with
    a :class:`ModelCardWarning` naming its file (once, until the file changes).
    """
    cards = {}
    for folder in weights_dirs():
        for path in sorted(folder.glob("*.json")):
            card = _read_card(path)
            for scaled in () if card is None else (card.at_scale(s) for s in card.scales):
                cards.setdefault(scaled.name, scaled)
    return cards


def _fitted_kind(data):
    """The kind of a fitted network's card (one of :data:`FITTED_KINDS`), else None."""
    kind = data.get("kind") if isinstance(data, dict) else None
    return kind if kind in FITTED_KINDS else None


def saved_fits(kind):
    """``{name: card path}`` of the fitted networks of ``kind`` (e.g. ``'noise2void'``) in the weights folders.

    Earlier folders win, as for :func:`list_models`; unreadable files are left out.
    """
    found = {}
    for folder in weights_dirs():
        for path in sorted(folder.glob("*.json")):
            try:
                data = json.loads(path.read_bytes())
            except (OSError, ValueError):
                continue
            if _fitted_kind(data) == kind and isinstance(data.get("name"), str):
                found.setdefault(data["name"], path)
    return found


def read_verified(path, sha256, remedy="save the model again"):
    """The bytes of the weights file ``path``; ValueError (ending with ``remedy``) unless their SHA-256 is ``sha256``.

    Hashed and then loaded from the same bytes: nothing can change in between.
    """
    data = Path(path).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256.lower():
        raise ValueError(
            f"weights file {path} does not match its model card "
            f"(SHA-256 {actual[:12]}..., expected {sha256[:12]}...): "
            f"the file is damaged or was replaced; {remedy}"
        )
    return data


def find_model(method, scale):
    """The card for ``method`` (a card name, or a method such as ``'edsr'``) at ``scale``."""
    cards = list_models()
    if method in cards:
        return cards[method].at_scale(scale)
    matches = [c for c in cards.values() if c.method == method and c.scale == scale]
    if not matches:
        scales = sorted(c.scale for c in cards.values() if c.method == method)
        if scales:
            raise ValueError(f"{method} has weights for scales {scales}, not x{scale}")
        raise ValueError(f"unknown method {method!r}; available_methods() (or napari-superres methods) lists them")
    return matches[0]


_load_lock = threading.Lock()


@lru_cache(maxsize=16)
def _load_cached(card, device):
    import torch
    from safetensors.torch import load

    from .common import fold_subpixel_tails

    data = read_verified(card.weights, card.sha256, "reinstall napari-superres")
    with torch.device("meta"):  # no memory and no random initialisation: the global RNG is left alone
        model = card.build()
    try:
        model.load_state_dict(_as_model_dtypes(load(data), model), assign=True)
    except Exception as err:  # safetensors' own errors, or tensors that do not fit the architecture
        raise ValueError(f"{card.weights} is not a safetensors file of a {card.architecture} x{card.scale} "
                         f"model as its card says ({err}); only safetensors weights are accepted") from err
    model.eval().requires_grad_(False)
    fold_subpixel_tails(model)
    # NHWC is 1.6x faster for these convolutions on CPU (ESPCN x4 on 512²: 0.40 s vs 0.66 s).
    return model.to(device, memory_format=torch.channels_last)


def _as_model_dtypes(state, model):
    """``state`` with each tensor in the dtype of the model's own (as a copying load would cast it)."""
    own = model.state_dict()
    return {key: value.to(own[key].dtype) if key in own else value for key, value in state.items()}


def load_model(card, device):
    """The model of ``card`` on ``device``, in eval mode; shared, never modify it."""
    with _load_lock:
        return _load_cached(card, str(device))
