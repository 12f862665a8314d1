"""Import a bioimage.io model package whose network is one of napari-superres's architectures.

The package's ``rdf.yaml`` (format 0.5) must name its PyTorch network by import
from ``napari_superres.models`` (``callable`` and ``import_from``); a package
whose network is code inside it, or imported from another library, is refused:
import never runs code from a package. The state dict is read with
``torch.load(weights_only=True)`` and checked by a strict load into the named
architecture, then written as safetensors with a card, like
:func:`~napari_superres.models.importer.import_model` does for checkpoints.
:mod:`napari_superres.bioimage_io` writes such packages.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from ..color import gray_to_luma
from . import catalog
from .importer import ImportRefused, _card_input, _check_free, _model_name, plain_state_dict

FORMAT_VERSION = "0.5.4"
RDF_NAME = "rdf.yaml"
INPUT_ID, OUTPUT_ID = "input", "output"
# A luma model's input is the BT.601 Y of a gray image in [0, 1]: Y = LUMA_OFFSET + LUMA_GAIN * gray.
LUMA_OFFSET = float(gray_to_luma(0.0))
LUMA_GAIN = float(gray_to_luma(1.0)) - LUMA_OFFSET
OUR_MODULES = "napari_superres.models."
# The fitted Noise2Void U-Net (not a contract's class; saved_fits lists its models).
NOISE2VOID_ARCHITECTURE = ("unet", "UNet")
# Preprocessing that napari-superres's own scaling of an image to [0, 1] stands for.
KNOWN_PREPROCESSING = ("scale_range", "scale_linear", "clip", "ensure_dtype")


def import_bioimageio(path, name=None, *, weights_dir=None, overwrite=False):
    """Import a bioimage.io model package of one of napari-superres's architectures as a usable model.

    Parameters
    ----------
    path : str or Path
        The package: a zip archive or a folder with ``rdf.yaml`` (or
        ``bioimageio.yaml``), bioimage.io model format 0.5.
    name : str, optional
        The model's name (its method name in the tasks and widgets); by default
        the name it had when exported, else the package's file name.
    weights_dir : str or Path, optional
        Where to write it; by default the user weights folder.
    overwrite : bool
        Replace a model of the same name in ``weights_dir``.

    Returns
    -------
    ModelCard or dict
        The card of the imported model; for a Noise2Void package, the saved
        model's card (:func:`~napari_superres.noise2void.read_noise2void_card`),
        which ``denoise(image, method=name)`` applies.

    Raises
    ------
    ImportRefused
        For a package whose network is code of its own or of another library, one
        without PyTorch state dict weights, weights that do not fit the named
        architecture, or preprocessing that napari-superres does not do.

    Examples
    --------
    >>> import tempfile
    >>> from napari_superres import export_bioimageio
    >>> folder = tempfile.mkdtemp()
    >>> package = export_bioimageio("espcn_x2", f"{folder}/espcn_x2.zip")
    >>> import_bioimageio(package, "espcn_x2_copy", weights_dir=folder).architecture
    'espcn'
    """
    from .registry import user_weights_dir

    package = _Package(Path(path))
    entry = _state_dict_entry(package)
    architecture = _our_architecture(entry["architecture"])
    state = _package_state(package, entry)
    network = build_network(entry["architecture"], state, refuse=ImportRefused)
    ours = (package.rdf.get("config") or {}).get("napari_superres") or {}
    exported_name = (ours.get("card") or {}).get("name") or package.path.stem
    name = _model_name(name, Path(f"{exported_name}.zip"))  # without a name: the exported one, made a valid name
    weights_dir = user_weights_dir() if weights_dir is None else Path(weights_dir)
    _check_free(name, weights_dir, weights_dir / f"{name}.json", overwrite)
    _check_no_saved_fit(name, weights_dir)
    if architecture == NOISE2VOID_ARCHITECTURE:
        return _save_noise2void(package, entry, network, ours, name, weights_dir)
    return _save_card(package, entry, network, ours, name, weights_dir)


def _check_no_saved_fit(name, weights_dir):
    from .registry import saved_fits

    taken = saved_fits("noise2void").get(name)
    if taken is not None and taken.parent.resolve() != weights_dir.resolve():
        raise FileExistsError(f"the name {name!r} is taken by the Noise2Void model {taken}: choose another name")


class _Package:
    """A package's files, read from a zip archive or a folder, and its parsed ``rdf.yaml``."""

    def __init__(self, path):
        import yaml

        self.path = path
        if path.is_dir():
            self._names = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                self._names = set(archive.namelist())
        else:
            raise ImportRefused(f"{path} is neither a folder nor a zip archive of a bioimage.io package")
        rdf_name = next((n for n in self._names if n in (RDF_NAME, "bioimageio.yaml") or
                         n.endswith(".bioimageio.yaml")), None)
        if rdf_name is None:
            raise ImportRefused(f"{path} has no rdf.yaml or bioimageio.yaml: it is not a bioimage.io package")
        self.rdf = yaml.safe_load(self.read(rdf_name))
        self.raw = path.read_bytes() if path.is_file() else self.read(rdf_name)
        if not isinstance(self.rdf, dict) or self.rdf.get("type") != "model":
            raise ImportRefused(f"{path}: the description is not a bioimage.io model (type "
                                f"{self.rdf.get('type') if isinstance(self.rdf, dict) else None!r})")
        version = str(self.rdf.get("format_version", ""))
        if not version.startswith("0.5."):
            raise ImportRefused(f"{path} is bioimage.io model format {version or 'unknown'}; napari-superres reads "
                                "format 0.5 (bioimageio.spec's update_format converts older ones)")

    def read(self, name):
        """The bytes of the file ``name`` of the package; never a URL, never outside the package."""
        name = str(name)
        if "://" in name:
            raise ImportRefused(f"{self.path} points at {name}: import never downloads")
        name = PurePosixPath(name).as_posix().removeprefix("./")
        if name not in self._names:
            raise ImportRefused(f"{self.path} has no file {name!r}")
        if self.path.is_dir():
            return (self.path / name).read_bytes()
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(name)


