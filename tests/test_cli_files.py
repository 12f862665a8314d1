"""Command line and files: colour from the file's own metadata, safe outputs (umask, temporaries, SIGTERM), export."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict

import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from napari_superres.cli import main
from napari_superres.io import channel_axis_of, read_image, write_image

RNG = np.random.default_rng(0)
RGB_STACK = RNG.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
GRAY_ALPHA = RNG.integers(0, 256, (64, 64, 2), dtype=np.uint8)


def test_a_4d_rgb_tiff_stack_keeps_its_colours(tmp_path):
    tifffile.imwrite(tmp_path / "in.tif", RGB_STACK, photometric="rgb")
    main(["upscale", str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), "--scale", "2"])
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.series[0].shape == (4, 64, 64, 3) and tif.pages[0].photometric == tifffile.PHOTOMETRIC.RGB
    main(["denoise", str(tmp_path / "in.tif"), str(tmp_path / "tv.tif"), "--method", "tv", "--sigma", "5"])
    assert read_image(tmp_path / "tv.tif").shape == (4, 32, 32, 3)


def test_a_gray_alpha_png_keeps_its_two_channels(tmp_path):
    iio.imwrite(tmp_path / "in.png", GRAY_ALPHA)
    assert iio.immeta(tmp_path / "in.png")["mode"] == "LA"
    main(["upscale", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--scale", "2"])
    main(["upscale", str(tmp_path / "in.png"), str(tmp_path / "out.tif"), "--scale", "2"])
    assert iio.immeta(tmp_path / "out.png")["mode"] == "LA" and read_image(tmp_path / "out.png").shape == (128, 128, 2)
    assert read_image(tmp_path / "out.tif").shape == (128, 128, 2)
    assert channel_axis_of(tmp_path / "out.tif", (128, 128, 2)) == -1  # stored as samples, not 128 pages


def test_a_folder_batch_reads_each_files_colours(tmp_path):
    (tmp_path / "in").mkdir()
    tifffile.imwrite(tmp_path / "in" / "stack.tif", RGB_STACK, photometric="rgb")
    iio.imwrite(tmp_path / "in" / "la.png", GRAY_ALPHA)
    tifffile.imwrite(tmp_path / "in" / "gray.tif", RGB_STACK[..., 0], photometric="minisblack")
    main(["upscale", str(tmp_path / "in"), str(tmp_path / "out"), "--scale", "2", "--method", "nearest"])
    assert read_image(tmp_path / "out" / "stack.tif").shape == (4, 64, 64, 3)
    assert read_image(tmp_path / "out" / "la.png").shape == (128, 128, 2)
    assert read_image(tmp_path / "out" / "gray.tif").shape == (4, 64, 64)


@pytest.mark.parametrize("command", [["dip", "--iterations", "1"], ["inpaint", "--missing-value", "7"]])
def test_fitting_commands_read_colours_from_the_file(tmp_path, command):
    iio.imwrite(tmp_path / "in.png", GRAY_ALPHA[:16, :16])
    main([command[0], str(tmp_path / "in.png"), str(tmp_path / "out.tif"), *command[1:]])
    assert read_image(tmp_path / "out.tif").shape == (16, 16, 2)
    assert channel_axis_of(tmp_path / "out.tif", (16, 16, 2)) == -1  # fitted as one 2-channel image, kept so


def test_video_prior_reads_colours_from_the_frames_file(tmp_path):
    frames = RGB_STACK[:2, :16, :16]
    tifffile.imwrite(tmp_path / "frames.tif", frames, photometric="rgb")
    tifffile.imwrite(tmp_path / "processed.tif", frames, photometric="rgb")
    main(["video-prior", str(tmp_path / "frames.tif"), str(tmp_path / "processed.tif"), str(tmp_path / "out.tif"),
          "--epochs", "1"])
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        assert tif.series[0].shape == (2, 16, 16, 3) and tif.pages[0].photometric == tifffile.PHOTOMETRIC.RGB


def test_what_the_file_does_not_say_is_refused_until_channel_axis_says_it(tmp_path):
    zarr = pytest.importorskip("zarr")
    with pytest.warns(DeprecationWarning):  # tifffile's own default: 3 or 4 planes become planar RGB(A)
        tifffile.imwrite(tmp_path / "planes.tif", RGB_STACK[..., 0])
    with pytest.raises(SystemExit, match="--channel-axis -3 .* --channel-axis none"):
        main(["upscale", str(tmp_path / "planes.tif"), str(tmp_path / "out.tif"), "--scale", "2"])
    main(["upscale", str(tmp_path / "planes.tif"), str(tmp_path / "out.tif"), "--scale", "2", "--channel-axis", "none"])
    assert read_image(tmp_path / "out.tif").shape == (4, 64, 64)
    zarr.create_array(tmp_path / "in.zarr", shape=(5, 16, 3), dtype=np.uint8)[:] = 9
    with pytest.raises(SystemExit, match="does not say whether the last axis"):
        main(["upscale", str(tmp_path / "in.zarr"), str(tmp_path / "out.zarr"), "--scale", "2"])
    main(["upscale", str(tmp_path / "in.zarr"), str(tmp_path / "out.zarr"), "--scale", "2", "--channel-axis", "-1"])
    assert read_image(tmp_path / "out.zarr").shape == (10, 32, 3)
    assert channel_axis_of(tmp_path / "out.zarr", (10, 32, 3)) == -1  # the store says it from now on


def test_channel_axis_overrides_the_file(tmp_path, capsys):
    tifffile.imwrite(tmp_path / "in.tif", RGB_STACK, photometric="rgb")
    main(["upscale", str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), "--scale", "2", "--channel-axis", "none",
          "--method", "nearest"])
    assert read_image(tmp_path / "out.tif").shape == (4, 32, 64, 6)
    assert "warning" not in capsys.readouterr().err  # asked for: no advice to pass channel_axis=-1


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_outputs_follow_the_umask_as_open_would(tmp_path, umask):
    old = os.umask(umask)
    try:
        for name in ("a.png", "a.tif", "a.zarr"):
            write_image(tmp_path / name, np.zeros((8, 8), np.uint8))
    finally:
        os.umask(old)
    assert (tmp_path / "a.png").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "a.tif").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "a.zarr").stat().st_mode & 0o777 == 0o777 & ~umask


def test_a_long_output_name_is_written(tmp_path):
    name = "r" * 244 + ".tif"  # 248 characters: the temporary file beside it must not be longer than 255
    write_image(tmp_path / name, np.zeros((8, 8), np.uint8))
    assert read_image(tmp_path / name).shape == (8, 8) and os.listdir(tmp_path) == [name]


def _dead_pid():
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_a_write_removes_what_a_killed_write_of_the_same_output_left(tmp_path):
    write_image(tmp_path / "out.tif", np.zeros((8, 8), np.uint8))
    write_image(tmp_path / "other.tif", np.zeros((8, 8), np.uint8))
    from napari_superres.io import _temporary_tag

    dead, alive = _dead_pid(), os.getpid()
    killed = tmp_path / f"{_temporary_tag(tmp_path / 'out.tif')}{dead}-0a1b2c3d.tif"
    killed_zarr = tmp_path / f"{_temporary_tag(tmp_path / 'out.tif')}{dead}-0a1b2c3e.zarr"
    running = tmp_path / f"{_temporary_tag(tmp_path / 'out.tif')}{alive}-0a1b2c3f.tif"
    someone_elses = tmp_path / f"{_temporary_tag(tmp_path / 'other.tif')}{dead}-0a1b2c40.tif"
    for path in (killed, running, someone_elses):
        path.write_bytes(b"partial")
    (killed_zarr / "array.zarr").mkdir(parents=True)
    write_image(tmp_path / "out.tif", np.ones((8, 8), np.uint8), overwrite=True)
    assert not killed.exists() and not killed_zarr.exists()
    assert running.exists() and someone_elses.exists()  # a write under way; another output's leftovers


SIGTERM_DURING_WRITE = """
import os, signal, sys, time
import tifffile
from napari_superres.cli import main

