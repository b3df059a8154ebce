"""The kernel projector of appendix E and its hard limit.

g_V(h) = sum_i w_i(h) l_i,  w_i(h) = (1/|h - v_i|) / sum_j (1/|h - v_j|),
with K prototypes v_i and fixed one-hot labels l_i. The hard limit g(h) = l_{argmin_i |h - v_i|}
is a K-cell Voronoi classifier, which is what bounds the capacity by K (theory.capacity).

Numerics: w = softmax(-log|h - v|) = softmax(-0.5 log |h - v|^2). The squared distance is
clamped at the smallest normal float before the log, so h exactly on a prototype gives a finite
(one-hot in the limit) weight and a zero, not NaN, gradient of the clamped entry.
"""

from __future__ import annotations

import torch
from torch import Tensor

from benign.theory import counter_random as cr


def squared_distances(h: Tensor, prototypes: Tensor) -> Tensor:
    """|h - v|^2 for h (..., m, D) and prototypes (..., K, D): (..., m, K), clamped at >= tiny."""
    norms = (h * h).sum(-1, keepdim=True) + (prototypes * prototypes).sum(-1)[..., None, :]
    if h.ndim == 3 and prototypes.ndim == 3:  # the batched toy: one fused kernel for |h|^2 + |v|^2 - 2 h.v
        sq = torch.baddbmm(norms, h, prototypes.transpose(-1, -2), alpha=-2)
    else:
        sq = norms - 2 * h @ prototypes.transpose(-1, -2)
    return sq.clamp_min(torch.finfo(h.dtype).tiny)


def projector_weights(h: Tensor, prototypes: Tensor) -> Tensor:
    """Inverse-distance weights (..., m, K): non-negative, summing to 1."""
    return torch.softmax(-0.5 * squared_distances(h, prototypes).log(), dim=-1)


def kernel_projector(h: Tensor, prototypes: Tensor, prototype_labels: Tensor) -> Tensor:
    """g_V(h): (..., m, C) for prototype_labels (..., K, C) one-hot; a point of the simplex."""
    return projector_weights(h, prototypes) @ prototype_labels


def hard_projector(h: Tensor, prototypes: Tensor, prototype_labels: Tensor) -> Tensor:
    """The hard limit l_{argmin_i |h - v_i|}: (..., m, C)."""
    nearest = squared_distances(h, prototypes).argmin(-1)
    return torch.take_along_dim(prototype_labels, nearest[..., None], dim=-2)


def balanced_prototype_labels(K: int, C: int, seed, device=None) -> Tensor:
    """Fixed random one-hot labels (..., K, C) for K prototypes, every class used floor(K/C) or ceil(K/C) times.

    The paper draws l_i at random from {e_1..e_C}; we draw a random permutation of a balanced
    assignment instead, so that no class is left without a prototype (which would make every
    labelling that uses it impossible to memorise, whatever n). With K < C only K distinct classes,
    chosen at random, have a prototype, and the capacity is 0 (theory.capacity).
    """
    if K < 1 or C < 1:
        raise ValueError(f"need K >= 1 and C >= 1, got K={K}, C={C}")
    seed = torch.as_tensor(seed, device=device)
    keys = cr.uniform(seed[..., None], 0xC1A55, torch.arange(max(K, C), device=device), dtype=torch.float64)
    order = keys.argsort(-1)[..., :K]
    classes = order % C
    return torch.nn.functional.one_hot(classes, C).to(torch.float32)
