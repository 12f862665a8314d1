"""Command line for a first-time user: outputs checked before any work, help, version, progress, Ctrl-C, ETA."""

import sys

import numpy as np
import pytest

from napari_superres.cli import main
from napari_superres.io import read_image, write_image


@pytest.fixture
def no_compute(monkeypatch):
    """Make any upscaling fail the test: a refusal must come before the work."""
    import importlib

    def computed(*args, **kwargs):
        raise AssertionError("computed before the output was checked")

    monkeypatch.setattr(importlib.import_module("napari_superres.upscale"), "iter_upscale", computed)


@pytest.fixture
def small_png(tmp_path):
    path = tmp_path / "in.png"
    write_image(path, np.arange(64, dtype=np.uint8).reshape(8, 8))
    return path


def test_an_output_in_a_missing_folder_is_refused_before_any_work(tmp_path, small_png, no_compute):
    with pytest.raises(SystemExit, match="the folder .*nodir does not exist"):
        main(["upscale", str(small_png), str(tmp_path / "nodir" / "x.png"), "--method", "espcn"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/sys refuses new files on Linux, even to root")
def test_an_output_folder_that_refuses_files_is_refused_before_any_work(small_png, no_compute):
    with pytest.raises(SystemExit, match="cannot write into the folder /sys"):
        main(["upscale", str(small_png), "/sys/x.png", "--method", "espcn"])


def test_an_unknown_suffix_is_refused_before_any_work(tmp_path, small_png, no_compute):
    with pytest.raises(SystemExit, match="suffix names its format"):
        main(["upscale", str(small_png), str(tmp_path / "x.gif")])


def test_the_input_is_never_its_own_output_even_with_overwrite(small_png, no_compute):
    before = small_png.read_bytes()
    with pytest.raises(SystemExit, match="it is the input"):
        main(["upscale", str(small_png), str(small_png.parent / "." / small_png.name), "--overwrite"])
    assert small_png.read_bytes() == before


def test_a_mask_is_never_the_output(tmp_path, small_png):
    mask = tmp_path / "mask.png"
    write_image(mask, np.zeros((8, 8), np.uint8))
    with pytest.raises(SystemExit, match="it is the input"):
        main(["inpaint", str(small_png), str(mask), "--mask", str(mask), "--overwrite"])


def test_a_batch_refuses_every_clash_before_the_first_image(tmp_path, no_compute):
    source, target = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    target.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        write_image(source / name, np.zeros((8, 8), np.uint8))
    (target / "c.png").write_bytes(b"precious")
    with pytest.raises(SystemExit) as refused:
        main(["upscale", str(source), str(target), "--scale", "2"])
    assert "nothing done" in str(refused.value.code) and "c.png exists" in str(refused.value.code)
    assert sorted(p.name for p in target.iterdir()) == ["c.png"]


def test_a_batch_into_its_own_folder_is_refused(tmp_path, no_compute):
    write_image(tmp_path / "a.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(SystemExit, match="it is the input"):
        main(["upscale", str(tmp_path), str(tmp_path), "--overwrite"])


def test_a_batch_makes_its_output_folder_and_counts_its_images(tmp_path, small_png, capsys):
    main(["upscale", str(small_png.parent), str(tmp_path / "new" / "out"), "--scale", "2"])
    assert read_image(tmp_path / "new" / "out" / "in.png").shape == (16, 16)
    assert "bicubic x2, image 1/1" in capsys.readouterr().err


def _subparsers(parser):
    """Every (sub-)command's parser, nested ones included, by their full name."""
    import argparse

    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found[name] = sub
                found.update({f"{name} {inner}": p for inner, p in _subparsers(sub).items()})
    return found


def test_every_option_has_help_and_says_its_default():
    import argparse

    from napari_superres.cli.arguments import _parser

    unsaid = []
    for name, parser in _subparsers(_parser()).items():
        formatter = parser._get_formatter()
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            help = formatter._get_help_string(action)
            has_default = action.default not in (None, False, {}, []) and action.option_strings
            if not help or (has_default and "default" not in help):
                unsaid.append(f"{name} {action.dest}: {help!r}")
    assert not unsaid


def test_train_help_lists_every_architecture(capsys):
    from napari_superres.models.catalog import CONTRACTS

    with pytest.raises(SystemExit) as done:
        main(["train", "--help"])
    shown = capsys.readouterr().out
    assert done.value.code == 0 and all(name in shown for name in CONTRACTS)
    assert "(default: 20000)" in shown  # --steps


def test_version(capsys):
    from napari_superres import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"napari-superres {__version__}"


def test_colorize_colours_a_gray_file_with_an_rgba_hints_file(tmp_path, tiny_colorizer):
    import tifffile

    gray, hints = tmp_path / "gray.png", tmp_path / "hints.png"
    write_image(gray, np.tile(np.arange(0, 256, 8, dtype=np.uint8), (24, 1)))
    marks = np.zeros((24, 32, 4), np.uint8)
    marks[4:8, 4:8] = (255, 128, 0, 255)
    write_image(hints, marks)
    main(["colorize", str(gray), str(tmp_path / "rgb.tif"), "--hints", str(hints), "--method", tiny_colorizer])
    with tifffile.TiffFile(tmp_path / "rgb.tif") as tif:
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.RGB
        assert tif.asarray().shape == (24, 32, 3)
        assert tif.shaped_metadata[0]["task"] == "colorize" and tif.shaped_metadata[0]["settings"]["look"] == "natural"
    main(["colorize", str(gray), str(tmp_path / "vivid.tif"), "--method", tiny_colorizer, "--look", "vivid"])
    with tifffile.TiffFile(tmp_path / "vivid.tif") as tif:
        assert tif.shaped_metadata[0]["settings"]["look"] == "vivid"


def test_colorize_refuses_hints_without_alpha(tmp_path, tiny_colorizer):
    gray = tmp_path / "gray.png"
    write_image(gray, np.zeros((16, 16), np.uint8))
    write_image(tmp_path / "hints.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(SystemExit, match="RGBA"):
        main(["colorize", str(gray), str(tmp_path / "rgb.png"), "--hints", str(tmp_path / "hints.png"),
              "--method", tiny_colorizer])


def test_progress_is_counted_in_megapixels_not_percent_per_second(tmp_path, small_png, capsys):
    main(["upscale", str(small_png), str(tmp_path / "x.png"), "--scale", "2"])
    err = capsys.readouterr().err
    assert "%/s" not in err and "0.00/0.00 MP" in err and ("MP/s" in err or "s/MP" in err)


def test_a_fit_shows_iteration_loss_time_left_and_a_predicted_run_time(tmp_path, small_png, capsys):
    main(["denoise", str(small_png), str(tmp_path / "x.png"), "--method", "n2v", "--iterations", "8"])
    err = capsys.readouterr().err
    assert "iteration 8/8" in err and "loss " in err and " left" in err and "%/s" not in err
    prediction = [line for line in err.splitlines() if "measured on 5 warm-up iterations" in line]
    assert len(prediction) == 1 and "for 8 iterations" in prediction[0]


def test_estimate_predicts_and_writes_nothing(tmp_path, small_png, capsys):
    main(["dip", str(small_png), str(tmp_path / "x.png"), "--estimate"])
    out, err = capsys.readouterr()
    assert "at most" in err and "for 3000 iterations" in err and "nothing written" in out
    assert "iteration 6/3000" in err and "iteration 7/3000" not in err  # stopped after the warm-up
    assert not (tmp_path / "x.png").exists()


def test_crop_fits_and_writes_only_the_crop(tmp_path):
    import tifffile

    image = np.arange(20 * 30, dtype=np.uint16).reshape(20, 30)
    holes = np.zeros((20, 30), np.uint8)
    holes[10, 12] = 1
    tifffile.imwrite(tmp_path / "in.tif", image)
    write_image(tmp_path / "mask.png", holes)
    main(["inpaint", str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), "--mask", str(tmp_path / "mask.png"),
          "--crop", "8x6+10+7"])
    result = read_image(tmp_path / "out.tif")
    assert result.shape == (6, 8)
    known = holes[7:13, 10:18] == 0
    np.testing.assert_array_equal(result[known], image[7:13, 10:18][known])
    main(["denoise", str(tmp_path / "in.tif"), str(tmp_path / "centre.tif"), "--method", "n2v",
          "--iterations", "2", "--crop", "10"])
    assert read_image(tmp_path / "centre.tif").shape == (10, 10)


def test_a_crop_larger_than_the_image_is_refused(tmp_path, small_png):
    with pytest.raises(SystemExit, match="does not fit"):
        main(["dip", str(small_png), str(tmp_path / "x.png"), "--crop", "9x4"])


def test_quick_presets_reach_the_fit_and_its_record(tmp_path, small_png):
    import tifffile

    from napari_superres.noise2void import QUICK

    main(["denoise", str(small_png), str(tmp_path / "x.tif"), "--method", "n2v", "--quick", "--iterations", "3"])
    with tifffile.TiffFile(tmp_path / "x.tif") as tif:
        settings = tif.shaped_metadata[0]["settings"]
    assert settings["iterations"] == 3  # --iterations still applies
    assert all(settings[key] == value for key, value in QUICK.items() if key != "iterations")


def test_training_records_are_printed_with_the_time_left(capsys):
    from napari_superres.cli.progress import _training_log

    _training_log('{"step": 1000, "loss": 0.0213, "val_psnr": 30.5, "lr": 0.001, "sec_per_step": 0.25}', 20000)
    _training_log("loading images from ['x']", 20000)
    assert capsys.readouterr().out.splitlines() == [
        "step 1000/20000, loss 0.0213, validation 30.50 dB, 0.25 s/step, 1 h 19 min left",
        "loading images from ['x']"]


def test_ctrl_c_ends_with_one_line_and_status_130(tmp_path, small_png):
    import signal
    import subprocess
    import time

    command = ["napari-superres", "denoise", str(small_png), str(tmp_path / "x.png"), "--method", "n2v",
               "--iterations", "100000"]
    # A shell starts background jobs with SIGINT ignored, and children inherit that: the CLI is
    # started as from a terminal, with Ctrl-C's default action.
    running = subprocess.Popen(command, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = ""
    while "/100000" not in seen:  # the fit is under way: its bar counts iterations (redrawn when the bar likes)
        seen += running.stderr.read(1) or pytest.fail(f"ended before it was interrupted: {seen}")
    running.send_signal(signal.SIGINT)
    start = time.monotonic()
    try:
        seen += running.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        running.kill()
        pytest.fail(f"still running 60 s after Ctrl-C: {seen + running.communicate()[1]}")
    assert running.returncode == 130 and time.monotonic() - start < 60, seen
    assert "Traceback" not in seen and seen.rstrip().endswith("interrupted (Ctrl-C): nothing more written"), seen
    assert not (tmp_path / "x.png").exists()


def test_a_long_fit_is_told_of_quick_and_crop(tmp_path, small_png, capsys, monkeypatch):
    import napari_superres.cli.progress

    monkeypatch.setattr(napari_superres.cli.progress, "LONG_FIT_SECONDS", 0)
    main(["dip", str(small_png), str(tmp_path / "x.png"), "--estimate"])
    assert "--quick (and --crop) give a first look sooner" in capsys.readouterr().err
