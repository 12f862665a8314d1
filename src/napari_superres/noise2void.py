"""Self-supervised blind-spot denoising of one image or stack: Noise2Void (Krull, Buchholz, Jug 2019).

No clean data and no weights are needed: a small U-Net is trained on the noisy
image itself to predict each pixel from its neighbourhood. In every training patch
a few pixels are replaced by a random neighbour and the loss is taken there only,
so the network never sees the value it must predict (the blind spot). Noise that is
independent from pixel to pixel cannot be predicted from the neighbours while the
signal can, so the best the network can do is predict the signal: the
J-invariance argument of Noise2Self (Batson & Royer 2019). This holds for any
zero-mean pixel-wise noise: Gaussian, Poisson, their mix (fluorescence, EM, CT).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from ._arrays import (
    UnitScale,
    cast_into,
    check_image,
    check_memory,
    is_lazy,
    plane_layout,
    run_to_end,
    spatial_shape,
    to_planes,
)
from ._fitting import (
    FLOAT_BYTES,
    HALO,
    TILE,
    FitStep,
    at_precision,
    build_network,
    check_count,
    check_depth,
    fit_memory_bytes,
    optimise,
    predict_tiled,
    prediction_tile,
    unet_fit_bytes,
    unet_size,
)
from .device import check_precision

# Replacement values come from this neighbourhood (radius 2: the 5x5 of the paper).
NEIGHBOURHOOD = 2
MIN_SIDE = 2 * NEIGHBOURHOOD + 1
# Bytes per image value held besides the network while a result is made: the float64
# [0, 1] copy, the float32 network input and output, and float64 steps back to the dtype.
WORKING_BYTES = 48
# The quick preset (the command line's --quick): a narrow network on small patches at a
# higher learning rate, to see in minutes what the default fit would take an hour for.
# Volumetric on an 8x128² stack of benchmarks/denoise_microscopy.py's scene (200 photons,
# read noise 2): noisy 34.62 dB, tv 38.56; this preset 38.86 dB in 107-147 CPU-seconds (one
# thread, benchmarks/quick_presets.py); at 300 iterations 35.98 dB. The default fit costs 30x more a step.
QUICK = {"iterations": 600, "features": 8, "patch_size": 32, "batch_size": 4, "learning_rate": 4e-3}
# A saved model's card says this in "kind": the registry lists such cards apart from the contract-built models.
CARD_KIND = "noise2void"
NOISE_MODEL = "pixel-wise independent, zero-mean (Gaussian, Poisson or their mix)"
SAVE_INFO = ("description", "pixel_size", "axes", "noise_model")


def fit_noise2void(
    image,
    *,
    channel_axis=None,
    volumetric=False,
    iterations=1500,
    batch_size=8,
    patch_size=64,
    patch_depth=8,
    blind_fraction=0.02,
    learning_rate=1e-3,
    features=16,
    depth=2,
    device=None,
    seed=0,
    preview_every=250,
    save_to=None,
    save_info=None,
    precision="auto",
):
    """Denoise an image or stack by Noise2Void training on itself (no clean data, no weights).

    A small U-Net learns to predict each pixel from its neighbours on patches of the
    image whose blind spots hide the pixel itself; pixel-wise independent noise
    cannot be predicted that way, the signal can (Krull, Buchholz and Jug, 2019).

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``), planes of
        at least 5x5 pixels. One network is trained for the whole stack, on patches
        drawn from every plane (or every volume with ``volumetric=True``). dtype and
        range are kept.
    channel_axis : int, optional
        The colour axis; the network sees all channels of a pixel together.
    volumetric : bool, optional
        Treat the axis before ``(H, W)`` as Z and train a 3D network on
        ``patch_depth x patch_size²`` patches: neighbouring slices then help.
    iterations : int, optional
        Training steps; each sees ``batch_size`` random patches (flipped and
        rotated) with ``blind_fraction`` of their pixels masked.
    batch_size : int, optional
        Patches per step.
    patch_size : int, optional
        Side of the training patches, at least 5 (the blind spots' 5x5
        neighbourhood); planes smaller than it are taken whole.
    patch_depth : int, optional
        With ``volumetric``, the patches' depth in slices.
    blind_fraction : float, optional
        Share of each patch's pixels hidden and predicted, in (0, 0.5).
    learning_rate : float, optional
        Adam's initial step size, lowered to a twentieth along a cosine.
    features : int, optional
        Width of the U-Net's first level.
    depth : int, optional
        The U-Net's number of poolings; ``2**depth`` must not exceed the training
        patch's side.
    device : str, optional
        Torch device; by default CUDA, then MPS, then CPU.
    seed : int, optional
        Same seed, same input and settings → same result on the same device.
    preview_every : int, optional
        :func:`iter_fit_noise2void` attaches the current result to a step every
        this many iterations (0: never).
    save_to : str or Path, optional
        Keep the trained network: ``NAME.safetensors`` and its card ``NAME.json``
        (see :func:`save_noise2void`) are written at this path (``.json`` or
        ``.safetensors`` may end it). Saved in a weights folder
        (:func:`~napari_superres.models.registry.user_weights_dir`), ``NAME`` is a
        method of :func:`~napari_superres.denoise.denoise`; anywhere, its path is.
    save_info : dict, optional
        What the card says of the data: ``description``, ``pixel_size``, ``axes``,
        ``noise_model`` (see :func:`save_noise2void`).
    precision : {'auto', 'fp32', 'bf16'}, optional
        Arithmetic of the network's forward passes: ``'auto'`` is bf16 autocast where
        the device computes it fast (CUDA, CPUs with AVX512-BF16 or AMX), fp32
        elsewhere. The loss and the optimiser stay in float32.

    Returns
    -------
    ndarray
        The denoised image, same shape and dtype.

    Raises
    ------
    ValueError
        For planes smaller than 5x5, ``volumetric`` without a Z axis, a count or
        size below its minimum, ``blind_fraction`` outside (0, 0.5), a ``depth`` too
        deep for the patches, or NaN or infinite values.
    TypeError
        For an image that is not real numbers (bool, complex, object).
    MemoryError
        When the result, its working copies and the training would not fit in the
        memory free now.

    See Also
    --------
    iter_fit_noise2void : The same training step by step, with progress and previews.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> noisy = data.camera()[:64, :64]
    >>> denoised = fit_noise2void(noisy, iterations=5)
    >>> denoised.shape, denoised.dtype
    ((64, 64), dtype('uint8'))
    """
    return run_to_end(iter_fit_noise2void(
        image, channel_axis=channel_axis, volumetric=volumetric, iterations=iterations, batch_size=batch_size,
        patch_size=patch_size, patch_depth=patch_depth, blind_fraction=blind_fraction, learning_rate=learning_rate,
        features=features, depth=depth, device=device, seed=seed, preview_every=preview_every, save_to=save_to,
        save_info=save_info, precision=precision))


def iter_fit_noise2void(
    image,
    *,
    channel_axis=None,
    volumetric=False,
    iterations=1500,
    batch_size=8,
    patch_size=64,
    patch_depth=8,
    blind_fraction=0.02,
    learning_rate=1e-3,
    features=16,
    depth=2,
    device=None,
    seed=0,
    preview_every=250,
    save_to=None,
    save_info=None,
    save_on_stop=False,
    precision="auto",
):
    """Step-by-step form of :func:`fit_noise2void`: a generator yielding a :class:`FitStep` per iteration.

    The arguments, and whether the fit's memory fits in what is free, are checked
    when this is called, before any work. Stopping the iteration between two steps
    cancels. It takes the parameters of :func:`fit_noise2void`, and:

    Parameters
    ----------
    save_on_stop : bool, optional
        With ``save_to``: closing the generator early (``close()``, a Stop button)
        saves the network as trained so far, its card saying how many iterations it had.

    Yields
    ------
    FitStep
        One per training step, carrying the whole result so far every
        ``preview_every`` steps.

    Returns
    -------
    ndarray
        The generator's return value (``StopIteration.value``): the result of
        :func:`fit_noise2void`.

    Raises
    ------
    ValueError, TypeError, MemoryError
        As :func:`fit_noise2void`, when called.

    Examples
    --------
    >>> from skimage import data
    >>> steps = list(iter_fit_noise2void(data.camera()[:32, :32], iterations=4, preview_every=2))
    >>> [step.iteration for step in steps], steps[1].estimate.shape
    ([1, 2, 3, 4], (32, 32))
    """
    image = np.asarray(image)
    check_image(image, channel_axis, "denoise")
    iterations = check_count("iterations", iterations)
    if not 0 < blind_fraction < 0.5:
        raise ValueError(f"blind_fraction must be in (0, 0.5), got {blind_fraction}")
    _, h, w, channels = plane_layout(image, channel_axis)
    if min(h, w) < MIN_SIDE:
        raise ValueError(f"Noise2Void needs planes of at least {MIN_SIDE}x{MIN_SIDE} pixels, got {h}x{w}")
    if volumetric and len(spatial_shape(image, channel_axis)) < 3:
        raise ValueError(f"volumetric needs a Z axis before (H, W), got shape {image.shape} "
                         f"(channel_axis={channel_axis})")
    z = spatial_shape(image, channel_axis)[-3] if volumetric else 1
    batch_size = check_count("batch_size", batch_size, why=" (patches per step)")
    patch = _patch_shape(volumetric, z, h, w, patch_size, patch_depth)
    features = check_count("features", features, why=" (the U-Net's channels at full resolution)")
    depth = check_depth(depth, min(patch[-2:]), "training patch (patch_size, or the plane if smaller)")
    tile = (z,) * volumetric + prediction_tile(h, w)  # predicted at once
    _check_memory(image, channels, patch, tile, features, depth, batch_size, device)
    settings = dict(volumetric=volumetric, iterations=iterations, batch_size=batch_size, patch=patch,
                    blind_fraction=blind_fraction, learning_rate=learning_rate, features=features, depth=depth,
                    device=device, seed=seed, preview_every=preview_every, precision=check_precision(precision))
    saving = None if save_to is None else (_save_path(save_to), _checked_save_info(save_info))
    return _n2v_steps(image, channel_axis, saving=saving, save_on_stop=save_on_stop, **settings)


def _patch_shape(volumetric, z, h, w, patch_size, patch_depth):
    """The training patch ``([Z,] H, W)``; refuses sizes the blind spots cannot use."""
    side = check_count("patch_size", patch_size, MIN_SIDE,
                       f" (blind spots take a pixel from the {MIN_SIDE}x{MIN_SIDE} around them)")
    planes = (min(check_count("patch_depth", patch_depth), z),) if volumetric else ()
    return planes + (min(side, h), min(side, w))


def _check_memory(image, channels, patch, tile, features, depth, batch_size, device):
    """Refuse upfront what would not fit: result, working copies, the U-Net's training and prediction."""
    parameters, network = unet_fit_bytes(channels, channels, features, depth, (batch_size, channels) + patch,
                                         (1, channels) + tile, device)
    check_memory(image.nbytes + WORKING_BYTES * image.size + network,
                 f"Noise2Void of {image.shape} ({image.dtype}) with a {features}-feature depth-{depth} U-Net "
                 f"({parameters / 1e6:.1f} M parameters)")


