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


def test_a_batch_makes_its_output_folder(tmp_path, small_png):
    main(["upscale", str(small_png.parent), str(tmp_path / "new" / "out"), "--scale", "2"])
    assert read_image(tmp_path / "new" / "out" / "in.png").shape == (16, 16)
