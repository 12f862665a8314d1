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

import numpy as np

from ._arrays import UnitScale, check_image, check_memory, plane_layout, run_to_end, spatial_shape, to_planes
from ._fitting import (
    FitStep,
    build_network,
    check_count,
    check_depth,
    optimise,
    predict_tiled,
    prediction_tile,
    unet_fit_bytes,
)

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
        features=features, depth=depth, device=device, seed=seed, preview_every=preview_every))


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
):
    """Step-by-step form of :func:`fit_noise2void`: a generator yielding a :class:`FitStep` per iteration.

    The arguments, and whether the fit's memory fits in what is free, are checked
    when this is called, before any work. Stopping the iteration between two steps
    cancels. It takes the parameters of :func:`fit_noise2void`.

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
                    device=device, seed=seed, preview_every=preview_every)
    return _n2v_steps(image, channel_axis, **settings)


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
               features, depth, device, seed, preview_every):
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
        yield FitStep(iterations, iterations, 0, 1, 0.0)
        return image.copy()
    normed = torch.from_numpy(((unit - mean) / std).astype(np.float32).transpose(0, 4, 1, 2, 3)).to(device)
    if not volumetric:  # (N, C, 1, H, W) volumes → (N, C, H, W) planes
        normed = normed[:, :, 0]

    generator = torch.Generator().manual_seed(seed)
    net = build_network(lambda: UNet(c, c, features, depth, dims=3 if volumetric else 2), generator, device)
    forward = on_grid(net, 2**depth)  # patches and planes of any size, on the U-Net's pooling grid
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, iterations, eta_min=learning_rate / 20)

    def result():
        unit_out = predict_tiled(net, normed, 2**depth).cpu().numpy().astype(np.float64)
        unit_out = unit_out.reshape((n // z, c) + (z,) * volumetric + (h, w))
        unit_out = np.moveaxis(unit_out, 1, -1).reshape(n, h, w, c) * std + mean
        return unstack(values.restore(unit_out))

    for iteration in range(1, iterations + 1):
        net.train()
        batch = _random_patches(normed, patch, batch_size, generator).to(device)
        masked, spots = _blind_spots(batch, blind_fraction, generator)
        prediction = forward(masked)
        step = optimise(optimizer, _loss_at(prediction, batch, spots), iteration, iterations, preview_every, result)
        schedule.step()
        yield step
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

