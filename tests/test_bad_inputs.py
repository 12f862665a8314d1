"""What every public function does with bad or odd input: a clear error before any work, or a correct result.

Run as a script to print the table (input, expected, observed, seconds of a first and a second call,
peak memory above the imports), each case in a process of its own:

    python tests/test_bad_inputs.py
"""

import tempfile
import time
from pathlib import Path

import dask.array as da
import imageio.v3 as iio
import numpy as np
import pytest
import tifffile

from napari_superres import (
    colorize,
    denoise,
    estimate_noise,
    fit_dip,
    fit_noise2void,
    fit_video_prior,
    imresize,
    inpaint,
    iter_fit_dip,
    psnr,
    upscale,
    upscale_axes,
)
from napari_superres._arrays import ChannelAxisWarning
from napari_superres.cli import main as cli
from napari_superres.models import ModelCard, find_model

U8 = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
NAN = np.where(np.eye(8, dtype=bool), np.nan, 0.5)
INF = np.where(np.eye(8, dtype=bool), np.inf, 0.5)
RGBA = np.dstack([np.dstack([U8] * 3), np.full((8, 8), 200, np.uint8)])
ALL_MISSING = np.ones((8, 8), bool)
NONE_MISSING = np.zeros((8, 8), bool)


def huge(*shape):
    """A uint8 array of ``shape`` with no memory behind it (every entry is the same byte)."""
    return np.broadcast_to(np.uint8(0), shape)


def scratch(name=""):
    """A path in a new empty folder (``name`` empty: the folder itself)."""
    return str(Path(tempfile.mkdtemp()) / name)


def card(**fields):
    """A model card's JSON with ``fields`` changed (None: left out)."""
    data = {"name": "x", "architecture": "espcn", "scale": 2, "weights": "x.safetensors", "sha256": "0" * 64}
    return {k: v for k, v in {**data, **fields}.items() if v is not None}


def cli_result(source, target_name):
    """The image ``napari-superres upscale SOURCE TARGET --scale 2`` writes."""
    target = str(Path(source).with_name(target_name))
    cli(["upscale", source, target, "--scale", "2"])
    return tifffile.imread(target) if target.endswith(".tif") else iio.imread(target)


def written(path, write):
    """``path`` after ``write(path)``: an input file made on the fly."""
    write(path)
    return path


# A 20000² PNG in 65 bytes: Pillow refuses to decode more than ~179 M pixels.
BOMB_PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200004e2000004e200100000000cb0b7b940000000849444154789c03"
                         "0000000001480689d20000000049454e44ae426082")
DIP = {"iterations": 2, "network": {"down": (4, 4), "up": (4, 4), "skip": (2, 2), "input_channels": 4}}

