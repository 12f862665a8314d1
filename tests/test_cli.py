import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_superres import imresize
from napari_superres.cli import main
from napari_superres.io import read_image, write_image


def test_sample_then_upscale_png(tmp_path, capsys):
    lr, out = tmp_path / "lr.png", tmp_path / "sr.png"
    main(["sample", str(lr)])
    main(["upscale", str(lr), str(out), "--scale", "4", "--method", "espcn"])
    image = read_image(out)
    assert image.shape == (512, 512, 3) and image.dtype == np.uint8
    assert "100%" in capsys.readouterr().err  # the progress bar ran to the end


def test_refuses_to_overwrite(tmp_path):
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    write_image(src, np.zeros((8, 8), np.uint8))
    dst.write_bytes(b"precious")
    with pytest.raises(SystemExit, match="--overwrite"):
        main(["upscale", str(src), str(dst), "--scale", "2"])
    assert dst.read_bytes() == b"precious"
    main(["upscale", str(src), str(dst), "--scale", "2", "--overwrite"])
    assert read_image(dst).shape == (16, 16)


def test_uint16_tiff_stack_round_trip(tmp_path):
    stack = (np.arange(3 * 10 * 12).reshape(3, 10, 12) * 50).astype(np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", stack, photometric="minisblack", resolution=(2.0, 4.0),
                     resolutionunit="CENTIMETER")
    main(["upscale", str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), "--scale", "3", "--method", "bilinear"])
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        out = tif.asarray()
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.MINISBLACK  # a stack, not RGB
        # The physical size is kept: three times the pixels per centimetre.
        assert tif.pages[0].resolution == pytest.approx((6.0, 12.0))
        assert tif.pages[0].resolutionunit == tifffile.RESUNIT.CENTIMETER
    assert out.shape == (3, 30, 36) and out.dtype == np.uint16
    np.testing.assert_array_equal(out[:, 1::3, 1::3], stack)  # bilinear keeps the old samples


def test_float_scale_matches_api(tmp_path):
    image = imresize(np.random.default_rng(1).random((20, 20)), 1)
    tifffile.imwrite(tmp_path / "in.tif", image.astype(np.float32))
    main(["upscale", str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), "--scale", "2.5"])
    assert tifffile.imread(tmp_path / "out.tif").shape == (50, 50)


def test_bad_method_is_a_clean_error(tmp_path):
    write_image(tmp_path / "in.png", np.zeros((8, 8), np.uint8))
    with pytest.raises(SystemExit, match="unknown method"):
        main(["upscale", str(tmp_path / "in.png"), str(tmp_path / "o.png"), "--method", "nope"])
    assert not (tmp_path / "o.png").exists()


def test_console_script_lists_methods():
    out = subprocess.run(["napari-superres", "methods"], capture_output=True, text=True, check=True).stdout
    assert "bicubic" in out and "espcn" in out


def test_core_never_imports_qt():
    code = (
        "import sys, napari_superres, napari_superres.cli, napari_superres.train, napari_superres.io\n"
        "napari_superres.upscale(napari_superres._sample_data.low_resolution_astronaut(), 4, method='espcn',"
        " channel_axis=-1)\n"
        "napari_superres.fit_dip(napari_superres._sample_data.low_resolution_astronaut(), iterations=1,"
        " channel_axis=-1)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'qtpy',"
        " 'napari', 'magicgui', 'vispy')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", "import napari_superres._sample_data\n" + code], check=True)


def test_manifest_is_valid_and_imports():
    from npe2 import PluginManifest

    manifest = PluginManifest.from_distribution("napari-superres")
    manifest.validate_imports()
    assert [w.display_name for w in manifest.contributions.widgets] == ["Super-resolution", "Deep Image Prior",
                                                                          "Denoise", "Deblur / JPEG", "Inpaint",
                                                                          "Colorize",
                                                                          "Deep Video Prior", "Models", "Quality",
                                                                          "Train (Noise2Void)",
                                                                          "Train (super-resolution)"]
    assert manifest.contributions.sample_data[0].key == "astronaut_lowres"


def test_sample_data_is_the_x4_matlab_bicubic_astronaut():
    from skimage import data

    from napari_superres._sample_data import make_sample_data

    (image, meta, kind), = make_sample_data()
    assert kind == "image" and meta["rgb"]
    np.testing.assert_array_equal(image, imresize(data.astronaut(), 0.25, channel_axis=-1))


def test_dip_inpaints_a_file_with_a_mask_file(tmp_path, capsys, astronaut_small):
    src, mask, out = tmp_path / "in.png", tmp_path / "mask.png", tmp_path / "out.png"
    holes = np.zeros(astronaut_small.shape[:2], np.uint8)
    holes[5:15, 20:40] = 255
    write_image(src, astronaut_small)
    write_image(mask, holes)
    with pytest.raises(SystemExit, match="needs --mask"):
        main(["dip", str(src), str(out), "--task", "inpaint"])
    main(["dip", str(src), str(out), "--task", "inpaint", "--mask", str(mask), "--iterations", "3"])
    result = read_image(out)
    assert result.shape == astronaut_small.shape
    np.testing.assert_array_equal(result[holes == 0], astronaut_small[holes == 0])
    assert "100%" in capsys.readouterr().err


