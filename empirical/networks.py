"""Encoder + projector (figure 1): ResNet18 (CIFAR stem, or stride-2 stem for 64x64), VGG11, a small CNN.

The classifier is replaced by the projector MLP of appendix F: one hidden layer (width 65536 by
default), no bias, no normalisation. Every probed representation (table 1, figure 4) has a name:
layer1..layer4 (after each stage), embedding (the encoder's output), projector_hidden, output.
`features(x, names)` returns them; conv maps are flattened (as the paper probes them, section 4.2)
unless pool='avg' (global average pooling).

Initialisation: `init='authors'` draws every convolution kaiming normal, mode fan_out, gain of ReLU
(std = sqrt(2 / (out_channels * kernel area))), as the authors' code does; `init='pytorch'` keeps
PyTorch's default (kaiming uniform with a = sqrt(5), fan_in). Linear layers and batch norm keep
PyTorch's default either way.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

LAYERS = ("layer1", "layer2", "layer3", "layer4", "embedding", "projector_hidden", "output")
ARCHS = ("resnet18", "vgg11", "small_cnn")
INITS = ("authors", "pytorch")
POOLS = ("flatten", "avg")


class Projector(nn.Module):
    def __init__(self, in_dim: int, hidden: int, out_dim: int):
        super().__init__()
        self.hidden = nn.Linear(in_dim, hidden, bias=False)
        self.out = nn.Linear(hidden, out_dim, bias=False)

    def forward(self, h: Tensor):
        z = F.relu(self.hidden(h))
        return z, self.out(z)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def conv_bn_relu(cin, cout, stride=1):
    return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class EncoderProjector(nn.Module):
    """stem -> layer1..layer4 -> global average pool (embedding) -> projector."""

    layer_names = LAYERS

    def __init__(
        self, stem: nn.Module, stages: list[nn.Module], embed_dim: int, num_outputs: int, projector_width: int
    ):
        super().__init__()
        self.stem = stem
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.projector = Projector(embed_dim, projector_width, num_outputs)

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x, ("output",))["output"]

    def embed(self, x: Tensor) -> Tensor:
        return self.features(x, ("embedding",))["embedding"]

    def features(self, x: Tensor, names=LAYERS, pool: str = "flatten") -> dict[str, Tensor]:
        """The named representations of a batch, each (n, D): layer1..layer4 flattened (pool='flatten')
        or globally average-pooled (pool='avg'). Stops as soon as all are computed."""
        unknown = set(names) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown layer(s) {sorted(unknown)}; choose from {', '.join(LAYERS)}")
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {', '.join(POOLS)}, got {pool!r}")
        want, out = set(names), {}
        flat = (lambda t: t.mean((2, 3))) if pool == "avg" else (lambda t: t.flatten(1))
        h = self.stem(x)
        for name in ("layer1", "layer2", "layer3", "layer4"):
            h = getattr(self, name)(h)
            if name in want:
                out[name] = flat(h)
            if want <= out.keys():
                return out
        h = h.mean((2, 3))
        out["embedding"] = h
        if want <= out.keys():
            return {k: out[k] for k in names}
        z, y = self.projector(h)
        out["projector_hidden"], out["output"] = z, y
        return {k: out[k] for k in names}


def resnet18(num_outputs: int, in_channels: int = 3, projector_width: int = 65536, stem: str = "cifar"):
    """ResNet18; 'cifar' stem: 3x3 conv stride 1, no max-pool; 'stride2': the same conv with stride 2
    (the paper's TinyImageNet 64x64 variant, appendix F)."""
    stride = {"cifar": 1, "stride2": 2}[stem]
    stem_m = nn.Sequential(*conv_bn_relu(in_channels, 64, stride))
    widths, stages, cin = (64, 128, 256, 512), [], 64
    for i, w in enumerate(widths):
        s = 1 if i == 0 else 2
        stages.append(nn.Sequential(BasicBlock(cin, w, s), BasicBlock(w, w, 1)))
        cin = w
    return EncoderProjector(stem_m, stages, 512, num_outputs, projector_width)


def vgg11(num_outputs: int, in_channels: int = 3, projector_width: int = 65536, stem: str = "cifar"):
    """VGG11 with batch norm ([64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512]); its last max-pool
    is the global average pool. The four stages end after the 2nd, 3rd, 4th and 5th block of convs.
    'stride2' makes the first conv stride 2 for 64x64 inputs (appendix F)."""
    s = {"cifar": 1, "stride2": 2}[stem]
    stem_m = nn.Sequential(*conv_bn_relu(in_channels, 64, s), nn.MaxPool2d(2))
    stages = [
        nn.Sequential(*conv_bn_relu(64, 128), nn.MaxPool2d(2)),
        nn.Sequential(*conv_bn_relu(128, 256), *conv_bn_relu(256, 256), nn.MaxPool2d(2)),
        nn.Sequential(*conv_bn_relu(256, 512), *conv_bn_relu(512, 512), nn.MaxPool2d(2)),
        nn.Sequential(*conv_bn_relu(512, 512), *conv_bn_relu(512, 512)),
    ]
    return EncoderProjector(stem_m, stages, 512, num_outputs, projector_width)


def small_cnn(
    num_outputs: int, in_channels: int = 1, projector_width: int = 4096, stem: str = "cifar", width: int = 32
):
    """A conv stem at full resolution, then four conv-BN-ReLU stages (w, 2w, 4w, 4w channels; the
    first three halve the resolution): about 3 GFLOP per 256 28x28 images, for CPU runs."""
    stem_m = nn.Sequential(*conv_bn_relu(in_channels, width, 1 if stem == "cifar" else 2))
    stages = [
        nn.Sequential(*conv_bn_relu(width, width, 2)),
        nn.Sequential(*conv_bn_relu(width, 2 * width, 2)),
        nn.Sequential(*conv_bn_relu(2 * width, 4 * width, 2)),
        nn.Sequential(*conv_bn_relu(4 * width, 4 * width)),
    ]
    return EncoderProjector(stem_m, stages, 4 * width, num_outputs, projector_width)


def build_network(
    arch: str,
    num_outputs: int,
    in_channels: int,
    projector_width: int,
    stem: str = "cifar",
    cnn_width: int = 32,
    init: str = "pytorch",
    image_size: int = 32,
):
    """A built-in network by name, or the user's encoder (`MODULE:FACTORY`, empirical.own_network)
    with the same head; the user's encoder keeps its own initialisation."""
    from benign.empirical.own_network import is_own_arch, own_network

    if is_own_arch(arch):
        return own_network(arch, num_outputs, in_channels, image_size, projector_width)
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)} or MODULE:FACTORY")
    if stem not in ("cifar", "stride2"):
        raise ValueError(f"stem must be 'cifar' or 'stride2', got {stem!r}")
    if projector_width < 1 or num_outputs < 1:
        raise ValueError("projector width and number of outputs must be positive")
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    if arch == "small_cnn":
        net = small_cnn(num_outputs, in_channels, projector_width, stem, width=cnn_width)
    else:
        net = {"resnet18": resnet18, "vgg11": vgg11}[arch](
            num_outputs, in_channels=in_channels, projector_width=projector_width, stem=stem
        )
    if init == "authors":
        init_authors(net)
    return net


