"""Choice of the torch device: CUDA, then Apple MPS, then CPU, unless the caller names one."""

from __future__ import annotations

import contextlib
import os
import threading


def available_devices():
    """Names of the devices usable here, best first (always ends with ``'cpu'``)."""
    import torch

    names = [f"cuda:{i}" if i else "cuda" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.append("mps")
    return names + ["cpu"]


def select_device(device=None):
    """A ``torch.device``: ``device`` if given (checked), else the best available.

    Examples
    --------
    >>> select_device("cpu")
    device(type='cpu')
    """
    import torch

    if device is None or device == "auto":
        return torch.device(available_devices()[0])
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"unknown device {device!r}: use cpu, cuda, cuda:1 or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was asked for but no CUDA GPU is available; use device='cpu'")
    if device.type == "mps" and device.type not in available_devices():
        raise ValueError("device 'mps' was asked for but Apple MPS is not available; use device='cpu'")
    return device


PRECISIONS = ("auto", "fp32", "bf16")


def check_precision(precision):
    """``precision`` if it is one of :data:`PRECISIONS`, else a ValueError (before torch is imported)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return precision


def has_fast_bf16(device):
    """Whether ``device`` (a ``torch.device``) computes bfloat16 faster than float32.

    CUDA GPUs that support it, and CPUs with AVX512-BF16 or AMX: there bf16
    convolutions were 1.6-2x faster than fp32 (issue 19). On AVX2-only CPUs bf16 is
    emulated, 10-60x slower.
    """
    import torch

    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type != "cpu":
        return False
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


def resolve_precision(precision, device):
    """``'fp32'`` or ``'bf16'``: ``'auto'`` picks bf16 where :func:`has_fast_bf16`, fp32 elsewhere.

    Examples
    --------
    >>> import torch
    >>> resolve_precision("fp32", torch.device("cpu"))
    'fp32'
    """
    check_precision(precision)
    if precision == "auto":
        return "bf16" if has_fast_bf16(device) else "fp32"
    return precision


@contextlib.contextmanager
def model_precision(model, precision, device):
    """A context in which ``model`` runs at ``precision`` (resolved by :func:`resolve_precision`) on ``device``.

    bf16: torch autocast (convolutions and matrix products in bfloat16), except the
    model's first and last convolutions, which stay in float32: bfloat16's 8-bit
    significand is a whole level of a uint8 image at the input and the output, and
    with both ends in float32 the results stay within one level of fp32's.
    """
    if resolve_precision(precision, device) == "fp32":
        yield
        return
    import torch

    convolutions = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    ends = list({id(m): m for m in convolutions[:1] + convolutions[-1:]}.values())
    contexts = threading.local()  # hooks are the model's, seen by every thread: each keeps its own stack

    def enter_fp32(module, inputs):
        context = torch.autocast(device.type, enabled=False)
        context.__enter__()
        contexts.__dict__.setdefault("stack", []).append(context)
        return tuple(x.float() if torch.is_tensor(x) else x for x in inputs)

    def leave_fp32(module, inputs, output):
        contexts.stack.pop().__exit__(None, None, None)

    handles = [hook for m in ends for hook in (m.register_forward_pre_hook(enter_fp32),
                                                 m.register_forward_hook(leave_fp32))]
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    finally:
        for hook in handles:
            hook.remove()


def usable_cores():
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def check_threads(threads):
    """``threads`` if it is None (all cores) or a whole number ≥ 1, else a ValueError."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a whole number ≥ 1 (or None: all cores), got {threads!r}")
    return threads


@contextlib.contextmanager
def torch_threads(threads):
    """A context in which torch computes on ``threads`` threads (None: as it is, all cores), restored after."""
    if check_threads(threads) is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