def _state_dict_entry(package):
    weights = package.rdf.get("weights") or {}
    entry = weights.get("pytorch_state_dict")
    if not isinstance(entry, dict) or not isinstance(entry.get("architecture"), dict):
        raise ImportRefused(f"{package.path} has no PyTorch state dict weights (it has "
                            f"{', '.join(weights) or 'none'}): napari-superres imports state dicts of its own "
                            "architectures only")
    return entry


def _our_architecture(architecture):
    """``(module, class)`` of napari-superres that ``architecture`` (the rdf's entry) names; ImportRefused if none."""
    if "source" in architecture:
        raise ImportRefused(f"the package's network is code inside it ({architecture['source']}), which "
                            "napari-superres never runs: it imports packages of its own architectures only")
    where, name = str(architecture.get("import_from", "")), str(architecture.get("callable", ""))
    if not where.startswith(OUR_MODULES):
        raise ImportRefused(f"the package's network is {where}.{name}, code from outside napari-superres, which "
                            "import never runs: it imports packages of its own architectures only")
    module = where.removeprefix(OUR_MODULES)
    ours = {(c.module, c.class_name) for c in catalog.CONTRACTS.values()} | {NOISE2VOID_ARCHITECTURE}
    if (module, name) not in ours:
        raise ImportRefused(f"napari-superres has no architecture {where}.{name}; known: "
                            f"{', '.join(sorted(f'{m}.{c}' for m, c in ours))}")
    return module, name


def _package_state(package, entry):
    import torch

    raw = package.read(entry.get("source", ""))
    expected = entry.get("sha256")
    if expected and hashlib.sha256(raw).hexdigest() != str(expected).lower():
        raise ImportRefused(f"{package.path}: {entry['source']} does not match its SHA-256 in the description")
    try:
        state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for foreign objects, RuntimeError for other formats
        raise ImportRefused(f"{package.path}: {entry['source']} is not a plain state dict of tensors "
                            f"(import never unpickles objects): {err}") from err
    return plain_state_dict(state, f"{package.path}: {entry['source']}")


def read_weights(path, sha256):
    """The float32 state dict of the safetensors file ``path``, its SHA-256 checked against ``sha256``."""
    from safetensors.torch import load

    from .registry import read_verified

    return {key: value.float() if value.is_floating_point() else value
            for key, value in load(read_verified(path, sha256)).items()}


