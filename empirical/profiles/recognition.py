"""Which (network, augmentation) pairs recognise an example, and the profiles p_t(x), p_t(x~).

`recognised` arrays are indicators with dims (seed, augmentation, example) at one epoch (or with a
leading epoch dim): p_t(x) averages over networks and augmentations (the paper's N = 30, M = 10);
p_t(x~) fixes augmentation m and averages over networks only (eq. 2).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from empirical.profiles.simclr import similarity_logits


def recognise_classes(logits: Tensor, labels: Tensor) -> Tensor:
    """Correct class w.r.t. the labels the network was trained on (clean or random)."""
    return logits.argmax(1) == labels


def recognise_pairs(z1: Tensor, z2: Tensor, batch_size: int) -> Tensor:
    """For SimCLR: view 1 of image i is recognised when, among the 2B - 1 other views of its batch
    (consecutive chunks of `batch_size` images), its arg-max similarity is view 2 of image i."""
    out = []
    for s in range(0, z1.shape[0], batch_size):
        a, b = z1[s : s + batch_size], z2[s : s + batch_size]
        logits = similarity_logits(a.double(), b.double(), 1.0)
        out.append(logits[: a.shape[0]].argmax(1) == torch.arange(a.shape[0], device=a.device) + a.shape[0])
    return torch.cat(out)


def profile(recognised, seed_axis: int = -3, aug_axis: int = -2) -> np.ndarray:
    """p_t(x): the share of (network, augmentation) pairs recognising x."""
    r = np.asarray(recognised, dtype=np.float64)
    return r.mean(axis=(seed_axis, aug_axis))


def fixed_profile(recognised, seed_axis: int = -3) -> np.ndarray:
    """p_t(x~): the share of networks recognising each (example, augmentation) pair; the
    augmentation axis is kept."""
    return np.asarray(recognised, dtype=np.float64).mean(axis=seed_axis)
