"""Objectives: what a training step minimises, with whatever else trains alongside (a discriminator).

Each has ``generator_loss(output, target)``, ``discriminator_step(output, target)``,
``discriminator`` (None unless adversarial) and ``state_dict``/``load_state_dict``
for the checkpoint.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DISCRIMINATORS = ("adversarial", "dcgan")
"""The adversarial loss names: SRGAN's discriminator, DCGAN's."""

REPORTED = ("kl",)
"""The losses a model reports itself after a training call, in ``model.reported_losses`` (a VAE's KL divergence)."""


def _discriminator(loss):
    """The discriminator class of the adversarial loss named ``loss`` (one of :data:`DISCRIMINATORS`)."""
    if loss == "dcgan":
        from ..models.dcgan import DCGANDiscriminator

        return DCGANDiscriminator
    from ..models.srresnet import SRGANDiscriminator

    return SRGANDiscriminator


class Objective:
    """Weighted sum of losses named in ``TrainConfig.losses``.

    ``l1``, ``l2``, ``charbonnier``, ``ms_ssim_l1``, ``hf`` (high-frequency),
    ``perceptual`` (SqueezeNet features, see :mod:`napari_superres.losses.perceptual`),
    and one adversarial loss (the non-saturating GAN loss against a discriminator trained
    alongside): ``adversarial`` (SRGAN's discriminator) or ``dcgan`` (DCGAN's).
    """

    def __init__(self, weights, channels, lr, discriminator_features=64):
        from ..losses.pixel import charbonnier_loss, high_frequency_loss, ms_ssim_l1_loss

        self.weights = dict(weights)
        known = {"l1": F.l1_loss, "l2": F.mse_loss, "charbonnier": charbonnier_loss, "ms_ssim_l1": ms_ssim_l1_loss,
                 "hf": high_frequency_loss}
        unknown = set(self.weights) - set(known) - {"perceptual", *DISCRIMINATORS, *REPORTED}
        if unknown:
            raise ValueError(f"unknown losses {sorted(unknown)}; choose from {sorted(known)} + perceptual, "
                             f"{', '.join(DISCRIMINATORS + REPORTED)}")
        adversarial = [name for name in DISCRIMINATORS if name in self.weights]
        if len(adversarial) > 1:
            raise ValueError(f"one adversarial loss at a time, not {' and '.join(adversarial)}")
        self.adversarial = adversarial[0] if adversarial else None
        self.terms = {name: fn for name, fn in known.items() if name in self.weights}
        if "perceptual" in self.weights:
            from ..losses.perceptual import PerceptualLoss

            self.terms["perceptual"] = PerceptualLoss()
        self.discriminator = self.d_optimizer = None
        if self.adversarial:
            self.discriminator = _discriminator(self.adversarial)(channels=channels, features=discriminator_features)
            beta1 = 0.5 if self.adversarial == "dcgan" else 0.9  # DCGAN's Adam momentum, for its stability
            self.d_optimizer = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(beta1, 0.999))

    def generator_loss(self, sr, hr):
        """The weighted sum of the losses of ``sr`` against ``hr``, adversarial term included.

        ``sr`` a list (every supervised output of a deep-supervised model): the mean
        of its outputs' losses, each against its own target when ``hr`` is a list too
        (LapSRN's pyramid), else against ``hr`` (DRCN's recursions).
        """
        if isinstance(sr, list):
            if self.discriminator is not None:
                raise ValueError("the adversarial loss takes a single output, not a deep-supervised model's list")
            targets = hr if isinstance(hr, list) else [hr] * len(sr)
            return sum(self.generator_loss(s, t) for s, t in zip(sr, targets, strict=True)) / len(sr)
        total = sum(self.weights[name] * fn(sr, hr) for name, fn in self.terms.items())
        if self.discriminator is not None:
            real = torch.ones(len(sr), 1)
            total = total + self.weights[self.adversarial] * F.binary_cross_entropy_with_logits(
                self.discriminator(sr), real)
        return total

    def reported_loss(self, model):
        """The weighted sum of the losses ``model`` reported for its last training call (a VAE's ``kl``).

        A reported loss without a weight, or a weighted one the model does not report, is refused.
        """
        reported = getattr(model, "reported_losses", {})
        unweighted = set(reported) - set(self.weights)
        unreported = set(self.weights) & set(REPORTED) - set(reported)
        if unweighted or unreported:
            raise ValueError(f"the model reports the losses {sorted(reported)}: weigh each in --losses "
                             f"(e.g. 'l1=1,kl=0.03') and only those")
        return sum(self.weights[name] * value for name, value in reported.items())

    def discriminator_step(self, sr, hr):
        """One optimiser step of the discriminator on ``hr`` (real) and ``sr`` (fake); no-op without one."""
        if self.discriminator is None:
            return
        logits = self.discriminator(torch.cat([hr, sr.detach()]))
        labels = torch.cat([torch.ones(len(hr), 1), torch.zeros(len(sr), 1)])
        loss = F.binary_cross_entropy_with_logits(logits, labels)
        self.d_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.d_optimizer.step()

    def state_dict(self):
        """The discriminator and its optimiser state, to checkpoint (empty without a discriminator)."""
        if self.discriminator is None:
            return {}
        return {"discriminator": self.discriminator.state_dict(), "d_optimizer": self.d_optimizer.state_dict()}

    def load_state_dict(self, state):
        """Restore the discriminator and its optimiser from :meth:`state_dict`."""
        if self.discriminator is not None and state:
            self.discriminator.load_state_dict(state["discriminator"])
            self.d_optimizer.load_state_dict(state["d_optimizer"])


