"""Perceptual loss on the features of an ImageNet-trained SqueezeNet v1.1.

SqueezeNet v1.1 (:mod:`napari_superres.losses.squeezenet`) is small (1.2 M
parameters) and fast on a CPU, which makes it a cheap feature network for a
perceptual (feature-matching) loss in the spirit of Johnson et al. 2016.
Its weights are read from the original Caffe model
(:mod:`napari_superres.losses.caffe`); see
:mod:`napari_superres.losses.squeezenet` for where to get them.
"""

from __future__ import annotations

import torch
from torch import nn

from .squeezenet import DEFAULT_LAYERS, SqueezeNetFeatures, find_weights, load_squeezenet_weights

__all__ = ["PerceptualLoss", "freeze", "perceptual_network"]


def perceptual_network(weights_path=None, layers=DEFAULT_LAYERS, classifier=False):
    """Frozen, ImageNet-trained :class:`SqueezeNetFeatures`.

    Parameters
    ----------
    weights_path : str or Path, optional
        The ``.caffemodel`` or its folder; defaults to ``$NAPARI_SUPERRES_SQUEEZENET``.
    layers : sequence of str
        Layers whose features the network returns.
    classifier : bool
        Also load ``conv10`` for :meth:`SqueezeNetFeatures.classify`.

    Returns
    -------
    SqueezeNetFeatures
        In eval mode, with ``requires_grad`` off.
    """
    network = SqueezeNetFeatures(layers=layers, classifier=classifier)
    network.load_state_dict(load_squeezenet_weights(find_weights(weights_path), classifier=classifier))
    return freeze(network)


def freeze(network):
    """Put ``network`` in eval mode and stop gradients to its parameters."""
    return network.eval().requires_grad_(False)


class PerceptualLoss(nn.Module):
    """Distance between SqueezeNet features of a prediction and its target.

    Each layer contributes the mean absolute (or squared) feature difference
    divided by the mean absolute (or squared) target feature. Dividing by the
    magnitude rather than the channel count matters here: the Caffe network
    sees 0..255 inputs, so its activations are large and differ by an order
    of magnitude between layers, and the mean over elements already accounts
    for the channel count. As a relative error every layer weighs about the
    same and the loss keeps one scale whatever the layers (L1: about 0.1 for
    noise of std 0.01, about 0.9 for a x4 bicubic blur, where pixel L1 is
    about 0.04). The denominator is detached: it only rescales.

    Parameters
    ----------
    network : SqueezeNetFeatures, optional
        Feature network; by default :func:`perceptual_network` (pretrained).
    weights_path : str or Path, optional
        Passed to :func:`perceptual_network` when ``network`` is not given.
    layers : sequence of str
        Layers to compare when ``network`` is not given.
    distance : {"l1", "l2"}
        Distance between features.
    eps : float
        Floor of the per-layer normaliser.
    """

    def __init__(self, network=None, weights_path=None, layers=DEFAULT_LAYERS, distance="l1", eps=1e-6):
        super().__init__()
        if distance not in ("l1", "l2"):
            raise ValueError(f"distance must be 'l1' or 'l2', got {distance!r}")
        self.network = freeze(network if network is not None else perceptual_network(weights_path, layers))
        self.distance = distance
        self.eps = eps

    def train(self, mode=True):
        """Switch mode without ever taking the frozen network out of eval."""
        super().train(mode)
        self.network.eval()
        return self

    def _measure(self, x):
        return x.abs() if self.distance == "l1" else x.square()

    def forward(self, prediction, target):
        """Perceptual loss, averaged over the network's layers.

        Parameters
        ----------
        prediction, target : Tensor
            ``(N, 1 or 3, H, W)`` images in [0, 1]; gradients flow to
            ``prediction`` only.

        Returns
        -------
        Tensor
            Scalar loss, 0 for identical inputs.
        """
        with torch.no_grad():
            target_features = self.network(target)
        terms = []
        for pred, ref in zip(self.network(prediction), target_features, strict=True):
            scale = self._measure(ref).mean().clamp_min(self.eps)
            terms.append(self._measure(pred - ref).mean() / scale)
        return torch.stack(terms).mean()
