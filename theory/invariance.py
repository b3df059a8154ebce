"""Normalized invariance, equation 2 (appendix D.3):

    I(x; q, T) = E_{T1,T2 ~ U(T)} |q(T1 x) - q(T2 x)|^2 / E_{x' != x} |q(x) - q(x')|^2.

Small is invariant. The denominator rules out collapse: a constant q gets 0/0, reported as NaN.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor


def invariance_from_embeddings(view_a: Tensor, view_b: Tensor, clean: Tensor) -> Tensor:
    """Per-example I from embeddings already computed.

    view_a, view_b: (P, n, D), P independent pairs (T1, T2) of augmentations of the n examples;
    clean: (n, D), q of the unaugmented examples. Returns (n,): the mean over the P pairs of
    |q(T1 x) - q(T2 x)|^2 divided by the mean over the n - 1 other examples of |q(x) - q(x')|^2.
    """
    if view_a.ndim == 2:
        view_a, view_b = view_a[None], view_b[None]
    if view_a.shape != view_b.shape or view_a.shape[1:] != clean.shape:
        raise ValueError("views must be (P, n, D) with clean (n, D)")
    n = clean.shape[0]
    if n < 2:
        raise ValueError("the denominator needs at least two examples")
    numerator = (view_a - view_b).pow(2).sum(-1).mean(0)
    c = clean.double()
    sq = c.pow(2).sum(1)
    # sum_{x'} |c - c'|^2 = n |c|^2 - 2 c . sum(c') + sum |c'|^2; the x' = x term is 0.
    total = n * sq - 2 * c @ c.sum(0) + sq.sum()
    denominator = (total / (n - 1)).clamp_min(0).to(numerator.dtype)
    return numerator / denominator


@torch.no_grad()
def normalized_invariance(
    q: Callable[[Tensor], Tensor],
    x: Tensor,
    augment: Callable[[Tensor], Tensor],
    pairs: int = 4,
) -> Tensor:
    """Per-example I(x; q, T) by Monte Carlo: `pairs` independent draws (T1, T2) from `augment`.

    q maps a batch (n, ...) to (n, D) embeddings (any layer of any model); augment maps a batch to
    a freshly augmented batch of the same shape. Returns (n,).
    """
    flat = lambda t: q(t).reshape(t.shape[0], -1)
    a = torch.stack([flat(augment(x)) for _ in range(pairs)])
    b = torch.stack([flat(augment(x)) for _ in range(pairs)])
    return invariance_from_embeddings(a, b, flat(x))
