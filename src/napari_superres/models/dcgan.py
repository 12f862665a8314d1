"""The DCGAN discriminator, for the simplest adversarial super-resolution recipe (L1 + GAN loss).

Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks" (ICLR 2016): 4x4 convolutions of stride 2 (no pooling, no dense
hidden layer), batch norm on every layer but the first, LeakyReLU 0.2, and one last 4x4
convolution over the 4x4 map that is left, giving a single logit. Beside SRGAN's
(:class:`~napari_superres.models.srresnet.SRGANDiscriminator`: 3x3 convolutions at strides 1 and
2, then two dense layers) it is the plain baseline.
"""

from torch import nn


class DCGANDiscriminator(nn.Module):
    """DCGAN's classifier: four stride-2 4x4 convolutions (``features`` to 8 ``features``), then one logit.

    A 64² patch leaves exactly DCGAN's 4x4 map for the last convolution; other sizes (at least
    16²) are average-pooled to 4x4 first, so any patch gets one logit.
    """

    def __init__(self, channels=1, features=64):
        super().__init__()
        layers, c_in = [], channels
        for i, c_out in enumerate([features, 2 * features, 4 * features, 8 * features]):
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=i == 0))
            if i:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_in, 1, 4), nn.Flatten())

    def forward(self, x):
        """One logit per patch of ``x``: ``(N, 1)``, high for real HR patches."""
        return self.classifier(self.features(x))
