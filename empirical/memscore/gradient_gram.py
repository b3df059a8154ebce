"""Eq. 3 and eq. 4 from the Gram matrix of per-example gradients, without the gradients (fast path).

For a linear layer y = W a (+ b), example i's gradient is the sum over its positions p (one for a
plain linear layer, every output pixel of a convolution, whose inputs are the unfolded patches) of
outer products: V_i = sum_p d_ip a_ip^T, with d_ip = dL_i/dy_ip and a bias handled as a constant
input 1. Hence (Goodfellow 2015, "Efficient per-example gradient computations")
    G_ij = v_i . v_j = sum_layers sum_{p,q} (a_ip . a_jq)(d_ip . d_jq),
and for P = 1 simply G = sum_layers (A A^T) * (D D^T). One forward and one backward pass to the
layers' outputs give every a and d; turn-over masks only zero entries of a and d, so nothing changes.

Everything eqs. 3 and 4 need is in G (n x n): ||v_i|| = sqrt(G_ii); with g = (1/n) sum_j v_j the
batch gradient, v_i . g = (1/n) sum_j G_ij and ||g||^2 = (1/n^2) sum_ij G_ij; the mean pairwise
cosine of a subset S is the mean off-diagonal entry of G_ij / (||v_i|| ||v_j||) over S x S, i.e.
(||sum_{i in S} u_i||^2 - sum_{i in S} ||u_i||^2) / (m (m - 1)) with u_i = v_i / ||v_i||.
Where a layer's (n, n) Gram costs more than that (early convolutions: n^2 P^2 is large), its share
is taken from weighted sums of its per-example gradients instead, each the size of one weight
gradient: sum_i w_i V_i = D^T diag(w) A, with w = 1/n (its part of g) and w = 1/||v_i|| on S (its
part of sum_S u_i); ||V_i||^2 there comes from the diagonal only, and v_i . g = sum_p d_ip^T g a_ip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benign.empirical.memscore.per_example_gradients import GradientStats, _check_batchnorm

_MAX_KERNEL = 1 << 24  # largest (n^2 P^2) pairwise-position kernel built at once
_MAX_SLICE = 1 << 24  # largest (n x units x inputs) block of materialised gradients


def _unsupported(m: nn.Module) -> str | None:
    """Why the Gram path cannot handle this module's own trainable parameters (None: it can)."""
    own = [p for p in m.parameters(recurse=False) if p.requires_grad]
    if not own:
        return None
    if isinstance(m, nn.Conv2d):
        if m.groups != 1 or m.padding_mode != "zeros" or isinstance(m.padding, str):
            return f"{m}: only groups=1, zero, numeric padding"
    elif not isinstance(m, nn.Linear):
        return f"{type(m).__name__} has trainable parameters"
    if not m.weight.requires_grad or (m.bias is not None and not m.bias.requires_grad):
        return f"{m}: weight and bias must both be trainable"
    return None


def gram_layers(model: nn.Module) -> list[nn.Module]:
    """The Linear / Conv2d layers holding every trainable parameter; ValueError if any is elsewhere."""
    for m in model.modules():
        why = _unsupported(m)
        if why:
            raise ValueError(f"the Gram path handles Linear and Conv2d layers only: {why}")
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d)) and m.weight.requires_grad]


def supports_gram(model: nn.Module) -> bool:
    return all(_unsupported(m) is None for m in model.modules())


def _patches(m: nn.Module, inp: Tensor, out_grad: Tensor) -> tuple[Tensor, Tensor]:
    """(A (n, P, inputs [+1 for the bias]), D (n, P, units)) of one layer call."""
    n = inp.shape[0]
    if isinstance(m, nn.Conv2d):
        a = F.unfold(inp, m.kernel_size, m.dilation, m.padding, m.stride).transpose(1, 2)
        d = out_grad.reshape(n, out_grad.shape[1], -1).transpose(1, 2)
    else:
        a = inp.reshape(n, -1, inp.shape[-1])
        d = out_grad.reshape(n, -1, out_grad.shape[-1])
    if m.bias is not None:
        a = torch.cat([a, a.new_ones(*a.shape[:2], 1)], dim=2)
    return a, d


