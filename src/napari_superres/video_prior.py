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

from ._arrays import UnitScale, check_image, plane_layout, run_to_end, to_planes
from ._fitting import optimise

PATCH = 256  # each step fits one random crop of this side of one frame


def fit_video_prior(frames, processed, **kwargs):
    """Return ``processed`` made temporally consistent with Deep Video Prior.

    Parameters
    ----------
    frames : ndarray
        The input stack ``(T, ..., H, W)`` with an optional colour axis (``channel_axis``).
    processed : ndarray
        Its frame-by-frame processed version: the same shape except, possibly, the
        number of channels (colorization turns 1 channel into 3).
    **kwargs
        See :func:`iter_fit_video_prior`.

    Returns
    -------
    ndarray
        ``processed``'s shape and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> frames = np.repeat(rng.random((1, 32, 32)), 4, axis=0)
    >>> flickering = frames * rng.uniform(0.8, 1.2, (4, 1, 1))
    >>> fit_video_prior(frames, flickering, epochs=2).shape
    (4, 32, 32)
    """
    return run_to_end(iter_fit_video_prior(frames, processed, **kwargs))


def iter_fit_video_prior(frames, processed, *, channel_axis=None, epochs=25, learning_rate=1e-3, features=32,
                         depth=3, device=None, seed=0, preview_every=0):
    """Step-by-step form of :func:`fit_video_prior`: yields a :class:`FitStep` per step, returns the result.

    Parameters
    ----------
    channel_axis : int, optional
        Colour axis of both stacks.
    epochs : int
        Passes over the frames; each step fits one frame (a random crop of up to
        ``PATCH`` pixels a side). The paper stops after 25 epochs for most tasks:
        this early stop is what leaves the flicker out.
    learning_rate, features, depth : float, int, int
        Adam step size; width and depth of the U-Net ``g``.
    device : str, optional
        Torch device; by default CUDA, then MPS, then CPU.
    seed : int
        Same seed and inputs, same result on the same device.
    preview_every : int
        Attach the whole current result every this many steps (0: never).
    """
    frames, processed = np.asarray(frames), np.asarray(processed)
    check_image(frames, channel_axis, "take the flicker out of")
    check_image(processed, channel_axis, "take the flicker out of")
    count, h, w, _ = plane_layout(frames, channel_axis)
    if plane_layout(processed, channel_axis)[:3] != (count, h, w):
        raise ValueError(f"processed {processed.shape} must match frames {frames.shape} but for its channels")
    if count < 2:
        raise ValueError(f"Deep Video Prior needs a stack of frames, got {count} plane")
    if epochs < 1:
        raise ValueError(f"epochs must be ≥ 1, got {epochs}")
    settings = dict(epochs=int(epochs), learning_rate=learning_rate, features=features, depth=depth,
                    device=device, seed=seed, preview_every=preview_every)
    return _video_prior_steps(frames, processed, channel_axis, **settings)


def _video_prior_steps(frames, processed, channel_axis, *, epochs, learning_rate, features, depth, device, seed,
                       preview_every):
    import torch

    from .device import select_device
    from .models.unet import UNet
    from .noise2void import _predict

    device = select_device(device)
    inputs, _ = to_planes(frames, channel_axis)
    targets, unstack = to_planes(processed, channel_axis)
    in_values, out_values = UnitScale(frames), UnitScale(processed)
    x = torch.from_numpy(in_values.to_unit(inputs).astype(np.float32).transpose(0, 3, 1, 2)).to(device)
    y = torch.from_numpy(out_values.to_unit(targets).astype(np.float32).transpose(0, 3, 1, 2)).to(device)
    count, _, h, w = x.shape
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = UNet(x.shape[1], y.shape[1], features, depth).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    patch_h, patch_w = min(PATCH, h), min(PATCH, w)
    steps = epochs * count

    def result():
        unit = _predict(net, x).cpu().numpy().transpose(0, 2, 3, 1).astype(np.float64)
        return unstack(out_values.restore(unit))

    for step in range(1, steps + 1):
        net.train()
        frame = int(torch.randint(count, (1,), generator=generator))
        top = int(torch.randint(h - patch_h + 1, (1,), generator=generator))
        left = int(torch.randint(w - patch_w + 1, (1,), generator=generator))
        window = (slice(frame, frame + 1), slice(None), slice(top, top + patch_h), slice(left, left + patch_w))
        loss = (net(x[window]) - y[window]).abs().mean()  # L1, as the paper
        yield optimise(optimizer, loss, step, steps, preview_every, result)
    return result()
