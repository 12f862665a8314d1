"""DnCNN, a residual-learning denoiser.

Zhang, Zuo, Chen, Meng, Zhang, "Beyond a Gaussian Denoiser: Residual Learning of Deep
CNN for Image Denoising" (IEEE TIP 2017).

A plain stack of 3x3 convolutions with batch norm that predicts the noise, which is
subtracted from the input (residual learning). One blind model covers a range of
noise levels. It is a "scale 1" model: the registry's denoisers are cards with scale 1.

``unshuffle=2`` runs the stack on the four half-resolution sub-images (pixel
unshuffle, as FFDNet does): a quarter of the cost per pixel for twice the
receptive field, which is what makes training on a CPU affordable.
"""

from torch import nn


class DnCNN(nn.Module):
    """DnCNN denoiser of ``(N, C, H, W)``; ``scale`` must be 1 (denoisers are scale-1 cards)."""

    def __init__(self, scale=1, channels=1, features=64, depth=17, unshuffle=1):
        super().__init__()
        if scale != 1:
            raise ValueError(f"DnCNN is a denoiser: scale must be 1, got {scale}")
        self.scale, self.unshuffle = 1, unshuffle
        inner = channels * unshuffle**2
        layers = [nn.PixelUnshuffle(unshuffle)] if unshuffle > 1 else []
        layers += [nn.Conv2d(inner, features, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(features, features, 3, padding=1, bias=False), nn.BatchNorm2d(features),
                       nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(features, inner, 3, padding=1))
        if unshuffle > 1:
            layers.append(nn.PixelShuffle(unshuffle))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        """The denoised ``x``: ``x`` minus the predicted noise, same shape."""
        h, w = x.shape[-2:]
        f = self.unshuffle
        padded = nn.functional.pad(x, (0, -w % f, 0, -h % f), mode="replicate") if f > 1 else x
        return x - self.body(padded)[..., :h, :w]