def gram_by_kernels(a: Tensor, d: Tensor) -> Tensor:
    """(n, n) sum_{p,q} (a_ip . a_jq)(d_ip . d_jq) for a (n, P, I), d (n, P, O)."""
    if a.shape[1] == 1:
        return (a[:, 0] @ a[:, 0].T) * (d[:, 0] @ d[:, 0].T)
    return (torch.einsum("xpi,yqi->xypq", a, a) * torch.einsum("xpo,yqo->xypq", d, d)).sum((2, 3))


def gram_by_materialising(a: Tensor, d: Tensor, max_slice: int = _MAX_SLICE) -> Tensor:
    """The same Gram from the per-example gradients V_i = D_i^T A_i (O, I), a slice of units at a time."""
    n, _, i = a.shape
    step = max(1, max_slice // max(1, n * i))
    g = a.new_zeros(n, n)
    for s in range(0, d.shape[2], step):
        v = (d[:, :, s : s + step].transpose(1, 2) @ a).reshape(n, -1)
        g += v @ v.T
    return g


def layer_gram(a: Tensor, d: Tensor) -> Tensor:
    """One layer's share of G, by the cheaper of the two ways (multiplication counts)."""
    n, p, i = a.shape
    o = d.shape[2]
    by_kernels = n * n * p * p * (i + o + 1)
    by_materialising = n * p * i * o + n * n * i * o
    if p == 1 or (by_kernels <= by_materialising and n * n * p * p <= _MAX_KERNEL):
        return gram_by_kernels(a, d)
    return gram_by_materialising(a, d)


def layer_patches(
    model: nn.Module, x: Tensor, y: Tensor, masks: list[Tensor] | None = None
) -> list[tuple[Tensor, Tensor]]:
    """(A, D) of every trainable layer (see _patches), from one forward and one backward pass to the
    layers' outputs of the *summed* loss, so that row i of D is d(loss_i)/d(output_i)."""
    _check_batchnorm(model)
    layers = gram_layers(model)
    calls: dict[nn.Module, tuple[Tensor, Tensor]] = {}

    def keep(m, inputs, output):
        if m in calls:
            raise ValueError(f"{m} is called twice in one forward pass: shared weights are not supported")
        calls[m] = (inputs[0].detach(), output)

    handles = [m.register_forward_hook(keep) for m in layers]
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(model(x, masks), y, reduction="sum")
            used = [m for m in layers if m in calls]
            grads = torch.autograd.grad(loss, [calls[m][1] for m in used], allow_unused=True)
    finally:
        for h in handles:
            h.remove()
    return [_patches(m, calls[m][0], dy.detach()) for m, dy in zip(used, grads) if dy is not None]


def per_example_gram(model: nn.Module, x: Tensor, y: Tensor, masks: list[Tensor] | None = None) -> Tensor:
    """(n, n) G_ij = v_i . v_j, v_i the gradient of example i's cross-entropy (under its mask) with
    respect to every trainable parameter."""
    g = torch.zeros(x.shape[0], x.shape[0], dtype=x.dtype, device=x.device)
    for a, d in layer_patches(model, x, y, masks):
        g += layer_gram(a, d)
    return g


def per_example_sq_norms(a: Tensor, d: Tensor) -> Tensor:
    """(n,) ||V_i||^2 = sum_{p,q} (a_ip . a_iq)(d_ip . d_iq), only the diagonal of the Gram."""
    n, p, i = a.shape
    o = d.shape[2]
    if p == 1:
        return (a[:, 0] ** 2).sum(1) * (d[:, 0] ** 2).sum(1)
    if p * (i + o) <= i * o and n * p * p <= _MAX_KERNEL:
        return (torch.einsum("npi,nqi->npq", a, a) * torch.einsum("npo,nqo->npq", d, d)).sum((1, 2))
    step = max(1, _MAX_SLICE // max(1, n * i))
    out = a.new_zeros(n)
    for s in range(0, o, step):
        out += ((d[:, :, s : s + step].transpose(1, 2) @ a) ** 2).sum((1, 2))
    return out


def _weighted_gradient(a: Tensor, d: Tensor, w: Tensor) -> Tensor:
    """(O, I) sum_i w_i V_i = sum_{i,p} w_i d_ip a_ip^T: one weight-gradient-sized product."""
    n, p, i = a.shape
    return (d * w[:, None, None]).reshape(n * p, -1).T @ a.reshape(n * p, i)


def _prefers_gram(a: Tensor, d: Tensor, n_groups: int) -> bool:
    """Whether this layer's share of eqs. 3-4 is cheaper through its (n, n) Gram than through
    weighted sums of its per-example gradients (one gradient-sized product per group, one for g and
    one for the v_i . g), counting multiplications."""
    n, p, i = a.shape
    o = d.shape[2]
    by_gram = n * n * p * p * (i + o + 1)
    by_sums = (n_groups + 2) * n * p * i * o
    return by_gram <= by_sums and n * n * p * p <= _MAX_KERNEL


def statistics_from_gram(g: Tensor, groups: dict[str, Tensor]) -> GradientStats:
    """Eq. 4 for every example and eq. 3 within each boolean subset, from the full G (n, n)."""
    n = g.shape[0]
    return _statistics(
        g.diagonal(),
        g.sum(1) / n,
        g.sum() / n**2,
        g.shape[0],
        {k: (lambda w: w @ g @ w) for k in groups},
        groups,
    )


def _statistics(sq_norms: Tensor, dots: Tensor, g_sq: Tensor, n: int, quadratic, groups) -> GradientStats:
    """GradientStats from ||v_i||^2, v_i . g, ||g||^2 and, per group, w -> ||sum_i w_i v_i||^2."""
    norms = sq_norms.clamp_min(0).sqrt()
    batch_norm = g_sq.clamp_min(0).sqrt()
    inv = 1.0 / norms.clamp_min(torch.finfo(norms.dtype).tiny)
    cosine = {}
    for name, member in groups.items():
        member = member.to(device=norms.device, dtype=torch.bool)
        m = int(member.sum())
        if m < 2:
            cosine[name] = float("nan")
            continue
        w = inv * member
        # eq. 3: sum_{i != j in S} u_i . u_j = ||sum_{i in S} u_i||^2 - sum_{i in S} ||u_i||^2
        cosine[name] = float((quadratic[name](w) - (w * norms).pow(2).sum()) / (m * (m - 1)))
    return GradientStats(dots / batch_norm, norms, cosine, float(batch_norm))


def gram_gradient_statistics(
    model: nn.Module, x: Tensor, y: Tensor, masks: list[Tensor] | None, groups: dict[str, Tensor]
) -> GradientStats:
    """What per_example_gradients.gradient_statistics computes (eq. 4 for every example, eq. 3 within
    each boolean subset), without per-example gradients of the whole model: each layer contributes
    either its (n, n) Gram or, where that costs more, weighted sums of its per-example gradients."""
    n = x.shape[0]
    gram = torch.zeros(n, n, dtype=x.dtype, device=x.device)
    sq_norms = torch.zeros(n, dtype=x.dtype, device=x.device)
    dots = torch.zeros(n, dtype=x.dtype, device=x.device)
    g_sq = torch.zeros((), dtype=x.dtype, device=x.device)
    summed = []
    for a, d in layer_patches(model, x, y, masks):
        if _prefers_gram(a, d, len(groups)):
            gram += gram_by_kernels(a, d)
            continue
        grad = _weighted_gradient(a, d, a.new_full((n,), 1.0 / n))  # this layer's part of g
        sq_norms += per_example_sq_norms(a, d)
        dots += ((d @ grad) * a).sum((1, 2))  # v_i . g = sum_p d_ip^T grad a_ip
        g_sq += (grad**2).sum()
        summed.append((a, d))
    sq_norms += gram.diagonal()
    dots += gram.sum(1) / n
    g_sq += gram.sum() / n**2

    def quadratic(w: Tensor) -> Tensor:
        return w @ gram @ w + sum(((_weighted_gradient(a, d, w)) ** 2).sum() for a, d in summed)

    return _statistics(sq_norms, dots, g_sq, n, {k: quadratic for k in groups}, groups)
