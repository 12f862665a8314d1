"""The command line keeps a Noise2Void model (--save-model) and applies it to another file (--method CARD)."""

import numpy as np
import pytest

from napari_superres.cli import main
from napari_superres.io import read_image, write_image
from napari_superres.noise2void import apply_noise2void, read_noise2void_card


def test_save_then_apply_a_noise2void_model(tmp_path, noisy_camera):
    noisy = noisy_camera[1]
    write_image(tmp_path / "a.tif", noisy[:48, :48])
    write_image(tmp_path / "b.tif", noisy[16:, 16:])
    main(["denoise", str(tmp_path / "a.tif"), str(tmp_path / "a_out.tif"), "--method", "n2v", "--iterations", "3",
          "--save-model", str(tmp_path / "models" / "cam")])
    assert read_noise2void_card(tmp_path / "models" / "cam.json")["training"]["iterations"] == 3
    main(["denoise", str(tmp_path / "b.tif"), str(tmp_path / "b_out.tif"), "--method",
          str(tmp_path / "models" / "cam.json")])
    np.testing.assert_array_equal(read_image(tmp_path / "b_out.tif"),
                                  apply_noise2void(noisy[16:, 16:], tmp_path / "models" / "cam.json"))


def test_save_model_needs_n2v(tmp_path, noisy_camera):
    write_image(tmp_path / "a.tif", noisy_camera[1][:32, :32])
    with pytest.raises(SystemExit, match="it needs --method n2v, not tv"):
        main(["denoise", str(tmp_path / "a.tif"), str(tmp_path / "o.tif"), "--method", "tv", "--save-model",
              str(tmp_path / "m")])
    assert not (tmp_path / "m.json").exists()