def layer_names(arch: str) -> tuple[str, ...]:
    """The representations the layer probes read on `arch`: LAYERS for the built-in networks, the
    encoder's probe layers then embedding, projector_hidden, output for a user's (own_network)."""
    from benign.empirical.own_network import HEAD, build_encoder, is_own_arch, layer_names_of

    return layer_names_of(build_encoder(arch)) + HEAD if is_own_arch(arch) else LAYERS


def init_authors(net: nn.Module) -> nn.Module:
    """Every convolution kaiming normal (mode fan_out, ReLU gain), as in the authors' code; in place."""
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return net


def fold_batchnorm(net: nn.Module) -> nn.Module:
    """An eval-mode copy of `net` with every batch norm folded into the convolution that feeds it
    (w' = w * gamma / sqrt(var + eps), b' = beta + (b - mean) * gamma / sqrt(var + eps)), so that an
    inference pass skips the batch-norm pass over every activation map: the same function as
    `net.eval()`, up to rounding. Pairs are a Conv2d followed by a BatchNorm2d in a Sequential, and
    BasicBlock's conv1/bn1, conv2/bn2."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = copy.deepcopy(net).eval()
    for m in folded.modules():
        if isinstance(m, nn.Sequential):
            for i in range(len(m) - 1):
                if isinstance(m[i], nn.Conv2d) and isinstance(m[i + 1], nn.BatchNorm2d):
                    m[i], m[i + 1] = fuse_conv_bn_eval(m[i], m[i + 1]), nn.Identity()
        elif isinstance(m, BasicBlock):
            m.conv1, m.bn1 = fuse_conv_bn_eval(m.conv1, m.bn1), nn.Identity()
            m.conv2, m.bn2 = fuse_conv_bn_eval(m.conv2, m.bn2), nn.Identity()
    return folded


def seeded_network(seed: int, *args, **kwargs):
    """build_network(*args, **kwargs) initialised from `seed` alone (the global random state is left as
    it was): the one factory of the project's networks at initialisation."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build_network(*args, **kwargs)
