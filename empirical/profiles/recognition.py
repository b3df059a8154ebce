"""Which (network, augmentation) pairs recognise an example, and the profiles p_t(x), p_t(x~).

`recognised` arrays count the views recognised (0/1 for a classifier; 0..2 for SimCLR scored in
both directions), with dims (seed, augmentation, example) at one epoch (or with a leading epoch
dim): p_t(x) averages over networks, augmentations and views (the paper's N = 30, M = 10); p_t(x~)
fixes augmentation m and averages over networks (and views) only (eq. 2).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from benign.empirical.profiles.simclr import positives, similarity_logits

DIRECTIONS = ("both", "one")


def recognise_classes(logits: Tensor, labels: Tensor) -> Tensor:
    """Correct class w.r.t. the labels the network was trained on (clean or random)."""
    return logits.argmax(1) == labels


def recognise_pairs(z1: Tensor, z2: Tensor, batch_size: int, directions: str = "both") -> Tensor:
    """For SimCLR, per image: how many of its views find their partner as the arg-max similarity
    among the 2B - 1 other views of the batch (consecutive chunks of `batch_size` images).

    directions 'both' (the authors' scoring: the arg-max over all 2B rows, each view a classification
    among 2B - 1): view 1 -> view 2 and view 2 -> view 1, a count in {0, 1, 2};
    'one': view 1 -> view 2 only, a count in {0, 1}. Returns (K,) int8.
    """
    if directions not in DIRECTIONS:
        raise ValueError(f"recognition directions must be one of {', '.join(DIRECTIONS)}, got {directions!r}")
    out = []
    for s in range(0, z1.shape[0], batch_size):
        a, b = z1[s : s + batch_size], z2[s : s + batch_size]
        hits = similarity_logits(a.double(), b.double(), 1.0).argmax(1) == positives(a.shape[0], a.device)
        n = a.shape[0]
        out.append(hits[:n].to(torch.int8) + (hits[n:].to(torch.int8) if directions == "both" else 0))
    return torch.cat(out)


def views_scored(contrastive: bool, directions: str) -> int:
    """Views one (network, augmentation) trial scores: 2 for SimCLR in both directions, else 1."""
    return 2 if contrastive and directions == "both" else 1


def profile(recognised, seed_axis: int = -3, aug_axis: int = -2, views: int = 1) -> np.ndarray:
    """p_t(x): the share of (network, augmentation, view) trials recognising x."""
    r = np.asarray(recognised, dtype=np.float64) / views
    return r.mean(axis=(seed_axis, aug_axis))


def fixed_profile(recognised, seed_axis: int = -3, views: int = 1) -> np.ndarray:
    """p_t(x~): the share of (network, view) trials recognising each (example, augmentation) pair;
    the augmentation axis is kept."""
    return (np.asarray(recognised, dtype=np.float64) / views).mean(axis=seed_axis)
