"""UnitMem (Wang et al., "Localizing Memorization in SSL Vision Encoders", NeurIPS 2024, eq. 2): how
much a unit (a channel, or a neuron) responds to one training example above all the others.

For unit u and example i, mu_ui is u's activation averaged over N augmentations of x_i (a channel
averaged over its feature map). With mu_max the largest over the examples and mu_-max the mean over
the other examples,

    UnitMem(u) = (mu_max - mu_-max) / (mu_max + mu_-max)     in [0, 1] for non-negative activations:

0 for a unit that responds to every example alike, 1 for one that responds to a single example only.
Defined on non-negative activations (after a ReLU); a dead unit (every mu = 0) scores 0.

`unit_selections` turns the units' scores into a score of the examples: which examples the most
memorising units single out. A known answer follows (grids' claim UM): where some examples must be
memorised (injected wrong labels, outlier images), the units of highest UnitMem should select them
more often than their share of the training examples.
"""

from __future__ import annotations

import math

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
    return unit_memorization_of_means(activations.double().mean(1))


def unit_memorization_of_means(mu: Tensor) -> Tensor:
    """(U,) UnitMem of each unit from its mean activations mu (n, U) >= 0 over each example's views."""
    mu = mu.double()
    top = mu.max(0).values
    rest = (mu.sum(0) - top) / (mu.shape[0] - 1)
    total = top + rest
    # a dead unit (every mean 0) scores 0; the others divide by their own total, however small (a
    # clamp at the smallest normal number would halve a unit whose means are subnormal); top >= rest,
    # but the rounding of the sum can put rest an ulp above it: UnitMem is >= 0
    score = torch.where(total > 0, (top - rest) / torch.where(total > 0, total, 1.0), 0.0)
    return score.clamp_min(0.0)


def selective_example(activations: Tensor) -> Tensor:
    """(U,) the example each unit responds to most (argmax_i mu_ui)."""
    return activations.double().mean(1).argmax(0)


def unit_selections(mu: Tensor, top_share: float = 0.1) -> tuple[Tensor, Tensor, Tensor]:
    """Per example, from mean activations mu (n, U) >= 0: (units, top_units, best), each (n,).

    units: how many live units select the example (it is their selective example); top_units: how
    many of the ceil(top_share x live) units of largest UnitMem (ties to the smaller unit index) do;
    best: the largest UnitMem of a unit that selects it (0 if none). A dead unit (every mean 0) has no
    selective example and selects nothing: argmax would name example 0."""
    if mu.ndim != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu must be (examples >= 2, units), got {tuple(mu.shape)}")
    if not 0 < top_share <= 1:
        raise ValueError(f"top_share must be in (0, 1], got {top_share}")
    if bool((mu < 0).any()):
        raise ValueError("UnitMem is defined on non-negative activations (after a ReLU)")
    mu = mu.double()
    n = mu.shape[0]
    live = (mu > 0).any(0)
    score = unit_memorization_of_means(mu)[live]
    chosen = mu[:, live].argmax(0)
    units = torch.bincount(chosen, minlength=n).double()
    n_top = math.ceil(top_share * len(score) - 1e-9)  # 0.1 x 30 is 3.0000000000000004 in floating point
    # stable sort of -score: the largest first, equal scores in unit order
    top = torch.sort(-score, stable=True).indices[:n_top]
    top_units = torch.bincount(chosen[top], minlength=n).double()
    best = torch.zeros(n, dtype=torch.float64, device=mu.device).scatter_reduce(
        0, chosen, score, "amax", include_self=True
    )
    return units, top_units, best
