"""Deep Video Prior (Lei, Xing, Chen, NeurIPS 2020): take the flicker out of frame-by-frame results.

Processing a stack frame by frame (denoising with a per-frame fit, colorization,
per-frame contrast) leaves results that flicker: each frame's answer differs a
little for reasons unrelated to the scene. Deep Video Prior fits one
convolutional network ``g`` to map every input frame to its processed frame. A
network fits what the frames have in common (the processing's effect, consistent
across frames) long before it fits what differs at random from frame to frame
(the flicker), so stopping the fit early, after a few passes over the frames as in
the paper, gives a processed stack without the flicker.
"""

from __future__ import annotations

import numpy as np

from ._arrays import UnitScale, check_image, check_memory, plane_layout, run_to_end, to_planes
from ._fitting import (
    at_precision,
    build_network,
    check_count,
    check_depth,
    optimise,
    predict_tiled,
    prediction_tile,
    unet_fit_bytes,
)
from .device import check_precision

PATCH = 256  # each step fits one random crop of this side of one frame
# Bytes held besides the network: per value of either stack, its float32 copy for the
# network; per value of the result, float64 steps on the way back to its dtype.
INPUT_BYTES, WORKING_BYTES = 4, 32
# The quick preset (the command line's --quick): 10 passes. On the moving scene of
# benchmarks/video_prior.py they took the autocontrast flicker from 8.14 to 0.25 in 69 s
# (25 epochs: 0.27 in 218 s).
QUICK = {"epochs": 10}


def fit_video_prior(frames, processed, *, channel_axis=None, epochs=25, learning_rate=1e-3, features=32, depth=3,
                    device=None, seed=0, preview_every=0, precision="auto"):
    """Return ``processed`` made temporally consistent with Deep Video Prior.

    One U-Net is fitted to map every input frame to its processed frame, and
    stopped early: it learns what the frames' processing has in common long
    before the flicker that differs at random between frames (Lei, Xing and Chen,
    2020).

    Parameters
    ----------
    frames : ndarray
        The input stack ``(T, ..., H, W)`` of at least two frames, with an optional
        colour axis (``channel_axis``).
    processed : ndarray
        Its frame-by-frame processed version: the same shape except, possibly, the
        number of channels (colorization turns 1 channel into 3).
    channel_axis : int, optional
        Colour axis of both stacks.
    epochs : int, optional
        Passes over the frames; each step fits one frame (a random crop of up to
        ``PATCH`` pixels a side). The paper stops after 25 epochs for most tasks:
        this early stop is what leaves the flicker out.
    learning_rate : float, optional
        Adam step size.
    features : int, optional
        Width of the U-Net ``g``'s first level.
    depth : int, optional
        Its number of poolings; ``2**depth`` must not exceed the side of the
        frames' training crops.
    device : str, optional
        Torch device; by default CUDA, then MPS, then CPU.
    seed : int, optional
        Same seed and inputs, same result on the same device.
    preview_every : int, optional
        :func:`iter_fit_video_prior` attaches the whole current result every this
        many steps (0: never).
    precision : {'auto', 'fp32', 'bf16'}, optional
        Arithmetic of the network's forward passes: ``'auto'`` is bf16 autocast where
        the device computes it fast (CUDA, CPUs with AVX512-BF16 or AMX), fp32
        elsewhere. The loss and the optimiser stay in float32.

    Returns
    -------
    ndarray
        ``processed``'s shape and dtype.

    Raises
    ------
    ValueError
        For stacks whose frames or sizes differ, a single frame, a count below 1, a
        ``depth`` too deep for the crops, or NaN or infinite values.
    TypeError
        For stacks that are not real numbers (bool, complex, object).
    MemoryError
        When the result, its working copies and the fit would not fit in the
        memory free now.

    See Also
    --------
    iter_fit_video_prior : The same fit step by step, with progress and previews.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> frames = np.repeat(rng.random((1, 32, 32)), 4, axis=0)
    >>> flickering = frames * rng.uniform(0.8, 1.2, (4, 1, 1))
    >>> fit_video_prior(frames, flickering, epochs=2).shape
    (4, 32, 32)
    """
    return run_to_end(iter_fit_video_prior(
        frames, processed, channel_axis=channel_axis, epochs=epochs, learning_rate=learning_rate, features=features,
        depth=depth, device=device, seed=seed, preview_every=preview_every, precision=precision))


