"""Auto-encoder super-resolution: a convolutional encoder-decoder, and its variational form.

:class:`ConvAutoencoderSR` encodes the low-resolution image with strided
convolutions down to a bottleneck ``2**downs`` times smaller, decodes it back to
the input grid by resize-convolutions, with the symmetric skips of RED-Net (Mao
et al. 2016: each decoder level adds the encoder's features of its size) unless
``skips=False``, and makes the ``scale``-times larger image with a sub-pixel
convolution added to the bicubic enlargement (the network learns only what
bicubic misses).

:class:`VariationalAutoencoderSR` is a conditional VAE (Sohn et al. 2015) on
that network: the decoder also reads a latent map of ``latent`` channels on the
input grid, through a residual block that sees the decoder's features and the
latent together (so a draw changes the output where the content allows it). In
training a posterior encoder sees the target (what bicubic misses, unshuffled
onto the input grid) beside the decoder's features, gives a mean and
log-variance, and the decoder reads a latent drawn from them (reparameterised);
the KL divergence to the N(0, I) prior, in nats per output pixel, is reported
in ``reported_losses['kl']`` for the objective, with ``free_nats`` of "free bits"
(Kingma et al. 2016): a latent channel's mean KL below that many nats is not
counted, which keeps the latent from collapsing onto the prior (carrying nothing)
early in training. At inference
the latent is 0 (the prior's mean: one deterministic output), or drawn from the
prior inside :meth:`~VariationalAutoencoderSR.drawing_latents` (seeded): each
draw one plausible output.
"""

import threading
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from .common import SubPixelUpsampler, bicubic_upsample, conv3x3


def _conv_relu(c_in, c_out, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.ReLU(inplace=True))


class ConvAutoencoderSR(nn.Module):
    """Encoder of strided convolutions to a bottleneck, decoder of resize-convolutions, sub-pixel output, bicubic skip.

    Input sides must be multiples of ``2**downs`` (the bottleneck's grid).
    """

    def __init__(self, scale, channels=1, features=32, downs=2, skips=True):
        super().__init__()
        self.scale, self.skips = scale, skips
        widths = [features] + [2 * features] * downs  # the bottleneck keeps 2x the width, not 2**downs x
        self.head = _conv_relu(channels, features)
        self.encoders = nn.ModuleList(
            nn.Sequential(_conv_relu(widths[i], widths[i + 1], stride=2), _conv_relu(widths[i + 1], widths[i + 1]))
            for i in range(downs))
        self.decoders = nn.ModuleList(
            nn.Sequential(_conv_relu(widths[i + 1], widths[i]), _conv_relu(widths[i], widths[i]))
            for i in range(downs))
        self.tail = SubPixelUpsampler(scale, features, channels, single_stage=True)

    def decoded(self, x):
        """The decoder's features of ``x`` on the input grid, ``(N, features, H, W)``."""
        y, skips = self.head(x), []
        for encoder in self.encoders:
            skips.append(y)
            y = encoder(y)
        for decoder, skip in zip(reversed(self.decoders), reversed(skips), strict=True):
            y = decoder(F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False))
            if self.skips:
                y = y + skip
        return y

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``."""
        return self.tail(self.decoded(x)) + bicubic_upsample(x, self.scale)


class VariationalAutoencoderSR(ConvAutoencoderSR):
    """:class:`ConvAutoencoderSR` whose decoder also reads a latent map, in training drawn from a posterior.

    ``sees_target``: the training loop calls :meth:`posterior_outputs` with the
    target, which reports the KL term in ``reported_losses``.
    """

    sees_target = True

    def __init__(self, scale, channels=1, features=32, downs=2, skips=True, latent=4, free_nats=0.0):
        super().__init__(scale, channels, features, downs, skips)
        self.latent, self.free_nats = latent, free_nats
        self.posterior = nn.Sequential(_conv_relu(features + channels * scale**2, features),
                                       conv3x3(features, 2 * latent))
        # Residual: whatever the latent does, the auto-encoder's path stays open (a plain ReLU mix died in training).
        self.mix = nn.Sequential(_conv_relu(features + latent, features), conv3x3(features, features))
        self.reported_losses = {}
        self._generators = {}  # thread id -> generator: the model is shared, each thread draws with its own

    def _output(self, x, features, z):
        features = features + self.mix(torch.cat([features, z], dim=1))
        return self.tail(features) + bicubic_upsample(x, self.scale)

    def forward(self, x):
        """The ``scale``-times larger ``(N, C, scale*H, scale*W)`` of ``x``: latent 0, or drawn from the prior.

        Drawn only inside :meth:`drawing_latents`.
        """
        features = self.decoded(x)
        shape = (len(x), self.latent, *x.shape[-2:])
        generator = self._generators.get(threading.get_ident())
        if generator is None:
            z = features.new_zeros(shape)
        else:
            z = torch.randn(shape, generator=generator).to(features)
        return self._output(x, features, z)

    def posterior_outputs(self, x, target):
        """The output decoded from a latent drawn from the posterior given ``target``; its KL term reported.

        ``reported_losses['kl']``: KL(q(z | x, target) || N(0, I)) summed over the
        latent map and divided by the output's pixels (N x C x H x W), each latent
        channel's mean KL per value counted as at least ``free_nats``.
        """
        features = self.decoded(x)
        missed = F.pixel_unshuffle(target - bicubic_upsample(x, self.scale), self.scale)
        mean, log_var = self.posterior(torch.cat([features, missed], dim=1)).chunk(2, dim=1)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        per_channel = 0.5 * (mean.square() + log_var.exp() - 1 - log_var).mean(dim=(0, 2, 3))
        counted = per_channel.clamp(min=self.free_nats).sum() * mean[:, 0].numel()
        self.reported_losses = {"kl": counted / target.numel()}
        return self._output(x, features, z)

    @contextmanager
    def drawing_latents(self, seed):
        """Within this block, each call draws its latent map from N(0, I), from a generator seeded with ``seed``.

        The same seed and the same sequence of calls (inputs, tiles) give the same
        outputs. Only this thread's calls draw: other threads running the shared
        model meanwhile get latent 0 (or their own draws).
        """
        thread = threading.get_ident()
        self._generators[thread] = torch.Generator().manual_seed(seed)
        try:
            yield self
        finally:
            del self._generators[thread]