def write_then_get_killed(path, *args, **kwargs):
    with open(path, "wb") as f:
        f.write(b"half an image")
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)

tifffile.imwrite = write_then_get_killed
main(["upscale", sys.argv[1], sys.argv[2], "--scale", "2"])
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_sigterm_during_a_write_leaves_no_partial_file(tmp_path):
    write_image(tmp_path / "in.png", np.zeros((8, 8), np.uint8))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SIGTERM_DURING_WRITE, str(tmp_path / "in.png"),
                           str(tmp_path / "out.tif")], capture_output=True, text=True, timeout=60)
    assert time.perf_counter() - start < 25, "SIGTERM did not end the command"
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert sorted(os.listdir(tmp_path)) == ["in.png"], "a partial or temporary file was left behind"


def test_the_sigterm_handler_is_restored(tmp_path):
    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, mine)
    try:
        main(["sample", str(tmp_path / "s.png")])
        assert signal.getsignal(signal.SIGTERM) is mine
    finally:
        signal.signal(signal.SIGTERM, previous)


# A PNG header of 20000 x 20000 one-bit pixels and no data: 65 bytes, 400 megapixels were Pillow to decode it.
BOMB_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200004e2000004e200100000000cb0b7b940000000849444154789c03"
                         "0000000001480689d20000000049454e44ae426082")


