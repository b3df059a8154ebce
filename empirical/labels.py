"""Training labels: clean, all random, a fraction random (label noise), or C' random classes.

Random labels are a pure function of (seed, image index) through counter-based hashing, so a run's
labels are fixed by its seed (and saved with its checkpoint anyway). C' may exceed the true number
of classes (figure 9); 'per-sample' gives every image its own class (C' = n).

Spec strings: 'clean', 'random', 'noise:<fraction>', 'classes:<C'>', 'per-sample'.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from benign.theory.counter_random import integers, uniform

_LABEL_STREAM, _NOISE_STREAM, _AUG_LABEL_STREAM = 0x1AB, 0x2AB, 0x3AB


@dataclass(frozen=True)
class LabelSpec:
    kind: str  # clean | random | noise | classes | per-sample
    fraction: float = 1.0
    classes: int | None = None

    def __str__(self) -> str:
        if self.kind == "noise":
            return f"noise:{self.fraction:g}"
        if self.kind == "classes":
            return f"classes:{self.classes}"
        return self.kind


def parse_labels(spec: str) -> LabelSpec:
    spec = spec.strip().lower()
    kind, _, arg = spec.partition(":")
    if kind in ("clean", "random", "per-sample") and not arg:
        return LabelSpec(kind)
    try:
        if kind == "noise":
            f = float(arg)
            if not 0.0 <= f <= 1.0:
                raise ValueError
            return LabelSpec("noise", fraction=f)
        if kind == "classes":
            c = int(arg)
            if c < 1:
                raise ValueError
            return LabelSpec("classes", classes=c)
    except ValueError:
        raise ValueError(
            f"bad label spec {spec!r}: noise:<fraction in [0, 1]> or classes:<integer >= 1>"
        ) from None
    raise ValueError(
        f"unknown label spec {spec!r}; use clean, random, noise:<fraction>, classes:<C'>, per-sample"
    )


def random_share(spec: LabelSpec | str) -> float:
    """The share of the training labels drawn at random: 0 for clean labels, the fraction for label
    noise, 1 otherwise (Definition 4.1 asks a random-label network to fit them all)."""
    if isinstance(spec, str):
        spec = parse_labels(spec)
    return {"clean": 0.0, "noise": spec.fraction}.get(spec.kind, 1.0)


def num_label_classes(spec: LabelSpec, num_classes: int, n: int) -> int:
    """The width of the one-hot targets (the network's output size)."""
    if spec.kind == "classes":
        return spec.classes
    if spec.kind == "per-sample":
        return n
    return num_classes


def make_labels(clean: Tensor, spec: LabelSpec | str, num_classes: int, seed: int) -> Tensor:
    """Training labels for images 0..n-1 (indices of the training set as loaded)."""
    if isinstance(spec, str):
        spec = parse_labels(spec)
    n = clean.shape[0]
    idx = torch.arange(n, device=clean.device)
    if spec.kind == "clean":
        return clean.clone()
    if spec.kind == "per-sample":
        return idx.clone()
    width = num_label_classes(spec, num_classes, n)
    random = integers(width, seed, _LABEL_STREAM, idx, device=clean.device)
    if spec.kind == "noise":
        # exactly round(f * n) images relabelled: the lowest-ranked under a seed-fixed random order
        k = round(spec.fraction * n)
        rank = uniform(seed, _NOISE_STREAM, idx, dtype=torch.float64, device=clean.device).argsort()
        noisy = torch.zeros(n, dtype=torch.bool, device=clean.device)
        noisy[rank[:k]] = True
        return torch.where(noisy, random, clean)
    return random


def augmentation_labels(
    image_labels: Tensor, num_augmentations: int, width: int, seed: int, mode: str = "image"
) -> Tensor:
    """(n, B) labels of a fixed bank of B augmentations per image (figure 6): 'image' keeps the
    image's label on all its augmentations (label preserving); 'random' draws a fresh label per
    augmentation."""
    n = image_labels.shape[0]
    if mode == "image":
        return image_labels[:, None].expand(n, num_augmentations).clone()
    if mode == "random":
        i = torch.arange(n, device=image_labels.device)[:, None]
        b = torch.arange(num_augmentations, device=image_labels.device)[None]
        return integers(width, seed, _AUG_LABEL_STREAM, i, b, device=image_labels.device)
    raise ValueError(f"augmentation labels must be 'image' or 'random', got {mode!r}")
