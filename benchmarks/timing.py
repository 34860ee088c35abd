"""Shared timing helpers of the benchmarks."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import numpy as np
import torch


def median_seconds(call: Callable[[], object], repeats: int, warmups: int = 1) -> float:
    """The median wall time of ``repeats`` calls after ``warmups`` untimed ones; on a GPU each timed call
    waits for the device at both ends."""
    for _ in range(warmups):
        call()
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    times = []
    for _ in range(repeats):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        call()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def matmul_gflops(size: int = 2048, repeats: int = 5) -> float:
    """This machine's fp32 matrix-multiply rate now (GFLOP/s, median of ``repeats``): a yardstick printed beside
    timings, since a shared VM's speed moves by up to 2x over a day."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    return 2 * size**3 / median_seconds(lambda: a @ b, repeats) / 1e9
