"""Seeded fits give the same result whether they run alone or many at once (two dock widgets, threads)."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import numpy as np

from napari_superres import fit_dip, fit_video_prior
from napari_superres.noise2void import fit_noise2void

IMAGE = (np.random.default_rng(0).random((16, 16)) * 255).astype(np.uint8)
FRAMES = np.stack([IMAGE, IMAGE[::-1], IMAGE[:, ::-1]])
SEED = 7
CPU = {"device": "cpu", "seed": SEED}  # GPU kernels may reduce in any order; the seeds are what is tested here
TINY = {"down": (4, 4), "up": (4, 4), "skip": (2, 2), "input_channels": 4}
FITS = {
    "dip": lambda: fit_dip(IMAGE, iterations=3, network=TINY, early_stopping=False, **CPU),
    "n2v": lambda: fit_noise2void(IMAGE, iterations=3, batch_size=2, patch_size=8, features=4, depth=1, **CPU),
    "video prior": lambda: fit_video_prior(FRAMES, FRAMES[..., ::-1], epochs=1, features=4, depth=1, **CPU),
}


def test_sixteen_concurrent_seeded_fits_equal_the_same_fit_alone():
    alone = {name: fit() for name, fit in FITS.items()}
    names = [list(FITS)[i % len(FITS)] for i in range(16)]
    start = Barrier(len(names))

    def run(name):
        start.wait()  # all at once: the fits overlap, not one after the other
        return FITS[name]()

    with ThreadPoolExecutor(len(names)) as pool:
        together = list(pool.map(run, names))
    # Bit-exact: same process, same torch thread settings and kernels, so only the random draws could differ.
    differing = [name for name, result in zip(names, together, strict=True) if not np.array_equal(result, alone[name])]
    assert not differing, f"{len(differing)} of {len(names)} concurrent fits differ from the same fit alone"
