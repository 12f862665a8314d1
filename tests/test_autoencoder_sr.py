"""Auto-encoder SR and the variational one: shapes, tiles, the KL term in training, seeded draws from the prior."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data

from napari_superres import upscale
from napari_superres.cli import main
from napari_superres.models import ARCHITECTURES, CONTRACTS
from napari_superres.models.inference import on_grid
from napari_superres.models.registry import _load_cached
from napari_superres.tiling import iter_tiled
from napari_superres.train import Objective, export_model
from napari_superres.train.loop import training_outputs
from napari_superres.uncertainty import sample_spread, sample_upscale
from napari_superres.upscale import run_to_end

SMALL = {"autoencoder": dict(features=8, downs=2), "vae": dict(features=8, downs=2, latent=2)}


def _model(name, scale=4, **config):
    torch.manual_seed(0)
    return ARCHITECTURES[name](scale=scale, channels=1, **{**SMALL[name], **config}).eval()


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_any_input_size_gives_scale_times_the_output_through_the_grid(name, scale):
    forward = on_grid(_model(name, scale), CONTRACTS[name].size_multiple(SMALL[name]), scale)
    with torch.inference_mode():
        assert forward(torch.rand(2, 1, 13, 10)).shape == (2, 1, 13 * scale, 10 * scale)


@pytest.mark.parametrize("downs", [1, 2, 3])
def test_the_bottleneck_is_two_to_the_downs_smaller(downs):
    model = _model("autoencoder", downs=downs)
    y = model.head(torch.rand(1, 1, 16, 16))
    for encoder in model.encoders:
        y = encoder(y)
    assert y.shape[-1] == 16 // 2**downs
    assert CONTRACTS["autoencoder"].size_multiple({"downs": downs}) == 2**downs


@pytest.mark.parametrize("name", sorted(SMALL))
def test_tiles_on_the_bottleneck_grid_with_the_contract_halo_match_the_whole(name):
    model = _model(name)
    x = torch.rand(1, 1, 64, 64)
    with torch.inference_mode():
        whole = model(x)
        tiled = run_to_end(iter_tiled(model, x, 4, 32, CONTRACTS[name].halo(4, SMALL[name])))
    torch.testing.assert_close(tiled, whole, atol=1e-5, rtol=0)


def test_skips_and_bicubic_skip():
    from napari_superres.models.common import bicubic_upsample

    model = _model("autoencoder")
    with torch.no_grad():
        model.tail[0].weight.zero_()
        model.tail[0].bias.zero_()
    x = torch.rand(1, 1, 8, 8)
    torch.testing.assert_close(model(x), bicubic_upsample(x, 4))  # the network adds to the bicubic enlargement
    plain = _model("autoencoder", skips=False)
    assert set(plain.state_dict()) == set(_model("autoencoder").state_dict())  # skips add no parameters
    assert not torch.equal(plain(x), _model("autoencoder")(x))


def test_the_posterior_reads_the_target_and_reports_the_kl_per_output_pixel():
    model = _model("vae").train()
    lr, hr = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 32, 32)
    torch.manual_seed(1)
    out = model.posterior_outputs(lr, hr)
    assert out.shape == hr.shape
    features = model.decoded(lr)
    from napari_superres.models.common import bicubic_upsample

    missed = F.pixel_unshuffle(hr - bicubic_upsample(lr, 4), 4)
    mean, log_var = model.posterior(torch.cat([features, missed], 1)).chunk(2, 1)
    expected = 0.5 * (mean**2 + log_var.exp() - 1 - log_var).sum() / hr.numel()
    torch.testing.assert_close(model.reported_losses["kl"], expected)
    torch.manual_seed(1)
    other_target = model.posterior_outputs(lr, torch.rand(2, 1, 32, 32))
    assert not torch.equal(out, other_target)  # the same noise, another target: another latent


def test_free_nats_leave_a_channel_below_them_unpenalised():
    lr, hr = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 32, 32)
    model = _model("vae", free_nats=100.0).train()  # far above any channel's KL here
    model.posterior_outputs(lr, hr)
    kl = model.reported_losses["kl"]
    torch.testing.assert_close(kl, torch.tensor(100.0 * 2 * 2 * 8 * 8 / hr.numel()))
    kl.backward()  # a constant: no pull towards the prior
    assert model.posterior[-1].weight.grad is None or not model.posterior[-1].weight.grad.any()
    plain = _model("vae").train()
    plain.posterior_outputs(lr, hr)
    assert plain.reported_losses["kl"] < kl


def test_the_objective_adds_the_weighted_kl_the_model_reports():
    model = _model("vae").train()
    lr, hr = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 32, 32)
    sr = training_outputs(model, lr, hr)  # the loop hands the target to a model that sees it
    kl = model.reported_losses["kl"]
    objective = Objective({"l1": 1.0, "kl": 0.5}, channels=1, lr=1e-3)
    total = objective.generator_loss(sr, hr) + objective.reported_loss(model)
    torch.testing.assert_close(total, F.l1_loss(sr, hr) + 0.5 * kl)
    total.backward()  # the KL term trains the posterior's log-variance
    assert model.posterior[-1].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="weigh each"):  # a VAE trained without its KL term is refused
        Objective({"l1": 1.0}, channels=1, lr=1e-3).reported_loss(model)
    with pytest.raises(ValueError, match="weigh each"):  # and a KL weight on a model that reports none
        Objective({"l1": 1.0, "kl": 0.5}, channels=1, lr=1e-3).reported_loss(_model("autoencoder"))


def test_latents_are_zero_unless_drawn_and_a_seed_repeats_its_draw():
    model = _model("vae")
    x = torch.rand(1, 1, 8, 8)
    with torch.inference_mode():
        mean = model(x)
        torch.testing.assert_close(model(x), mean)  # latent 0: deterministic
        with model.drawing_latents(3):
            first = model(x)
        with model.drawing_latents(3):
            again = model(x)
        with model.drawing_latents(4):
            other = model(x)
        torch.testing.assert_close(model(x), mean)  # back to 0 after the block
    torch.testing.assert_close(again, first)
    assert not torch.equal(first, mean) and not torch.equal(first, other)


def test_draws_belong_to_the_drawing_thread_and_the_shared_model_still_pickles():
    """The loaded model is shared: another thread running it during a draw gets latent 0, not the draw."""
    import copy
    import pickle
    import threading

    model = _model("vae")
    x = torch.rand(1, 1, 8, 8)
    elsewhere = {}
    with torch.inference_mode():
        mean = model(x)
        with model.drawing_latents(3):
            drawn = model(x)
            thread = threading.Thread(target=lambda: elsewhere.setdefault("out", model(x)))
            thread.start()
            thread.join()
    assert not torch.equal(drawn, mean)
    torch.testing.assert_close(elsewhere["out"], mean)
    copy.deepcopy(pickle.loads(pickle.dumps(model)))  # dask pickles the model of lazy input


def _train(image_folders, run, name, losses, config, steps=2):
    main(["train", name, "--scale", "4", "--data", str(image_folders / "train"), "--val", str(image_folders / "val"),
          "--out", str(run), "--config", config, "--batch-size", "2", "--lr-patch", "8", "--steps", str(steps),
          "--val-every", "1", "--losses", losses, "--threads", "1"])
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]


def test_the_train_loop_adds_the_kl_term_to_the_vae_loss(image_folders, tmp_path):
    config = "features=4,downs=1,latent=2"
    light = _train(image_folders, tmp_path / "light", "vae", "l1=1,kl=0.001", config, steps=1)
    heavy = _train(image_folders, tmp_path / "heavy", "vae", "l1=1,kl=1000", config, steps=1)
    # Same seed, same first batch and L1: the step's loss differs by the KL weight times the KL
    assert heavy[0]["loss"] > light[0]["loss"] + 1e-3
    with pytest.raises(SystemExit, match="weigh each"):  # the CLI's error: a VAE without its KL term
        _train(image_folders, tmp_path / "no_kl", "vae", "l1=1", config, steps=1)


@pytest.fixture(scope="module")
def tiny_weights(image_folders, tmp_path_factory):
    """A 3-step autoencoder and VAE, trained through the CLI and exported into one weights folder."""
    root = tmp_path_factory.mktemp("autoencoders")
    for name, losses, config in (("autoencoder", "l1=1", "features=4,downs=1"),
                                 ("vae", "l1=1,kl=0.01", "features=4,downs=1,latent=2")):
        log = _train(image_folders, root / name, name, losses, config, steps=3)
        assert len(log) == 3 and all(np.isfinite(r["val_psnr"]) for r in log)
        export_model(root / name, root / "weights", name=f"tiny_{name}_x4")
    return root / "weights"


@pytest.fixture
def tiny_models(tiny_weights, monkeypatch):
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(tiny_weights))
    _load_cached.cache_clear()
    yield
    _load_cached.cache_clear()


def test_trained_models_upscale_by_name_and_the_vae_draws_seeded_samples(tiny_models):
    lowres = data.astronaut()[100:132, 100:140]
    for method in ("tiny_autoencoder", "tiny_vae"):
        assert upscale(lowres, 4, method=method, channel_axis=-1, device="cpu").shape == (128, 160, 3)
    mean = upscale(lowres, 4, method="tiny_vae", channel_axis=-1, device="cpu")
    draws = [sample_upscale(lowres, 4, method="tiny_vae", seed=s, channel_axis=-1, device="cpu") for s in (0, 0, 1)]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert (draws[0] != draws[2]).any() and (draws[0] != mean).any()
    np.testing.assert_array_equal(upscale(lowres, 4, method="tiny_vae", channel_axis=-1, device="cpu"), mean)
    spread_mean, spread = sample_spread(lowres, 4, method="tiny_vae", samples=3, channel_axis=-1, device="cpu")
    assert spread_mean.shape == mean.shape and spread_mean.dtype == np.uint8 and spread.shape == (128, 160)
    assert spread.max() > 0
    with pytest.raises(ValueError, match="draws no latents"):
        sample_upscale(lowres, 4, method="tiny_autoencoder", channel_axis=-1)


def test_the_cli_draws_a_sample_with_a_seed(tiny_models, tmp_path):
    import imageio.v3 as iio

    iio.imwrite(tmp_path / "small.png", data.camera()[:24, :32])
    outputs = {}
    for label, extra in (("mean", []), ("draw1", ["--sample-seed", "1"]), ("again", ["--sample-seed", "1"]),
                         ("draw2", ["--sample-seed", "2"])):
        main(["upscale", str(tmp_path / "small.png"), str(tmp_path / f"{label}.png"), "--scale", "4", "--method",
              "tiny_vae", "--device", "cpu", *extra])
        outputs[label] = iio.imread(tmp_path / f"{label}.png")
    np.testing.assert_array_equal(outputs["mean"], upscale(data.camera()[:24, :32], 4, method="tiny_vae",
                                                           device="cpu"))
    np.testing.assert_array_equal(outputs["draw1"], outputs["again"])
    assert (outputs["draw1"] != outputs["draw2"]).any() and (outputs["draw1"] != outputs["mean"]).any()


@pytest.mark.parametrize("method", ["autoencoder_sr", "vae_sr"])
def test_shipped_weights_beat_bicubic(method):
    from napari_superres import imresize
    from napari_superres.metrics import psnr

    truth = data.camera()[128:368, 128:368]
    small = imresize(truth, 1 / 4)
    assert psnr(truth, upscale(small, 4, method=method)) > psnr(truth, upscale(small, 4, method="bicubic"))


def test_the_vae_card_holds_its_draws_measured_on_set5_and_set14():
    from napari_superres.models import find_model

    card = find_model("vae_sr", 4)
    assert card.contract.draws_latents and not find_model("autoencoder_sr", 4).contract.draws_latents
    for dataset in ("Set5", "Set14"):
        draws = card.info["sampling"][dataset]
        assert draws["draws"] == 8 and draws["mean_std_y_grey_levels"] > 0
        # a draw is one plausible image, not the best guess: no better than the deterministic output
        assert draws["mean_psnr_y"] <= card.info["metrics"][dataset]["psnr_y"]
