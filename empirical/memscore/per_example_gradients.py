"""Per-example gradients with torch.func and the statistics of companion paper 3 (eqs. 3, 4; fig. 4).

This is the reference path; figure-4 tracking takes the faster Gram path of gradient_gram (same
numbers) wherever the model allows it. ``per_example_grads`` is vmap(grad(loss of one example))
over a batch, in chunks of ``chunk`` examples so that at most chunk x n_params numbers are alive at
once; each example runs under its own turn-over mask (its seen sub-network), exactly as in training.

Eq. 3, mean pairwise cosine similarity of a set {v_i}, i != j, is computed without the n x n Gram
matrix: with u_i = v_i / ||v_i||, sum_{i != j} u_i . u_j = ||sum_i u_i||^2 - sum_i ||u_i||^2, so
    cos = (||sum_i u_i||^2 - n) / (n (n - 1))
(sum_i ||u_i||^2 = n unless a gradient is exactly zero; such a u_i = 0 then counts as cosine 0),
and only the running sum of unit vectors per subset is kept. Eq. 4, the contribution of v_i to the
mini-batch gradient g, is (v_i . g) / ||g||; g is the mean gradient of the whole batch (what SGD
steps along), computed by one ordinary backward pass.

Batch norm: per-example gradients through batch statistics are not defined (they couple the
examples), so a model with a batch-norm layer in training mode is refused; in eval mode its
running statistics are passed to functional_call as buffers, as torch.func requires.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, grad, vmap


def _check_batchnorm(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training:
            raise ValueError(
                "per-example gradients through batch norm in training mode are not defined; "
                "call model.eval() (running statistics) first"
            )


def _params_and_buffers(model: nn.Module):
    params = {k: v.detach() for k, v in model.named_parameters() if v.requires_grad}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    return params, buffers


def per_example_grads(
    model: nn.Module, x: Tensor, y: Tensor, masks: list[Tensor] | None = None, chunk: int = 32
):
    """Yield (start, {name: (c, *shape)}) per chunk: the gradient of each example's own
    cross-entropy loss (under its mask) with respect to every trainable parameter."""
    _check_batchnorm(model)
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    params, buffers = _params_and_buffers(model)

    def loss_one(p, xi, yi, mi):
        out = functional_call(
            model, (p, buffers), (xi.unsqueeze(0), None if mi is None else [m.unsqueeze(0) for m in mi])
        )
        return F.cross_entropy(out, yi.unsqueeze(0))

    g = vmap(grad(loss_one), in_dims=(None, 0, 0, 0 if masks is not None else None))
    for s in range(0, x.shape[0], chunk):
        mc = None if masks is None else [m[s : s + chunk] for m in masks]
        yield s, g(params, x[s : s + chunk], y[s : s + chunk], mc)


def flat(grads: dict[str, Tensor]) -> Tensor:
    """(c, n_params): the per-example gradients of a chunk as rows."""
    return torch.cat([v.reshape(v.shape[0], -1) for v in grads.values()], dim=1)


def per_example_grads_flat(model, x, y, masks=None, chunk: int = 32) -> Tensor:
    """All per-example gradients as one (n, n_params) matrix (for small models and tests)."""
    return torch.cat([flat(gc) for _, gc in per_example_grads(model, x, y, masks, chunk)])


def batch_gradient(model: nn.Module, x: Tensor, y: Tensor, masks: list[Tensor] | None = None) -> Tensor:
    """The flattened gradient of the mean loss of the batch (the SGD direction, up to sign)."""
    params = [p for p in model.parameters() if p.requires_grad]
    loss = F.cross_entropy(model(x, masks), y)
    gs = torch.autograd.grad(loss, params)
    return torch.cat([g.reshape(-1) for g in gs]).detach()


def mean_pairwise_cosine(v: Tensor) -> float:
    """Eq. 3 from the rows of v (n, p), n >= 2, by the sum-of-unit-vectors identity."""
    n = v.shape[0]
    if n < 2:
        raise ValueError("the mean pairwise cosine needs at least two vectors")
    u = v / v.norm(dim=1, keepdim=True)
    s = u.sum(0)
    return float((s @ s - n) / (n * (n - 1)))


def contributions(v: Tensor, g: Tensor) -> Tensor:
    """Eq. 4 for every row of v: (v_i . g) / ||g||."""
    return v @ g / g.norm()


@dataclass
class GradientStats:
    contribution: Tensor  # (n,) eq. 4 for every example of the batch
    norm: Tensor  # (n,) ||v_i||
    cosine: dict[str, float]  # eq. 3 within each named subset (nan with fewer than 2 members)
    batch_grad_norm: float


def gradient_statistics(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    masks: list[Tensor] | None,
    groups: dict[str, Tensor],
    chunk: int = 32,
) -> GradientStats:
    """Eq. 3 within each boolean subset of the batch in ``groups`` and eq. 4 for every example,
    holding at most ``chunk`` per-example gradients in memory."""
    n = x.shape[0]
    g = batch_gradient(model, x, y, masks)
    g_norm = g.norm()
    # per parameter, never concatenated: a flat (chunk, n_params) copy costs more than the gradients
    names = [k for k, p in model.named_parameters() if p.requires_grad]
    g_parts, offset = {}, 0
    for k, p in model.named_parameters():
        if p.requires_grad:
            g_parts[k] = g[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
    contrib = torch.empty(n, dtype=g.dtype, device=g.device)
    norms = torch.empty(n, dtype=g.dtype, device=g.device)
    sums = {k: {name: torch.zeros_like(gp) for name, gp in g_parts.items()} for k in groups}
    self_dots = {k: 0.0 for k in groups}  # sum of u_i . u_i: 1 per member, 0 for a zero gradient
    for s, gc in per_example_grads(model, x, y, masks, chunk):
        c = gc[names[0]].shape[0]
        dots = sum(gc[k].reshape(c, -1) @ g_parts[k].reshape(-1) for k in names)
        nv = torch.sqrt(sum(torch.linalg.vector_norm(gc[k].reshape(c, -1), dim=1) ** 2 for k in names))
        contrib[s : s + c] = dots / g_norm
        norms[s : s + c] = nv
        inv = 1.0 / nv.clamp_min(torch.finfo(nv.dtype).tiny)
        for grp, member in groups.items():
            w = inv * member[s : s + c].to(device=inv.device, dtype=inv.dtype)
            if w.any():
                self_dots[grp] += float(((w * nv) ** 2).sum())
                for k in names:  # sum of the members' unit vectors
                    sums[grp][k] += torch.tensordot(w, gc[k], dims=1)
        del gc
    sums = {grp: torch.cat([v.reshape(-1) for v in parts.values()]) for grp, parts in sums.items()}
    cosine = {}
    for k, member in groups.items():
        m = int(member.sum())
        cosine[k] = float((sums[k] @ sums[k] - self_dots[k]) / (m * (m - 1))) if m >= 2 else float("nan")
    return GradientStats(contrib, norms, cosine, float(g_norm))
