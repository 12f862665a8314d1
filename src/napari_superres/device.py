"""Choice of the torch device: CUDA, then Apple MPS, then CPU, unless the caller names one."""

from __future__ import annotations


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
