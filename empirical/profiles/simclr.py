"""NT-Xent (Chen et al., 2020): each of the 2B views classifies its partner among the 2B - 1 other
views of the batch, with cosine similarities divided by the temperature (0.07 in the paper)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

TEMPERATURE = 0.07
OUTPUT_DIM = 128


def similarity_logits(z1: Tensor, z2: Tensor, temperature: float = TEMPERATURE) -> Tensor:
    """(2B, 2B) cosine similarities / temperature of the views [z1; z2], self-pairs set to -inf."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    return logits.fill_diagonal_(float("-inf"))


def positives(batch: int, device=None) -> Tensor:
    """Index of each view's partner: i <-> i + B."""
    i = torch.arange(batch, device=device)
    return torch.cat([i + batch, i])


def nt_xent(z1: Tensor, z2: Tensor, temperature: float = TEMPERATURE) -> Tensor:
    """Mean over the 2B views of -log softmax(similarities)[partner]."""
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"need two (B, d) batches of views, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    logits = similarity_logits(z1, z2, temperature)
    return F.cross_entropy(logits, positives(z1.shape[0], z1.device))
