r"""Weights to start an MDSR run from (``train mdsr --init``): the three shipped EDSR models joined.

    python scripts/mdsr_init_from_edsr.py --weights-dir weights --out /work/ext/mdsr_init.safetensors

The head and the shared body come from ``edsr_x4`` (x2 and x3 were fine-tuned from it), each
scale's upsampler from ``edsr_x{s}``, and the 5x5 pre-processing blocks, which EDSR lacks, start as
the identity (their last convolution zero): the MDSR starts out making what the EDSR x4 body with
each scale's upsampler makes, and its training only has to share the body.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from napari_superres.models import ARCHITECTURES


def joined_state(weights_dir: Path, features: int, blocks: int, scales=(2, 3, 4)):
    """The MDSR state dict assembled from ``edsr_x{s}.safetensors`` in ``weights_dir``."""
    torch.manual_seed(0)
    state = ARCHITECTURES["mdsr"](scale=scales[-1], features=features, blocks=blocks, scales=scales).state_dict()
    x4 = load_file(str(weights_dir / "edsr_x4.safetensors"))
    state.update({k: v for k, v in x4.items() if k.startswith(("head.", "body."))})
    for s in scales:
        tail = load_file(str(weights_dir / f"edsr_x{s}.safetensors"))
        state.update({f"tails.{s}.{k[len('tail.'):]}": v for k, v in tail.items() if k.startswith("tail.")})
        for block in range(2):
            for part in ("weight", "bias"):
                state[f"pre.{s}.{block}.body.3.{part}"].zero_()
    return state


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights-dir", type=Path, default=Path("weights"))
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--blocks", type=int, default=6)
    args = parser.parse_args(argv)
    save_file(joined_state(args.weights_dir, args.features, args.blocks), str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
