import io

import numpy as np
import pytest
from PIL import Image
from skimage import data

from napari_superres import available_jpeg_methods, iter_remove_jpeg_artifacts, psnr, remove_jpeg_artifacts


def jpeg(image, quality):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


def test_methods_and_wrong_calls(register_untrained):
    register_untrained("dncnn", "tinyjpeg", {"features": 4, "depth": 3}, task="jpeg", input="gray")
    register_untrained("dncnn", "tinyblind", {"features": 4, "depth": 3}, task="deblur", input="gray")
    methods = available_jpeg_methods()
    assert "tinyjpeg" in methods and methods[-1] == "dip" and "tinyblind" not in methods
    image = data.camera()[:32, :32]
    with pytest.raises(ValueError, match="unknown JPEG artefact removal method 'tinyblind'"):
        iter_remove_jpeg_artifacts(image, method="tinyblind")
    with pytest.raises(TypeError, match="takes only device"):
        iter_remove_jpeg_artifacts(image, method="tinyjpeg", iterations=3)
    with pytest.raises(ValueError, match="tile"):
        iter_remove_jpeg_artifacts(image, method="tinyjpeg", tile=3)


def test_dtype_range_and_channel_axis_are_kept(astronaut_small, register_untrained):
    register_untrained("dncnn", "tinyjpeg", {"features": 4, "depth": 3, "unshuffle": 2}, task="jpeg", input="gray")
    decoded = jpeg(astronaut_small[:63, :61], 20)  # odd sides: the unshuffling model's grid is padded to
    channels_first = np.moveaxis(decoded, -1, 0)
    out = remove_jpeg_artifacts(channels_first, method="tinyjpeg", channel_axis=0, device="cpu")
    assert out.shape == channels_first.shape and out.dtype == np.uint8
    as_uint16 = channels_first.astype(np.uint16) * 257
    out16 = remove_jpeg_artifacts(as_uint16, method="tinyjpeg", channel_axis=0, device="cpu")
    assert out16.dtype == np.uint16 and np.abs(out16.astype(int) - out.astype(int) * 257).max() <= 2 * 257
    tiled = remove_jpeg_artifacts(channels_first, method="tinyjpeg", channel_axis=0, device="cpu", tile=16)
    assert np.abs(tiled.astype(int) - out).max() <= 1  # tiles with the model's halo: the untiled result


def test_dip_removes_jpeg_artifacts_through_the_same_call():
    decoded = jpeg(data.camera()[:32, :32], 10)
    out = remove_jpeg_artifacts(decoded, method="dip", iterations=3, preview_every=0, device="cpu")
    assert out.shape == decoded.shape and out.dtype == np.uint8


@pytest.mark.parametrize("quality", [10, 30])
def test_the_shipped_model_beats_the_jpeg_it_is_given(quality):
    clean = data.camera()[100:228, 100:228]  # not trained on: the tests' images are left out of training
    decoded = jpeg(clean, quality)
    out = remove_jpeg_artifacts(decoded, method="dncnn_jpeg", device="cpu")
    assert psnr(clean, out, data_range=255) > psnr(clean, decoded, data_range=255) + 0.5


def test_the_command_line_runs_a_trained_model_on_a_file(tmp_path, register_untrained):
    import imageio.v3 as iio

    from napari_superres.cli import main

    register_untrained("dncnn", "tinyjpeg", {"features": 4, "depth": 3}, task="jpeg", input="gray")
    iio.imwrite(tmp_path / "in.png", jpeg(data.astronaut()[:48, :40], 15))
    main(["jpeg", str(tmp_path / "in.png"), str(tmp_path / "out.png"), "--method", "tinyjpeg", "--device", "cpu"])
    out = iio.imread(tmp_path / "out.png")
    assert out.shape == (48, 40, 3) and out.dtype == np.uint8