def _n2v_steps(image, channel_axis, *, volumetric, iterations, batch_size, patch, blind_fraction, learning_rate,
               features, depth, device, seed, preview_every, precision, saving, save_on_stop=False):
    import torch

    from .device import select_device
    from .models.inference import on_grid
    from .models.unet import UNet

    device = select_device(device)
    planes, unstack = to_planes(image, channel_axis)
    n, h, w, c = planes.shape
    z = spatial_shape(image, channel_axis)[-3] if volumetric else 1
    values = UnitScale(image)
    unit = values.to_unit(planes).reshape(n // z, z, h, w, c)
    mean, std = unit.mean(axis=(0, 1, 2, 3)), unit.std(axis=(0, 1, 2, 3))
    if not np.all(std > 0):  # a constant image has no noise to remove
        if saving:
            raise ValueError("a constant image has no noise to learn from: no model to save")
        yield FitStep(iterations, iterations, 0, 1, 0.0)
        return image.copy()
    normed = torch.from_numpy(((unit - mean) / std).astype(np.float32).transpose(0, 4, 1, 2, 3)).to(device)
    if not volumetric:  # (N, C, 1, H, W) volumes → (N, C, H, W) planes
        normed = normed[:, :, 0]

    generator = torch.Generator().manual_seed(seed)
    net = build_network(lambda: UNet(c, c, features, depth, dims=3 if volumetric else 2), generator, device)
    # patches and planes of any size, on the U-Net's pooling grid
    forward = at_precision(on_grid(net, 2**depth), net, precision, device)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, iterations, eta_min=learning_rate / 20)

    def result():
        unit_out = predict_tiled(net, normed, 2**depth, precision).cpu().numpy().astype(np.float64)
        unit_out = unit_out.reshape((n // z, c) + (z,) * volumetric + (h, w))
        unit_out = np.moveaxis(unit_out, 1, -1).reshape(n, h, w, c) * std + mean
        return unstack(values.restore(unit_out))

    def keep(step):
        network = {"in_channels": c, "out_channels": c, "features": features, "depth": depth,
                   "dims": 3 if volumetric else 2}
        training = {"iterations": step.iteration, "planned_iterations": iterations, "batch_size": batch_size,
                    "patch": list(patch), "blind_fraction": blind_fraction, "learning_rate": learning_rate,
                    "seed": seed, "final_loss": step.loss}
        normalization = {"mean": (values.low + mean * values.span).tolist(), "std": (std * values.span).tolist()}
        save_noise2void(net, saving[0], network=network, normalization=normalization, training=training,
                        data=_data_record(image, channel_axis, volumetric, saving[1]))

    step = None
    try:
        for iteration in range(1, iterations + 1):
            net.train()
            batch = _random_patches(normed, patch, batch_size, generator).to(device)
            masked, spots = _blind_spots(batch, blind_fraction, generator)
            prediction = forward(masked)
            step = optimise(optimizer, _loss_at(prediction, batch, spots), iteration, iterations, preview_every,
                            result)
            schedule.step()
            yield step
    except GeneratorExit:  # stopped early
        if saving and save_on_stop and step is not None:
            keep(step)
        raise
    if saving:
        keep(step)
    return result()


def _random_patches(data, patch, batch_size, generator):
    """``batch_size`` random crops of ``data`` (N, C, *spatial), randomly flipped and turned in (H, W)."""
    import torch

    crops = []
    for _ in range(batch_size):
        index = int(torch.randint(len(data), (1,), generator=generator))
        starts = [int(torch.randint(size - p + 1, (1,), generator=generator))
                  for size, p in zip(data.shape[2:], patch, strict=True)]
        crop = data[(index, slice(None)) + tuple(slice(s, s + p) for s, p in zip(starts, patch, strict=True))]
        flips = [d for d, flip in zip((-2, -1), torch.rand(2, generator=generator) < 0.5, strict=True) if flip]
        crop = crop.flip(flips) if flips else crop
        if patch[-1] == patch[-2]:
            crop = crop.rot90(int(torch.randint(4, (1,), generator=generator)), dims=(-2, -1))
        crops.append(crop)
    return torch.stack(crops)


def _blind_spots(batch, fraction, generator):
    """Replace ``fraction`` of each patch's pixels by a random other pixel within ±2 in (H, W).

    Returns the masked batch and the flat indices ``(B, k)`` of the replaced pixels.
    All channels of a pixel are replaced together, from the same neighbour.
    """
    import torch

    b, c, *spatial = batch.shape
    h, w = spatial[-2:]
    pixels = int(np.prod(spatial))
    k = max(1, round(fraction * pixels))
    spots = torch.randint(pixels, (b, k), generator=generator)
    y, x = (spots // w) % h, spots % w
    offsets = [(dy, dx) for dy in range(-NEIGHBOURHOOD, NEIGHBOURHOOD + 1)
               for dx in range(-NEIGHBOURHOOD, NEIGHBOURHOOD + 1) if (dy, dx) != (0, 0)]
    offsets = torch.tensor(offsets)[torch.randint(len(offsets), (b, k), generator=generator)]
    dy, dx = offsets[..., 0], offsets[..., 1]
    # A neighbour outside the patch is mirrored to the other side: never the pixel itself.
    ny, nx = y + dy, x + dx
    ny = torch.where((ny < 0) | (ny >= h), y - dy, ny)
    nx = torch.where((nx < 0) | (nx >= w), x - dx, nx)
    neighbours = spots + (ny - y) * w + (nx - x)
    spots, neighbours = spots.to(batch.device), neighbours.to(batch.device)
    flat = batch.reshape(b, c, pixels)
    replaced = flat.gather(2, neighbours[:, None].expand(b, c, k))
    masked = flat.clone().scatter_(2, spots[:, None].expand(b, c, k), replaced)
    return masked.reshape(batch.shape), spots


def _loss_at(prediction, target, spots):
    b, c = target.shape[:2]
    index = spots[:, None].expand(b, c, spots.shape[1])
    return ((prediction.reshape(b, c, -1).gather(2, index) - target.reshape(b, c, -1).gather(2, index)) ** 2).mean()



def _save_path(save_to):
    """``save_to`` without a ``.json`` or ``.safetensors`` ending, its folder made now (before any training)."""
    path = Path(save_to)
    if path.suffix in (".json", ".safetensors"):
        path = path.with_suffix("")
    if path.name in ("", ".", ".."):
        raise ValueError(f"save_to must name the model's file, got {str(save_to)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _checked_save_info(save_info):
    info = dict(save_info or {})
    unknown = set(info) - set(SAVE_INFO)
    if unknown:
        raise ValueError(f"save_info takes {', '.join(SAVE_INFO)}, not {', '.join(sorted(unknown))}")
    return info


def _data_record(image, channel_axis, volumetric, info):
    """What the card says of the training data: axes, pixel size, noise model, description, shape and dtype."""
    axes = ["S"] * (image.ndim - 2 - (channel_axis is not None) - volumetric) + ["Z"] * volumetric + ["Y", "X"]
    if channel_axis is not None:
        axes.insert(channel_axis % image.ndim, "C")
    return {"axes": info.get("axes", "".join(axes)), "pixel_size": info.get("pixel_size"),
            "noise_model": info.get("noise_model", NOISE_MODEL), "description": info.get("description", ""),
            "shape": list(image.shape), "dtype": str(image.dtype)}


def save_noise2void(net, path, *, network, normalization, training, data):
    """Write ``net``'s weights to ``PATH.safetensors`` and its card to ``PATH.json``; returns the card's path.

    The card holds what applying the network needs (``network``: the
    :class:`~napari_superres.models.unet.UNet`'s arguments; ``normalization``: the
    training data's mean and standard deviation per channel, in its own units) and
    what a reader wants to know (``data``: axes, pixel size, noise model,
    description; ``training``: the settings and the last loss).
    """
    from safetensors.torch import save

    from ._version import __version__

    blob = save({key: value.detach().cpu().contiguous() for key, value in net.state_dict().items()})
    weights = path.parent / f"{path.name}.safetensors"
    weights.write_bytes(blob)
    card = {"kind": CARD_KIND, "name": path.name, "weights": weights.name, "sha256": hashlib.sha256(blob).hexdigest(),
            "network": network, "normalization": normalization, "data": data, "training": training,
            "napari_superres": __version__}
    card_path = path.parent / f"{path.name}.json"
    card_path.write_text(json.dumps(card, indent=2))
    return card_path


def find_saved_model(model):
    """The card path of a saved Noise2Void model: ``model`` is its path (with or without ending) or its name.

    A name is looked up in the weights folders
    (:func:`~napari_superres.models.registry.weights_dirs`). ValueError if none is found.
    """
    from .models.registry import saved_fits

    path = Path(model)
    candidates = [path.with_suffix(".json") if path.suffix in (".json", ".safetensors") else
                  path.parent / f"{path.name}.json"]
    found = next((c for c in candidates if c.is_file()), None) or saved_fits(CARD_KIND).get(str(model))
    if found is None:
        raise ValueError(f"no saved Noise2Void model {str(model)!r}: give the path of its .json card, or the name "
                         "of one saved in a weights folder")
    return found


def read_noise2void_card(model):
    """The card (a dict) of the saved Noise2Void model ``model`` (a path or name, see :func:`find_saved_model`).

    Examples
    --------
    >>> import tempfile
    >>> from skimage import data
    >>> folder = tempfile.mkdtemp()
    >>> _ = fit_noise2void(data.camera()[:32, :32], iterations=2, save_to=f"{folder}/camera")
    >>> read_noise2void_card(f"{folder}/camera.json")["network"]["dims"]
    2
    """
    path = find_saved_model(model)
    card = json.loads(path.read_text())
    missing = [key for key in ("weights", "sha256", "network", "normalization") if key not in card]
    if card.get("kind") != CARD_KIND or missing:
        raise ValueError(f"{path} is not the card of a saved Noise2Void model (kind {card.get('kind')!r}, "
                         f"missing {', '.join(missing) or 'nothing'})")
    card["path"] = str(path)
    return card


def apply_noise2void(image, model, *, channel_axis=None, device=None):
    """Denoise ``image`` with a Noise2Void network trained before (``fit_noise2void(..., save_to=...)``).

    No training: the saved network is applied in tiles, in seconds, to any stack
    of the same instrument and noise (same channels; the values standardised with
    the training data's mean and standard deviation, as it was trained).

    Parameters
    ----------
    image : array-like
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``), numpy,
        dask or zarr (a 2D model returns a dask array for lazy input, computed
        tile by tile). A 3D model (trained ``volumetric``) takes the axis before
        ``(H, W)`` as Z and denoises whole volumes, tiled in (H, W). dtype kept.
    model : str or Path
        The saved model's card (``NAME.json``), its path without ending, or the
        name of a model saved in a weights folder.
    channel_axis : int, optional
        The colour axis; the model's channels must match.
    device : str, optional
        Torch device; by default CUDA, then MPS, then CPU.

    Returns
    -------
    ndarray or dask.array.Array
        The denoised image, same shape and dtype.

    Raises
    ------
    ValueError
        For no such model, a damaged weights file, channels that differ from
        the model's, a 3D model without a Z axis, or NaN or infinite values.
    MemoryError
        When the result and one tile's working memory would not fit.

    Examples
    --------
    >>> import tempfile
    >>> from skimage import data
    >>> folder = tempfile.mkdtemp()
    >>> noisy = data.camera()[:64, :64]
    >>> _ = fit_noise2void(noisy[:32], iterations=2, save_to=f"{folder}/camera")
    >>> apply_noise2void(noisy, f"{folder}/camera").dtype
    dtype('uint8')
    """
    return run_to_end(iter_apply_noise2void(image, model, channel_axis=channel_axis, device=device))


def iter_apply_noise2void(image, model, *, channel_axis=None, device=None):
    """Step-by-step form of :func:`apply_noise2void`: yields the fraction done, returns the result.

    Everything is checked when this is called, before any work.
    """
    image = image if is_lazy(image) else np.asarray(image)
    check_image(image, channel_axis, "denoise")
    card = read_noise2void_card(model)
    network = card["network"]
    volumetric = network["dims"] == 3
    _, h, w, channels = plane_layout(image, channel_axis)
    if channels != network["in_channels"]:
        raise ValueError(f"the model {card['name']!r} denoises {network['in_channels']}-channel images; this one "
                         f"has {channels} (channel_axis={channel_axis})")
    if volumetric and len(spatial_shape(image, channel_axis)) < 3:
        raise ValueError(f"the model {card['name']!r} is 3D: it needs a Z axis before (H, W), got shape "
                         f"{image.shape}")
    z = spatial_shape(image, channel_axis)[-3] if volumetric else 1
    tile = (1, channels) + (z,) * volumetric + prediction_tile(h, w)
    parameters, activations = unet_size(channels, channels, network["features"], network["depth"],
                                         network["dims"], tile)
    result = 0 if is_lazy(image) else image.nbytes
    working = WORKING_BYTES * (z * h * w * channels if volumetric else int(np.prod(tile)))  # a volume, or a tile
    check_memory(result + working + fit_memory_bytes(FLOAT_BYTES * (parameters + activations), device),
                 f"Noise2Void model {card['name']!r} on {image.shape} ({image.dtype})")
    return _apply_steps(image, channel_axis, card, device)


def _load_network(card, device):
    """The saved :class:`~napari_superres.models.unet.UNet` of ``card`` on ``device``, weights hash-checked."""
    import torch
    from safetensors.torch import load

    from .models.registry import read_verified
    from .models.unet import UNet

    network = card["network"]
    data = read_verified(Path(card["path"]).parent / card["weights"], card["sha256"])
    with torch.device("meta"):
        net = UNet(network["in_channels"], network["out_channels"], network["features"], network["depth"],
                   dims=network["dims"])
    try:
        net.load_state_dict(load(data), assign=True)
    except Exception as err:  # safetensors' own errors, or tensors that do not fit the network
        raise ValueError(f"{card['weights']} is not the network its card {card['path']} describes ({err})") from err
    return net.eval().requires_grad_(False).to(device)


def _apply_steps(image, channel_axis, card, device):
    import torch

    from .device import select_device
    from .lazy import iter_map_planes
    from .models.inference import on_grid, to_batch, to_image

    device = select_device(device)
    net = _load_network(card, device)
    mean, std = (np.asarray(card["normalization"][key]) for key in ("mean", "std"))
    multiple = 2 ** card["network"]["depth"]
    if card["network"]["dims"] == 3:
        return (yield from _apply_to_volumes(net, np.asarray(image), channel_axis, mean, std, multiple, device))
    forward = on_grid(net, multiple)

    def process(plane):  # (H, W, C) in the image's dtype, a block with its halo
        with torch.no_grad():
            out = to_image(forward(to_batch((plane - mean) / std, device)))
        return cast_into(out * std + mean, image.dtype, overwrite=True)

    return (yield from iter_map_planes(process, image, scale=1, halo=HALO, channel_axis=channel_axis, block=TILE))


def _apply_to_volumes(net, image, channel_axis, mean, std, multiple, device):
    """A 3D model on each ``(Z, H, W)`` volume of ``image``, tiled in (H, W); yields the fraction of volumes done."""
    import torch

    planes, unstack = to_planes(image, channel_axis)
    z = spatial_shape(image, channel_axis)[-3]
    out = np.empty_like(planes)
    volumes = len(planes) // z
    for index in range(volumes):
        volume = ((planes[index * z : (index + 1) * z] - mean) / std).astype(np.float32)
        batch = torch.from_numpy(np.ascontiguousarray(volume.transpose(3, 0, 1, 2)))[None].to(device)
        result = np.moveaxis(predict_tiled(net, batch, multiple)[0].cpu().numpy(), 0, -1).astype(np.float64)
        out[index * z : (index + 1) * z] = cast_into(result * std + mean, image.dtype, overwrite=True)
        yield (index + 1) / volumes
    return unstack(out)
