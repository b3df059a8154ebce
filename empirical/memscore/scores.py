"""Memorization and influence by turn-over dropout (companion paper 3, eqs. 5 and 6).

For a training example i with mask m(i): the seen half f^{m(i)} approximates the model trained on
all data, the muted half f^{~m(i)} the model trained without i. So
    influence(i -> target) ~= L(f^{~m(i)}, target) - L(f^{m(i)}, target)      (eq. 5)
    memorization(i)        ~= L(f^{~m(i)}, z_i)    - L(f^{m(i)}, z_i)         (eq. 6)
with L the cross-entropy (nats). Easy / difficult subsets are the lowest / highest scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benign.empirical.memscore.turnover_dropout import MaskBank


def to_float(images: Tensor, mean, std) -> Tensor:
    """uint8 (B, C, H, W) -> normalised float32."""
    x = images.float() / 255.0
    mean = torch.as_tensor(mean, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=x.dtype, device=x.device).reshape(1, -1, 1, 1)
    return (x - mean) / std


@dataclass
class HalfEvaluation:
    loss_seen: Tensor
    loss_muted: Tensor
    pred_seen: Tensor
    pred_muted: Tensor

    @property
    def score(self) -> Tensor:
        return self.loss_muted - self.loss_seen


@torch.no_grad()
def evaluate_halves(
    model: nn.Module,
    bank: MaskBank,
    images: Tensor,
    labels: Tensor,
    mean,
    std,
    index: Tensor | None = None,
    batch_size: int = 1024,
) -> HalfEvaluation:
    """Loss and prediction of each example's seen and muted sub-networks.

    images[j], labels[j] is the example with bank index index[j] (default: j)."""
    model.eval()
    n = images.shape[0]
    index = torch.arange(n) if index is None else torch.as_tensor(index, dtype=torch.int64)
    device = next(model.parameters()).device
    out = {k: torch.empty(n, dtype=torch.float32) for k in ("ls", "lm")}
    out.update({k: torch.empty(n, dtype=torch.int64) for k in ("ps", "pm")})
    for s in range(0, n, batch_size):
        x = to_float(images[s : s + batch_size].to(device), mean, std)
        y = labels[s : s + batch_size].to(device)
        for muted, lk, pk in ((False, "ls", "ps"), (True, "lm", "pm")):
            logits = model(x, bank.masks(index[s : s + batch_size], muted=muted, device=device))
            out[lk][s : s + len(y)] = F.cross_entropy(logits, y, reduction="none").cpu()
            out[pk][s : s + len(y)] = logits.argmax(1).cpu()
    return HalfEvaluation(out["ls"], out["lm"], out["ps"], out["pm"])


def memorization_scores(model, bank, images, labels, mean, std, index=None, batch_size=1024) -> Tensor:
    """Eq. 6 for every example: loss(muted) - loss(seen)."""
    return evaluate_halves(model, bank, images, labels, mean, std, index, batch_size).score


@torch.no_grad()
def influence(
    model: nn.Module,
    bank: MaskBank,
    target_images: Tensor,
    target_labels: Tensor,
    mean,
    std,
    examples: Tensor | None = None,
    batch_size: int = 2048,
) -> Tensor:
    """Eq. 5: (n_examples, n_targets) influence of each training example (bank index) on each target."""
    model.eval()
    device = next(model.parameters()).device
    examples = (
        torch.arange(bank.n_examples) if examples is None else torch.as_tensor(examples, dtype=torch.int64)
    )
    xt = to_float(target_images.to(device), mean, std)
    yt = target_labels.to(device)
    t = xt.shape[0]
    fast = hasattr(model, "logits_under_masks")
    per = max(1, batch_size // t)  # training examples per forward pass
    out = torch.empty(len(examples), t)
    for s in range(0, len(examples), per):
        ex = examples[s : s + per]
        a = len(ex)
        losses = []
        for muted in (False, True):
            masks = bank.masks(ex, muted=muted, device=device)
            if fast:
                logits = model.logits_under_masks(xt, masks).reshape(a * t, -1)
            else:
                logits = model(xt.repeat(a, 1, 1, 1), [m.repeat_interleave(t, dim=0) for m in masks])
            losses.append(F.cross_entropy(logits, yt.repeat(a), reduction="none").reshape(a, t))
        out[s : s + a] = (losses[1] - losses[0]).cpu()
    return out


def split_by_score(scores: Tensor, fraction: float) -> tuple[Tensor, Tensor]:
    """(easy, difficult) boolean masks: the `fraction` lowest and highest scores (ties by index)."""
    if not 0 < fraction <= 0.5:
        raise ValueError(f"subset fraction must be in (0, 0.5], got {fraction}")
    n = scores.shape[0]
    k = max(1, int(round(fraction * n)))
    order = torch.argsort(scores, stable=True)
    easy = torch.zeros(n, dtype=torch.bool)
    difficult = torch.zeros(n, dtype=torch.bool)
    easy[order[:k]] = True
    difficult[order[n - k :]] = True
    return easy, difficult
