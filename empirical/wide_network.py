"""N independent encoder-projector networks of one architecture as one "wide" network: every
convolution grouped (groups = N x its own), every batch norm N times as wide, the projector as
batched matrix products.

Copy n owns channels [n c, (n + 1) c) of every feature map, so grouped convolutions never mix copies,
batch norm's per-channel statistics are copy n's own batch statistics, and ReLU, max-pool and
residual sums are per channel. Trained on the sum of the N copies' losses, the gradient of copy n's
parameters is that of its own loss; Adam and SGD are elementwise, so one optimizer over the wide
parameters takes each copy's own step. Copy n stays the network of its own seed (to float
tolerance: a grouped convolution sums in another order).

Inputs are (B, N, C, H, W): copy n's own batch (own images, labels, augmentations) in slot n; or
(B, C, H, W) when every copy sees the same images (evaluation on clean images).
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from benign.empirical.networks import LAYERS, POOLS, EncoderProjector

BLOCKS = ("layer1", "layer2", "layer3", "layer4")
_ELEMENTWISE = (nn.ReLU, nn.MaxPool2d, nn.AvgPool2d, nn.Identity, nn.Sequential)


def _wide_conv(convs: list[nn.Conv2d]) -> nn.Conv2d:
    c, n = convs[0], len(convs)
    wide = nn.Conv2d(
        n * c.in_channels,
        n * c.out_channels,
        c.kernel_size,
        c.stride,
        c.padding,
        c.dilation,
        n * c.groups,
        c.bias is not None,
        c.padding_mode,
        device=c.weight.device,
        dtype=c.weight.dtype,
    )
    with torch.no_grad():
        wide.weight.copy_(torch.cat([m.weight for m in convs]))
        if c.bias is not None:
            wide.bias.copy_(torch.cat([m.bias for m in convs]))
    return wide


def _wide_bn(bns: list[nn.BatchNorm2d]) -> nn.BatchNorm2d:
    b = bns[0]
    like = b.running_mean if b.track_running_stats else b.weight
    wide = nn.BatchNorm2d(
        len(bns) * b.num_features,
        b.eps,
        b.momentum,
        b.affine,
        b.track_running_stats,
        device=like.device,
        dtype=like.dtype,
    )
    with torch.no_grad():
        for name, t in list(wide.named_parameters()) + list(wide.named_buffers()):
            parts = [getattr(m, name) for m in bns]
            t.copy_(parts[0] if t.ndim == 0 else torch.cat(parts))  # num_batches_tracked: shared
    return wide


def widen(modules: list[nn.Module]) -> nn.Module:
    """One module computing N copies of the same architecture side by side along channels."""
    first = modules[0]
    if isinstance(first, nn.Conv2d):
        return _wide_conv(modules)
    if isinstance(first, nn.BatchNorm2d):
        return _wide_bn(modules)
    children = dict(first.named_children())
    if not children:
        if list(first.parameters(recurse=False)) or not isinstance(first, _ELEMENTWISE):
            raise TypeError(f"cannot run {type(first).__name__} side by side in a wide network")
        return copy.deepcopy(first)
    if list(first.parameters(recurse=False)) or list(first.buffers(recurse=False)):
        raise TypeError(f"cannot run {type(first).__name__} side by side in a wide network")
    wide = copy.copy(first)
    wide._modules = {name: widen([getattr(m, name) for m in modules]) for name in children}
    return wide


class WideNetwork(nn.Module):
    """N EncoderProjector networks of one architecture, trained and evaluated as one."""

    def __init__(self, networks: list[EncoderProjector], channels_last: bool = True):
        super().__init__()
        if not networks:
            raise ValueError("a wide network needs at least one network")
        self.n = len(networks)
        self.stem = widen([m.stem for m in networks])
        for name in BLOCKS:
            setattr(self, name, widen([getattr(m, name) for m in networks]))
        # (N, out, in) weights: network n's Linear is hidden[n], out[n]
        self.hidden = nn.Parameter(
            torch.stack([m.projector.hidden.weight.detach() for m in networks]).clone()
        )
        self.out = nn.Parameter(torch.stack([m.projector.out.weight.detach() for m in networks]).clone())
        if not isinstance(self.stem, nn.Sequential) or not isinstance(self.stem[0], nn.Conv2d):
            raise TypeError("the stem must be a Sequential that starts with a convolution")
        self.channels_last = channels_last
        if channels_last:
            self.to(memory_format=torch.channels_last)  # faster grouped convolutions on CPU (oneDNN)

    def _layout(self, x: Tensor) -> Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x.contiguous()

    def _stem(self, x: Tensor) -> Tensor:
        if x.ndim == 5:  # (B, N, C, H, W): copy n's own images
            return self.stem(self._layout(x.reshape(x.shape[0], -1, *x.shape[3:])))
        # (B, C, H, W) seen by every copy: the first convolution needs no N copies of the input, its
        # wide weight applied with N times fewer groups is the same map
        first, rest = self.stem[0], self.stem[1:]
        h = F.conv2d(
            self._layout(x),
            first.weight,
            first.bias,
            first.stride,
            first.padding,
            first.dilation,
            first.groups // self.n,
        )
        return rest(h)

    def _per_copy(self, h: Tensor, pool: str) -> Tensor:
        """(B, N c, H, W) -> (B, N, c H W) flattened per copy, or (B, N, c) average-pooled."""
        b = h.shape[0]
        if pool == "avg":
            return h.mean((2, 3)).view(b, self.n, -1)
        return h.reshape(b, self.n, -1, *h.shape[2:]).flatten(2)

    def features(self, x: Tensor, names=LAYERS, pool: str = "flatten") -> dict[str, Tensor]:
        """EncoderProjector.features of every copy at once: name -> (B, N, D)."""
        unknown = set(names) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {', '.join(LAYERS)}")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        want, out = set(names), {}
        h = self._stem(x)
        for name in BLOCKS:
            h = getattr(self, name)(h)
            if name in want:
                out[name] = self._per_copy(h, pool)
            if want <= out.keys():
                return {k: out[k] for k in names}
        emb = self._per_copy(h, "avg")
        out["embedding"] = emb
        if want & {"projector_hidden", "output"}:
            out["projector_hidden"], out["output"] = self.projector(emb)
        return {k: out[k] for k in names}

    def projector(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """(B, N, D) embeddings -> (hidden (B, N, width), output (B, N, outputs)) of each copy's projector."""
        z = torch.relu(torch.einsum("bnd,nhd->bnh", h, self.hidden))
        return z, torch.einsum("bnh,noh->bno", z, self.out)

    def embed(self, x: Tensor) -> Tensor:
        """(B, N, C, H, W) or (B, C, H, W) -> (B, N, D): each copy's average-pooled encoder output."""
        return self.features(x, ("embedding",))["embedding"]

    def embed_shared(self, x: Tensor) -> Tensor:
        return self.embed(x)

    def head(self, h: Tensor) -> Tensor:
        """(B, N, D) embeddings -> (B, N, outputs) through each copy's projector."""
        return self.projector(h)[1]

    def forward(self, x: Tensor) -> Tensor:
        """(B, N, C, H, W) -> (B, N, outputs); (B, C, H, W) -> the same images through every copy."""
        return self.head(self.embed(x))

    @torch.no_grad()
    def network(self, n: int, template: EncoderProjector) -> EncoderProjector:
        """Copy n as a stand-alone module (a copy of `template`, its architecture)."""
        if not 0 <= n < self.n:
            raise IndexError(f"network {n} of {self.n}")
        model = copy.deepcopy(template)
        wide = dict(self.named_parameters()) | dict(self.named_buffers())
        for name, t in list(model.named_parameters()) + list(model.named_buffers()):
            if name.startswith("projector."):
                src = (self.hidden if ".hidden." in name else self.out)[n]
            else:
                w = wide[name]
                src = w if w.ndim == 0 else w.reshape(self.n, *t.shape)[n]
            t.copy_(src)
        return model.to(memory_format=torch.contiguous_format)


