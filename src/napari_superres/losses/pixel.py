"""Pixel-level losses: L1, L2, Charbonnier, MS-SSIM + L1 (Zhao et al. 2017) and a high-frequency loss."""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

# Wang et al. 2003, the five-scale MS-SSIM weights.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


@lru_cache(maxsize=8)
def _gaussian(size, sigma, channels, device, dtype):
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    kernel = (g[:, None] * g[None, :]).to(device=device, dtype=dtype)
    return kernel.expand(channels, 1, size, size).contiguous()


def gaussian_blur(x, sigma, size=None):
    """Depthwise Gaussian blur of ``(N, C, H, W)`` with replicate borders."""
    size = size or 2 * round(3 * sigma) + 1
    kernel = _gaussian(size, float(sigma), x.shape[1], x.device, x.dtype)
    pad = size // 2
    return F.conv2d(F.pad(x, (pad,) * 4, mode="replicate"), kernel, groups=x.shape[1])


def charbonnier_loss(sr, hr, eps=1e-3):
    """Mean of sqrt((sr - hr)² + eps²): a differentiable L1 (LapSRN, eps 1e-3)."""
    return torch.sqrt((sr - hr) ** 2 + eps**2).mean()


def _ssim_terms(x, y, data_range=1.0):
    """Mean luminance·contrast·structure and contrast·structure maps (valid window)."""
    kernel = _gaussian(11, 1.5, x.shape[1], x.device, x.dtype)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(t):
        return F.conv2d(t, kernel, groups=x.shape[1])

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    cs = (2 * cxy + c2) / (vx + vy + c2)
    ssim = (2 * mx * my + c1) / (mx**2 + my**2 + c1) * cs
    return ssim.mean(dim=(1, 2, 3)), cs.mean(dim=(1, 2, 3))


def ms_ssim(x, y, data_range=1.0):
    """Multi-scale SSIM per image.

    Uses as many of the five scales as the patch size allows (the 11-pixel window must fit), with the
    weights renormalised.
    """
    scales = 1
    while scales < 5 and min(x.shape[-2:]) // 2**scales >= 11:
        scales += 1
    weights = torch.tensor(MS_SSIM_WEIGHTS[:scales], device=x.device, dtype=x.dtype)
    weights = weights / weights.sum()
    result = torch.ones(x.shape[0], device=x.device, dtype=x.dtype)
    for i in range(scales):
        ssim, cs = _ssim_terms(x, y, data_range)
        if i == scales - 1:
            result = result * ssim.clamp(min=1e-6) ** weights[i]
        else:
            result = result * cs.clamp(min=1e-6) ** weights[i]
            x, y = F.avg_pool2d(x, 2), F.avg_pool2d(y, 2)
    return result


def ms_ssim_l1_loss(sr, hr, alpha=0.84):
    """Zhao, Gallo, Frosio, Kautz: α (1 − MS-SSIM) + (1 − α) Gaussian-weighted L1."""
    l1 = gaussian_blur((sr - hr).abs(), 1.5)
    return alpha * (1 - ms_ssim(sr, hr)).mean() + (1 - alpha) * l1.mean()


def high_frequency_loss(sr, hr, sigma=1.5):
    """L1 between high-pass residuals (image minus its Gaussian blur): weighs edges and texture."""
    return F.l1_loss(sr - gaussian_blur(sr, sigma), hr - gaussian_blur(hr, sigma))
