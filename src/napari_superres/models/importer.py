"""Import a published checkpoint: detect its architecture, write it as safetensors with a model card.

A ``.pth``/``.pt`` file is read with ``torch.load(weights_only=True)`` only, so
nothing in it runs: TorchScript archives, whole pickled modules and any other
object that is not plain tensors in containers are refused with a message that
says what the file is. The usual containers (``params_ema``, ``params``,
``state_dict``, ``model``) and a ``module.`` prefix are unwrapped, then every
architecture of the catalogue whose module has ``detect(state)`` is asked whether
the key names and tensor shapes are its published layout; the one that says yes
converts the tensors to our parameter names (``convert(state, config)``).
An ncnn model (``.param`` and ``.bin``) is read by :mod:`.ncnn` into the same
published names, and its graph must compute what the imported model computes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import re
import zipfile
from datetime import datetime, timezone
from pathlib import Path

from . import catalog

# Containers that training frameworks wrap a state dict in, most wanted first: BasicSR keeps the
# EMA weights (the published ones) beside the raw ones.
CONTAINER_KEYS = ("params_ema", "params", "state_dict", "model")
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt")
NCNN_SUFFIX = ".param"  # an ncnn graph, its weights in the .bin of the same name beside it
GRAPH_CHECK_SIDE = 20  # the smooth random test image that an imported ncnn model and its graph must agree on
GRAPH_CHECK_TOLERANCE = 1e-3  # of the output's range: float32 rounding, far under one grey level
EXPORT_HINT = ("Load it where it was made and save its weights with torch.save(model.state_dict(), 'weights.pth') "
               "or safetensors.torch.save_file, then import that file")


class ImportRefused(ValueError):
    """A checkpoint that cannot be imported: it is not plain weights, or no known architecture has its layout."""


def import_model(path, name=None, license=None, *, architecture=None, weights_dir=None, overwrite=False,
                 source=None):
    """Import the published checkpoint ``path`` as a model that every task and widget can use.

    Parameters
    ----------
    path : str or Path
        A ``.safetensors`` file, a ``.pth``/``.pt`` state dict (read with
        ``torch.load(weights_only=True)``: nothing in the file is executed), or an
        ncnn ``.param`` with its ``.bin`` beside it (converted from PyTorch through
        ONNX, so that its layer names are the published module names; the graph is
        run against the imported model, which must compute the same).
    name : str, optional
        The model's name, which is also its method name in ``upscale``/``denoise``
        and the widgets. By default the file name without its suffix.
    license : str, optional
        The licence of the weights as you know it, written to the card as given.
    architecture : str, optional
        The architecture to read it as, when more than one has the same layout.
    weights_dir : str or Path, optional
        Where to write the model; by default the user weights folder
        (:func:`~napari_superres.models.registry.user_weights_dir`).
    overwrite : bool
        Replace a model of the same name in ``weights_dir``.
    source : str, optional
        Where the file came from (a URL), for the card.

    Returns
    -------
    ModelCard
        The card of the imported model.

    Raises
    ------
    ImportRefused
        The file is TorchScript, a pickled module or other objects, or no architecture
        of the catalogue has its layout (the message says which and what to do).

    Examples
    --------
    >>> card = import_model("dncnn_25.pth", license="MIT")  # doctest: +SKIP
    >>> denoise(noisy, method=card.name)  # doctest: +SKIP
    """
    from .registry import ModelCard, user_weights_dir

    path = Path(path)
    raw = path.read_bytes()
    source_file = {"file": path.name, "sha256": hashlib.sha256(raw).hexdigest()}
    graph = None
    if path.suffix.lower() == NCNN_SUFFIX:
        graph, state, bin_file = _read_ncnn(path, raw)
        source_file.update(weights_file=bin_file["file"], weights_sha256=bin_file["sha256"])
    else:
        state = plain_state_dict(read_checkpoint(path, raw), path)
    arch, config = detect_architecture(state, path, architecture)
    name = _model_name(name, path)
    weights_dir = user_weights_dir() if weights_dir is None else Path(weights_dir)
    target, card_path = weights_dir / f"{name}.safetensors", weights_dir / f"{name}.json"
    _check_free(name, weights_dir, card_path, overwrite)
    fields, weights = _converted(state, arch, config)
    if graph is not None:
        _check_against_graph(graph, weights, arch, config, path)
    card = {"name": name, "method": name, **fields, "weights": target.name,
            "sha256": hashlib.sha256(weights).hexdigest(), "source": {**source_file, "url": source},
            "license": license or "not given", "imported": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    weights_dir.mkdir(parents=True, exist_ok=True)
    target.write_bytes(weights)
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    return ModelCard.from_json(card_path)


def _read_ncnn(path, raw):
    """``(layers, state dict in the published names, {file, sha256} of the .bin)`` of the ncnn model ``path``.

    ``raw``: the ``.param``'s bytes, already read; its ``.bin`` lies beside it.
    """
    from . import ncnn

    try:
        bin_path = ncnn.weights_beside(path)
        bin_bytes = bin_path.read_bytes()
        layers = ncnn.parse(raw.decode(errors="replace"), bin_bytes, path, bin_path)
    except ncnn.NcnnRefused as err:
        raise ImportRefused(str(err)) from err
    return layers, ncnn.state_dict(layers), {"file": bin_path.name, "sha256": hashlib.sha256(bin_bytes).hexdigest()}


def _check_against_graph(layers, weights, arch, config, path):
    """Refuse the import unless our model with ``weights`` computes what the ncnn graph ``layers`` computes.

    The layer names only say where the weights go; what the graph does between them
    (the input's normalisation, an activation) is checked by running both on a smooth random image.
    """
    import torch
    from safetensors.torch import load

    from . import ncnn

    model = _built(arch, config)
    model.load_state_dict(load(weights))
    generator = torch.Generator().manual_seed(0)
    coarse = torch.rand(1, int(config.get("channels", 1)), 4, 4, generator=generator)
    # smooth, as images are: on white noise a model's features can grow large enough to amplify float32 rounding
    x = torch.nn.functional.interpolate(coarse, size=(GRAPH_CHECK_SIDE, GRAPH_CHECK_SIDE), mode="bilinear")
    with torch.inference_mode():
        try:
            expected = ncnn.run_graph(layers, x)
        except ncnn.NcnnRefused as err:
            raise ImportRefused(f"{path}: {err}, so the import cannot be checked and is refused") from err
        ours = model.eval()(x)
    if ours.shape != expected.shape:
        raise ImportRefused(f"{path}: our {arch} makes a {tuple(ours.shape)} image where the ncnn graph makes "
                            f"{tuple(expected.shape)}")
    error = float((ours - expected).abs().max())
    if not error <= GRAPH_CHECK_TOLERANCE * max(1.0, float(expected.abs().max())):
        raise ImportRefused(f"{path}: the weights fit our {arch}, but the ncnn graph computes something else "
                            f"(outputs differ by up to {error:.3g} on a smooth random image; another input "
                            "normalisation?): it cannot be imported as this architecture")


def read_checkpoint(path, raw):
    """What the file at ``path`` (its bytes ``raw``) holds, as torch objects; ImportRefused if it is not weights."""
    import torch

    if path.suffix.lower() == ".safetensors":
        from safetensors.torch import load

        try:
            return load(raw)
        except Exception as err:  # safetensors raises its own error type for a damaged header
            raise ImportRefused(f"{path} is not a readable safetensors file ({err})") from err
    if path.suffix.lower() not in CHECKPOINT_SUFFIXES:
        raise ImportRefused(f"{path}: import reads {', '.join(CHECKPOINT_SUFFIXES)} files, not {path.suffix!r}")
    if _is_torchscript(path):
        raise ImportRefused(f"{path} is a TorchScript archive (compiled model code, which import never runs). "
                            f"{EXPORT_HINT}.")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for foreign objects, RuntimeError for other formats
        raise ImportRefused(f"{path} holds more than tensors (a pickled model or other Python objects, which "
                            f"import never unpickles: {_first_line(err)}). {EXPORT_HINT}.") from err


def _is_torchscript(path):
    """Whether ``path`` is a zip archive written by ``torch.jit.save`` (it has code and constants in it)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        parts = {name.split("/", 2)[1] for name in archive.namelist() if name.count("/") >= 1}
    return "code" in parts or "constants.pkl" in parts


def _first_line(err):
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def plain_state_dict(obj, path="the checkpoint"):
    """``{name: tensor}`` of a loaded checkpoint: containers unwrapped, a ``module.`` prefix dropped."""
    import torch

    while isinstance(obj, dict):
        inner = next((obj[k] for k in CONTAINER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict):
        raise ImportRefused(f"{path} holds a {type(obj).__name__}, not a dict of weights. {EXPORT_HINT}.")
    state = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor)}
    if not state:
        raise ImportRefused(f"{path} holds no tensors (keys: {', '.join(map(str, list(obj)[:8]))})")
    if all(k.startswith("module.") for k in state):  # saved from a DataParallel wrapper
        state = {k.removeprefix("module."): v for k, v in state.items()}
    return state


