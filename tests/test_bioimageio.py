"""bioimage.io packages: what export writes, the round trip through import, refusals, and bioimageio.core's test."""

import json
import zipfile

import numpy as np
import pytest
import yaml
from skimage import data

from napari_superres import apply_noise2void, available_denoisers, available_methods, denoise, fit_noise2void, upscale
from napari_superres.bioimage_io import export_bioimageio, import_bioimageio
from napari_superres.models.bioimageio import LUMA_GAIN, LUMA_OFFSET, build_network
from napari_superres.models.importer import ImportRefused

PACKAGE_FILES = {"rdf.yaml", "README.md", "cover.png", "environment.yaml", "weights.pt", "weights_torchscript.pt",
                 "test_input.npy", "test_output.npy", "sample_input.tif", "sample_output.tif"}


@pytest.fixture
def weights_dir(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    folder.mkdir()
    monkeypatch.setenv("NAPARI_SUPERRES_WEIGHTS", str(folder))
    return folder


@pytest.fixture(scope="module")
def espcn_package(tmp_path_factory):
    return export_bioimageio("espcn_x2", tmp_path_factory.mktemp("bio") / "espcn_x2.zip")


@pytest.fixture(scope="module")
def noise2void_model(tmp_path_factory):
    rng = np.random.default_rng(0)
    clean = data.camera()[100:228, 200:328].astype(np.float32) * 8 + 200
    noisy = clean + rng.normal(0, 60, clean.shape).astype(np.float32)
    folder = tmp_path_factory.mktemp("n2v")
    fit_noise2void(noisy, iterations=3, features=8, depth=2, save_to=folder / "cells", seed=0)
    return folder / "cells.json", noisy


def read_package(path):
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return yaml.safe_load(files["rdf.yaml"]), files


def tensor(files, name):
    import io

    return np.load(io.BytesIO(files[name]))


def run_as_described(rdf, files, image):
    """The package's network with its pre- and postprocessing as the description says, in numpy and torch."""
    import io

    import torch

    entry = rdf["weights"]["pytorch_state_dict"]
    net = build_network(entry["architecture"], torch.load(io.BytesIO(files["weights.pt"]), weights_only=True))
    x = image.astype(np.float64)
    for step in rdf["inputs"][0]["preprocessing"]:
        kwargs = step["kwargs"]
        if step["id"] == "scale_range":
            x = (x - x.min()) / (x.max() - x.min())
        elif step["id"] == "scale_linear":
            x = x * kwargs["gain"] + kwargs["offset"]
        else:
            x = (x - np.reshape(kwargs["mean"], (1, -1, 1, 1))) / np.reshape(kwargs["std"], (1, -1, 1, 1))
    with torch.no_grad():
        y = net(torch.from_numpy(x.astype(np.float32))).numpy().astype(np.float64)
    for step in rdf["outputs"][0]["postprocessing"]:
        kwargs = step["kwargs"]
        if step["id"] == "clip":
            y = np.clip(y, kwargs["min"], kwargs["max"])
        else:
            gain, offset = (np.reshape(kwargs[k], (1, -1, 1, 1)) for k in ("gain", "offset"))
            y = y * gain + offset
    return y


def test_the_package_holds_its_files_and_describes_the_network(espcn_package):
    rdf, files = read_package(espcn_package)
    assert set(files) == PACKAGE_FILES
    assert rdf["format_version"].startswith("0.5.") and rdf["type"] == "model"
    architecture = rdf["weights"]["pytorch_state_dict"]["architecture"]
    assert architecture == {"callable": "ESPCN", "import_from": "napari_superres.models.espcn",
                            "kwargs": {"scale": 2, "channels": 1}}
    assert rdf["weights"]["torchscript"]["parent"] == "pytorch_state_dict"
    test_input, test_output = tensor(files, "test_input.npy"), tensor(files, "test_output.npy")
    assert test_input.shape == (1, 1, 64, 64) and test_output.shape == (1, 1, 128, 128)
    assert test_input.min() == 0 and test_input.max() == 1  # what scale_range makes of it: the core's range too
    x_axis = rdf["outputs"][0]["axes"][-1]
    assert (x_axis["scale"], x_axis["halo"]) == (0.5, 2 * 4)  # ESPCN's halo of 4 input pixels
    assert rdf["inputs"][0]["preprocessing"][1]["kwargs"] == {"gain": LUMA_GAIN, "offset": LUMA_OFFSET}
    assert rdf["license"] == "BSD-3-Clause" and rdf["cite"][0]["url"].endswith("1609.05158")
    # The description alone (network, pre- and postprocessing) reproduces what the core made.
    np.testing.assert_allclose(run_as_described(rdf, files, test_input), test_output, atol=1e-5)


def test_the_torchscript_weights_run_at_other_sizes(espcn_package):
    import io

    import torch

    rdf, files = read_package(espcn_package)
    traced = torch.jit.load(io.BytesIO(files["weights_torchscript.pt"]))
    entry = rdf["weights"]["pytorch_state_dict"]
    net = build_network(entry["architecture"], torch.load(io.BytesIO(files["weights.pt"]), weights_only=True))
    x = torch.rand(1, 1, 37, 53, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert traced(x).shape == (1, 1, 74, 106)
        torch.testing.assert_close(traced(x), net(x), rtol=1e-5, atol=1e-5)


def test_round_trip_gives_the_same_outputs(espcn_package, weights_dir):
    card = import_bioimageio(espcn_package, "espcn_from_package")
    assert card.weights.parent == weights_dir and "espcn_from_package" in available_methods()
    assert card.info["training"]["steps"] > 0  # the original card's record comes along
    image = data.camera()[:40, :56].astype(np.float32) / 255
    np.testing.assert_allclose(upscale(image, 2, method="espcn_from_package"), upscale(image, 2, method="espcn_x2"),
                               atol=1e-6)


def test_a_name_in_use_is_refused(espcn_package, weights_dir):
    with pytest.raises(FileExistsError, match="espcn_x2"):
        import_bioimageio(espcn_package)  # the exported name, which the shipped model has


def test_noise2void_round_trip(noise2void_model, weights_dir, tmp_path):
    card_path, noisy = noise2void_model
    package = export_bioimageio(card_path, tmp_path / "cells", test_image=noisy)  # a folder this time
    rdf = yaml.safe_load((package / "rdf.yaml").read_text())
    files = {p.name: p.read_bytes() for p in package.iterdir()}
    assert rdf["inputs"][0]["preprocessing"][0]["id"] == "fixed_zero_mean_unit_variance"
    assert rdf["weights"]["pytorch_state_dict"]["architecture"]["import_from"] == "napari_superres.models.unet"
    np.testing.assert_allclose(run_as_described(rdf, files, tensor(files, "test_input.npy")),
                               tensor(files, "test_output.npy"), rtol=1e-5, atol=1e-3)
    card = import_bioimageio(package, "cells_from_package")
    assert "cells_from_package" in available_denoisers()
    assert card["normalization"] == json.loads(card_path.read_text())["normalization"]
    other = noisy[::-1].copy()
    np.testing.assert_allclose(denoise(other, method="cells_from_package"), apply_noise2void(other, card_path),
                               atol=1e-3)


def test_a_3d_noise2void_model_has_a_z_axis(tmp_path):
    rng = np.random.default_rng(1)
    stack = rng.normal(100, 10, (3, 32, 32)).astype(np.float32)
    fit_noise2void(stack, iterations=2, features=4, depth=1, volumetric=True, save_to=tmp_path / "stack", seed=0)
    rdf, files = read_package(export_bioimageio(tmp_path / "stack", tmp_path / "stack.zip", torchscript=False))
    assert [axis.get("id", axis["type"]) for axis in rdf["inputs"][0]["axes"]] == ["batch", "channel", "z", "y", "x"]
    assert tensor(files, "test_input.npy").shape[:3] == (1, 1, 4) and "weights_torchscript.pt" not in files
    assert rdf["tags"][-1] == "3d"


def test_an_rgb_model_has_three_named_channels(weights_dir, tmp_path):
    import torch
    from safetensors.torch import save

    from napari_superres.models.espcn import ESPCN

    torch.manual_seed(0)
    blob = save(ESPCN(scale=3, channels=3, features=8, hidden=4).state_dict())
    (weights_dir / "tiny_rgb.safetensors").write_bytes(blob)
    import hashlib

    card = {"name": "tiny_rgb", "architecture": "espcn", "scale": 3, "input": "rgb", "weights": "tiny_rgb.safetensors",
            "config": {"features": 8, "hidden": 4}, "sha256": hashlib.sha256(blob).hexdigest()}
    (weights_dir / "tiny_rgb.json").write_text(json.dumps(card))
    rdf, files = read_package(export_bioimageio("tiny_rgb", tmp_path / "rgb.zip"))
    assert rdf["inputs"][0]["axes"][1]["channel_names"] == ["red", "green", "blue"]
    assert len(rdf["inputs"][0]["preprocessing"]) == 1  # no luma step
    test_input = tensor(files, "test_input.npy")
    assert test_input.shape == (1, 3, 64, 64) and tensor(files, "test_output.npy").shape == (1, 3, 192, 192)
    np.testing.assert_allclose(run_as_described(rdf, files, test_input), tensor(files, "test_output.npy"), atol=1e-5)


def test_an_imported_denoiser_needs_its_licence(weights_dir, tmp_path):
    import torch

    from napari_superres import import_model

    state = {}
    for i, (out, inp) in enumerate([(8, 1), (8, 8), (1, 8)]):  # a 3-layer DnCNN in KAIR's published layout
        state[f"model.{2 * i}.weight"] = torch.randn(out, inp, 3, 3, generator=torch.Generator().manual_seed(i)) / 9
        state[f"model.{2 * i}.bias"] = torch.zeros(out)
    torch.save(state, tmp_path / "dncnn.pth")
    import_model(tmp_path / "dncnn.pth", name="tiny_dncnn")
    with pytest.raises(ValueError, match="pass license="):
        export_bioimageio("tiny_dncnn", tmp_path / "dncnn.zip")
    rdf, files = read_package(export_bioimageio("tiny_dncnn", tmp_path / "dncnn.zip", license="MIT"))
    assert rdf["license"] == "MIT" and "denoising" in rdf["tags"] and rdf["cite"][0]["url"].endswith("1608.03981")
    assert [step["id"] for step in rdf["inputs"][0]["preprocessing"]] == ["scale_range"]  # a gray model: no luma
    test_input, test_output = tensor(files, "test_input.npy"), tensor(files, "test_output.npy")
    assert test_output.shape == test_input.shape
    np.testing.assert_allclose(run_as_described(rdf, files, test_input), test_output, atol=1e-5)


@pytest.mark.parametrize("task", ["jpeg", "deblur"])
def test_a_shipped_restorer_of_another_task_is_tested_by_its_own_core(task, tmp_path):
    from napari_superres.models.registry import list_models

    cards = sorted(name for name, card in list_models().items() if card.task == task and "@" not in name)
    if not cards:
        pytest.skip(f"no {task} model shipped")
    rdf, files = read_package(export_bioimageio(cards[0], tmp_path / "restorer.zip", torchscript=False))
    assert rdf["tags"][1] in ("jpeg-artefact-removal", "deblurring")
    test_input, test_output = tensor(files, "test_input.npy"), tensor(files, "test_output.npy")
    np.testing.assert_allclose(run_as_described(rdf, files, test_input), test_output, atol=1e-5)


@pytest.fixture(scope="module")
def untraceable_package(tmp_path_factory):
    """LapSRN x4 (its bicubic resize matrices are made in numpy from the input's size: not traceable)."""
    from napari_superres.models.registry import list_models

    if "lapsrn@x4" not in list_models():
        pytest.skip("LapSRN not shipped")
    with pytest.warns(UserWarning, match="no TorchScript weights in the package.*cannot be traced"):
        return export_bioimageio("lapsrn@x4", tmp_path_factory.mktemp("bio") / "lapsrn.zip")


def test_a_network_that_cannot_be_traced_is_exported_without_torchscript(untraceable_package):
    rdf, files = read_package(untraceable_package)
    assert "torchscript" not in rdf["weights"] and "weights_torchscript.pt" not in files
    assert rdf["name"] == "napari-superres lapsrn-x4"  # bioimage.io names take no '@'
    assert rdf["weights"]["pytorch_state_dict"]["architecture"]["kwargs"]["scale"] == 4
    np.testing.assert_allclose(run_as_described(rdf, files, tensor(files, "test_input.npy")),
                               tensor(files, "test_output.npy"), atol=1e-5)


def test_models_that_see_more_than_the_image_are_refused(tmp_path):
    with pytest.raises(ValueError, match="colour hints besides the image"):
        export_bioimageio("colorizer", tmp_path / "c.zip")
    with pytest.raises(ValueError, match="no model 'nothing'"):
        export_bioimageio("nothing", tmp_path / "n.zip")
    with pytest.raises(ValueError, match="bioimage.io name is letters"):
        export_bioimageio("espcn_x2", tmp_path / "e.zip", name="espcn@2")
    assert not (tmp_path / "e.zip").exists()


def rewritten(package, tmp_path, change):
    rdf, files = read_package(package)
    change(rdf)
    target = tmp_path / "changed.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, yaml.safe_dump(rdf) if name == "rdf.yaml" else content)
    return target


@pytest.mark.parametrize(("change", "message"), [
    (lambda rdf: rdf["weights"]["pytorch_state_dict"]["architecture"].update(import_from="careamics.models"),
     "code from outside napari-superres"),
    (lambda rdf: rdf["weights"]["pytorch_state_dict"].update(architecture={"source": "net.py", "callable": "Net"}),
     "code inside it"),
    (lambda rdf: rdf["weights"].pop("pytorch_state_dict"), "no PyTorch state dict"),
    (lambda rdf: rdf["weights"]["pytorch_state_dict"]["architecture"].update(callable="Sequential"),
     "no architecture napari_superres.models.espcn.Sequential"),
    (lambda rdf: rdf["weights"]["pytorch_state_dict"]["architecture"]["kwargs"].update(features=32),
     "do not fit ESPCN"),
    (lambda rdf: rdf.update(format_version="0.4.10"), "format 0.5"),
])
def test_packages_that_need_foreign_code_or_do_not_fit_are_refused(espcn_package, tmp_path, weights_dir, change,
                                                                   message):
    with pytest.raises(ImportRefused, match=message):
        import_bioimageio(rewritten(espcn_package, tmp_path, change), "refused")
    assert not list(weights_dir.iterdir())


def test_the_command_line_exports_and_imports(tmp_path, weights_dir, capsys):
    from napari_superres.cli import main

    main(["models", "export-bioimageio", "espcn_x2", str(tmp_path / "e.zip"), "--no-torchscript"])
    main(["models", "import-bioimageio", str(tmp_path / "e.zip"), "--name", "espcn_cli"])
    assert "espcn_cli" in available_methods()
    assert "wrote the bioimage.io package" in capsys.readouterr().out


# bioimageio.core (the 'bioimageio' extra): the packages pass its test, and its own prediction, tiled with
# the package's halo, gives the core's result.


def test_bioimageio_core_passes_the_package(espcn_package):
    core = pytest.importorskip("bioimageio.core")
    summary = core.test_model(espcn_package)
    failed = [(d.name, [e.msg for e in d.errors]) for d in summary.details if d.status != "passed"]
    assert summary.status == "passed", failed
    names = " ".join(d.name for d in summary.details)
    assert "(pytorch_state_dict)" in names and "(torchscript)" in names


def test_bioimageio_core_predicts_as_napari_superres_does(espcn_package):
    core = pytest.importorskip("bioimageio.core")
    image = data.camera()[200:330, 150:290].astype(np.float32) / 255
    image = (image - image.min()) / (image.max() - image.min())
    expected = upscale(image, 2, method="espcn_x2", device="cpu", precision="fp32")
    halo = 8  # output pixels: within it of the image's edge, bioimageio pads the input where the network saw zeros
    for blocks in (None, 0):  # whole, then in blocks with the package's halo
        sample = core.predict(model=str(espcn_package), inputs=image[None, None], blocksize_parameter=blocks)
        result = next(iter(sample.members.values())).data.to_numpy()[0, 0]
        np.testing.assert_allclose(result[halo:-halo, halo:-halo], expected[halo:-halo, halo:-halo], atol=1e-4)


def test_bioimageio_core_passes_a_noise2void_package(noise2void_model, tmp_path):
    core = pytest.importorskip("bioimageio.core")
    card_path, noisy = noise2void_model
    summary = core.test_model(export_bioimageio(card_path, tmp_path / "cells.zip", test_image=noisy))
    assert summary.status == "passed", [(d.name, [e.msg for e in d.errors]) for d in summary.details]


def test_bioimageio_core_passes_a_package_without_torchscript(untraceable_package):
    core = pytest.importorskip("bioimageio.core")
    summary = core.test_model(untraceable_package)
    assert summary.status == "passed", [(d.name, [e.msg for e in d.errors]) for d in summary.details]
