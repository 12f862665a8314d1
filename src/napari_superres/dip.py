"""Deep Image Prior: restore one image by fitting a randomly initialised network to it.

A network ``f_θ`` maps a fixed noise image ``z`` to the estimate; its weights are
fitted so that the estimate, seen through the degradation (identity, mask,
downsampling or blur), matches the observed image. The structure of the network is the
prior: it fits natural image content long before it fits noise, so the fit must
stop in time, which :class:`VarianceStopper` decides without ground truth.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from ._arrays import (
    UnitScale,
    check_image,
    check_memory,
    keep_known,
    plane_layout,
    plane_masks,
    run_to_end,
    spatial_shape,
    to_planes,
)
from ._fitting import (
    FLOAT_BYTES,
    FitStep,
    at_precision,
    build_network,
    check_count,
    fit_memory_bytes,
    skipnet_size,
    training_bytes,
)
from .device import check_precision
from .resize import INTERPOLATION_METHODS

TASKS = ("denoise", "inpaint", "super-resolve", "jpeg", "deblur")

# Channel widths per level, top (full resolution) first. "paper" is the network of
# the paper's denoising, inpainting and SR experiments (2.2 M parameters). "fast"
# keeps its shape at a quarter of the width: per iteration it fits as fast as
# "paper" (F16 crops, benchmarks/dip.py) at a tenth of the cost on a CPU.
NETWORKS = {
    "paper": {"down": (128,) * 5, "up": (128,) * 5, "skip": (4,) * 5, "input_channels": 32},
    "fast": {"down": (32,) * 5, "up": (32,) * 5, "skip": (4,) * 5, "input_channels": 32},
}
# Bytes per value of a plane held besides the network: its float64 [0, 1] copy, the
# float32 target, float64 steps back to the dtype and the copy a preview takes.
WORKING_BYTES = 40

# The quick preset (the command line's --quick): a fit to see in a minute or two what DIP makes of an
# image. On a 128² gray crop of the astronaut with noise σ = 25 (21.44 dB; tv 26.73): 26.88 dB in 42-67
# CPU-seconds (one thread, benchmarks/quick_presets.py); the default fit peaked at 27.80 dB (iteration 1100).
QUICK = {"iterations": 600}

# Per task: iterations (an upper bound when early stopping is on), the std of the
# perturbation added to z at every step (the paper's regulariser), and whether to stop
# early: only noisy observations can be overfitted; inpainting and SR keep improving
# (a 128² crop of barbara with 50 % of pixels dropped: stopped at 665, 28.65 dB; run
# to 1000, 31.00 dB and rising).
TASK_DEFAULTS = {
    "denoise": {"iterations": 3000, "input_noise": 1 / 30, "early_stopping": True},
    "jpeg": {"iterations": 2400, "input_noise": 1 / 30, "early_stopping": True},
    "inpaint": {"iterations": 5000, "input_noise": 0.03, "early_stopping": False},
    "super-resolve": {"iterations": 2000, "input_noise": 0.03, "early_stopping": False},
    "deblur": {"iterations": 2000, "input_noise": 0.03, "early_stopping": True},
}


class VarianceStopper:
    """Early stopping by the windowed moving variance of the outputs (after Wang et al., ES-WMV, 2021).

    While the network fits image content its successive outputs change less and
    less; once it starts fitting noise they begin to wander again. Every ``stride``
    iterations the output is stored in a ring of ``window`` snapshots and their
    per-pixel variance averaged; the fit is done when that variance has not reached
    a new minimum for ``patience`` iterations, and the estimate to keep is the one
    taken at the minimum.

    At the very start the outputs are nearly constant, so their variance is low
    before the network has learnt anything; minima count only once the variance
    has fallen below ``arm_fraction`` of the highest value seen.

    The wait grows with the fit: at least ``growth`` times the iterations it took to
    reach the minimum. The variance can pause while the network moves on to
    structures it had not fitted yet: on a sparse fluorescence scene (256²,
    ``benchmarks/denoise_microscopy.py``) it had a minimum at iteration 250
    (23.5 dB), rose for 150 iterations and fell below that minimum again at 665,
    with the PSNR still climbing past 32 dB; a fixed patience of 300 stopped at the
    first minimum. On the F16 runs the minimum kept is the same either way.
    """

    def __init__(self, window=20, stride=5, patience=300, arm_fraction=0.5, growth=2.0):
        self.window, self.stride, self.patience, self.arm_fraction = window, stride, patience, arm_fraction
        self.growth = growth
        self.ring = []
        self.peak_variance = 0.0
        self.best_variance = math.inf
        self.best_iteration = 0
        self.best_estimate = None
        self.history = []  # (iteration, variance)

    def update(self, iteration, output, estimate):
        """Record ``output`` (a tensor); return True when the fit should stop.

        ``estimate`` is a callable producing the result to keep if this iteration
        turns out to be the minimum (called only then, as it may be costly).
        """
        if iteration % self.stride:
            return False
        self.ring.append(output.detach().clone())
        if len(self.ring) > self.window:
            self.ring.pop(0)
        if len(self.ring) == self.window:
            import torch

            variance = float(torch.stack(self.ring).var(dim=0).mean())
            self.history.append((iteration, variance))
            self.peak_variance = max(self.peak_variance, variance)
            if self._is_new_minimum(variance):
                self.best_variance, self.best_iteration = variance, iteration
                self.best_estimate = estimate()
        return self.best_estimate is not None and self._waited_enough(iteration)

    def _is_new_minimum(self, variance):
        return variance < self.arm_fraction * self.peak_variance and variance < self.best_variance

    def _waited_enough(self, iteration):
        return iteration - self.best_iteration >= max(self.patience, self.growth * self.best_iteration)

    def replay(self, history):
        """``(stop iteration or None, iteration kept)`` for a recorded ``history``, with these settings.

        Lets a benchmark run the whole budget once and say where the stopper would have stopped.
        """
        replayed = VarianceStopper(self.window, self.stride, self.patience, self.arm_fraction, self.growth)
        for iteration, variance in history:
            replayed.peak_variance = max(replayed.peak_variance, variance)
            if replayed._is_new_minimum(variance):
                replayed.best_variance, replayed.best_iteration = variance, iteration
            if replayed.best_iteration and replayed._waited_enough(iteration):
                return iteration, replayed.best_iteration
        return None, replayed.best_iteration or None


def fit_dip(
    image,
    task="denoise",
    *,
    mask=None,
    scale=None,
    kernel=None,
    channel_axis=None,
    iterations=None,
    learning_rate=0.01,
    network="fast",
    early_stopping=None,
    averaging=0.99,
    input_noise=None,
    downsampler="bicubic",
    device=None,
    seed=0,
    preview_every=50,
    volumetric=False,
    precision="auto",
):
    """Restore an image with Deep Image Prior (no training data, no weights).

    A randomly initialised network is fitted, plane by plane, so that its output
    seen through the degradation (identity, mask, downsampling) matches the image;
    its structure fits image content long before noise (Ulyanov, Vedaldi and
    Lempitsky, 2018).

    Parameters
    ----------
    image : ndarray
        ``(..., H, W)`` grayscale or with a colour axis (``channel_axis``); leading
        axes are fitted plane by plane. Any real dtype; dtype and range are kept.
    task : {'denoise', 'inpaint', 'super-resolve', 'jpeg', 'deblur'}
        The degradation to undo. ``'inpaint'`` needs ``mask``, ``'super-resolve'``
        needs ``scale``, ``'deblur'`` needs ``kernel``.
    mask : ndarray of bool, optional
        Inpainting: True (non-zero) where pixels are missing, as in
        ``skimage.restoration.inpaint_biharmonic``; shape ``(H, W)`` or the image's
        shape without the channel axis. Known pixels are returned unchanged.
    scale : int, optional
        Super-resolution factor; the data term compares the downsampled estimate
        (``downsampler``) with the image.
    kernel : ndarray, optional
        Deblurring: the blur's point spread function, 2D with odd sides (normalised
        to sum 1), e.g. :func:`napari_superres.blur.gaussian_kernel` or
        :func:`~napari_superres.blur.motion_kernel`; the data term compares the
        estimate blurred as :func:`napari_superres.blur.blur` does (mirrored borders)
        with the image.
    channel_axis : int, optional
        The colour axis, fitted together with the planes' pixels; None: grayscale.
    iterations : int, optional
        Iterations per plane (an upper bound with early stopping); default: the
        task's, in ``TASK_DEFAULTS``.
    learning_rate : float, optional
        Adam step size.
    network : str or dict, optional
        ``'fast'`` (default: the paper's hourglass with 32 channels a level),
        ``'paper'`` (128 channels a level) or a dict like the entries of ``NETWORKS``:
        the keys ``down``, ``up``, ``skip`` (channels per level, top first; skip 0:
        none) and ``input_channels`` (of the noise ``z``).
    early_stopping : bool or VarianceStopper, optional
        Stop each plane when the moving variance of the outputs stops falling
        (a :class:`VarianceStopper` to set its window and patience, or to read its
        history afterwards). Default: on for denoising and JPEG, off for
        inpainting and SR, which do not overfit noise.
    averaging : float, optional
        Keep an exponential moving average of the outputs with this weight (0: off).
    input_noise : float, optional
        Std of the perturbation of ``z`` at each step; default: the task's.
    downsampler : str, optional
        Super-resolution's degradation: ``'bicubic'`` as MATLAB's ``imresize``, or
        another of ``INTERPOLATION_METHODS``, e.g. ``'lanczos'``.
    device : str, optional
        Torch device; by default CUDA, then MPS, then CPU.
    seed : int, optional
        Same seed, same input and settings → same result on the same device.
    preview_every : int, optional
        :func:`iter_fit_dip` attaches the current result to a step every this many
        iterations (0: never).
    volumetric : bool, optional
        Fit each volume (the axis before H, W is Z) with one 3D network instead of
        each plane with a 2D one: neighbouring slices inform each other. Denoising,
        JPEG, inpainting and deblurring.
    precision : {'auto', 'fp32', 'bf16'}, optional
        Arithmetic of the network's forward pass: ``'auto'`` is bf16 autocast where
        the device computes it fast (CUDA, CPUs with AVX512-BF16 or AMX), fp32
        elsewhere. The loss and the optimiser stay in float32.

    Returns
    -------
    ndarray
        The restored image, same dtype; ``scale`` times larger in H and W for SR.

    Raises
    ------
    ValueError
        For an unknown ``task``, ``network`` or ``downsampler``, a missing or
        all-covering ``mask``, a ``scale`` that is no integer ≥ 1, a bad ``kernel``, a count below 1,
        NaN or infinite values, or ``volumetric`` without a Z axis (or with SR).
    TypeError
        For an image that is not real numbers (bool, complex, object).
    MemoryError
        When the result and the fit would not fit in the memory free now.

    See Also
    --------
    iter_fit_dip : The same fit step by step, with progress and previews.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> noisy = data.camera()[:64, :64]
    >>> restored = fit_dip(noisy, "denoise", iterations=5)
    >>> restored.shape, restored.dtype
    ((64, 64), dtype('uint8'))
    >>> fit_dip(noisy[:32, :32], "super-resolve", scale=2, iterations=3).shape
    (64, 64)
    """
    return run_to_end(iter_fit_dip(
        image, task, mask=mask, scale=scale, kernel=kernel, channel_axis=channel_axis, iterations=iterations,
        learning_rate=learning_rate, network=network, early_stopping=early_stopping, averaging=averaging,
        input_noise=input_noise, downsampler=downsampler, device=device, seed=seed, preview_every=preview_every,
        volumetric=volumetric, precision=precision))


def iter_fit_dip(
    image,
    task="denoise",
    *,
    mask=None,
    scale=None,
    kernel=None,
    channel_axis=None,
    iterations=None,
    learning_rate=0.01,
    network="fast",
    early_stopping=None,
    averaging=0.99,
    input_noise=None,
    downsampler="bicubic",
    device=None,
    seed=0,
    preview_every=50,
    volumetric=False,
    precision="auto",
):
    """Step-by-step form of :func:`fit_dip`: a generator that yields a :class:`FitStep` per iteration.

    The arguments, and whether the fit's memory fits in what is free, are checked
    when this is called, before any work, so bad input fails here and not in a
    worker thread. Stopping the iteration between two steps cancels the fit.

    It takes the parameters of :func:`fit_dip`.

    Yields
    ------
    FitStep
        One per iteration of each plane, carrying the whole result so far every
        ``preview_every`` iterations, and one with ``stopped=True`` when early
        stopping ends a plane.

    Returns
    -------
    ndarray
        The generator's return value (``StopIteration.value``): the result of :func:`fit_dip`.

    Raises
    ------
    ValueError, TypeError, MemoryError
        As :func:`fit_dip`, when called.

    Examples
    --------
    >>> from skimage import data
    >>> steps = iter_fit_dip(data.camera()[:32, :32], iterations=4, preview_every=2)
    >>> [(step.iteration, step.estimate is not None) for step in steps]
    [(1, False), (2, True), (3, False), (4, True)]
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    image = np.asarray(image)
    check_image(image, channel_axis, task)
    check_precision(precision)
    factor = _check_scale(scale) if task == "super-resolve" else 1
    kernel = _check_blur(kernel, image, channel_axis, volumetric) if task == "deblur" else None
    settings = dict(TASK_DEFAULTS[task])
    given = {"iterations": iterations, "input_noise": input_noise, "early_stopping": early_stopping}
    settings.update({k: v for k, v in given.items() if v is not None})
    settings["iterations"] = check_count("iterations", settings["iterations"])
    spec = _network_spec(network)
    if downsampler not in INTERPOLATION_METHODS:
        raise ValueError(f"unknown downsampler {downsampler!r}; choose one of {', '.join(INTERPOLATION_METHODS)}")
    count, h, w, channels = plane_layout(image, channel_axis)
    depth = _check_volumes(image, channel_axis, task) if volumetric else 1
    out_shape = (count, h * factor, w * factor, channels)
    _check_memory(image, out_shape, depth if volumetric else None, spec, settings["early_stopping"], device)
    planes, unstack = to_planes(image, channel_axis)
    masks = plane_masks(mask, image, channel_axis, count) if task == "inpaint" else [None] * count
    units = planes.reshape((count // depth,) + (depth,) * volumetric + planes.shape[1:])
    if volumetric:
        masks = [None if masks[i] is None else np.stack(masks[i:i + depth]) for i in range(0, count, depth)]
    fit = partial(_fit_plane, factor=factor, spec=spec, settings=settings, learning_rate=learning_rate,
                  early_stopping=settings["early_stopping"], averaging=averaging, downsampler=downsampler,
                  kernel=kernel, device=device, precision=precision)

    def restack(out):
        return unstack(out.reshape(out_shape))

    return _dip_steps(image, units, restack, masks, settings["iterations"], fit, seed, preview_every, factor)


def _network_spec(network):
    """The channels per level of ``network``: a name in ``NETWORKS`` or a dict like theirs, checked."""
    if isinstance(network, str):
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r}; choose one of {', '.join(NETWORKS)} or give a dict")
        return NETWORKS[network]
    keys = tuple(NETWORKS["fast"])
    if not isinstance(network, dict) or set(network) != set(keys):
        raise ValueError(f"network must be one of {', '.join(NETWORKS)} or a dict with exactly the keys "
                         f"{', '.join(keys)} (channels per level, top first; e.g. NETWORKS['fast']), got {network!r}")
    levels = [tuple(network[key]) if np.iterable(network[key]) else () for key in ("down", "up", "skip")]
    if not levels[0] or len(set(map(len, levels))) > 1:
        raise ValueError(f"network's down, up and skip need one entry per level, as many each, got {network!r}")
    spec = {"input_channels": check_count("network['input_channels']", network["input_channels"])}
    for key, channels in zip(("down", "up", "skip"), levels, strict=True):
        spec[key] = tuple(check_count(f"network['{key}'] entries", n, 0 if key == "skip" else 1) for n in channels)
    return spec


def _check_memory(image, out_shape, depth, spec, early_stopping, device):
    """Refuse upfront what would not fit: the result, working copies, and one plane's (or volume's) fit.

    ``depth``: Z of the volumes of a volumetric fit, else None.
    """
    _, out_h, out_w, channels = out_shape
    multiple = 2 ** len(spec["down"])
    sides = tuple(n + _padding(n, multiple) for n in (out_h, out_w))
    shape = (depth,) * (depth is not None) + sides
    parameters, activations = skipnet_size(spec, channels, shape)
    snapshots = getattr(early_stopping, "window", VarianceStopper().window) if early_stopping else 0
    # Besides the network: z and its perturbation, and the outputs kept (average, stopper's snapshots).
    output = channels * (depth or 1) * out_h * out_w
    kept = 2 * spec["input_channels"] * np.prod(shape, dtype=np.float64) + (snapshots + 3) * output
    network = fit_memory_bytes(training_bytes(parameters, activations) + FLOAT_BYTES * kept, device)
    result = np.prod(out_shape, dtype=np.float64) * image.dtype.itemsize
    check_memory(int(result + WORKING_BYTES * output + network),
                 f"Deep Image Prior of {image.shape} ({image.dtype}) with a {parameters / 1e6:.1f} M-parameter "
                 f"network on {'x'.join(map(str, shape))} inputs")


def _padding(side, multiple):
    """What the network's input adds to an output ``side``.

    Up to a multiple of ``multiple``, and at least twice that so that the deepest level
    is 2x2 (batch norm needs more than one value, reflection padding more than one pixel).
    """
    return max(-side % multiple, 2 * multiple - side)


def _check_volumes(image, channel_axis, task):
    """Z, the depth of the volumes of ``image``; refuses what a 3D fit cannot do."""
    spatial = spatial_shape(image, channel_axis)
    if len(spatial) < 3 or spatial[-3] < 2:
        raise ValueError(f"volumetric needs a Z axis of at least 2 slices before (H, W), got shape {image.shape} "
                         f"(channel_axis={channel_axis})")
    if task == "super-resolve":
        raise ValueError("volumetric DIP does denoising, JPEG and inpainting; super-resolve plane by plane")
    return spatial[-3]


def _dip_steps(image, planes, unstack, masks, iterations, fit_plane, seed, preview_every, factor):
    """Fit each unit (a plane ``(H, W, C)``, or a volume ``(Z, H, W, C)``) of ``planes`` in turn."""
    values = UnitScale(image)
    out = np.empty(planes.shape[:-3] + (planes.shape[-3] * factor, planes.shape[-2] * factor, planes.shape[-1]),
                   image.dtype)
    for i, plane in enumerate(planes):
        if masks[i] is not None and not masks[i].any():  # nothing missing in this plane
            out[i] = plane
            yield FitStep(iterations, iterations, i, len(planes), 0.0)
            continue
        fit = fit_plane(values.to_unit(plane), masks[i], seed=seed + i)
        while True:
            try:
                iteration, loss, current = next(fit)
            except StopIteration as done:
                result, stopped_at = done.value
                break
            step = FitStep(iteration, iterations, i, len(planes), loss)
            if preview_every and iteration % preview_every == 0:
                out[i] = keep_known(values.restore(current(), clip=False), plane, masks[i])
                step.estimate = unstack(out.copy())
            yield step
        out[i] = keep_known(values.restore(result), plane, masks[i])
        if stopped_at < iterations:
            yield FitStep(stopped_at, iterations, i, len(planes), loss, unstack(out.copy()), stopped=True)
    return unstack(out)


def _check_blur(kernel, image, channel_axis, volumetric):
    """The normalised kernel, for a 2D fit of planes larger than its radius."""
    from .blur import check_kernel

    if kernel is None:
        raise ValueError("deblur needs a kernel (the blur's point spread function)")
    if volumetric:
        raise ValueError("volumetric DIP does denoising, JPEG and inpainting; deblur plane by plane")
    kernel = check_kernel(kernel)
    if any(n <= k // 2 for n, k in zip(spatial_shape(image, channel_axis)[-2:], kernel.shape, strict=True)):
        raise ValueError(f"the image's planes must be larger than the kernel's radius, got {image.shape} "
                         f"and kernel {kernel.shape}")
    return kernel


def _check_scale(scale):
    if scale is None or not float(scale).is_integer() or scale < 1:
        raise ValueError(f"super-resolve needs an integer scale ≥ 1, got {scale!r}")
    return int(scale)


def _fit_plane(unit, mask, *, factor, spec, settings, learning_rate, early_stopping, averaging, downsampler,
               kernel, device, seed, precision):
    """Fit one ``(H, W, C)`` plane in [0, 1].

    Yields ``(iteration, loss, current)`` (``current()``: the averaged estimate as an
    array); returns ``(result, iteration kept)``.
    """
    import torch

    from .device import select_device
    from .models.skip import SkipNet

    device = select_device(device)
    *depth, h, w, channels = unit.shape  # depth: [Z] for a volume
    out_h, out_w = h * factor, w * factor
    initial = torch.Generator().manual_seed(seed)
    net = build_network(lambda: SkipNet(spec["input_channels"], channels, spec["down"], spec["up"], spec["skip"],
                                        dims=2 + len(depth)), initial, device)
    # z and its perturbations: from the same stream on the CPU, from the device's own generator elsewhere.
    generator = initial if device.type == "cpu" else torch.Generator(device=device).manual_seed(seed)
    pad_h, pad_w = (_padding(n, net.multiple) for n in (out_h, out_w))
    z = 0.1 * torch.rand(1, spec["input_channels"], *depth, out_h + pad_h, out_w + pad_w,
                         generator=generator, device=device)
    target = torch.from_numpy(np.ascontiguousarray(np.moveaxis(unit, -1, 0), dtype=np.float32))[None].to(device)
    degrade = _degradation(mask, factor, (h, w), downsampler, device, kernel)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    forward = at_precision(net, net, precision, device)
    if isinstance(early_stopping, VarianceStopper):
        stopper = early_stopping
    else:
        stopper = VarianceStopper() if early_stopping else None
    average = None

    def to_numpy(tensor):
        return np.moveaxis(tensor[0].detach().cpu().numpy(), 0, -1).astype(np.float64)

    for iteration in range(1, settings["iterations"] + 1):
        noise = torch.randn(z.shape, generator=generator, device=device) * settings["input_noise"]
        output = forward(z + noise)[..., :out_h, :out_w]
        loss = degrade(output, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        output = output.detach()
        average = output if average is None or not averaging else averaging * average + (1 - averaging) * output
        if stopper is not None and stopper.update(iteration, output, average.clone):
            return to_numpy(stopper.best_estimate), stopper.best_iteration
        yield iteration, loss.item(), lambda average=average: to_numpy(average)
    return to_numpy(average), settings["iterations"]


def _degradation(mask, factor, lr_shape, downsampler, device, kernel=None):
    """The data term ``loss(output, observed)`` for the task."""
    import torch

    if kernel is not None:
        blur = blur_operator(kernel, device)
        return lambda output, target: ((blur(output) - target) ** 2).mean()
    if mask is not None:
        known = torch.from_numpy(~mask).to(device=device, dtype=torch.float32)
        scale = 1 / max(float(known.mean()), 1e-6)
        return lambda output, target: ((output - target) ** 2 * known).mean() * scale
    if factor > 1:
        from .models.common import resize_matrix_tensor

        h, w = lr_shape
        rows = resize_matrix_tensor(h * factor, h, device, torch.float32, downsampler)
        cols = resize_matrix_tensor(w * factor, w, device, torch.float32, downsampler)
        return lambda output, target: ((rows @ output @ cols.T - target) ** 2).mean()
    return lambda output, target: ((output - target) ** 2).mean()


def blur_operator(kernel, device):
    """``blur(x)`` on ``(N, C, H, W)`` tensors: :func:`napari_superres.blur.blur` in torch.

    A correlation with the flipped kernel is a convolution; torch's ``'reflect'``
    padding mirrors as scipy's ``'mirror'`` mode does.
    """
    import torch
    import torch.nn.functional as F

    weight = torch.from_numpy(np.ascontiguousarray(kernel[::-1, ::-1], dtype=np.float32)).to(device)[None, None]
    rows, cols = (n // 2 for n in kernel.shape)

    def blur(x):
        channels = x.shape[1]
        padded = F.pad(x, (cols, cols, rows, rows), mode="reflect")
        return F.conv2d(padded, weight.expand(channels, 1, -1, -1), groups=channels)

    return blur
