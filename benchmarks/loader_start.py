"""Seconds from creating the training loader to its first batch, workers spawned or forked from a server.

    python -m benchmarks.loader_start [--workers 6] [--repeats 2]

The matting stage's loader as train/train.py builds it (DIM crops from data/hmh-background's train split over
the bundled photos, batch 8), each start method measured in a fresh process, alternating.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import torch
from torch.utils.data import DataLoader

from hamagan import samples
from hamagan.data.hmh import load_rows
from hamagan.training.samples import (
    HMHSamples,
    SampleOptions,
    StreamSampler,
    init_loader_worker,
    load_backgrounds,
    loader_context,
)


def first_batch_seconds(method: str, workers: int) -> float:
    rows = load_rows("data/hmh-background", "train")
    dataset = HMHSamples(rows, SampleOptions(kind="crop"), load_backgrounds(samples.background_paths()), seed=0)
    context = loader_context() if method == "forkserver" else torch.multiprocessing.get_context("spawn")
    start = time.perf_counter()
    loader = DataLoader(dataset, batch_size=8, sampler=StreamSampler(8), num_workers=workers,
                        persistent_workers=True, worker_init_fn=init_loader_worker, multiprocessing_context=context)
    next(iter(loader))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--method", help=argparse.SUPPRESS)  # one measurement, in this process
    args = parser.parse_args()
    if args.method:
        print(f"{first_batch_seconds(args.method, args.workers):.2f}")
        return
    print(f"{args.workers} workers, {torch.get_num_threads()} threads in the main process\n")
    print("| start method | seconds to the first batch |\n|---|---|")
    for _ in range(args.repeats):
        for method in ("spawn", "forkserver"):
            result = subprocess.run([sys.executable, "-W", "ignore", __file__, "--workers", str(args.workers),
                                     "--method", method], capture_output=True, text=True, check=True)
            print(f"| {method} | {result.stdout.strip().splitlines()[-1]} |")


if __name__ == "__main__":
    main()
