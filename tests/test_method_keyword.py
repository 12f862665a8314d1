"""``method`` is keyword-only in the task functions; the old positional call still works, with a FutureWarning."""

import inspect

import numpy as np
import pytest

import napari_superres as nsr
from napari_superres._arrays import run_to_end

IMAGE = np.arange(64, dtype=np.uint8).reshape(8, 8)
MASK = IMAGE == 9

# Every function whose method used to be positional, its positional arguments, and a method it takes.
CALLS = [
    (nsr.upscale, (IMAGE, 2), "nearest"),
    (nsr.iter_upscale, (IMAGE, 2), "nearest"),
    (nsr.upscale_axes, (IMAGE, (2, 1)), "nearest"),
    (nsr.iter_upscale_axes, (IMAGE, (2, 1)), "nearest"),
    (nsr.denoise, (IMAGE,), "tv"),
    (nsr.iter_denoise, (IMAGE,), "tv"),
    (nsr.inpaint, (IMAGE, MASK), "biharmonic"),
    (nsr.iter_inpaint, (IMAGE, MASK), "biharmonic"),
]


def _result(value):
    return run_to_end(value) if inspect.isgenerator(value) else value


@pytest.mark.parametrize("function, args, method", CALLS, ids=[c[0].__name__ for c in CALLS])
def test_method_is_keyword_only_in_the_signature(function, args, method):
    parameter = inspect.signature(function).parameters["method"]
    assert parameter.kind is parameter.KEYWORD_ONLY


@pytest.mark.parametrize("function, args, method", CALLS, ids=[c[0].__name__ for c in CALLS])
def test_a_positional_method_warns_and_gives_the_keyword_result(function, args, method):
    with pytest.warns(FutureWarning, match=f"pass method by keyword: {function.__name__}\\(..., method='{method}'\\)"):
        old = _result(function(*args, method))
    np.testing.assert_array_equal(old, _result(function(*args, method=method)))


def test_method_twice_or_too_many_positionals_is_a_type_error():
    with pytest.raises(TypeError, match="takes 2 positional arguments"):
        nsr.upscale(IMAGE, 2, "nearest", method="bicubic")
    with pytest.raises(TypeError, match="takes 1 positional arguments"):
        nsr.denoise(IMAGE, "tv", 3)