class _SingleLoss:
    """An objective with one loss and nothing else to train or save (no discriminator)."""

    discriminator = None

    def discriminator_step(self, sr, hr):
        pass

    def reported_loss(self, model):
        if getattr(model, "reported_losses", None):
            raise ValueError("this task's objective takes no loss reported by the model")
        return 0.0

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class ColorObjective(_SingleLoss):
    """Zhang et al.'s loss: cross-entropy against soft-encoded ab, each pixel weighted by its colour's rarity."""

    def __init__(self, class_weights):
        from ..colorize import ab_bins

        self.class_weights = class_weights
        self.bins = torch.from_numpy(ab_bins()).float()

    def generator_loss(self, logits, target_ab):
        """The rarity-weighted cross-entropy of ``logits`` against soft-encoded ``target_ab``."""
        from ..colorize import soft_encode

        soft, nearest = soft_encode(target_ab, self.bins)
        per_pixel = -(soft * F.log_softmax(logits, dim=1)).sum(dim=1)
        return (per_pixel * self.class_weights[nearest]).mean()


# The hole pixels weigh 6 (Liu et al.), the known ones 1, and pixels up to 3 pixels either side of the
# hole's edge 3 more (a rim pixel 9, the known ring around it 4).
HOLE_LOSS_WEIGHTS = {"l1_holes": 6.0, "l1_hole_border": 3.0, "l1_known_pixels": 1.0, "border_band_px": 3}


class HoleObjective(_SingleLoss):
    """L1 weighted per pixel: the hole, a band along its edge, the known pixels (Liu et al. 2018 without style terms).

    ``weights``: ``l1_holes`` on every hole pixel, ``l1_known_pixels`` on every known one,
    plus ``l1_hole_border`` on the pixels within ``border_band_px`` of the hole's edge, on
    either side (where a fill's seam shows).
    """

    def __init__(self, weights=None):
        self.weights = dict(weights or HOLE_LOSS_WEIGHTS)

    def pixel_weights(self, mask):
        """The weight of each pixel of ``mask`` ``(N, 1, H, W)`` (1 in the hole)."""
        band = int(self.weights["border_band_px"])
        grown = F.max_pool2d(mask, 2 * band + 1, stride=1, padding=band)
        shrunk = -F.max_pool2d(-mask, 2 * band + 1, stride=1, padding=band)
        w = self.weights
        return (w["l1_known_pixels"] + (w["l1_holes"] - w["l1_known_pixels"]) * mask
                + w["l1_hole_border"] * (grown - shrunk))

    def generator_loss(self, output, target):
        """Weighted L1 of ``output`` against the clean image (``target``: the clean image and its mask)."""
        clean, mask = target[:, :-1], target[:, -1:]
        return ((output - clean).abs() * self.pixel_weights(mask)).mean()