def iter_fit_video_prior(frames, processed, *, channel_axis=None, epochs=25, learning_rate=1e-3, features=32,
                         depth=3, device=None, seed=0, preview_every=0, precision="auto"):
    """Step-by-step form of :func:`fit_video_prior`: yields a :class:`FitStep` per step, returns the result.

    The arguments, and whether the fit's memory fits in what is free, are checked
    when this is called, before any work. Stopping the iteration between two steps
    cancels. It takes the parameters of :func:`fit_video_prior`.

    Yields
    ------
    FitStep
        One per step (one frame's crop), carrying the whole result so far every
        ``preview_every`` steps.

    Returns
    -------
    ndarray
        The generator's return value (``StopIteration.value``): the result of
        :func:`fit_video_prior`.

    Raises
    ------
    ValueError, TypeError, MemoryError
        As :func:`fit_video_prior`, when called.

    Examples
    --------
    >>> import numpy as np
    >>> frames = np.random.default_rng(0).random((2, 32, 32))
    >>> steps = list(iter_fit_video_prior(frames, frames ** 2, epochs=2, depth=2))
    >>> len(steps), steps[-1].iterations
    (4, 4)
    """
    frames, processed = np.asarray(frames), np.asarray(processed)
    check_image(frames, channel_axis, "take the flicker out of")
    check_image(processed, channel_axis, "take the flicker out of")
    count, h, w, _ = plane_layout(frames, channel_axis)
    if plane_layout(processed, channel_axis)[:3] != (count, h, w):
        raise ValueError(f"processed {processed.shape} must match frames {frames.shape} but for its channels")
    if count < 2:
        raise ValueError(f"Deep Video Prior needs a stack of frames, got {count} plane")
    epochs = check_count("epochs", epochs)
    features = check_count("features", features, why=" (the U-Net's channels at full resolution)")
    patch = (min(PATCH, h), min(PATCH, w))
    depth = check_depth(depth, min(patch), "training crop (the frame, if smaller than PATCH)")
    _check_memory(frames, processed, channel_axis, patch, features, depth, device)
    settings = dict(epochs=epochs, learning_rate=learning_rate, features=features, depth=depth,
                    device=device, seed=seed, preview_every=preview_every, precision=check_precision(precision))
    return _video_prior_steps(frames, processed, channel_axis, **settings)


def _check_memory(frames, processed, channel_axis, patch, features, depth, device):
    """Refuse upfront what would not fit: result, working copies, the U-Net's training and prediction."""
    _, h, w, c_in = plane_layout(frames, channel_axis)
    c_out = plane_layout(processed, channel_axis)[3]
    tile = prediction_tile(h, w)
    parameters, network = unet_fit_bytes(c_in, c_out, features, depth, (1, c_in) + patch, (1, c_in) + tile,
                                         device)
    check_memory(processed.nbytes + INPUT_BYTES * frames.size + (INPUT_BYTES + WORKING_BYTES) * processed.size
                 + network,
                 f"Deep Video Prior of {processed.shape} ({processed.dtype}) with a {features}-feature "
                 f"depth-{depth} U-Net ({parameters / 1e6:.1f} M parameters)")


def _video_prior_steps(frames, processed, channel_axis, *, epochs, learning_rate, features, depth, device, seed,
                       preview_every, precision):
    import torch

    from .device import select_device
    from .models.inference import on_grid
    from .models.unet import UNet

    device = select_device(device)
    inputs, _ = to_planes(frames, channel_axis)
    targets, unstack = to_planes(processed, channel_axis)
    in_values, out_values = UnitScale(frames), UnitScale(processed)
    x = torch.from_numpy(in_values.to_unit(inputs).astype(np.float32).transpose(0, 3, 1, 2)).to(device)
    y = torch.from_numpy(out_values.to_unit(targets).astype(np.float32).transpose(0, 3, 1, 2)).to(device)
    count, _, h, w = x.shape
    generator = torch.Generator().manual_seed(seed)
    net = build_network(lambda: UNet(x.shape[1], y.shape[1], features, depth), generator, device)
    # frames and patches of any size, on the U-Net's pooling grid
    forward = at_precision(on_grid(net, 2**depth), net, precision, device)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    patch_h, patch_w = min(PATCH, h), min(PATCH, w)
    steps = epochs * count

    def result():
        unit = predict_tiled(net, x, 2**depth, precision).cpu().numpy().transpose(0, 2, 3, 1).astype(np.float64)
        return unstack(out_values.restore(unit))

    for step in range(1, steps + 1):
        net.train()
        frame = int(torch.randint(count, (1,), generator=generator))
        top = int(torch.randint(h - patch_h + 1, (1,), generator=generator))
        left = int(torch.randint(w - patch_w + 1, (1,), generator=generator))
        window = (slice(frame, frame + 1), slice(None), slice(top, top + patch_h), slice(left, left + patch_w))
        loss = (forward(x[window]) - y[window]).abs().mean()  # L1, as the paper
        yield optimise(optimizer, loss, step, steps, preview_every, result)
    return result()