def build_network(architecture, state, refuse=ValueError):
    """The network that the rdf entry ``architecture`` names, with the tensors ``state``, in eval mode.

    Built on the meta device (no initialisation) and loaded strictly: ``refuse`` (an
    exception class) says which tensors do not fit.
    """
    import torch

    module, name = _our_architecture(architecture)
    kwargs = dict(architecture.get("kwargs") or {})
    cls = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    try:
        with torch.device("meta"):
            network = cls(**kwargs)
        network.load_state_dict(state, strict=True, assign=True)
    except (TypeError, ValueError, RuntimeError) as err:
        raise refuse(f"the weights do not fit {name}({kwargs}): {err}") from err
    return network.eval().requires_grad_(False)


def _save_card(package, entry, network, ours, name, weights_dir):
    """Write ``network`` as a model card of its contract; the :class:`ModelCard`."""
    from safetensors.torch import save

    from .registry import ModelCard

    kwargs = dict(entry["architecture"].get("kwargs") or {})
    scale, channels = int(kwargs.pop("scale", 1)), int(kwargs.pop("channels", 1))
    arch = _contract_name(entry["architecture"], scale)
    exported = ours.get("card") or {}
    model_input = exported.get("input") or _input_kind(package, arch, channels)
    blob = save({key: value.contiguous() for key, value in network.state_dict().items()})
    card = {"name": name, "method": name, "architecture": arch, "scale": scale,
            "task": catalog.CONTRACTS[arch].task, "input": model_input, "config": kwargs,
            "parameters": int(sum(v.numel() for v in network.parameters())),
            "weights": f"{name}.safetensors", "sha256": hashlib.sha256(blob).hexdigest(),
            **{key: exported[key] for key in ("training", "metrics") if key in exported},
            "source": _source(package), "license": str(package.rdf.get("license") or "not given"),
            "imported": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    weights_dir.mkdir(parents=True, exist_ok=True)
    (weights_dir / card["weights"]).write_bytes(blob)
    (weights_dir / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n")
    return ModelCard.from_json(weights_dir / f"{name}.json")


def _contract_name(architecture, scale):
    """The contract of the class that ``architecture`` names; by the scale where several share it (SwinIR)."""
    module, name = _our_architecture(architecture)
    found = [key for key, c in catalog.CONTRACTS.items() if (c.module, c.class_name) == (module, name)]
    fitting = [key for key in found if scale in (catalog.CONTRACTS[key].scales or (scale,) * (scale >= 2))]
    return (fitting or found)[0]


def _input_kind(package, arch, channels):
    """What the network sees ('y', 'rgb', 'gray'), from the package's preprocessing; ImportRefused if unknown."""
    steps = package.rdf["inputs"][0].get("preprocessing") or []
    unknown = [step.get("id") for step in steps if step.get("id") not in KNOWN_PREPROCESSING]
    if unknown:
        raise ImportRefused(f"{package.path}: its input is preprocessed with {', '.join(map(str, unknown))}, which "
                            "napari-superres does not do (it scales each image to 0-1)")
    luma = any(step.get("id") == "scale_linear" and abs(step["kwargs"].get("gain", 1) - LUMA_GAIN) < 1e-6
               for step in steps)
    return "y" if luma and channels == 1 else _card_input(catalog.CONTRACTS[arch], channels)


def _save_noise2void(package, entry, network, ours, name, weights_dir):
    """Write ``network`` as a saved Noise2Void model; its card (a dict)."""
    from ..noise2void import read_noise2void_card, save_noise2void

    steps = package.rdf["inputs"][0].get("preprocessing") or []
    standardise = next((s for s in steps if s.get("id") == "fixed_zero_mean_unit_variance"), None)
    if standardise is None:
        raise ImportRefused(f"{package.path}: a Noise2Void U-Net needs the standardisation it was trained with "
                            "(fixed_zero_mean_unit_variance preprocessing); the package has none")
    kwargs = standardise["kwargs"]
    normalization = {key: [float(v) for v in (kwargs[key] if isinstance(kwargs[key], list) else [kwargs[key]])]
                     for key in ("mean", "std")}
    exported = ours.get("card") or {}
    training = {**exported.get("training", {}), "imported": _source(package)}
    weights_dir.mkdir(parents=True, exist_ok=True)
    card_path = save_noise2void(network, weights_dir / name, network=dict(entry["architecture"]["kwargs"]),
                                normalization=normalization, training=training, data=exported.get("data", {}))
    return read_noise2void_card(card_path)


def _source(package):
    return {"file": package.path.name, "sha256": hashlib.sha256(package.raw).hexdigest(),
            "bioimageio": package.rdf.get("name")}
