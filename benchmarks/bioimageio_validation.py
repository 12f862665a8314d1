"""Export every exportable shipped model (and a saved Noise2Void model) as a bioimage.io package; test each.

    python benchmarks/bioimageio_validation.py --out benchmarks/results/bioimageio.md

Needs the ``bioimageio`` extra. Each package goes through ``bioimageio.core.test_model``:
the description's validation (bioimageio.spec), then, per weights format, the test
input run through bioimageio.core's own pre-processing, network and post-processing
against the test output that napari-superres made, and runs at other sizes and batches.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
from _report import emit_table

from napari_superres import fit_noise2void
from napari_superres.bioimage_io import export_bioimageio
from napari_superres.models.registry import list_models


def noise2void_model(folder):
    """A Noise2Void model fitted briefly to a noisy camera crop: the package's mechanics, not its quality."""
    from skimage import data

    rng = np.random.default_rng(0)
    noisy = data.camera()[100:228, 200:328].astype(np.float32) * 8 + 200 + rng.normal(0, 60, (128, 128))
    fit_noise2void(noisy.astype(np.float32), iterations=50, features=8, depth=2, preview_every=0,
                   save_to=folder / "noise2void_camera", seed=0)
    return folder / "noise2void_camera.json"


def validate(model, target):
    from bioimageio.core import test_model

    start = time.perf_counter()
    export_bioimageio(model, target)
    exported = time.perf_counter() - start
    formats = [name for name in ("weights.pt", "weights_torchscript.pt") if name in zipfile.ZipFile(target).namelist()]
    summary = test_model(target)
    failed = [d.name for d in summary.details if d.status != "passed"]
    result = summary.status + "".join(f"; {name} failed" for name in failed)
    return (f"| {Path(str(model)).stem} | {', '.join(formats)} | {result} | {len(summary.details)} | {exported:.1f} | "
            f"{time.perf_counter() - start - exported:.1f} |")


def main():
    import bioimageio.core
    import bioimageio.spec

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    rows = [f"bioimageio.core {bioimageio.core.__version__}, bioimageio.spec {bioimageio.spec.__version__}: "
            "test_model on each exported package", "",
            "| model | weights | result | checks | export s | test s |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        shipped = Path(__file__).resolve().parents[1] / "weights"
        models = [name for name, card in sorted(list_models().items())
                  if card.weights.parent.resolve() == shipped and "@" not in name
                  and card.halo is not None and not any("+" in kind for kind in card.contract.inputs)]
        for model in [*models, noise2void_model(folder)]:
            rows.append(validate(model, folder / f"{Path(str(model)).stem}.zip"))
            print(rows[-1], flush=True)
    emit_table(rows, args.out)


if __name__ == "__main__":
    main()
