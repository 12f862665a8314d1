"""SRResNet and the SRGAN discriminator.

Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network"
(CVPR 2017).

The generator (SRResNet) has 16 residual blocks with batch norm and PReLU and
sub-pixel x2 stages; trained with MSE it is SRResNet, with a perceptual and
adversarial loss it is the SRGAN generator.
"""

from torch import nn

from .common import ResidualBlock, SubPixelUpsampler


class SRResNet(nn.Module):
    """SRResNet: residual blocks with batch norm and PReLU, then sub-pixel x2 stages up to ``scale``."""

    def __init__(self, scale, channels=1, features=64, blocks=16):
        super().__init__()
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(channels, features, 9, padding=4), nn.PReLU(features))
        self.body = nn.Sequential(
            *[ResidualBlock(features, batch_norm=True, activation=nn.PReLU) for _ in range(blocks)],
            nn.Conv2d(features, features, 3, padding=1), nn.BatchNorm2d(features),
        )
        self.tail = nn.Sequential(
            SubPixelUpsampler(scale, features, activation=nn.PReLU), nn.PReLU(features),
            nn.Conv2d(features, channels, 9, padding=4),
        )

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        features = self.head(x)
        return self.tail(features + self.body(features))


class SRGANDiscriminator(nn.Module):
    """VGG-style classifier of HR patches (any patch size).

    8 convolutions (stride 2 every other one), batch norm, LeakyReLU 0.2, then global pooling and two
    dense layers.
    """

    def __init__(self, channels=1, features=64):
        super().__init__()
        layers, c_in = [], channels
        for i, c_out in enumerate([features, features, 2 * features, 2 * features,
                                   4 * features, 4 * features, 8 * features, 8 * features]):
            layers.append(nn.Conv2d(c_in, c_out, 3, stride=1 + i % 2, padding=1))
            if i:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 1024),
            nn.LeakyReLU(0.2, inplace=True), nn.Linear(1024, 1),
        )

    def forward(self, x):
        """One logit per patch of ``x``: ``(N, 1)``, high for real HR patches."""
        return self.classifier(self.features(x))
