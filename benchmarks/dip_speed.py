"""Seconds per Deep Image Prior iteration (forward, backward, Adam step) on this machine.

    python benchmarks/dip_speed.py --sizes 256 512 --networks paper fast \
        --variants eager channels_last bf16 compile

Variants: ``eager`` (fp32, NCHW: what fit_dip runs), ``channels_last`` (NHWC
memory format), ``bf16`` (CPU autocast to bfloat16), ``compile`` (torch.compile;
its compile time is reported separately).
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from napari_superres.dip import NETWORKS
from napari_superres.models.skip import SkipNet


def seconds_per_iteration(network, size, variant, repeats):
    spec = NETWORKS[network]
    net = SkipNet(spec["input_channels"], 3, spec["down"], spec["up"], spec["skip"])
    z = 0.1 * torch.rand(1, spec["input_channels"], size, size)
    target = torch.rand(1, 3, size, size)
    if variant == "channels_last":
        net = net.to(memory_format=torch.channels_last)
        z = z.contiguous(memory_format=torch.channels_last)
    forward = torch.compile(net) if variant == "compile" else net
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if variant == "bf16" else contextlib.nullcontext()
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)

    def step():
        with autocast:
            loss = ((forward(z + torch.randn_like(z) / 30).float() - target) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    start = time.perf_counter()
    step()  # warm-up (and compilation)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats, warmup


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS))
    parser.add_argument("--variants", nargs="+", default=["eager"])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{torch.get_num_threads()} threads, torch {torch.__version__}\n")
    print("| network | size | variant | s / iteration | first iteration (s) |\n|---|---|---|---|---|")
    for network in args.networks:
        for size in args.sizes:
            for variant in args.variants:
                seconds, warmup = seconds_per_iteration(network, size, variant, args.repeats)
                print(f"| {network} | {size}² | {variant} | {seconds:.3f} | {warmup:.1f} |", flush=True)


if __name__ == "__main__":
    main()
