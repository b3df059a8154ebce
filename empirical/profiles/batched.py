"""The N networks of one mode trained as one batch (a WideNetwork), each exactly as `trainer.
train_network` would train it alone: built under its own seed, its own batch order per epoch, its
own augmentation draws per step, the same optimizer and cosine schedule. Recognition after every
epoch on the same fixed augmentation bank.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from benign.empirical.datasets import ImageDataset, normalize
from benign.empirical.profiles import views
from benign.empirical.profiles.modes import Mode
from benign.empirical.profiles.recognition import recognise_classes, recognise_pairs
from benign.empirical.profiles.simclr import nt_xent
from benign.empirical.profiles.trainer import (
    NetSpec,
    OptSpec,
    _generator,
    bank_views,
    chunked_forward,
    epoch_batches,
    make_optimizer,
    profile_network,
)
from benign.empirical.profiles.wide import WideNetwork
from benign.theory.training_loop import fit


def build_wide(
    mode: Mode, net: NetSpec, channels: int, seeds: list[int], device
) -> tuple[WideNetwork, torch.nn.Module]:
    """(the wide network of `seeds`, a stand-alone template of the architecture)."""
    models = [profile_network(mode, net, channels, s, device) for s in seeds]
    return WideNetwork(models).to(device), models[0]


@torch.no_grad()
def recognise_wide(
    wide: WideNetwork,
    mode: Mode,
    images: Tensor,
    labels: Tensor | None,
    index: Tensor,
    num_aug: int,
    bank_seed: int,
    stats: ImageDataset,
    batch_size: int,
    chunk: int = 256,
    directions: str = "both",
) -> Tensor:
    """(N, M, K) bool: augmentation m of profiled image k is recognised by network n (eval mode)."""
    was = wide.training
    wide.eval()
    rows = []
    for x in bank_views(mode, images, index, num_aug, bank_seed, stats):
        if x is None:
            rows.append(rows[0])
        elif mode.contrastive:  # outputs (K, N, dim): network n's views are [:, n]
            z1, z2 = (chunked_forward(wide, v, chunk) for v in x)
            rows.append(
                torch.stack(
                    [recognise_pairs(z1[:, n], z2[:, n], batch_size, directions) for n in range(wide.n)]
                )
            )
        else:
            logits = chunked_forward(wide, x, chunk)
            rows.append(
                recognise_classes(
                    logits.permute(1, 0, 2).reshape(-1, logits.shape[-1]), labels.repeat(wide.n)
                ).view(wide.n, -1)
            )
    wide.train(was)
    return torch.stack(rows, 1)


def wide_step_loss(
    wide: WideNetwork,
    mode: Mode,
    images: list[Tensor],
    targets: list[Tensor] | None,
    stats: ImageDataset,
    generators: list,
    temperature: float,
) -> Tensor:
    """(N,) losses of one step; network n gets images[n] (B, C, H, W) augmented by generators[n]."""
    if mode.contrastive:
        xs = [
            torch.cat(
                [views.augment(mode.augment, x, generator=g), views.augment(mode.augment, x, generator=g)]
            )
            for x, g in zip(images, generators)
        ]
    else:
        xs = [views.augment(mode.augment, x, generator=g) for x, g in zip(images, generators)]
    out = wide(torch.stack([normalize(x, stats) for x in xs], 1))  # (B or 2B, N, outputs)
    if mode.contrastive:
        b = images[0].shape[0]
        return torch.stack([nt_xent(out[:b, n], out[b:, n], temperature) for n in range(wide.n)])
    return F.cross_entropy(out.permute(0, 2, 1), torch.stack(targets, 1), reduction="none").mean(0)


def train_networks(
    mode: Mode,
    seeds: list[int],
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
):
    """Train len(seeds) networks as one; return (recognised (N, epochs, M, K) bool, losses (N, epochs),
    the wide network, a template of the architecture for `wide.network(n, template)`)."""
    device = train.images.device
    wide, template = build_wide(mode, net, train.channels, seeds, device)
    per_epoch = len(epoch_batches(len(train), batch_size, seeds[0], 0, device))
    optimizer, sched = make_optimizer(wide, opt, max(1, per_epoch * epochs))
    record, losses, total = [], [], torch.zeros(len(seeds))
    wide.train()

    def batches(epoch: int):  # epoch 0, 1, ... of the loop draws the orders of epoch 1, 2, ...
        return list(zip(*(epoch_batches(len(train), batch_size, s, epoch + 1, device) for s in seeds)))

    def loss(batch, step: int) -> Tensor:
        gens = [_generator(s, 0x57E9, step, device=device) for s in seeds]
        targets = None if train_labels is None else [train_labels[b] for b in batch]
        return wide_step_loss(
            wide, mode, [train.images[b] for b in batch], targets, train, gens, opt.temperature
        )

    def after_step(value: Tensor, batch, step: int, seconds: float) -> None:
        total.add_(value.cpu())
        if on_step:
            on_step(len(seeds))

    def after_epoch(epoch: int) -> None:
        losses.append(total / per_epoch)
        total.zero_()
        record.append(
            recognise_wide(
                wide,
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
    return torch.stack(record, 1), torch.stack(losses, 1), wide, template