# (function, input, call, expected): expected is (exception, words of its message) or a check of the result.
CASES = [
    ("upscale", "NaN in a float image", lambda: upscale(NAN, 2), (ValueError, "NaN or infinite")),
    ("upscale", "inf in a float image", lambda: upscale(INF, 2), (ValueError, "np.nan_to_num")),
    ("upscale", "empty array (0, 5)", lambda: upscale(np.zeros((0, 5)), 2), (ValueError, "empty")),
    ("upscale", "1-D array", lambda: upscale(np.zeros(5), 2), (ValueError, "two spatial axes")),
    ("upscale", "1x1 image, bicubic x4", lambda: upscale(U8[:1, :1], 4), lambda r: r.shape == (4, 4)),
    ("upscale", "2x2 image, espcn x2", lambda: upscale(U8[:2, :2], 2, method="espcn"), lambda r: r.shape == (4, 4)),
    ("upscale", "5-D uint16 (2, 2, 3, 8, 8), espcn x2",
     lambda: upscale(np.zeros((2, 2, 3, 8, 8), np.uint16), 2, method="espcn"),
     lambda r: r.shape == (2, 2, 3, 16, 16) and r.dtype == np.uint16),
    ("upscale", "bool image", lambda: upscale(U8 > 9, 2), (TypeError, "convert it to uint8")),
    ("upscale", "complex image", lambda: upscale(U8 + 1j, 2), (TypeError, "np.abs")),
    ("upscale", "int64 image", lambda: upscale(U8.astype(np.int64) - 90, 2), lambda r: r.dtype == np.int64),
    ("upscale", "float16 image", lambda: upscale(U8.astype(np.float16), 2), lambda r: r.dtype == np.float16),
    ("upscale", "RGBA, espcn x2", lambda: upscale(RGBA, 2, method="espcn", channel_axis=-1),
     lambda r: r.shape == (16, 16, 4) and (r[..., 3] == 200).all()),
    ("upscale", "channel_axis out of range", lambda: upscale(U8, 2, channel_axis=2), (ValueError, "not an axis")),
    ("upscale", "scale 0", lambda: upscale(U8, 0), (ValueError, "scale must be a number ≥ 1")),
    ("upscale", "scale -2", lambda: upscale(U8, -2), (ValueError, "to shrink, use imresize")),
    ("upscale", "scale 1", lambda: upscale(U8, 1), lambda r: np.array_equal(r, U8)),
    ("upscale", "scale 2.5, bicubic", lambda: upscale(U8, 2.5), lambda r: r.shape == (20, 20)),
    ("upscale", "scale 2.5, espcn", lambda: upscale(U8, 2.5, method="espcn"), (ValueError, "integer scale")),
    ("upscale", "scale 7, espcn", lambda: upscale(U8, 7, method="espcn"), (ValueError, "weights for scales")),
    ("upscale", "unknown method", lambda: upscale(U8, 2, method="magic"), (ValueError, "unknown method")),
    ("upscale", "60000² x8 output (1.9 TiB)", lambda: upscale(huge(60000, 60000), 8), (MemoryError, "process a crop")),
    ("fit_dip", "NaN in a float image", lambda: fit_dip(NAN, **DIP), (ValueError, "NaN or infinite")),
    ("fit_dip", "1x1 image", lambda: fit_dip(U8[:1, :1], **DIP), lambda r: r.shape == (1, 1)),
    ("fit_dip", "2x2 image, SR x2", lambda: fit_dip(U8[:2, :2], "super-resolve", scale=2, **DIP),
     lambda r: r.shape == (4, 4)),
    ("fit_dip", "5-D uint16 (1, 2, 1, 8, 8)", lambda: fit_dip(np.zeros((1, 2, 1, 8, 8), np.uint16), **DIP),
     lambda r: r.shape == (1, 2, 1, 8, 8) and r.dtype == np.uint16),
    ("fit_dip", "inpaint without a mask", lambda: fit_dip(U8, "inpaint", **DIP), (ValueError, "needs a mask")),
    ("fit_dip", "mask of the wrong shape", lambda: fit_dip(U8, "inpaint", mask=np.ones((3, 3)), **DIP),
     (ValueError, "mask shape")),
    ("fit_dip", "all-one mask (every pixel missing)", lambda: fit_dip(U8, "inpaint", mask=ALL_MISSING, **DIP),
     (ValueError, "nothing to inpaint from")),
    ("fit_dip", "all-zero mask (nothing missing)", lambda: fit_dip(U8, "inpaint", mask=NONE_MISSING, **DIP),
     lambda r: np.array_equal(r, U8)),
    ("fit_dip", "SR scale 0", lambda: fit_dip(U8, "super-resolve", scale=0, **DIP), (ValueError, "integer scale")),
    ("fit_dip", "SR scale 1.5", lambda: fit_dip(U8, "super-resolve", scale=1.5, **DIP),
     (ValueError, "integer scale")),
    ("fit_dip", "iterations 0", lambda: fit_dip(U8, iterations=0), (ValueError, "iterations must be")),
    ("fit_dip", "unknown task", lambda: fit_dip(U8, "dehaze"), (ValueError, "choose one of")),
    ("fit_dip", "deblur without a kernel", lambda: fit_dip(U8, "deblur", **DIP), (ValueError, "needs a kernel")),
    ("fit_dip", "deblur, even-sided kernel", lambda: fit_dip(U8, "deblur", kernel=np.ones((2, 2)), **DIP),
     (ValueError, "odd sides")),
    ("fit_dip", "unknown network", lambda: fit_dip(U8, network="huge"), (ValueError, "unknown network")),
    ("fit_dip", "bool image", lambda: fit_dip(U8 > 9), (TypeError, "convert it to uint8")),
    ("fit_dip", "SR x8 of a 60000² image", lambda: fit_dip(huge(60000, 60000), "super-resolve", scale=8),
     (MemoryError, "GiB")),
    ("denoise", "NaN in a float image", lambda: denoise(NAN), (ValueError, "NaN or infinite")),
    ("denoise", "complex image", lambda: denoise(U8 + 1j), (TypeError, "convert it to uint8")),
    ("denoise", "1x1 image", lambda: denoise(U8[:1, :1], method="tv", sigma=3), lambda r: r.shape == (1, 1)),
    ("denoise", "constant image (σ estimate 0)", lambda: denoise(np.full((8, 8), 7, np.uint16)),
     lambda r: (r == 7).all()),
    ("denoise", "negative σ", lambda: denoise(U8, method="tv", sigma=-1), (ValueError, "sigma must be")),
    ("denoise", "unknown method", lambda: denoise(U8, method="bm3d"), (ValueError, "choose one of")),
    ("estimate_noise", "empty array", lambda: estimate_noise(np.zeros((0, 4))), (ValueError, "empty")),
    ("imresize", "scale 0", lambda: imresize(U8, 0), (ValueError, "scale must be positive")),
    ("imresize", "3-D without channel_axis", lambda: imresize(np.zeros((2, 4, 4)), 2), (ValueError, "2D image")),
    ("psnr", "shapes differ", lambda: psnr(U8, U8[:4]), (ValueError, "shapes differ")),
    ("psnr", "identical images", lambda: psnr(U8, U8), lambda r: r == np.inf),
    # Round 2 (issue 16): each area's cases below its own heading.
    # -- numerics: lazy input, extreme values, scales, tiles --
    ("upscale", "dask 64² float, one NaN, x2",
     lambda: upscale(da.from_array(np.where(np.eye(64) * np.arange(64) == 5, np.nan, .5),
                                                              chunks=32), 2), (ValueError, "has 1 NaN or infinite")),
    ("denoise", "dask 64² float, one inf, tv σ 0.1",
     lambda: denoise(da.from_array(np.where(np.eye(64) * np.arange(64) == 5, np.inf, .5),
                                                               chunks=32), method="tv", sigma=0.1),
     (ValueError, "has 1 NaN")),
    ("upscale", "int64 [0, 2**63-1], nearest x2", lambda: upscale(np.array([[0, 2**63 - 1]]), 2, method="nearest"),
     lambda r: r.min() == 0 and r.max() == 2**63 - 1),
    ("upscale", "uint64 [0, 2**64-1], nearest x2",
     lambda: upscale(np.array([[0, 2**64 - 1]], np.uint64), 2, method="nearest"),
     lambda r: r.min() == 0 and r.max() == 2**64 - 1),
    ("upscale", "dask int64 [-2**63, 2**63-1], bicubic x2",
     lambda: upscale(da.from_array(np.array([[-2**63, 2**63 - 1]] * 40)), 2).compute(),
     lambda r: r.min() == -2**63 and r.max() == 2**63 - 1),
    ("denoise", "int64 full range, tv σ 0",
     lambda: denoise(np.array([[-2**63, 2**63 - 1], [0, -2**63]]), method="tv", sigma=0),
     lambda r: np.array_equal(r, [[-2**63, 2**63 - 1], [0, -2**63]])),
    ("upscale", "float64 ±1e308, bicubic x2", lambda: upscale(np.array([[-1e308, 1e308], [0, 1]]), 2),
     lambda r: np.isfinite(r).all() and r.min() == -1e308 and r.max() == 1e308),
    ("upscale", "(64, 64, 3) without channel_axis",
     lambda: pytest.warns(ChannelAxisWarning, upscale,
                          np.zeros((64, 64, 3), np.uint8), 2),
     lambda r: r.shape == (64, 128, 6)),
    ("upscale", "tile 0", lambda: upscale(U8, 2, method="espcn", tile=0), (ValueError, "tile must be .* ≥ 16")),
    ("upscale", "tile 16 < edsr's halo 17", lambda: upscale(np.zeros((64, 64), np.uint8), 2, method="edsr", tile=16),
     (ValueError, "halo of 17")),
    ("upscale", "scale True", lambda: upscale(U8, True), (ValueError, "scale must be a number")),
    ("upscale", "scale 1e300", lambda: upscale(U8, 1e300), (ValueError, "no array can be that large")),
    ("upscale", "scale inf", lambda: upscale(U8, np.inf), (ValueError, "finite")),
    ("upscale", "colorizer (a colorize model) x1", lambda: upscale(U8, 1, method="colorizer"),
     (ValueError, r"colorize model; use colorize\(\)")),
    ("upscale_axes", "factors (1e300, 1)", lambda: upscale_axes(U8, (1e300, 1)),
     (ValueError, "no array can be")),
    ("upscale_axes", "factors (nan, 1)", lambda: upscale_axes(U8, (np.nan, 1)),
     (ValueError, "one factor ≥ 1")),
    ("imresize", "16² x1e6 (16e6² out)", lambda: imresize(np.zeros((16, 16), np.uint8), 1e6),
     (MemoryError, "process a crop")),
    ("imresize", "16² x1e-8", lambda: imresize(np.zeros((16, 16)), 1e-8), (ValueError, "below one pixel")),
    ("imresize", "output_shape (0, 4)", lambda: imresize(U8, output_shape=(0, 4)), (ValueError, "sides ≥ 1")),
    # -- registry, command line and files --
    ("ModelCard.from_data", "card JSON [1, 2]", lambda: ModelCard.from_data([1, 2], "w/notes.json"),
     (ValueError, "a model card is a JSON object")),
    ("ModelCard.from_data", 'card with "scale": "2x"', lambda: ModelCard.from_data(card(scale="2x"), "w/x.json"),
     (ValueError, "'scale' must be a JSON int")),
    ("ModelCard.from_data", "card of an unknown architecture",
     lambda: ModelCard.from_data(card(architecture="nope"), "w/x.json"), (ValueError, "unknown architecture 'nope'")),
    ("ModelCard.from_data", "card whose weights are ../x.safetensors",
     lambda: ModelCard.from_data(card(weights="../x.safetensors"), "w/x.json"),
     (ValueError, "in the card's own folder")),
    ("ModelCard.from_data", "card without sha256", lambda: ModelCard.from_data(card(sha256=None), "w/x.json"),
     (ValueError, "no 'sha256'")),
    ("napari-superres", "upscale to o.xyz", lambda: cli(["upscale", "in.png", "o.xyz"]),
     (SystemExit, "'.xyz' is not one of them")),
    ("napari-superres", "upscale to an output without a suffix", lambda: cli(["upscale", "in.png", "out"]),
     (SystemExit, "suffix names its format .* it has none")),
    ("napari-superres", "upscale to an existing folder", lambda: cli(["upscale", "in.png", tempfile.mkdtemp(".png")]),
     (SystemExit, "is a folder; name the")),
    ("napari-superres", "upscale --scale inf", lambda: cli(["upscale", "in.png", "o.png", "--scale", "inf"]),
     (SystemExit, "--scale: must be a finite number")),
    ("napari-superres", "upscale --tile 0", lambda: cli(["upscale", "in.png", "o.png", "--tile", "0"]),
     (SystemExit, "--tile: must be a positive integer")),
    ("upscale", "device 'bogus', espcn", lambda: upscale(U8, 2, method="espcn", device="bogus"),
     (ValueError, "unknown device 'bogus'")),
    ("napari-superres", "upscale --device bogus",
     lambda: cli(["upscale", "in.png", scratch("o.png"), "--device", "bogus"]), (SystemExit, "unknown device 'bogus'")),
    ("napari-superres", "denoise --method n2v --iterations 0",
     lambda: cli(["denoise", "in.png", "o.png", "--method", "n2v", "--iterations", "0"]),
     (SystemExit, "--iterations: must be a positive integer")),
    ("napari-superres", "inpaint --method dip --iterations 0",
     lambda: cli(["inpaint", "in.png", "o.png", "--method", "dip", "--iterations", "0"]),
     (SystemExit, "--iterations: must be a positive integer")),
    ("napari-superres", "dip --iterations -1", lambda: cli(["dip", "in.png", "o.png", "--iterations", "-1"]),
     (SystemExit, "--iterations: must be a positive integer")),
    ("napari-superres", "train nope", lambda: cli(["train", "nope", "--scale", "2", "--data", ".", "--out", "run"]),
     (SystemExit, "unknown architecture 'nope'")),
    ("napari-superres", "train on an empty folder",
     lambda: cli(["train", "espcn", "--scale", "2", "--data", scratch(), "--out", "run"]),
     (SystemExit, "no training images")),
    ("napari-superres", "export over the shipped espcn_x2 without --overwrite",
     lambda: cli(["export", "run", "--name", "espcn_x2", "--weights-dir", str(find_model("espcn", 2).weights.parent)]),
     (SystemExit, "pass --overwrite")),
    ("napari-superres", "upscale a PNG decompression bomb (20000² in 65 bytes)",
     lambda: cli(["upscale", written(scratch("bomb.png"), lambda p: Path(p).write_bytes(BOMB_PNG)), scratch("o.tif")]),
     (SystemExit, "more pixels than Pillow decodes")),
    ("napari-superres", "upscale x2 an RGB TIFF stack (4, 32, 32, 3)",
     lambda: cli_result(written(scratch("s.tif"), lambda p: tifffile.imwrite(
         p, np.zeros((4, 32, 32, 3), np.uint8), photometric="rgb")), "o.tif"), lambda r: r.shape == (4, 64, 64, 3)),
    ("napari-superres", "upscale x2 a gray+alpha PNG (64, 64, 2)",
     lambda: cli_result(written(scratch("la.png"), lambda p: iio.imwrite(p, np.zeros((64, 64, 2), np.uint8))),
                        "o.png"), lambda r: r.shape == (128, 128, 2)),
    # -- fitted methods: seeds, parameters, memory --
    ("fit_noise2void", "16² image, depth 10 (grew to 20.6 GB)",
     lambda: fit_noise2void(np.tile(U8, (2, 2)), depth=10),
     (ValueError, "at most depth 4 fits it")),
    ("fit_noise2void", "features 8192 (a 34 G-parameter U-Net)",
     lambda: fit_noise2void(np.tile(U8, (8, 8)), features=8192),
     (MemoryError, "8192-feature depth-2 U-Net .* GiB")),
    ("fit_noise2void", "batch_size 0", lambda: fit_noise2void(U8, batch_size=0),
     (ValueError, "batch_size must be a whole number ≥ 1")),
    ("fit_noise2void", "patch_size 3", lambda: fit_noise2void(U8, patch_size=3),
     (ValueError, r"patch_size must be a whole number ≥ 5 \(blind spots")),
    ("fit_noise2void", "features 0", lambda: fit_noise2void(U8, features=0),
     (ValueError, "features must be a whole number ≥ 1")),
    ("fit_noise2void", "iterations 1.5", lambda: fit_noise2void(U8, iterations=1.5),
     (ValueError, "iterations must be a whole number")),
    ("fit_dip", "downsampler 'nope'", lambda: fit_dip(U8, "super-resolve", scale=2, downsampler="nope", **DIP),
     (ValueError, "unknown downsampler 'nope'; choose one of .*bicubic")),
    ("fit_dip", "network {}", lambda: fit_dip(U8, network={}), (ValueError, "keys down, up, skip, input_channels")),
    ("iter_fit_dip", "network with 2 down but 1 up level (refused on the call, not in the worker)",
     lambda: iter_fit_dip(U8, network={**DIP["network"], "up": (4,)}),
     (ValueError, "one entry per level")),
    ("fit_dip", "iterations 2.5", lambda: fit_dip(U8, iterations=2.5), (ValueError, "iterations must be a whole")),
    ("fit_dip", "denoise a 20000² image (fits the result, not the network)",
     lambda: fit_dip(huge(20000, 20000)), (MemoryError, "M-parameter network on")),
    ("fit_video_prior", "(2, 200000, 200000) uint8 stack",
     lambda: fit_video_prior(*[huge(2, 200000, 200000)] * 2),
     (MemoryError, "process a crop")),
    ("fit_video_prior", "features 0",
     lambda: fit_video_prior(np.stack([U8, U8]), np.stack([U8, U8]), features=0),
     (ValueError, "features must be a whole number ≥ 1")),
    ("fit_video_prior", "8² frames, depth 4",
     lambda: fit_video_prior(np.stack([U8, U8]), np.stack([U8, U8]), depth=4),
     (ValueError, "at most depth 3 fits it")),
    # -- denoise, colorize, inpaint --
    ("estimate_noise", "stack with a black frame (σ 10)",
     lambda: estimate_noise(np.random.default_rng(0).normal(100, 10, (2, 64, 64)) * [[[1]], [[0]]]),
     lambda r: abs(r - 10) < 1),
    ("estimate_noise", "all-zero image", lambda: estimate_noise(np.zeros((8, 8))), lambda r: r == 0),
    ("estimate_noise", "200000² uint8", lambda: estimate_noise(huge(200000, 200000)),
     (MemoryError, "process a crop")),
    ("denoise", "stack with a black frame, default σ",
     lambda: denoise(np.where(np.arange(3)[:, None, None] == 1, 0, U8), method="tv"), lambda r: (r[1] == 0).all()),
    ("denoise", "RGB with an empty channel, default σ",
     lambda: denoise(np.dstack([U8, U8.T, 0 * U8]), method="wavelet", channel_axis=-1),
     lambda r: (r[..., 2] == 0).all()),
    ("denoise", "σ NaN", lambda: denoise(U8, method="tv", sigma=np.nan), (ValueError, "sigma must be")),
    ("denoise", "1x1 image, nlm", lambda: denoise(U8[:1, :1], method="nlm", sigma=3), lambda r: r.shape == (1, 1)),
    ("denoise", "1x8 RGB, bilateral", lambda: denoise(RGBA[:1, :, :3], method="bilateral", sigma=3, channel_axis=-1),
     lambda r: r.shape == (1, 8, 3)),
    ("denoise", "200000² uint8, tv (default σ)",
     lambda: denoise(huge(200000, 200000), method="tv"), (MemoryError, "process a crop")),
    ("denoise", "16x200000² uint8, nlm σ 3",
     lambda: denoise(huge(16, 200000, 200000), method="nlm", sigma=3),
     (MemoryError, "process a crop")),
    ("denoise", "dask 200000² uint8, wavelet σ 3 (one whole-plane block)",
     lambda: denoise(da.zeros((200000, 200000), np.uint8, chunks=4096), method="wavelet",
                     sigma=3), (MemoryError, "process a crop")),
    ("colorize", "RGB image without channel_axis", lambda: colorize(RGBA[..., :3]),
     (ValueError, "channel_axis=-1")),
    ("colorize", "RGB image, channel_axis=-1",
     lambda: colorize(RGBA[..., :3], channel_axis=-1),
     lambda r: r.shape == (8, 8, 3) and r.dtype == np.uint8),
    ("colorize", "NaN hint colour",
     lambda: colorize(U8, np.pad([[[np.nan, 0.5, 0.5, 1]]], ((0, 7), (0, 7), (0, 0)))),
     (ValueError, "NaN or out-of-range")),
    ("colorize", "hint colour 255 (not in [0, 1])",
     lambda: colorize(U8, np.full((8, 8, 4), 255.0)),
     (ValueError, "divide 8-bit colours by 255")),
    ("colorize", "200000² uint8",
     lambda: colorize(huge(200000, 200000)),
     (MemoryError, "process a crop")),
    ("inpaint", "1-D array", lambda: inpaint(np.array([1.0, np.nan, 3.0])),
     (ValueError, "two spatial axes")),
    ("inpaint", "missing_value=np.float32('nan')",
     lambda: inpaint(NAN.astype(np.float32), missing_value=np.float32("nan")),
     lambda r: np.isfinite(r).all()),
    ("inpaint", "200000² uint8, biharmonic",
     lambda: inpaint(huge(200000, 200000)),
     (MemoryError, "process a crop")),
    ("inpaint", "200000² uint8, gatedunet",
     lambda: inpaint(huge(200000, 200000), method="gatedunet"),
     (MemoryError, "process a crop")),
]


