"""Label corruption: k examples of a data set get a random label (companion paper 3, section 3.1).

Which examples and which labels are a pure function of (seed, example index) through
theory.counter_random, so the same k, seed and data set always give the same corruption. The k
examples are those with the k smallest draws uniform(seed, 0xC0, i). By default the new label is
drawn uniformly among the *other* C - 1 classes, so every corrupted example really has a wrong
label (``allow_true=True`` draws among all C, as Zhang et al. do, so ~1/C keep their label).
"""

from __future__ import annotations

import torch
from torch import Tensor

from benign.theory.counter_random import integers, uniform


def corrupt_labels(
    labels: Tensor, k: int, num_classes: int, seed: int = 0, allow_true: bool = False
) -> tuple[Tensor, Tensor]:
    """Return (new labels, bool mask of the k corrupted examples)."""
    labels = torch.as_tensor(labels, dtype=torch.int64)
    n = labels.shape[0]
    if not 0 <= k <= n:
        raise ValueError(f"cannot corrupt {k} of {n} labels")
    if num_classes < 2:
        raise ValueError("label corruption needs at least two classes")
    idx = torch.arange(n, dtype=torch.int64)
    order = torch.argsort(uniform(seed, 0xC0, idx, dtype=torch.float64), stable=True)
    corrupted = torch.zeros(n, dtype=torch.bool)
    corrupted[order[:k]] = True
    new = labels.clone()
    sel = idx[corrupted]
    if allow_true:
        new[sel] = integers(num_classes, seed, 0xC1, sel)
    else:
        shift = 1 + integers(num_classes - 1, seed, 0xC1, sel)
        new[sel] = (labels[sel].cpu() + shift) % num_classes
    return new.to(labels.device), corrupted.to(labels.device)
