"""Precision chosen at run time: bf16 where the hardware computes it fast, fp32 elsewhere, at most a level apart."""

import numpy as np
import pytest
import torch

from napari_superres import denoise, upscale
from napari_superres.device import has_fast_bf16, resolve_precision


def _photo(shape, seed=0):
    """A smooth uint8 image with some edges: what the models were trained on, small enough for emulated bf16."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: shape[0], : shape[1]]
    base = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + (x > shape[1] // 2) * 40
    planes = [base + rng.normal(0, 4, shape[:2]) for _ in range(shape[2])] if len(shape) == 3 else base
    return np.clip(np.dstack(planes) if len(shape) == 3 else planes, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("method, scale, channel_axis", [("espcn", 2, -1), ("edsr", 2, None), ("fsrcnn", 4, None)])
def test_bf16_moves_uint8_results_by_at_most_one_level(method, scale, channel_axis):
    image = _photo((20, 20, 3) if channel_axis is not None else (20, 20))
    fp32 = upscale(image, scale, method=method, channel_axis=channel_axis, precision="fp32")
    bf16 = upscale(image, scale, method=method, channel_axis=channel_axis, precision="bf16")
    assert np.abs(bf16.astype(int) - fp32).max() <= 1
    assert (bf16 != fp32).any()  # bf16 did run


def test_bf16_leaves_no_hook_on_the_shared_model():
    from napari_superres.models import find_model
    from napari_superres.models.inference import load_on

    upscale(_photo((16, 16)), 2, method="espcn", device="cpu", precision="bf16")
    model, _ = load_on(find_model("espcn", 2), "cpu")
    assert not any(m._forward_pre_hooks or m._forward_hooks for m in model.modules())


def test_bf16_denoiser_moves_uint8_results_by_at_most_one_level():
    from napari_superres.models import list_models

    learned = sorted(c.method for c in list_models().values() if c.task == "denoise" and c.halo is not None
                     and c.input in ("y", "rgb"))
    if not learned:
        pytest.skip("no trained tiled denoiser in the catalogue")
    image = _photo((20, 20), seed=1)
    fp32 = denoise(image, method=learned[0], precision="fp32")
    bf16 = denoise(image, method=learned[0], precision="bf16")
    assert np.abs(bf16.astype(int) - fp32).max() <= 1


def test_auto_is_bf16_only_where_the_cpu_has_bf16_units(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not has_fast_bf16(cpu) and resolve_precision("auto", cpu) == "fp32"
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert has_fast_bf16(cpu) and resolve_precision("auto", cpu) == "bf16"
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"


def test_auto_on_this_machine_equals_what_its_cpu_says():
    image = _photo((16, 16))
    expected = "bf16" if has_fast_bf16(torch.device("cpu")) else "fp32"
    np.testing.assert_array_equal(upscale(image, 2, method="espcn", device="cpu"),
                                  upscale(image, 2, method="espcn", device="cpu", precision=expected))


@pytest.mark.parametrize("precision", ["fp16", "BF16", None, 32])
def test_unknown_precisions_are_refused_before_any_work(precision):
    with pytest.raises(ValueError, match="precision must be one of auto, fp32, bf16"):
        upscale(np.zeros((16, 16), np.uint8), 2, method="espcn", precision=precision)


def test_cli_precision_and_threads_reach_the_model(tmp_path):
    from napari_superres.cli import main
    from napari_superres.io import read_image, write_image

    image = _photo((20, 20))
    write_image(tmp_path / "in.png", image)
    main(["upscale", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--scale", "2", "--method", "espcn",
          "--precision", "bf16", "--threads", "1"])
    expected = upscale(image, 2, method="espcn", precision="bf16")
    np.testing.assert_array_equal(read_image(tmp_path / "out.png"), expected)
    assert not np.array_equal(expected, upscale(image, 2, method="espcn", precision="fp32"))
    with pytest.raises(SystemExit):
        main(["upscale", str(tmp_path / "in.png"), str(tmp_path / "o.png"), "--precision", "fp16"])
