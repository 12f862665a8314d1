"""What the per-image fitting methods (Deep Image Prior, Noise2Void) yield while they fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class FitStep:
    """One optimisation step of a per-image fit, as yielded by ``iter_fit_dip`` and ``iter_fit_noise2void``."""

    iteration: int  # 1-based, within the current plane
    iterations: int  # upper bound for this plane
    plane: int  # index of the plane being fitted (nD stacks), 0-based
    planes: int
    loss: float
    estimate: np.ndarray | None = None  # the whole result so far, every ``preview_every`` iterations
    stopped: bool = False  # early stopping ended this plane; ``iteration`` is the one kept

    @property
    def fraction(self):
        return (self.plane + self.iteration / self.iterations) / self.planes


def optimise(optimizer, loss, iteration, iterations, preview_every, result):
    """One optimiser step on ``loss``; the :class:`FitStep` to yield, carrying ``result()`` every ``preview_every``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    step = FitStep(iteration, iterations, 0, 1, loss.item())
    if preview_every and iteration % preview_every == 0 and iteration < iterations:
        step.estimate = result()
    return step
