"""Parsing shared by the commands: comma-separated lists, devices."""

from __future__ import annotations

import torch

from cli.errors import BadInput


def int_list(text: str, name: str, minimum: int = 1) -> list[int]:
    """'5,10,20' -> [5, 10, 20]; every value >= minimum, no duplicates."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BadInput(f"--{name} takes comma-separated whole numbers, got {text!r}") from None
    if not values:
        raise BadInput(f"--{name} is empty")
    if any(v < minimum for v in values):
        raise BadInput(f"--{name} values must be >= {minimum}, got {text!r}")
    if len(set(values)) != len(values):
        raise BadInput(f"--{name} repeats a value: {text!r}")
    return values


def resolve_device(device: str) -> torch.device:
    """'auto' picks CUDA when there is one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise BadInput(f"--device must be auto, cpu or cuda, got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BadInput("--device cuda asked for, but torch sees no CUDA device here")
    return torch.device(device)