def test_a_cli_refusal_is_one_error_line_without_a_traceback(tmp_path):
    (tmp_path / "bomb.png").write_bytes(BOMB_PNG)
    done = subprocess.run(["napari-superres", "upscale", str(tmp_path / "bomb.png"), str(tmp_path / "o.png")],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line] == [done.stderr.strip()]
    assert done.stderr.startswith("error:") and "decodes safely" in done.stderr and not (tmp_path / "o.png").exists()


@pytest.fixture
def run(tmp_path):
    """A finished training run folder of a tiny ESPCN x2, as ``train`` leaves it."""
    import torch
    from safetensors.torch import save_file

    from napari_superres.models import ARCHITECTURES
    from napari_superres.train import TrainConfig

    folder = tmp_path / "run"
    folder.mkdir()
    cfg = TrainConfig(architecture="espcn", scale=2, train_dirs=["x"], out_dir=str(folder),
                      config={"features": 4, "hidden": 4})
    (folder / "config.json").write_text(json.dumps(asdict(cfg)))
    torch.manual_seed(0)
    save_file(ARCHITECTURES["espcn"](scale=2, features=4, hidden=4).state_dict(), str(folder / "best.safetensors"))
    (folder / "log.jsonl").write_text(json.dumps({"step": 5, "val_psnr": 20.0}) + "\n")
    (folder / "best.step").write_text("5")
    return folder


def test_export_replaces_a_model_only_with_overwrite(run, tmp_path):
    weights = tmp_path / "weights"
    main(["export", str(run), "--weights-dir", str(weights)])
    before = {p.name: p.read_bytes() for p in weights.iterdir()}
    assert sorted(before) == ["espcn_x2.json", "espcn_x2.safetensors"]
    (run / "best.safetensors").write_bytes((run / "best.safetensors").read_bytes()[:-4] + b"    ")
    with pytest.raises(SystemExit, match="espcn_x2.* --overwrite"):
        main(["export", str(run), "--weights-dir", str(weights)])
    assert {p.name: p.read_bytes() for p in weights.iterdir()} == before
    main(["export", str(run), "--weights-dir", str(weights), "--overwrite"])
    assert (weights / "espcn_x2.safetensors").read_bytes() == (run / "best.safetensors").read_bytes()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_DATA_HOME is where Linux keeps user data")
def test_export_goes_to_the_user_weights_folder_by_default(run, tmp_path, monkeypatch):
    from napari_superres.models import list_models

    checkout = tmp_path / "checkout"
    (checkout / "weights").mkdir(parents=True)
    monkeypatch.chdir(checkout)
    monkeypatch.delenv("NAPARI_SUPERRES_WEIGHTS", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    main(["export", str(run), "--name", "tiny_x2"])
    assert os.listdir(checkout / "weights") == []
    user = tmp_path / "data" / "napari-superres" / "weights"
    assert sorted(os.listdir(user)) == ["tiny_x2.json", "tiny_x2.safetensors"]
    assert list_models()["tiny_x2"].weights == user / "tiny_x2.safetensors"
