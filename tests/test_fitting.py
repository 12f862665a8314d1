"""What the per-image fits share: seeded networks that never touch torch's global generator, sizes known upfront."""

import inspect

import pytest
import torch
from torch import nn

from napari_superres._fitting import build_network, check_count, reset_parameters, skipnet_size, unet_size
from napari_superres.dip import NETWORKS, fit_dip, iter_fit_dip
from napari_superres.models.inference import on_grid
from napari_superres.models.skip import SkipNet
from napari_superres.models.unet import UNet
from napari_superres.noise2void import fit_noise2void, iter_fit_noise2void
from napari_superres.video_prior import fit_video_prior, iter_fit_video_prior

TINY = {"down": (8, 8, 8), "up": (8, 8, 8), "skip": (4, 0, 4), "input_channels": 8}


def _saved_for_backward(net, shape, multiple=1):
    """Values a forward pass of ``shape`` keeps for the backward pass, the weights aside: on the meta device.

    The input is padded to ``multiple`` as the fits pad it (:func:`~napari_superres.models.inference.on_grid`).
    """
    weights = {id(p) for p in net.parameters()}
    saved = {}

    def pack(tensor):
        if id(tensor) not in weights:
            saved[id(tensor)] = tensor.numel()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        on_grid(net, multiple)(torch.empty(shape, device="meta"))
    return sum(saved.values())


@pytest.mark.parametrize(("in_channels", "out_channels", "features", "depth", "shape"), [
    (1, 1, 16, 2, (8, 1, 64, 64)),
    (3, 3, 8, 3, (2, 3, 60, 50)),  # padded to multiples of 8
    (1, 1, 16, 0, (1, 1, 32, 32)),
    (2, 2, 4, 2, (2, 2, 4, 32, 32)),  # 3D
])
def test_unet_size_is_the_networks(in_channels, out_channels, features, depth, shape):
    with torch.device("meta"):
        net = UNet(in_channels, out_channels, features, depth, dims=len(shape) - 2)
    parameters, activations = unet_size(in_channels, out_channels, features, depth, len(shape) - 2, shape)
    assert parameters == sum(p.numel() for p in net.parameters())
    assert activations == _saved_for_backward(net, shape, 2**depth)


@pytest.mark.parametrize(("spec", "out_channels", "shape"), [
    (NETWORKS["fast"], 3, (64, 64)),
    (NETWORKS["paper"], 1, (128, 96)),
    (TINY, 2, (3, 16, 32)),  # 3D, a level without skip
])
def test_skipnet_size_is_the_networks(spec, out_channels, shape):
    with torch.device("meta"):
        net = SkipNet(spec["input_channels"], out_channels, spec["down"], spec["up"], spec["skip"], dims=len(shape))
    parameters, activations = skipnet_size(spec, out_channels, shape)
    assert parameters == sum(p.numel() for p in net.parameters())
    # Within 1 %: a 1x1 convolution's input is sometimes a copy, sometimes not.
    assert activations == pytest.approx(_saved_for_backward(net, (1, spec["input_channels"]) + shape), rel=0.01)


def _build(seed):
    return build_network(lambda: SkipNet(4, 1, (4, 4), (4, 4), (2, 2)), torch.Generator().manual_seed(seed), "cpu")


def test_seeded_networks_come_from_their_generator_only():
    global_state = torch.random.get_rng_state()
    first, again, other = _build(3).state_dict(), _build(3).state_dict(), _build(4).state_dict()
    assert torch.equal(torch.random.get_rng_state(), global_state)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
    batch_norm = next(m for m in _build(3).modules() if isinstance(m, nn.BatchNorm2d))
    assert batch_norm.weight.eq(1).all() and batch_norm.running_var.eq(1).all() and batch_norm.num_batches_tracked == 0


def test_initial_values_follow_torchs_defaults():
    conv = build_network(lambda: nn.Conv2d(16, 8, 3), torch.Generator().manual_seed(0), "cpu")
    bound = 1 / (16 * 9) ** 0.5  # kaiming_uniform_(a=√5) and the bias both give U(±1/√fan_in)
    for values in (conv.weight, conv.bias):
        assert values.abs().max() <= bound and values.abs().max() > 0.8 * bound


@pytest.mark.parametrize("module", [nn.Dropout(0.1), nn.Embedding(3, 2)])
def test_modules_without_a_seeded_initialisation_are_refused(module):
    with pytest.raises(TypeError, match="global random generator|no seeded initialisation"):
        reset_parameters(nn.Sequential(nn.Conv2d(1, 1, 1), module), torch.Generator())


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "3", None, float("inf")])
def test_counts_are_whole_numbers_from_the_minimum(value):
    with pytest.raises(ValueError, match="batch_size must be a whole number ≥ 1"):
        check_count("batch_size", value)


def test_whole_floats_and_numpy_integers_are_counts():
    import numpy as np

    assert check_count("iterations", 3.0) == 3 and check_count("depth", np.int64(0), 0) == 0


@pytest.mark.parametrize("fit, iter_fit", [(fit_dip, iter_fit_dip), (fit_noise2void, iter_fit_noise2void),
                                           (fit_video_prior, iter_fit_video_prior)])
def test_fits_show_their_parameters_as_their_step_by_step_forms(fit, iter_fit):
    parameters = inspect.signature(fit).parameters
    stepwise = dict(inspect.signature(iter_fit).parameters)
    # Only a step-by-step fit can be stopped, so only it can be told what to do with the network when it is.
    assert stepwise.pop("save_on_stop", None) is None or "\n    save_on_stop :" in iter_fit.__doc__
    assert parameters == stepwise
    assert not any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    options = [name for name, p in parameters.items() if p.default is not p.empty and name != "task"]
    assert all(parameters[name].kind is inspect.Parameter.KEYWORD_ONLY for name in options)
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert f"\n    {section}\n    ---" in fit.__doc__
    assert all(f"\n    {name} :" in fit.__doc__ for name in parameters)
