"""UnitMem (Wang et al., "Localizing Memorization in SSL Vision Encoders", NeurIPS 2024, eq. 2): how
much a unit (a channel, or a neuron) responds to one training example above all the others.

For unit u and example i, mu_ui is u's activation averaged over N augmentations of x_i (a channel
averaged over its feature map). With mu_max the largest over the examples and mu_-max the mean over
the other examples,

    UnitMem(u) = (mu_max - mu_-max) / (mu_max + mu_-max)     in [0, 1] for non-negative activations:

0 for a unit that responds to every example alike, 1 for one that responds to a single example only.
Defined on non-negative activations (after a ReLU); a dead unit (every mu = 0) scores 0.
"""

from __future__ import annotations

import torch
from torch import Tensor


def unit_memorization(activations: Tensor) -> Tensor:
    """(U,) UnitMem of each unit from activations (n, N, U): n examples, N augmentations of each, U
    units, all >= 0."""
    if activations.ndim != 3 or activations.shape[0] < 2:
        raise ValueError(
            f"activations must be (examples >= 2, augmentations, units), got {tuple(activations.shape)}"
        )
    if bool((activations < 0).any()):
        raise ValueError("UnitMem is defined on non-negative activations (after a ReLU)")
    mu = activations.double().mean(1)  # (n, U)
    top = mu.max(0).values
    rest = (mu.sum(0) - top) / (mu.shape[0] - 1)
    total = top + rest
    # a dead unit (every mean 0) scores 0; the others divide by their own total, however small (a
    # clamp at the smallest normal number would halve a unit whose means are subnormal)
    return torch.where(total > 0, (top - rest) / torch.where(total > 0, total, 1.0), 0.0)


def selective_example(activations: Tensor) -> Tensor:
    """(U,) the example each unit responds to most (argmax_i mu_ui)."""
    return activations.double().mean(1).argmax(0)
