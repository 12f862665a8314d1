"""Progress bars of the command line: megapixels for restorations, iterations, loss and time left for fits."""

from __future__ import annotations

import sys

LONG_FIT_SECONDS = 600  # a fit predicted to take longer is told of --quick and --crop


def _run_with_bar(steps, description, megapixels, *, early_stopping=False, estimate=False):
    """Exhaust a progress generator behind a progress bar on stderr; return its result.

    A fit's bar counts iterations with the loss and the time left, and prints the
    run time predicted from its warm-up iterations; with ``estimate`` it stops
    there and returns None. Other work is counted in ``megapixels`` (MP/s).
    """
    from .._fitting import FitStep
    from .._progress import FitClock

    clock = FitClock()  # before the first step: its set-up counts in the elapsed time
    first = _next_progress(steps)
    if isinstance(first[0], FitStep):
        return _run_fit_bar(steps, first, clock, description, early_stopping, estimate)
    return _run_megapixel_bar(steps, first, clock, description, megapixels)


def _next_progress(steps):
    """``(next progress, None)``, or ``(None, result)`` once the generator has ended."""
    try:
        return next(steps), None
    except StopIteration as done:
        return None, done.value


def _bar(clock, **options):
    """A tqdm bar on stderr whose clock started with ``clock`` (a FitClock), before the first step was asked for."""
    from tqdm import tqdm

    bar = tqdm(file=sys.stderr, smoothing=0, **options)  # rates: the mean since the start
    bar.start_t = bar.last_print_t = bar.start_t - (clock.elapsed_now())
    return bar


def _run_megapixel_bar(steps, first, clock, description, megapixels):
    progress, result = first
    with _bar(clock, total=round(megapixels, 2), unit="MP", desc=description,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.2f}/{total:.2f} MP [{elapsed}<{remaining}, "
                         "{rate_fmt}]") as bar:
        while progress is not None:
            bar.update(min(progress, 1) * bar.total - bar.n)
            progress, result = _next_progress(steps)
        bar.update(bar.total - bar.n)
    return result


def _run_fit_bar(steps, first, clock, description, early_stopping, estimate):
    from .._progress import iterations_done, iterations_total

    step, result = first
    clock.tick(step)
    with _bar(clock, total=iterations_total(step), unit="it", desc=description,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}, {rate_fmt}{postfix}]") as bar:
        while step is not None:
            bar.set_postfix_str(clock.status(step), refresh=False)
            bar.update(iterations_done(step) - bar.n)
            if clock.warmed_up():
                slow = clock.predicted_seconds(step) > LONG_FIT_SECONDS
                bar.write(f"{description}: {clock.prediction(step, early_stopping)}"
                          + ("" if estimate else "; Ctrl-C stops it")
                          + ("; --quick (and --crop) give a first look sooner" if slow else ""), file=sys.stderr)
                if estimate:
                    steps.close()
                    return None
            step, result = _next_progress(steps)
            if step is not None:
                clock.tick(step)
    return result


def _training_log(message, total):
    """Print a training message; a validation record as one line with its step, loss, PSNR and time left."""
    import json

    from .._progress import format_duration

    record = json.loads(message) if message.startswith("{") else None
    if not isinstance(record, dict) or "sec_per_step" not in record:
        print(message, flush=True)
        return
    left = format_duration(record["sec_per_step"] * (total - record["step"]))
    print(f"step {record['step']}/{total}, loss {record['loss']:.4g}, validation {record['val_psnr']:.2f} dB, "
          f"{record['sec_per_step']:.3g} s/step, {left} left", flush=True)
