"""What every public function does with bad or odd input: a clear error before any work, or a correct result.

Run as a script to print the table (input → behaviour) as observed:

    python tests/test_bad_inputs.py
"""

import time

import numpy as np
import pytest

from napari_superres import denoise, estimate_noise, fit_dip, imresize, psnr, upscale

U8 = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
NAN = np.where(np.eye(8, dtype=bool), np.nan, 0.5)
INF = np.where(np.eye(8, dtype=bool), np.inf, 0.5)
HUGE = np.broadcast_to(np.uint8(0), (60000, 60000))  # no memory behind it
RGBA = np.dstack([np.dstack([U8] * 3), np.full((8, 8), 200, np.uint8)])
ALL_MISSING = np.ones((8, 8), bool)
NONE_MISSING = np.zeros((8, 8), bool)
DIP = {"iterations": 2, "network": {"down": (4, 4), "up": (4, 4), "skip": (2, 2), "input_channels": 4}}

# (function, input, call, expected): expected is (exception, words of its message) or a check of the result.
CASES = [
    ("upscale", "NaN in a float image", lambda: upscale(NAN, 2), (ValueError, "NaN or infinite")),
    ("upscale", "inf in a float image", lambda: upscale(INF, 2), (ValueError, "np.nan_to_num")),
    ("upscale", "empty array (0, 5)", lambda: upscale(np.zeros((0, 5)), 2), (ValueError, "empty")),
    ("upscale", "1-D array", lambda: upscale(np.zeros(5), 2), (ValueError, "two spatial axes")),
    ("upscale", "1x1 image, bicubic x4", lambda: upscale(U8[:1, :1], 4), lambda r: r.shape == (4, 4)),
    ("upscale", "2x2 image, espcn x2", lambda: upscale(U8[:2, :2], 2, "espcn"), lambda r: r.shape == (4, 4)),
    ("upscale", "5-D uint16 (2, 2, 3, 8, 8), espcn x2",
     lambda: upscale(np.zeros((2, 2, 3, 8, 8), np.uint16), 2, "espcn"),
     lambda r: r.shape == (2, 2, 3, 16, 16) and r.dtype == np.uint16),
    ("upscale", "bool image", lambda: upscale(U8 > 9, 2), (TypeError, "convert it to uint8")),
    ("upscale", "complex image", lambda: upscale(U8 + 1j, 2), (TypeError, "np.abs")),
    ("upscale", "int64 image", lambda: upscale(U8.astype(np.int64) - 90, 2), lambda r: r.dtype == np.int64),
    ("upscale", "float16 image", lambda: upscale(U8.astype(np.float16), 2), lambda r: r.dtype == np.float16),
    ("upscale", "RGBA, espcn x2", lambda: upscale(RGBA, 2, "espcn", channel_axis=-1),
     lambda r: r.shape == (16, 16, 4) and (r[..., 3] == 200).all()),
    ("upscale", "channel_axis out of range", lambda: upscale(U8, 2, channel_axis=2), (ValueError, "not an axis")),
    ("upscale", "scale 0", lambda: upscale(U8, 0), (ValueError, "scale must be a number ≥ 1")),
    ("upscale", "scale -2", lambda: upscale(U8, -2), (ValueError, "to shrink, use imresize")),
    ("upscale", "scale 1", lambda: upscale(U8, 1), lambda r: np.array_equal(r, U8)),
    ("upscale", "scale 2.5, bicubic", lambda: upscale(U8, 2.5), lambda r: r.shape == (20, 20)),
    ("upscale", "scale 2.5, espcn", lambda: upscale(U8, 2.5, "espcn"), (ValueError, "integer scale")),
    ("upscale", "scale 7, espcn", lambda: upscale(U8, 7, "espcn"), (ValueError, "weights for scales")),
    ("upscale", "unknown method", lambda: upscale(U8, 2, "magic"), (ValueError, "unknown method")),
    ("upscale", "60000² x8 output (1.9 TiB)", lambda: upscale(HUGE, 8), (MemoryError, "process a crop")),
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
    ("fit_dip", "unknown task", lambda: fit_dip(U8, "deblur"), (ValueError, "choose one of")),
    ("fit_dip", "unknown network", lambda: fit_dip(U8, network="huge"), (ValueError, "unknown network")),
    ("fit_dip", "bool image", lambda: fit_dip(U8 > 9), (TypeError, "convert it to uint8")),
    ("fit_dip", "SR x8 of a 60000² image", lambda: fit_dip(HUGE, "super-resolve", scale=8),
     (MemoryError, "GiB")),
    ("denoise", "NaN in a float image", lambda: denoise(NAN), (ValueError, "NaN or infinite")),
    ("denoise", "complex image", lambda: denoise(U8 + 1j), (TypeError, "convert it to uint8")),
    ("denoise", "1x1 image", lambda: denoise(U8[:1, :1], "tv", sigma=3), lambda r: r.shape == (1, 1)),
    ("denoise", "constant image (σ estimate 0)", lambda: denoise(np.full((8, 8), 7, np.uint16)),
     lambda r: (r == 7).all()),
    ("denoise", "negative σ", lambda: denoise(U8, "tv", sigma=-1), (ValueError, "sigma must be")),
    ("denoise", "unknown method", lambda: denoise(U8, "bm3d"), (ValueError, "choose one of")),
    ("estimate_noise", "empty array", lambda: estimate_noise(np.zeros((0, 4))), (ValueError, "empty")),
    ("imresize", "scale 0", lambda: imresize(U8, 0), (ValueError, "scale must be positive")),
    ("imresize", "3-D without channel_axis", lambda: imresize(np.zeros((2, 4, 4)), 2), (ValueError, "2D image")),
    ("psnr", "shapes differ", lambda: psnr(U8, U8[:4]), (ValueError, "shapes differ")),
    ("psnr", "identical images", lambda: psnr(U8, U8), lambda r: r == np.inf),
    # Round 2 (issue 16): each area's cases below its own heading.
    # -- numerics: lazy input, extreme values, scales, tiles --
    # -- registry, command line and files --
    # -- fitted methods: seeds, parameters, memory --
    # -- denoise, colorize, inpaint --
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


def _observed(call, expected):
    try:
        result = call()
    except Exception as error:  # noqa: BLE001 - reporting what happened
        return f"`{type(error).__name__}`: {error}"
    return f"result {result.shape} {result.dtype}" if hasattr(result, "shape") else f"result {result}"


if __name__ == "__main__":
    print("| function | input | behaviour |\n|---|---|---|")
    for function, description, call, expected in CASES:
        print(f"| `{function}` | {description} | {_observed(call, expected)} |")
