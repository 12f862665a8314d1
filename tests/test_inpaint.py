import numpy as np
import pytest
from skimage import data

from napari_superres import inpaint, missing_mask, psnr


def test_biharmonic_fills_holes_and_keeps_known_pixels_exactly(dropped):
    clean, mask = dropped
    damaged = np.where(mask, 0, clean).astype(np.uint8)
    out = inpaint(damaged, mask)
    assert out.dtype == np.uint8 and out.shape == clean.shape
    np.testing.assert_array_equal(out[~mask], clean[~mask])
    assert psnr(clean, out, data_range=255) > psnr(clean, damaged, data_range=255) + 10


def test_nan_pixels_are_the_mask_by_default(dropped):
    clean, mask = dropped
    image = np.where(mask, np.nan, clean / 255.0)
    out = inpaint(image)
    assert out.dtype == np.float64 and np.isfinite(out).all()
    np.testing.assert_array_equal(out[~mask], image[~mask])
    assert psnr(clean / 255.0, out, data_range=1.0) > 28


def test_a_sentinel_value_marks_missing_pixels_in_uint16_rgb(astronaut_small):
    image = astronaut_small.astype(np.uint16) * 100 + 1  # no genuine zero anywhere
    image[10:20, 30:40] = 0  # every channel of the block is "dead"
    out = inpaint(image, channel_axis=-1, missing_value=0)
    assert out.dtype == np.uint16 and out.shape == image.shape
    assert (out[10:20, 30:40] > 0).all()
    np.testing.assert_array_equal(out[:10], image[:10])
    assert missing_mask(image, 0, channel_axis=-1).sum() == 100


def test_stack_with_a_mask_per_plane(camera_small):
    stack = np.stack([camera_small, camera_small[::-1]])
    mask = np.zeros(stack.shape, bool)
    mask[1, 5:9, 5:9] = True  # only the second plane has a hole
    out = inpaint(np.where(mask, 255, stack).astype(np.uint8), mask)
    np.testing.assert_array_equal(out[0], stack[0])
    assert np.abs(out[1, 5:9, 5:9].astype(int) - stack[1, 5:9, 5:9]).mean() < 30


@pytest.mark.parametrize("nan", [np.nan, np.float16("nan"), np.float32("nan"), np.float64("nan"), float("nan")])
def test_a_nan_of_any_float_type_marks_missing_pixels(dropped, nan):
    clean, mask = dropped
    image = np.where(mask, np.nan, clean / 255.0).astype(np.float32)
    np.testing.assert_array_equal(missing_mask(image, nan), mask)
    assert np.isfinite(inpaint(image, missing_value=nan)).all()


def test_dip_inpainting_runs_and_keeps_known_pixels(dropped):
    clean, mask = dropped
    out = inpaint(np.where(mask, 0, clean).astype(np.uint8), mask, method="dip", iterations=5)
    np.testing.assert_array_equal(out[~mask], clean[~mask])


