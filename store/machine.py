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


def cpuinfo_field(text: str, *names: str) -> str | None:
    """The value of the first line of a /proc/cpuinfo text that starts with one of `names`."""
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in names:
            return value.strip()
    return None


@functools.cache
def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no flags, and the model from platform
        return ""


def cpu_flags(text: str | None = None) -> frozenset[str]:
    """The CPU's feature flags (of `text`, default this machine's /proc/cpuinfo; empty if unknown)."""
    flags = cpuinfo_field(_cpuinfo() if text is None else text, "flags", "Features")
    return frozenset(flags.split()) if flags else frozenset()


def cpu_model() -> str:
    return cpuinfo_field(_cpuinfo(), "model name") or platform.processor() or platform.machine() or "unknown"


def cpu_bfloat16_units(text: str | None = None) -> list[str]:
    """The bf16 matrix units of the CPU, of BF16_FLAGS (empty: bf16 is emulated, and slow)."""
    flags = cpu_flags(text)
    return [f for f in BF16_FLAGS if f in flags]
