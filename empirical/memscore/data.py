"""The example pool of a memorization run: a class-balanced subset of a real split (through
empirical.datasets), or "synthetic": tiny class-prototype images generated from counter-based
random numbers (for tests and demos; nothing is read or downloaded)."""

from __future__ import annotations

import torch
from torch import Tensor

from benign.theory.counter_random import integers, normal

SYNTHETIC = "synthetic"


def synthetic(n: int, seed: int, train: bool, num_classes: int = 4, size: int = 8):
    """uint8 (n, 1, size, size) images: a fixed random prototype per class plus noise."""
    from benign.empirical.datasets import ImageDataset

    pix = torch.arange(size * size)
    protos = normal(seed, 0x5A, torch.arange(num_classes)[:, None], pix[None, :])
    idx = torch.arange(n) + (0 if train else 1_000_000)
    labels = integers(num_classes, seed, 0x5B, idx)
    noise = normal(seed, 0x5C, idx[:, None], pix[None, :])
    x = 128 + 40 * protos[labels] + 40 * noise
    images = x.clamp(0, 255).round().to(torch.uint8).reshape(n, 1, size, size)
    return ImageDataset(
        images=images, labels=labels, num_classes=num_classes, name=SYNTHETIC, mean=(0.5,), std=(0.2,)
    )


def load_pool(name: str, root, n: int, seed: int, train: bool):
    """(dataset restricted to n examples (n <= 0: the whole split), indices into the split)."""
    if name == SYNTHETIC:
        if n <= 0:
            raise ValueError("the synthetic data set needs an explicit size (--n-train / --n-test > 0)")
        ds = synthetic(n, seed, train)
        return ds, torch.arange(n)
    from dataclasses import replace

    from benign.empirical.datasets import load_dataset, subset_indices

    ds = load_dataset(name, root=root, train=train, device="cpu")
    if n <= 0 or n >= len(ds):
        return ds, torch.arange(len(ds))
    idx: Tensor = subset_indices(ds.labels, n, seed + (0 if train else 7919), ds.num_classes)
    return replace(ds, images=ds.images[idx], labels=ds.labels[idx]), idx