class SideBySide(nn.Module):
    """N stand-alone networks behind WideNetwork's interface, one after another: the route for
    networks that `widen` cannot fuse (a user's encoder, empirical.own_network). Slower, the same
    maths: copy n sees x[:, n] and its loss trains it alone."""

    def __init__(self, networks: list[nn.Module]):
        super().__init__()
        if not networks:
            raise ValueError("a wide network needs at least one network")
        self.n = len(networks)
        self.nets = nn.ModuleList(networks)

    @property
    def hidden(self) -> Tensor:  # callers read the networks' dtype from it
        return self.nets[0].projector.hidden.weight

    def _each(self, x: Tensor, n: int) -> Tensor:
        return x[:, n] if x.ndim == 5 else x

    def features(self, x: Tensor, names=LAYERS, pool: str = "flatten") -> dict[str, Tensor]:
        per = [m.features(self._each(x, n), names, pool=pool) for n, m in enumerate(self.nets)]
        return {k: torch.stack([p[k] for p in per], 1) for k in names}

    def embed(self, x: Tensor) -> Tensor:
        return self.features(x, ("embedding",))["embedding"]

    def embed_shared(self, x: Tensor) -> Tensor:
        return self.embed(x)

    def head(self, h: Tensor) -> Tensor:
        return torch.stack([m.projector(h[:, n])[1] for n, m in enumerate(self.nets)], 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.stack([m(self._each(x, n)) for n, m in enumerate(self.nets)], 1)

    @torch.no_grad()
    def network(self, n: int, template: nn.Module | None = None) -> nn.Module:
        if not 0 <= n < self.n:
            raise IndexError(f"network {n} of {self.n}")
        return copy.deepcopy(self.nets[n])


def wide_or_side_by_side(networks: list[nn.Module]) -> nn.Module:
    """A WideNetwork of the built-in networks, SideBySide of any other."""
    if all(isinstance(m, EncoderProjector) for m in networks):
        return WideNetwork(networks)
    return SideBySide(networks)
