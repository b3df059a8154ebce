"""One network of one mode: training (section 3) and the recognition record after every epoch.
`batched` trains N of them as one and is what `run` uses; this is the one-network reference.

Supervised and random-label modes: cross-entropy (softmax temperature 1); SimCLR: NT-Xent on two
strong views per image, both passed through the network as one batch. Optimizer per mode (the
paper: Adam for SimCLR, SGD momentum 0.9 for the others; initial lr 3e-4, weight decay 1e-4),
cosine annealing per step to zero. The model is built under the network's seed; the batch order
of epoch e and the augmentation draws of step s are seeded by (seed, e) and (seed, s).

The profiles are measured on a fixed bank of M augmentations per profiled image, a pure function
of (bank_seed, image index, augmentation index), the same for all N networks (for SimCLR the pair
of views of augmentation m is bank entries 2m and 2m + 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from benign.empirical.augment import BankDraws
from benign.empirical.datasets import ImageDataset, normalize
from benign.empirical.networks import seeded_network
from benign.empirical.profiles import views
from benign.empirical.profiles.modes import Mode
from benign.empirical.profiles.recognition import recognise_classes, recognise_pairs
from benign.empirical.profiles.simclr import nt_xent
from benign.theory.counter_random import hash_keys
from benign.theory.training_loop import fit


@dataclass
class NetSpec:
    arch: str = "small_cnn"
    cnn_width: int = 16
    projector_width: int = 256
    num_classes: int = 10
    simclr_dim: int = 128


@dataclass
class OptSpec:
    optimizer: str = "adam"  # adam | sgd
    lr: float = 3e-4
    weight_decay: float = 1e-4
    momentum: float = 0.9
    temperature: float = 0.07


def _generator(*keys, device="cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(hash_keys(*keys)))
    return g


def profile_network(mode: Mode, net: NetSpec, channels: int, seed: int, device) -> torch.nn.Module:
    """The network of one seed of a profiles method at initialisation (the cifar stem, PyTorch's init)."""
    out = net.simclr_dim if mode.contrastive else net.num_classes
    return seeded_network(
        seed, net.arch, out, channels, net.projector_width, "cifar", cnn_width=net.cnn_width
    ).to(device)


def make_optimizer(model, opt: OptSpec, total_steps: int):
    if opt.optimizer == "adam":
        o = torch.optim.Adam(model.parameters(), lr=opt.lr, weight_decay=opt.weight_decay)
    elif opt.optimizer == "sgd":
        o = torch.optim.SGD(
            model.parameters(), lr=opt.lr, momentum=opt.momentum, weight_decay=opt.weight_decay
        )
    else:
        raise ValueError(f"optimizer must be adam or sgd, got {opt.optimizer!r}")
    sched = torch.optim.lr_scheduler.LambdaLR(
        o, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps))
    )
    return o, sched


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, device) -> list[Tensor]:
    perm = torch.randperm(n, generator=_generator(seed, 0xE0C, epoch)).to(device)
    batches = list(perm.split(batch_size))
    if len(batches) > 1 and len(batches[-1]) < 2:
        batches.pop()
    return batches


def chunked_forward(model, x: Tensor, chunk: int) -> Tensor:
    """model(x) in slices of `chunk` images along the first axis (bounds the activations' memory)."""
    return torch.cat([model(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)])


def bank_views(mode: Mode, images: Tensor, index: Tensor, num_aug: int, bank_seed: int, stats: ImageDataset):
    """The normalised inputs of augmentation m = 0..M-1 of the fixed bank: a pair (bank entries 2m,
    2m + 1) for SimCLR, one tensor otherwise; None where a mode without augmentation repeats m = 0."""

    def entry(k: int) -> Tensor:
        return normalize(
            views.augment(mode.augment, images, BankDraws(bank_seed, index, torch.full_like(index, k))), stats
        )

    for m in range(num_aug):
        if mode.augment == "none" and m > 0:
            yield None  # A(x~|x) = delta: every "augmentation" is the image itself
        elif mode.contrastive:
            yield entry(2 * m), entry(2 * m + 1)
        else:
            yield entry(m)


@torch.no_grad()
def recognise(
    model,
    mode: Mode,
    images: Tensor,
    labels: Tensor,
    index: Tensor,
    num_aug: int,
    bank_seed: int,
    stats: ImageDataset,
    batch_size: int,
    chunk: int = 512,
    directions: str = "both",
) -> Tensor:
    """(M, K) bool: augmentation m of profiled image k is recognised by `model` (in eval mode)."""
    was = model.training
    model.eval()
    rows = []
    for x in bank_views(mode, images, index, num_aug, bank_seed, stats):
        if x is None:
            rows.append(rows[0])
        elif mode.contrastive:
            rows.append(
                recognise_pairs(*(chunked_forward(model, v, chunk) for v in x), batch_size, directions)
            )
        else:
            rows.append(recognise_classes(chunked_forward(model, x, chunk), labels))
    model.train(was)
    return torch.stack(rows)


def train_step(
    model, mode: Mode, images: Tensor, targets: Tensor | None, stats: ImageDataset, g, opt: OptSpec
) -> Tensor:
    if mode.contrastive:
        x1 = views.augment(mode.augment, images, generator=g)
        x2 = views.augment(mode.augment, images, generator=g)
        z = model(normalize(torch.cat([x1, x2]), stats))
        return nt_xent(z[: images.shape[0]], z[images.shape[0] :], opt.temperature)
    x = views.augment(mode.augment, images, generator=g)
    return F.cross_entropy(model(normalize(x, stats)), targets)


def train_network(
    mode: Mode,
    seed: int,
    train: ImageDataset,
    train_labels: Tensor | None,
    profiled: Tensor,
    profile_labels: Tensor | None,
    profile_index: Tensor,
    net: NetSpec,
    opt: OptSpec,
    epochs: int,
    batch_size: int,
    num_aug: int,
    bank_seed: int,
    directions: str = "both",
    on_step=None,
    on_epoch=None,
):
    """Train one network; return (recognised (epochs, M, K) bool, losses (epochs,), model)."""
    device = train.images.device
    model = profile_network(mode, net, train.channels, seed, device)
    per_epoch = len(epoch_batches(len(train), batch_size, seed, 0, device))
    optimizer, sched = make_optimizer(model, opt, max(1, per_epoch * epochs))
    record, losses, total = [], [], [0.0]
    model.train()

    def batches(epoch: int):  # epoch 0, 1, ... of the loop draws the order of epoch 1, 2, ...
        return epoch_batches(len(train), batch_size, seed, epoch + 1, device)

    def loss(b, step: int) -> Tensor:
        g = _generator(seed, 0x57E9, step, device=device)
        return train_step(
            model, mode, train.images[b], None if train_labels is None else train_labels[b], train, g, opt
        )

    def after_step(value: Tensor, b, step: int, seconds: float) -> None:
        total[0] += float(value)
        if on_step:
            on_step()

    def after_epoch(epoch: int) -> None:
        losses.append(total[0] / per_epoch)
        total[0] = 0.0
        record.append(
            recognise(
                model,
                mode,
                profiled,
                profile_labels,
                profile_index,
                num_aug,
                bank_seed,
                train,
                batch_size,
                directions=directions,
            )
        )
        if on_epoch:
            on_epoch(epoch, losses[-1], float(record[-1].float().mean()))

    fit(
        optimizer,
        batches,
        loss,
        per_epoch * epochs,
        per_epoch,
        scheduler=sched,
        after_step=after_step,
        after_epoch=after_epoch,
    )
    return torch.stack(record), torch.tensor(losses), model
