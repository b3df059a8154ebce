"""What machine a result was computed on: its CPU model and whether the CPU multiplies bfloat16 natively.

Both go into every result file's provenance (a number measured in bfloat16 differs from float32 at
bf16's rounding), and `theory.devices` reads the second for `precision = "auto"`: on a CPU with bf16
matrix units (Intel AMX-BF16 or AVX512-BF16) a small-CNN step runs 1.9x faster in bfloat16 autocast,
on one without them (AVX2 only, as on the AMD EPYC machines here) 10x *slower*: 2.3 s against 0.23 s
a step of the cpu preset's network, measured on one machine, 2 threads.
"""

from __future__ import annotations

import functools
import platform
from pathlib import Path

BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo names of the units oneDNN uses for bf16


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo; empty where that is not readable)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


@functools.cache
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def cpu_bfloat16_units() -> list[str]:
    """The bf16 matrix units this CPU has, of BF16_FLAGS (empty: bf16 is emulated, and slow)."""
    return [f for f in BF16_FLAGS if f in cpu_flags()]
