"""MDSR (one body, heads for x2/x3/x4), DRCN (one recursive convolution) and LapSRN (x2 pyramid up to x8)."""

import json

import numpy as np
import pytest
import torch
from skimage import data

from napari_superres import available_methods, imresize, upscale
from napari_superres.cli import main
from napari_superres.losses.pixel import charbonnier_loss
from napari_superres.metrics import psnr
from napari_superres.models import ARCHITECTURES, CONTRACTS, find_model, list_models
from napari_superres.models.registry import ModelCardWarning
from napari_superres.train import Objective, export_model
from napari_superres.train.loop import training_outputs
from napari_superres.train.samplers import PyramidSampler, ScalePerBatchSampler

SMALL = {"mdsr": dict(features=8, blocks=2), "drcn": dict(features=8, recursions=3),
         "lapsrn": dict(features=8, depth=2)}


def _model(name, scale, **config):
    torch.manual_seed(0)
    return ARCHITECTURES[name](scale=scale, channels=1, **{**SMALL[name], **config}).eval()


@pytest.mark.parametrize(("name", "scale"), [("mdsr", 2), ("mdsr", 3), ("mdsr", 4), ("drcn", 2), ("drcn", 3),
                                             ("lapsrn", 2), ("lapsrn", 4), ("lapsrn", 8)])
def test_output_shape_at_each_scale(name, scale):
    with torch.inference_mode():
        assert _model(name, scale)(torch.rand(2, 1, 7, 9)).shape == (2, 1, 7 * scale, 9 * scale)


def test_contract_scales_and_refusals():
    assert CONTRACTS["mdsr"].served_scales(4) == (2, 3, 4)
    assert CONTRACTS["mdsr"].served_scales(2, {"scales": (2, 4)}) == (2, 4)
    assert CONTRACTS["lapsrn"].served_scales(8) == (2, 4, 8)
    assert CONTRACTS["lapsrn"].served_scales(4) == (2, 4)
    assert CONTRACTS["drcn"].served_scales(3) == (3,)
    with pytest.raises(ValueError, match="powers of two"):
        _model("lapsrn", 3)
    with pytest.raises(ValueError, match="up to|x2 to x8"):
        _model("lapsrn", 16)
    with pytest.raises(ValueError, match="heads for scales"):
        _model("mdsr", 8)


def test_one_mdsr_makes_every_scale_with_one_body():
    model = _model("mdsr", 4)
    x = torch.rand(1, 1, 6, 6)
    with torch.inference_mode():
        for scale in (2, 3):  # a model built at another scale, from the same weights, gives the same image
            other = _model("mdsr", scale)
            other.load_state_dict(model.state_dict())
            torch.testing.assert_close(other(x), model(x, scale))
    heads = {name.split(".")[1] for name in model.state_dict() if name.startswith(("pre.", "tails."))}
    assert heads == {"2", "3", "4"}
    # x2 and x3 add their own heads only: one body serves all three scales
    single = _model("mdsr", 4, scales=(4,))
    added = sum(p.numel() for name, p in model.named_parameters() if name.startswith(("pre.2", "pre.3", "tails.2",
                                                                                      "tails.3")))
    assert sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in single.parameters()) == added


def test_drcn_depth_costs_only_its_ensemble_weights():
    counts = {d: sum(p.numel() for p in _model("drcn", 2, recursions=d).parameters()) for d in (1, 4, 16)}
    assert counts[4] - counts[1] == 3 and counts[16] - counts[1] == 15
    model = _model("drcn", 2, recursions=4)
    outputs = model.supervised_outputs(torch.rand(1, 1, 5, 5))
    assert len(outputs) == 5  # every recursion's prediction, then their weighted sum
    torch.testing.assert_close(outputs[-1], sum(w * p for w, p in zip(model.ensemble, outputs[:-1], strict=True)))
    outputs[0].sum().backward()  # the first recursion's prediction trains the one recursive convolution
    assert model.recursive[0].weight.grad.abs().sum() > 0


def test_drcn_predictions_are_the_enlargement_plus_a_residual():
    model = _model("drcn", 2, recursions=2)
    with torch.no_grad():
        model.reconstruct[-1].weight.zero_()
        model.reconstruct[-1].bias.zero_()
        from napari_superres.models.common import bicubic_upsample

        x = torch.rand(1, 1, 6, 7)
        for prediction in model.supervised_outputs(x)[:-1]:
            torch.testing.assert_close(prediction, bicubic_upsample(x, 2))  # the skip


def test_lapsrn_levels_are_the_lower_scales_of_one_network():
    x8 = _model("lapsrn", 8)
    x = torch.rand(1, 1, 5, 6)
    with torch.inference_mode():
        pyramid = x8.supervised_outputs(x)
        assert [p.shape[-1] for p in pyramid] == [12, 24, 48]
        for scale, level in ((2, 0), (4, 1)):
            lower = _model("lapsrn", scale)
            lower.load_state_dict(x8.state_dict())  # every level's weights exist at any scale
            torch.testing.assert_close(lower(x), pyramid[level])