@pytest.mark.parametrize(
    ("image", "kwargs", "error", "match"),
    [
        (np.ones((8, 8)), {}, ValueError, "nothing to inpaint"),
        (np.ones((8, 8)), {"method": "magic", "mask": np.eye(8)}, ValueError, "choose one of"),
        (np.ones((8, 8)), {"mask": np.ones((8, 8))}, ValueError, "every pixel"),
        (np.ones((8, 8)), {"mask": np.eye(4)}, ValueError, "matches neither"),
        (np.where(np.eye(8) > 0, np.nan, 1.0), {"mask": np.eye(8)[::-1]}, ValueError, "NaN"),
        (np.ones((8, 8)), {"mask": np.eye(8), "iterations": 3}, TypeError, "only dip"),
        (np.array([1.0, np.nan, 3.0]), {}, ValueError, "two spatial axes"),
        (np.array([[1.0, np.nan, 3.0]]), {"channel_axis": 0}, ValueError, "two spatial axes"),
        (np.ones((0, 8)), {"mask": np.zeros((0, 8))}, ValueError, "empty"),
        (np.ones((8, 8), bool), {"mask": np.eye(8)}, TypeError, "convert it to uint8"),
    ],
)
def test_bad_inputs_are_refused(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        inpaint(image, **kwargs)


def test_a_trained_network_fills_only_the_holes(register_untrained):
    from napari_superres import available_inpainters
    from napari_superres.train import free_form_mask

    method = register_untrained("gatedunet", "tinyholes", {"features": 4, "depth": 2}, channels=3, task="inpaint")
    assert method in available_inpainters()
    image = data.astronaut()[:70, :90]
    mask = free_form_mask(image.shape[:2], np.random.default_rng(0), (0.2, 0.3))
    out = inpaint(image, mask, method=method, channel_axis=-1)
    assert out.shape == image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(out[~mask], image[~mask])
    gray = inpaint(image[..., 0].astype(np.uint16), mask, method=method)  # gray goes in as three equal channels
    assert gray.dtype == np.uint16 and np.array_equal(gray[~mask], image[..., 0][~mask])
    with pytest.raises(TypeError, match="only device"):
        inpaint(image, mask, method=method, channel_axis=-1, iterations=3)


def test_free_form_masks_cover_what_they_are_asked():
    from napari_superres.train import free_form_mask

    rng = np.random.default_rng(0)
    covers = [free_form_mask((96, 128), rng, (0.1, 0.5)).mean() for _ in range(20)]
    assert 0.1 <= min(covers) and max(covers) < 0.75 and np.std(covers) > 0.05


def test_hole_batches_are_the_large_holes_auto_gives_the_network():
    from napari_superres import plan_holes
    from napari_superres.train import HoleSampler
    from napari_superres.train.holes import LARGE_HOLE_FAMILIES

    sampler = HoleSampler([data.astronaut()], 128, 8, seed=0)
    drawn, masks = [], []
    for _ in range(5):
        inputs, targets = sampler.sample()
        batch = targets[:, -1].numpy().astype(bool)
        np.testing.assert_array_equal(inputs[:, -1].numpy(), batch)
        np.testing.assert_array_equal(inputs[:, :3].numpy(), (targets[:, :3] * (1 - targets[:, -1:])).numpy())
        drawn += sampler.drawn
        masks += list(batch)
    assert sorted(set(drawn)) == sorted(LARGE_HOLE_FAMILIES)
    for mask in masks:  # never scattered drops or text only: every mask has a hole auto gives the network
        assert "net" in plan_holes(mask, large_holes="net").methods and mask.mean() <= 0.6

    def corners(mask):
        """2 x 2 windows with 1 or 3 pixels missing: 4 a rectangle, many along a curved or slanted edge."""
        missing = mask[:-1, :-1].astype(int) + mask[1:, :-1] + mask[:-1, 1:] + mask[1:, 1:]
        return int(np.isin(missing, (1, 3)).sum())

    by_family = {family: [corners(m) for f, m in zip(drawn, masks, strict=True) if f == family] for family in drawn}
    assert max(by_family["boxes"]) <= 20 < min(by_family["blobs"] + by_family["brush strokes"])


def test_the_hole_loss_weighs_the_hole_and_a_band_along_its_edge():
    import torch

    from napari_superres.train import HoleObjective
    from napari_superres.train.objectives import HOLE_LOSS_WEIGHTS

    clean = torch.zeros(1, 3, 32, 32)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    objective = HoleObjective(HOLE_LOSS_WEIGHTS)

    def loss_of_an_error_at(y, x):
        output = clean.clone()
        output[..., y, x] = 1
        return objective.generator_loss(output, torch.cat([clean, mask], dim=1)).item()

    far, ring, rim, deep = (loss_of_an_error_at(*p) for p in [(1, 1), (6, 12), (9, 12), (16, 16)])
    band = HOLE_LOSS_WEIGHTS["l1_hole_border"]
    assert deep / far == pytest.approx(HOLE_LOSS_WEIGHTS["l1_holes"]) and band > 0
    assert ring / far == pytest.approx(1 + band)  # known pixels 2 from the edge
    assert rim / far == pytest.approx(HOLE_LOSS_WEIGHTS["l1_holes"] + band)  # hole pixels 2 from it


def test_the_inpainter_fine_tunes_from_weights_through_the_command_line(image_folders, register_untrained, tmp_path,
                                                                        capsys):
    import json
    import re

    from napari_superres.cli import main
    from napari_superres.train.objectives import HOLE_LOSS_WEIGHTS

    register_untrained("gatedunet", "tinyholes", {"features": 4, "depth": 2}, channels=3, task="inpaint")
    run = tmp_path / "run"
    main(["train", "gatedunet", "--scale", "1", "--channels", "3", "--data", str(image_folders / "train"),
          "--val", str(image_folders / "val"), "--out", str(run), "--steps", "3", "--batch-size", "2",
          "--lr-patch", "32", "--config", "features=4,depth=2", "--val-every", "3",
          "--init", str(tmp_path / "tinyholes.safetensors")])
    assert re.search(r"initialised (\d+)/\1 tensors", capsys.readouterr().out)  # every tensor from --init
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [3] and np.isfinite(log[0]["loss"]) and np.isfinite(log[0]["val_psnr"])
    main(["export", str(run), "--name", "holes", "--weights-dir", str(tmp_path / "out")])
    card = json.loads((tmp_path / "out" / "holes.json").read_text())
    assert card["training"]["losses"] == HOLE_LOSS_WEIGHTS
    assert card["training"]["init"].endswith("tinyholes.safetensors")
    assert all(family in card["training"]["pairs"] for family in ("brush strokes", "boxes", "blobs"))


def scratches_and_a_box(shape=(96, 96)):
    """Two thin scratches (1 and 3 pixels wide), a few scattered pixels and a 40 x 40 box, as a mask."""
    mask = np.zeros(shape, bool)
    mask[8, 4:90] = True
    mask[60:90, 10:13] = True
    mask[[2, 30, 92], [60, 2, 93]] = True
    mask[40:80, 40:80] = True
    return mask


def test_auto_plan_gives_thin_holes_to_biharmonic_and_a_big_box_to_the_large_hole_method():
    from napari_superres import plan_holes

    mask = scratches_and_a_box()
    plan = plan_holes(mask, large_holes="somenet")
    by_hole = {tuple(np.argwhere(plan.labels == i + 1)[0]): (depth, method)
               for i, (depth, method) in enumerate(zip(plan.depths, plan.methods, strict=True))}
    assert by_hole[(8, 4)] == (1.0, "biharmonic")  # the 1-pixel scratch
    assert by_hole[(60, 10)] == (2.0, "biharmonic")  # the 3-pixel one
    assert by_hole[(40, 40)] == (20.0, "somenet")  # the box
    assert sorted(plan.methods).count("biharmonic") == 5
    np.testing.assert_array_equal(plan.mask_of("somenet"), mask & (plan.labels == plan.labels[40, 40]))
    assert plan_holes(np.zeros((8, 8), bool)).methods == ()


def test_auto_mixes_the_network_into_large_holes_only_and_keeps_dtype(register_untrained):
    from napari_superres.inpaint import large_hole_weights

    method = register_untrained("gatedunet", "tinyholes", {"features": 4, "depth": 2}, channels=3, task="inpaint")
    image = data.astronaut()[100:196, 180:276].astype(np.uint16) * 200
    mask = scratches_and_a_box()
    large = np.zeros_like(mask)
    large[40:80, 40:80] = True
    auto = inpaint(image, mask, method="auto", channel_axis=-1, large_holes=method)
    smooth = inpaint(image, mask, method="biharmonic", channel_axis=-1)
    deep = inpaint(image, mask, method=method, channel_axis=-1)
    assert auto.dtype == np.uint16 and auto.shape == image.shape
    assert image.min() <= auto.min() and auto.max() <= image.max()
    np.testing.assert_array_equal(auto[~mask], image[~mask])
    np.testing.assert_array_equal(auto[mask & ~large], smooth[mask & ~large])
    weight = large_hole_weights(mask)
    assert weight[40, 40] == pytest.approx(0.34) and weight[60, 60] == pytest.approx(0.7)  # rim to core
    assert not weight[~mask].any()
    mean = smooth[large] + weight[large][:, None] * (deep[large].astype(float) - smooth[large])
    assert np.abs(auto[large] - mean).max() <= 0.5
    assert not np.array_equal(auto[large], smooth[large])


def test_auto_with_scattered_holes_only_or_no_network_is_biharmonic(dropped):
    clean, mask = dropped
    image = np.where(mask, np.nan, clean / 255.0).astype(np.float32)
    smooth = inpaint(image, method="biharmonic")
    np.testing.assert_array_equal(inpaint(image, method="auto"), smooth)  # no hole is large: no network loaded
    box = scratches_and_a_box()
    gray = data.camera()[:96, :96]
    np.testing.assert_array_equal(inpaint(gray, box, method="auto", large_holes="biharmonic"),
                                  inpaint(gray, box, method="biharmonic"))


def test_auto_lets_dip_fill_large_holes_when_time_is_allowed(camera_small):
    from napari_superres._fitting import FitStep
    from napari_superres.inpaint import iter_inpaint

    mask = np.zeros(camera_small.shape, bool)
    mask[20:44, 20:44] = True
    mask[4, :] = True
    steps = iter_inpaint(camera_small, mask, method="auto", large_holes="dip", iterations=3, preview_every=0)
    progress = []
    while True:
        try:
            progress.append(next(steps))
        except StopIteration as done:
            out = done.value
            break
    assert [s.iteration for s in progress if isinstance(s, FitStep)] == [1, 2, 3]
    assert all(0 <= (s.fraction if isinstance(s, FitStep) else s) <= 1 for s in progress)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out[~mask], camera_small[~mask])
    np.testing.assert_array_equal(out[4], inpaint(camera_small, mask, method="biharmonic")[4])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"method": "auto", "large_holes": "magic"}, ValueError, "large-hole method"),
        ({"method": "auto", "large_holes": "auto"}, ValueError, "large-hole method"),
        ({"method": "biharmonic", "large_holes": "dip"}, TypeError, "only dip"),
        ({"method": "auto", "large_holes": "biharmonic", "iterations": 3}, TypeError, "only dip"),
    ],
)
def test_auto_refuses_bad_large_hole_choices(kwargs, error, match):
    with pytest.raises(error, match=match):
        inpaint(np.ones((8, 8)), np.eye(8), **kwargs)