def test_dip_deblurs_a_file_through_the_chosen_blur(tmp_path, camera_small):
    from napari_superres import fit_dip
    from napari_superres.blur import motion_kernel

    src, out = tmp_path / "in.png", tmp_path / "out.png"
    write_image(src, camera_small)
    main(["dip", str(src), str(out), "--task", "deblur", "--blur", "motion", "--blur-size", "5", "--angle", "30",
          "--iterations", "3", "--device", "cpu"])
    expected = fit_dip(camera_small, "deblur", kernel=motion_kernel(5, 30), iterations=3, device="cpu")
    np.testing.assert_allclose(read_image(out), expected, atol=1)


def test_batch_over_a_folder_continues_past_a_bad_file(tmp_path, capsys, camera_small):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    write_image(src / "a.png", camera_small)
    (src / "b.png").write_bytes(b"not a png at all")
    tifffile.imwrite(src / "c.tif", camera_small.astype(np.uint16) * 100)
    (src / "notes.txt").write_text("ignored: not an image")
    with pytest.raises(SystemExit) as failed:
        main(["upscale", str(src), str(dst), "--scale", "2"])
    assert "b.png" in str(failed.value.code) and "a.png" not in str(failed.value.code)
    assert "2 of 3 images done" in capsys.readouterr().out
    assert read_image(dst / "a.png").shape == (128, 128)
    with tifffile.TiffFile(dst / "c.tif") as tif:
        assert tif.asarray().dtype == np.uint16
        record = tif.shaped_metadata[0]
        assert record["napari_superres"] and record["source"].endswith("c.tif") and record["scale"] == 2
        assert record["task"] == "upscale" and record["method"] == "bicubic" and "model" not in record
    assert not (dst / "b.png").exists()


def test_a_learned_model_writes_its_weights_hash_into_the_tiff(tmp_path, camera_small):
    from napari_superres.models import find_model

    tifffile.imwrite(tmp_path / "in.tif", camera_small)
    main(["upscale", str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), "--scale", "2", "--method", "edsr"])
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        record = tif.shaped_metadata[0]
    assert record["model"]["weights_sha256"] == find_model("edsr", 2).sha256 and record["device"] == "cpu"


def test_denoise_a_uint16_tiff_stack_with_noise2void(tmp_path, camera_small):
    src, out = tmp_path / "stack.tif", tmp_path / "clean.tif"
    rng = np.random.default_rng(0)
    stack = (np.stack([camera_small] * 4).astype(np.float64) * 100 + rng.normal(0, 1000, (4, 64, 64)))
    tifffile.imwrite(src, np.clip(stack, 0, 65535).astype(np.uint16), photometric="minisblack")
    main(["denoise", str(src), str(out), "--method", "n2v", "--iterations", "5", "--volumetric"])
    result = read_image(out)
    assert result.shape == (4, 64, 64) and result.dtype == np.uint16
    main(["denoise", str(src), str(tmp_path / "tv.tif"), "--method", "tv", "--sigma", "1000"])
    assert read_image(tmp_path / "tv.tif").std() < read_image(src).std()


def test_inpaint_fills_nan_pixels_of_a_float_tiff(tmp_path, camera_small):
    src, out = tmp_path / "holes.tif", tmp_path / "filled.tif"
    image = camera_small.astype(np.float32)
    image[10:20, 10:20] = np.nan
    tifffile.imwrite(src, image)
    main(["inpaint", str(src), str(out)])
    result = read_image(out)
    assert result.dtype == np.float32 and np.isfinite(result).all()
    np.testing.assert_array_equal(result[30:], image[30:])


def test_value_range_reaches_a_learned_model_and_the_record(tmp_path, camera_small):
    from napari_superres import upscale

    image = camera_small.astype(np.float32)
    image[0, 0] = 400.0  # one outlier: the image's own max is no longer white
    tifffile.imwrite(tmp_path / "in.tif", image)
    main(["upscale", str(tmp_path / "in.tif"), str(tmp_path / "out.tif"), "--scale", "2", "--method", "espcn",
          "--value-range", "0", "255"])
    with tifffile.TiffFile(tmp_path / "out.tif") as tif:
        record = tif.shaped_metadata[0]
    assert record["settings"]["value_range"] == [0.0, 255.0]
    expected = upscale(image, 2, method="espcn", value_range=(0, 255))
    np.testing.assert_array_equal(read_image(tmp_path / "out.tif"), expected)
    assert np.abs(expected - upscale(image, 2, method="espcn")).max() > 1
