"""Time left and time predicted of a fit, measured on its own iterations; the command line and widgets share it.

A fit (Deep Image Prior, Noise2Void, Deep Video Prior) yields a
:class:`~napari_superres._fitting.FitStep` per iteration. :class:`FitClock` times
those steps and says, after a few warm-up iterations, how long the whole fit
will take, so that a user can stop an hour-long fit before committing to it.
"""

from __future__ import annotations

import time

# Iterations timed before a fit's run time is predicted: the first iteration is not
# among them, it pays the set-up (torch's import, the network's construction).
WARM_UP_ITERATIONS = 5


def format_duration(seconds):
    """``seconds`` as a person reads a duration: ``'8 s'``, ``'14 min'``, ``'2 h 05 min'``.

    Examples
    --------
    >>> format_duration(7.6), format_duration(95), format_duration(840), format_duration(7500)
    ('8 s', '1 min 35 s', '14 min', '2 h 05 min')
    """
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 10:
        return f"{minutes} min {seconds:02d} s" if seconds else f"{minutes} min"
    if minutes < 60:
        return f"{minutes + (seconds >= 30)} min"
    hours, minutes = divmod(minutes + (seconds >= 30), 60)
    return f"{hours} h {minutes:02d} min"


def iterations_done(step):
    """Iterations of the whole fit behind ``step`` (a plane ended by early stopping counts whole)."""
    return step.plane * step.iterations + (step.iterations if step.stopped else step.iteration)


def iterations_total(step):
    """Iterations of the whole fit ``step`` belongs to, at most (early stopping may end planes sooner)."""
    return step.planes * step.iterations


class FitClock:
    """Times a fit's steps: seconds per iteration, time left, and the run time predicted after a warm-up.

    Create it just before the fit's first step is asked for and :meth:`tick` it with
    every step. The first step's time (set-up and one iteration) counts in the
    elapsed time but not in the rate, which is the mean over the iterations since.

    Examples
    --------
    >>> from napari_superres._fitting import FitStep
    >>> seconds = iter([0.0, 3.0, 4.0, 5.0])  # set-up and a first iteration take 3 s, then 1 s each
    >>> clock = FitClock(clock=lambda: next(seconds))
    >>> for i in (1, 2, 3):
    ...     step = FitStep(i, 100, 0, 1, loss=0.5)
    ...     clock.tick(step)
    >>> clock.seconds_per_iteration, clock.seconds_left(step), clock.predicted_seconds(step)
    (1.0, 97.0, 102.0)
    >>> clock.status(step)
    'iteration 3/100, loss 0.5, 1 min 37 s left'
    """

    def __init__(self, clock=time.perf_counter):
        self._clock = clock
        self._start = clock()
        self._first = self._last = None
        self.timed_iterations = 0  # iterations the rate is measured on

    def tick(self, step):
        """Record that ``step`` (a FitStep) has just been yielded."""
        now = self._clock()
        if self._first is None:
            self._first = now
        else:
            self.timed_iterations += 1
        self._last = now

    @property
    def seconds_per_iteration(self):
        """Mean seconds of an iteration after the first, or None before two steps."""
        if not self.timed_iterations:
            return None
        return (self._last - self._first) / self.timed_iterations

    def elapsed_now(self):
        """Seconds since the clock was created, up to now."""
        return self._clock() - self._start

    @property
    def elapsed(self):
        """Seconds since the clock was created, up to the last step."""
        return (self._start if self._last is None else self._last) - self._start

    def seconds_left(self, step):
        """Seconds until the fit's last iteration at the measured rate, or None before it is measured."""
        rate = self.seconds_per_iteration
        return None if rate is None else rate * (iterations_total(step) - iterations_done(step))

    def predicted_seconds(self, step):
        """Seconds of the whole fit, from its start: elapsed plus what is left, or None before a rate."""
        left = self.seconds_left(step)
        return None if left is None else self.elapsed + left

    def warmed_up(self, iterations=WARM_UP_ITERATIONS):
        """Whether the rate is measured on ``iterations`` iterations now (True once, at that step)."""
        return self.timed_iterations == iterations

    def prediction(self, step, early_stopping=False):
        """The predicted run time in words, e.g. ``'about 14 min for 1500 iterations (measured on 5 ...)'``."""
        total = iterations_total(step)
        bound = "at most " if early_stopping else "about "
        text = (f"{bound}{format_duration(self.predicted_seconds(step))} for {total} iterations "
                f"(measured on {self.timed_iterations} warm-up iterations")
        return text + (", early stopping usually ends sooner)" if early_stopping else ")")

    def status(self, step):
        """One line for a progress display: iteration, plane, loss, time left."""
        parts = [f"iteration {step.iteration}/{step.iterations}"]
        if step.planes > 1:
            parts.append(f"plane {step.plane + 1}/{step.planes}")
        parts.append(f"loss {step.loss:.4g}")
        left = self.seconds_left(step)
        if left is not None:
            parts.append(f"{format_duration(left)} left")
        return ", ".join(parts)