def detectors():
    """``{architecture: detect}`` for every architecture of the catalogue whose module has ``detect(state)``."""
    found = {}
    for name, contract in catalog.CONTRACTS.items():
        module = importlib.import_module(f"{catalog.__package__}.{contract.module}")
        if callable(getattr(module, "detect", None)):
            found[name] = module.detect
    return found


def detect_architecture(state, path="the checkpoint", architecture=None):
    """``(architecture, config)`` of the state dict ``state``; ImportRefused if none or several fit."""
    found = {}
    for name, detect in detectors().items():
        if architecture in (None, name):
            config = _config_for(name, detect(state))
            if config is not None:
                found[name] = config
    if len(found) == 1:
        return next(iter(found.items()))
    if found:
        raise ImportRefused(f"{path} fits several architectures ({', '.join(found)}): "
                            "pass architecture= (--architecture) to choose one")
    tried = [architecture] if architecture else list(detectors())
    sample = ", ".join(f"{k} {tuple(v.shape)}" for k, v in list(state.items())[:4])
    raise ImportRefused(f"{path} is a state dict of {len(state)} tensors ({sample}, ...) in a layout that none of "
                        f"the architectures with a published layout ({', '.join(tried) or 'none'}) recognises: "
                        "it may be another architecture or a variant with renamed layers; it cannot be imported")