def test_pyramid_sampler_targets_each_level_and_multiscale_batches_name_their_scale():
    images = [data.astronaut()]
    lr, targets = PyramidSampler(images, 8, 6, 3).sample()
    assert lr.shape == (3, 1, 6, 6) and [t.shape[-1] for t in targets] == [12, 24, 48]
    # the x2 level's target is the HR shrunk x4 by MATLAB bicubic: close to the LR enlarged x2
    assert (targets[0] - torch.nn.functional.interpolate(lr, scale_factor=2, mode="bicubic")).abs().mean() < 0.1
    sampler = ScalePerBatchSampler(images, (2, 3, 4), 8, 2, seed=1)
    seen = set()
    for _ in range(12):
        (lr, scale), hr = sampler.sample()
        assert lr.shape == (2, 1, 8, 8) and hr.shape == (2, 1, 8 * scale, 8 * scale)
        seen.add(scale)
    assert seen == {2, 3, 4}


def test_deep_supervision_averages_every_output_against_its_target():
    objective = Objective({"charbonnier": 1.0}, channels=1, lr=1e-3)
    a, b = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    assert charbonnier_loss(a, a) == pytest.approx(1e-3)
    assert charbonnier_loss(a, b) == pytest.approx(np.sqrt(1 + 1e-6))
    pair = float(objective.generator_loss([a, a], [a, b]))
    assert pair == pytest.approx((1e-3 + np.sqrt(1 + 1e-6)) / 2)
    assert float(objective.generator_loss([a, b], b)) == pytest.approx(pair)  # one target for all (DRCN)
    mdsr = _model("mdsr", 4)
    assert training_outputs(mdsr, (torch.rand(1, 1, 4, 4), 3)).shape[-1] == 12


@pytest.fixture(scope="module")
def image_folders(tmp_path_factory):
    import imageio.v3 as iio

    root = tmp_path_factory.mktemp("images")
    (root / "train").mkdir()
    (root / "val").mkdir()
    for name in ("chelsea", "coffee"):
        iio.imwrite(root / "train" / f"{name}.png", getattr(data, name)()[:200, :200])
    iio.imwrite(root / "val" / "rocket.png", data.rocket()[:96, :96])
    return root


@pytest.mark.parametrize(("name", "scale", "config", "served"), [
    ("lapsrn", 8, "features=4,depth=1", [2, 4, 8]),
    ("mdsr", 4, "features=4,blocks=1", [2, 3, 4]),
    ("drcn", 3, "features=4,recursions=2", None),
])
def test_train_export_and_upscale_at_every_served_scale(image_folders, tmp_path, monkeypatch, name, scale, config,
                                                        served):
    run = tmp_path / "run"
    main(["train", name, "--scale", str(scale), "--data", str(image_folders / "train"), "--val",
          str(image_folders / "val"), "--out", str(run), "--config", config, "--batch-size", "2", "--lr-patch", "6",
          "--steps", "2", "--val-every", "2", "--losses", "charbonnier=1"])
    assert np.isfinite(json.loads((run / "log.jsonl").read_text())["val_psnr"])
    weights = tmp_path / "weights"
    card = json.loads(export_model(run, weights, name=f"tiny{name}").read_text())
    assert card.get("scales") == served and card["scale"] == scale
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(weights))
    assert available_methods()[f"tiny{name}"] == (served or [scale])
    image = data.camera()[:20, :24]
    for s in served or [scale]:
        assert find_model(f"tiny{name}", s).scale == s  # by card name too, at each of its scales
        assert upscale(image, s, method=f"tiny{name}").shape == (20 * s, 24 * s)


def test_a_card_whose_scales_leave_out_its_scale_is_skipped(tmp_path, monkeypatch):
    card = {"name": "odd", "architecture": "lapsrn", "scale": 8, "scales": [2, 4], "weights": "odd.safetensors",
            "sha256": "0" * 64}
    (tmp_path / "odd.json").write_text(json.dumps(card))
    (tmp_path / "bad.json").write_text(json.dumps({**card, "name": "bad", "scales": [2, 3, 8]}))
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tmp_path))
    with pytest.warns(ModelCardWarning) as record:
        cards = list_models()
    assert "odd" not in cards and "bad" not in cards
    messages = " ".join(str(w.message) for w in record)
    assert "must hold the card's 'scale' 8" in messages and "not [3]" in messages


@pytest.mark.parametrize(("method", "scales"), [("lapsrn", (2, 4, 8)), ("mdsr", (2, 3, 4)), ("drcn", (4,))])
def test_shipped_weights_beat_bicubic_at_each_scale(method, scales):
    truth = data.camera()[128:368, 128:368]  # 240 pixels: a multiple of every scale
    assert available_methods()[method] == list(scales)
    for scale in scales:
        small = imresize(truth, 1 / scale)
        out = upscale(small, scale, method=method)
        assert out.shape == truth.shape and out.dtype == np.uint8
        assert psnr(truth, out) > psnr(truth, upscale(small, scale, method="bicubic")), scale
