"""Changes of the public API that still accept the old call, with a FutureWarning saying what to write."""

import functools
import inspect
import warnings


def method_by_keyword(function):
    """``function``, whose ``method`` is keyword-only, still accepting it by position, with a FutureWarning.

    ``method`` used to follow the positional parameters (``upscale(image, 4,
    "espcn")``); it is an option, so it is now passed by name (``upscale(image, 4,
    method="espcn")``), as scikit-image's options are. Calls written the old way
    keep working until a later release.
    """
    positional = sum(p.kind is p.POSITIONAL_OR_KEYWORD for p in inspect.signature(function).parameters.values())

    def keyword_call(args, kwargs):
        if len(args) <= positional:
            return args, kwargs
        if "method" in kwargs or len(args) > positional + 1:
            raise TypeError(f"{function.__name__}() takes {positional} positional arguments "
                            f"(method= and the options by keyword), got {len(args)}")
        warnings.warn(f"pass method by keyword: {function.__name__}(..., method={args[positional]!r}); "
                      "method given by position will be an error in a future release", FutureWarning, stacklevel=3)
        return args[:positional], {**kwargs, "method": args[positional]}

    @functools.wraps(function)
    def wrapper(*args, **kwargs):  # an iter_ function's generator is made (and warned about) at the call
        args, kwargs = keyword_call(args, kwargs)
        return function(*args, **kwargs)

    return wrapper