@pytest.mark.parametrize("function, description, call, expected", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input(function, description, call, expected):
    if isinstance(expected, tuple):
        error, words = expected
        start = time.perf_counter()
        with pytest.raises(error, match=words):
            call()
        assert time.perf_counter() - start < 5, "refused, but only after heavy work"
    else:
        assert expected(call())


def _expected(expected):
    if isinstance(expected, tuple):
        error, words = expected
        return f"`{error.__name__}` ({words})"
    return "a result"


def _observed(call):
    try:
        result = call()
    except BaseException as error:  # noqa: BLE001 - reporting what happened (SystemExit of the CLI included)
        return f"`{type(error).__name__}`: {str(error).splitlines()[0] if str(error) else ''}"
    return f"result {result.shape} {result.dtype}" if hasattr(result, "shape") else f"result {result}"


def _run_one(index):
    """Run case ``index`` in this fresh process: its behaviour, seconds and peak memory above the baseline."""
    import json
    import resource

    call = CASES[index][2]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    observed = _observed(call)
    seconds = time.perf_counter() - start  # the first call pays the modules it imports on first use
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before  # KiB; ru_maxrss only grows
    start = time.perf_counter()
    _observed(call)
    again = time.perf_counter() - start
    print(json.dumps({"observed": observed, "seconds": seconds, "again": again, "peak_mib": peak / 1024}))


def _table(limit_gib=4.0, timeout=300):
    """Every case in a process of its own (one case's peak must not hide the next), killed past ``limit_gib``."""
    import json
    import subprocess
    import sys

    import psutil

    print("| function | input | expected | observed | s, first call | s, again | peak MiB |\n"
          "|---|---|---|---|---|---|---|")
    for index, (function, description, _, expected) in enumerate(CASES):
        child = subprocess.Popen([sys.executable, __file__, "--case", str(index)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
        start, killed = time.perf_counter(), None
        while child.poll() is None:
            rss = psutil.Process(child.pid).memory_info().rss if psutil.pid_exists(child.pid) else 0
            if rss > limit_gib * 2**30 or time.perf_counter() - start > timeout:
                killed = f"killed at {rss / 2**30:.1f} GiB after {time.perf_counter() - start:.0f} s"
                child.kill()
            time.sleep(0.05)
        row = {"observed": killed or "crashed", "seconds": float("nan"), "again": float("nan"),
               "peak_mib": float("nan")}
        if not killed and child.returncode == 0:
            row = json.loads(child.stdout.read().strip().splitlines()[-1])
        observed = row["observed"].replace("|", "\\|")
        print(f"| `{function}` | {description} | {_expected(expected)} | {observed} | {row['seconds']:.2f} | "
              f"{row['again']:.2f} | {row['peak_mib']:.0f} |", flush=True)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--case"]:
        _run_one(int(sys.argv[2]))
    else:
        _table()
