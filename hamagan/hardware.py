"""Which number formats a device runs natively."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import torch


@functools.cache
def _cpu_has_bf16() -> bool:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: assume emulation
        return False
    return re.search(r"\b(avx512_bf16|amx_bf16)\b", cpuinfo) is not None


def bf16_is_fast(device: torch.device) -> bool:
    """True where bfloat16 convolutions run in hardware: CUDA devices with bf16 support, and CPUs with
    AVX512-BF16 or AMX (read from /proc/cpuinfo); elsewhere bf16 is emulated and slower than float32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and _cpu_has_bf16()
