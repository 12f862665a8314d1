"""The core is GUI-free: only ``napari_superres._widgets`` imports Qt, magicgui widgets or napari's Qt parts.

In a fresh process: import every module outside ``_widgets``, call every public
function of the package once on a tiny input, then look at what got imported.
"""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent('''
    import importlib
    import inspect
    import pkgutil
    import sys
    import warnings

    import numpy as np
    import torch

    import napari_superres as nsr
    from napari_superres._arrays import run_to_end as drain

    torch.set_num_threads(1)  # tiny inputs: threads only add overhead, and the tests share the cores

    GUI = ("PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "superqt", "napari._qt", "napari.qt",
           "magicgui.widgets", "magicgui.backends", "vispy.app")


    def core_modules(package):
        """Names of the package's modules and subpackages, ``_widgets`` and ``__main__`` left out (not imported)."""
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            if info.name.endswith(("._widgets", ".__main__")):  # __main__ would run the command line
                continue
            module = importlib.import_module(info.name)
            yield info.name
            if info.ispkg:
                yield from core_modules(module)


    rng = np.random.default_rng(0)
    gray = rng.random((24, 24))
    rgb = rng.random((24, 24, 3))
    stack = rng.random((3, 24, 24))
    holes = np.zeros((24, 24), bool)
    holes[8:12, 8:12] = True
    with_nan = np.where(holes, np.nan, gray)
    hints = np.zeros((24, 24, 4))
    hints[4, 4] = [1, 0, 0, 1]
    fit = {"iterations": 1, "preview_every": 0, "device": "cpu"}


    from napari_superres.losses.squeezenet import SqueezeNetFeatures


    def import_tiny_dncnn():
        """A 3-layer DnCNN in KAIR's published layout, imported into a temporary folder."""
        import tempfile
        from pathlib import Path

        folder = Path(tempfile.mkdtemp())
        state = {}
        for i, (out, inp) in enumerate([(8, 1), (8, 8), (1, 8)]):
            state[f"model.{2 * i}.weight"], state[f"model.{2 * i}.bias"] = torch.zeros(out, inp, 3, 3), torch.zeros(out)
        torch.save(state, folder / "dncnn.pth")
        return nsr.import_model(folder / "dncnn.pth", name="tiny_dncnn", weights_dir=folder / "weights")


    def saved_noise2void():
        """The path of a 1-iteration Noise2Void model saved in a temporary folder."""
        import tempfile

        path = tempfile.mkdtemp() + "/tiny_n2v"
        nsr.fit_noise2void(gray, batch_size=1, patch_size=16, save_to=path, **fit)
        return path


    def bioimageio_package():
        """espcn_x2 exported as a bioimage.io package into a temporary folder (no TorchScript)."""
        import tempfile

        return nsr.export_bioimageio("espcn_x2", tempfile.mkdtemp() + "/espcn_x2.zip", torchscript=False)


    CALLS = {
        "apply_noise2void": lambda: nsr.apply_noise2void(gray, saved_noise2void(), device="cpu"),
        "iter_apply_noise2void": lambda: drain(nsr.iter_apply_noise2void(stack, saved_noise2void(), device="cpu")),
        "backprojection_residual": lambda: nsr.backprojection_residual(nsr.upscale(gray, 2), gray, 2),
        "augmentation_spread": lambda: nsr.augmentation_spread(gray, lambda x: nsr.denoise(x, method="tv")),
        "seed_spread": lambda: nsr.seed_spread(
            gray, lambda x, seed: nsr.fit_noise2void(x, seed=seed, batch_size=1, patch_size=16, **fit), seeds=2),
        "iter_seed_spread": lambda: drain(nsr.iter_seed_spread(
            gray, lambda x, seed: nsr.iter_fit_dip(x, seed=seed, iterations=1, device="cpu"), seeds=2)),
        "iter_augmentation_spread": lambda: drain(nsr.iter_augmentation_spread(gray, lambda x: nsr.iter_upscale(x, 2))),
        "sample_upscale": lambda: nsr.sample_upscale(gray, 4, method="vae_sr", seed=1, device="cpu"),
        "iter_sample_upscale": lambda: drain(nsr.iter_sample_upscale(rgb, 4, method="vae_sr", channel_axis=-1,
                                                                     device="cpu")),
        "sample_spread": lambda: nsr.sample_spread(gray, 4, method="vae_sr", samples=2, device="cpu"),
        "iter_sample_spread": lambda: drain(nsr.iter_sample_spread(gray, 4, method="vae_sr", samples=2, device="cpu")),
        "available_colorizers": lambda: nsr.available_colorizers(),
        "available_denoisers": lambda: nsr.available_denoisers(),
        "available_deblurrers": lambda: nsr.available_deblurrers(),
        "available_jpeg_methods": lambda: nsr.available_jpeg_methods(),
        "deblur": lambda: nsr.deblur(gray, method="wiener", kernel=np.ones((3, 3))),
        "iter_deblur": lambda: drain(nsr.iter_deblur(rgb, method="richardson-lucy", kernel=np.ones((3, 3)),
                                                     channel_axis=-1, iterations=2)),
        "remove_jpeg_artifacts": lambda: nsr.remove_jpeg_artifacts(gray, method="dip", **fit),
        "iter_remove_jpeg_artifacts": lambda: drain(nsr.iter_remove_jpeg_artifacts(gray, method="dip", **fit)),
        "available_devices": lambda: nsr.available_devices(),
        "available_inpainters": lambda: nsr.available_inpainters(),
        "available_methods": lambda: nsr.available_methods(),
        "colorize": lambda: nsr.colorize(gray, hints, device="cpu"),
        "iter_colorize": lambda: drain(nsr.iter_colorize(gray, device="cpu")),
        "colour_confidence": lambda: nsr.colour_confidence(gray, device="cpu"),
        "denoise": lambda: nsr.denoise(gray, method="tv"),
        "iter_denoise": lambda: drain(nsr.iter_denoise(gray, method="nlm", sigma=0.1)),
        "estimate_noise": lambda: nsr.estimate_noise(gray),
        "fit_dip": lambda: nsr.fit_dip(gray, "denoise", **fit),
        "iter_fit_dip": lambda: drain(nsr.iter_fit_dip(gray, "super-resolve", scale=2, **fit)),
        "fit_noise2void": lambda: nsr.fit_noise2void(gray, batch_size=1, patch_size=16, **fit),
        "iter_fit_noise2void": lambda: drain(nsr.iter_fit_noise2void(gray, batch_size=1, patch_size=16, **fit)),
        "fit_video_prior": lambda: nsr.fit_video_prior(stack, stack, epochs=1, device="cpu"),
        "iter_fit_video_prior": lambda: drain(nsr.iter_fit_video_prior(stack, stack, epochs=1, device="cpu")),
        "imresize": lambda: nsr.imresize(gray, 0.5),
        "export_bioimageio": bioimageio_package,
        "import_bioimageio": lambda: nsr.import_bioimageio(bioimageio_package(), "espcn_copy",
                                                           weights_dir=bioimageio_package().parent / "weights"),
        "import_model": import_tiny_dncnn,
        "inpaint": lambda: nsr.inpaint(with_nan),
        "iter_inpaint": lambda: drain(nsr.iter_inpaint(gray, holes, method="gatedunet", device="cpu")),
        "missing_mask": lambda: nsr.missing_mask(with_nan),
        "plan_holes": lambda: nsr.plan_holes(holes, large_holes="gatedunet"),
        "provenance": lambda: nsr.provenance("upscale", "bicubic", scale=2),
        "psnr": lambda: nsr.psnr(gray, gray * 0.9, data_range=1),
        "ssim": lambda: nsr.ssim(gray, gray * 0.9, data_range=1),
        "sr_scores": lambda: nsr.sr_scores(rgb, rgb * 0.9, 2, channel_axis=-1),
        "perceptual_distance": lambda: nsr.perceptual_distance(
            np.tile(gray, (2, 2)), np.tile(gray, (2, 2)) * 0.9, network=SqueezeNetFeatures()),
        "laplacian_variance": lambda: nsr.laplacian_variance(rgb, channel_axis=-1),
        "temporal_flicker": lambda: nsr.temporal_flicker(stack),
        "select_device": lambda: nsr.select_device("cpu"),
        "upscale": lambda: nsr.upscale(gray, 2),
        "iter_upscale": lambda: drain(nsr.iter_upscale(rgb, 2, method="espcn", channel_axis=-1, device="cpu")),
        "upscale_axes": lambda: nsr.upscale_axes(stack, (2, 1, 1)),
        "iter_upscale_axes": lambda: drain(nsr.iter_upscale_axes(stack, (2, 2, 2), method="bilinear")),
        "upscaled_geometry": lambda: nsr.upscaled_geometry([1.0, 1.0], [0.0, 0.0], 2),
    }

    modules = list(core_modules(nsr))
    functions = {name for name in nsr.__all__ if inspect.isfunction(getattr(nsr, name))}
    assert functions == set(CALLS), f"public functions without a call here: {functions ^ set(CALLS)}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for call in CALLS.values():
            call()
    gui = sorted(name for name in sys.modules if name.startswith(GUI))
    print(len(modules), "modules,", len(CALLS), "functions;", "GUI modules:", gui)
    assert not gui, gui
''')


def test_no_module_outside_widgets_imports_qt():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GUI modules: []" in result.stdout
