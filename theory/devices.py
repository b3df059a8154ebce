"""The one reading of a device name: auto | cpu | cuda | cuda:<i> -> torch.device."""

from __future__ import annotations

import re

import torch

from benign.store.machine import cpu_bfloat16_units

DEVICE_HELP = "auto (CUDA when there is one), cpu, cuda or cuda:<i>"


def check_device(name: str) -> None:
    """ValueError unless `name` is auto, cpu, cuda or cuda:<i> (whether CUDA exists is not asked)."""
    if not isinstance(name, str) or not re.fullmatch(r"auto|cpu|cuda(:\d+)?", name):
        raise ValueError(f"device must be auto, cpu, cuda or cuda:<i>, got {name!r}")


def resolve_device(name: str | torch.device) -> torch.device:
    """'auto' is CUDA when torch sees a CUDA device, else the CPU; ValueError for a CUDA device that
    is not there."""
    if isinstance(name, torch.device):
        return name
    check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {name} asked for, but torch sees no CUDA device here")
        index = torch.device(name).index
        if index is not None and index >= torch.cuda.device_count():
            raise ValueError(
                f"device {name} asked for, but torch sees {torch.cuda.device_count()} CUDA devices"
            )
    return torch.device(name)


# Mixed precision of training: bfloat16 autocast (matrix products and convolutions in bf16, weights,
# optimizer and loss in float32). "auto" is bfloat16 on CUDA and on a CPU with bf16 matrix units
# (AMX-BF16 or AVX512-BF16: a small-CNN step 1.9x faster), float32 on any other CPU, where bf16 is
# emulated and a step runs 10x slower (store/machine.py). Every result file records the CPU and its
# bf16 units (provenance), so that "auto" can be read back.
PRECISIONS = ("auto", "float32", "bfloat16")
PRECISION_HELP = (
    "auto (bfloat16 on CUDA and on a CPU with bf16 units, AMX or AVX512-BF16; else float32), "
    "float32 or bfloat16 (autocast)"
)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of `precision` on `device`, None for float32; ValueError for another name."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" or cpu_bfloat16_units() else None
    return torch.bfloat16 if precision == "bfloat16" else None