def _config_for(name, config):
    """``config`` from a module's ``detect`` if it describes the contract ``name`` (a module may serve several)."""
    if config is None or config.get("architecture", name) != name:
        return None
    config = {k: v for k, v in config.items() if k != "architecture"}
    return None if catalog.CONTRACTS[name].unknown_options(_options(config)) else config


def _converted(state, arch, config):
    """``(card fields, safetensors bytes)``: ``state`` in our parameter names, checked by a strict load."""
    import torch
    from safetensors.torch import save

    module = importlib.import_module(f"{catalog.__package__}.{catalog.CONTRACTS[arch].module}")
    options = _options(config)
    contract = catalog.CONTRACTS[arch]
    scale = int(config.get("scale", 1))
    channels = int(config.get("channels", 1))
    converted = module.convert(state, config)
    with torch.device("meta"):
        model = _built(arch, config)
    try:
        model.load_state_dict(converted, strict=True, assign=True)
    except RuntimeError as err:
        raise ImportRefused(f"the weights, read as a {arch} with {config}, do not fit our {arch}: {err}") from err
    tensors = {k: v.detach().to("cpu", torch.float32).clone() for k, v in converted.items()}  # own storage each
    card = {"architecture": arch, "scale": scale, "task": contract.task, "input": _card_input(contract, channels),
            "config": options, "parameters": int(sum(v.numel() for v in model.parameters()))}
    return card, save(tensors)


def _options(config):
    """The architecture's own options in a detected ``config`` (all but scale and channels)."""
    return {k: v for k, v in config.items() if k not in ("scale", "channels")}


def _built(arch, config):
    """Our ``arch`` model of a detected ``config`` (on the current default device)."""
    return catalog.architecture(arch)(scale=int(config.get("scale", 1)), channels=int(config.get("channels", 1)),
                                      **_options(config))


def _card_input(contract, channels):
    """The card's ``input``: 'rgb' for three channels; one is 'gray' where the contract says so, else luma."""
    if channels == 3:
        return "rgb"
    return "gray" if any(kind.startswith("gray") for kind in contract.inputs) else "y"


def _model_name(name, path):
    """``name``, or one made from the file name: lower case letters, digits, ``_`` and ``-``."""
    name = name if name is not None else re.sub(r"[^a-z0-9_-]+", "_", path.stem.lower()).strip("_")
    if not name or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise ValueError(f"a model name is letters, digits, '_', '-' and '.', not {name!r}")
    return name


def _check_free(name, weights_dir, card_path, overwrite):
    """Refuse a name taken by another model, or by one in ``weights_dir`` unless ``overwrite``."""
    from .registry import list_models

    taken = list_models().get(name)
    if card_path.exists() and not overwrite:
        raise FileExistsError(f"a model named {name!r} is in {weights_dir} already: pass overwrite=True "
                              "(--overwrite) to replace it, or choose another name")
    if taken is not None and taken.weights.parent.resolve() != weights_dir.resolve():
        raise FileExistsError(f"the name {name!r} is taken by the model in {taken.weights.parent}: "
                              "choose another name")
