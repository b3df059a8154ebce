"""Activation maximisation (Erhan et al., 2009; appendix C.2): the input that maximises the mean
activation of one channel of a block's output map, by gradient ascent in (normalised) pixel space
with a small L2 penalty. Shown zero-mean / unit-variance through the logistic (see `display`)."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

BLOCKS = ("layer1", "layer2", "layer3", "layer4")


def block_map(model, x: Tensor, block: str) -> Tensor:
    """The (n, C, h, w) output map of `block` (stem, then layer1..layer4 in order)."""
    h = model.stem(x)
    for name in BLOCKS:
        h = getattr(model, name)(h)
        if name == block:
            return h
    raise ValueError(f"unknown block {block!r}; choose from {', '.join(BLOCKS)}")


def maximise(
    model, block: str, channels, shape, steps: int = 64, lr: float = 0.05, l2: float = 1e-3, seed: int = 0
) -> Tensor:
    """(len(channels), C, H, W) inputs, one per channel, each maximising its channel (eval mode:
    every image is optimised independently)."""
    was = model.training
    model.eval()
    g = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    x = (0.1 * torch.randn((len(channels), *shape), generator=g)).to(device).requires_grad_(True)
    ch = torch.as_tensor(list(channels), device=device)
    opt = torch.optim.Adam([x], lr=lr)
    for _ in range(steps):
        act = block_map(model, x, block).mean((2, 3))
        objective = act[torch.arange(len(ch), device=device), ch].sum() - l2 * (x**2).sum()
        (grad,) = torch.autograd.grad(-objective, x)
        opt.zero_grad(set_to_none=True)
        x.grad = grad
        opt.step()
    model.train(was)
    return x.detach()


def display(images) -> np.ndarray:
    """Each image to zero mean, unit variance, then 1 / (1 + exp(-y)): values in (0, 1)."""
    a = np.asarray(images, dtype=np.float64)
    axes = tuple(range(a.ndim - 3, a.ndim))
    a = (a - a.mean(axes, keepdims=True)) / (a.std(axes, keepdims=True) + 1e-12)
    return 1.0 / (1.0 + np.exp(-a))
