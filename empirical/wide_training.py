"""Training runs that share data and architecture as one wide network (empirical/wide_network.py).

Each run keeps everything that makes it its own: its model seed, its labels (labels, label_seed),
its batch order per epoch (seeded by its seed), its augmentation and mixup draws per step, its bank.
Run n's step is then the step `empirical.training.train` takes for it alone (same make_batch, same
loss, Adam (0.9, 0.999) on its own parameters): the wide network trains the N runs in one pass of
grouped convolutions instead of N passes of small ones.

Runs must agree on what fixes the data's shape and the architecture: `SHARED` below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
import torch.nn.functional as F

from benign.empirical.augment import BankDraws, parse_augmentation
from benign.empirical.datasets import normalize
from benign.empirical.training import (
    RunData,
    TrainConfig,
    build_model,
    epoch_batches,
    make_batch,
    prepare_data,
    resolve_device,
)
from benign.empirical.wide_network import WideNetwork, wide_or_side_by_side
from benign.probes.knn_probe import knn_accuracy
from benign.theory.devices import autocast_dtype
from benign.theory.training_loop import fit

SHARED = (
    "dataset",
    "data_root",
    "subset",
    "subset_seed",
    "test_subset",
    "arch",
    "stem",
    "projector_width",
    "cnn_width",
    "init",
    "loss",
    "lr",
    "batch_size",
    "epochs",
    "steps",
    "device",
    "precision",
    "probe_reference",
)


def check_shared(cfgs: list[TrainConfig]) -> None:
    """ValueError unless the runs can train as one wide network."""
    if not cfgs:
        raise ValueError("no runs to train")
    for cfg in cfgs:
        cfg.validate()
    first = dataclasses.asdict(cfgs[0])
    for i, cfg in enumerate(cfgs[1:], 1):
        other = dataclasses.asdict(cfg)
        diff = [k for k in SHARED if other[k] != first[k]]
        if diff:
            raise ValueError(f"run {i} differs from run 0 in {', '.join(diff)}: they cannot train as one")


def _loss(name: str, output, targets):
    output = output if output.dtype == torch.float64 else output.float()
    targets = targets.to(output.dtype)
    return F.mse_loss(output, targets) if name == "mse" else F.cross_entropy(output, targets)


@dataclasses.dataclass
class WideRun:
    wide: WideNetwork
    template: torch.nn.Module  # the architecture, for wide.network(n, template)
    data: list[RunData]
    losses: torch.Tensor  # (steps, N)
    step: int

    def network(self, n: int) -> torch.nn.Module:
        return self.wide.network(n, self.template)


def build_wide(cfgs: list[TrainConfig], device=None, dtype=torch.float32, data=None):
    """(wide network at initialisation, template, per-run data): run n's network is build_model(cfg_n)."""
    check_shared(cfgs)
    device = resolve_device(cfgs[0].device) if device is None else torch.device(device)
    data = [prepare_data(c, device) for c in cfgs] if data is None else data
    widths = {d.label_width for d in data}
    if len(widths) != 1:
        raise ValueError(f"the runs have different numbers of label classes {sorted(widths)}")
    models = [build_model(c, d, device).to(dtype) for c, d in zip(cfgs, data)]
    return wide_or_side_by_side(models).to(device), models[0], data


def train_wide(
    cfgs: list[TrainConfig],
    dtype=torch.float32,
    check_every: int = 0,
    stop: Callable[[WideRun], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
    data: list[RunData] | None = None,
) -> WideRun:
    """Train the runs of `cfgs` for their (shared) budget as one wide network.

    stop(run) is called every `check_every` steps (and at the end); True ends training early
    (the capacity search stops once every labelling is memorised). progress(step, total) after each
    step. `data`: the runs' prepared data, when the caller has it already."""
    wide, template, data = build_wide(cfgs, dtype=dtype, data=data)
    device = data[0].train.images.device
    cfg0 = cfgs[0]
    augs = [parse_augmentation(c.augment) for c in cfgs]
    n = len(data[0].train)
    spe = len(epoch_batches(n, cfg0.batch_size, cfg0.seed, 0, "cpu"))
    total = cfg0.steps if cfg0.steps else cfg0.epochs * spe
    opt = torch.optim.Adam(wide.parameters(), lr=cfg0.lr, betas=(0.9, 0.999), weight_decay=0.0)
    amp = autocast_dtype(cfg0.precision, device) if dtype == torch.float32 else None
    run = WideRun(wide, template, data, torch.zeros(0, len(cfgs)), 0)
    losses = []
    wide.train()

    def batches(epoch: int):
        return list(zip(*(epoch_batches(n, c.batch_size, c.seed, epoch, device) for c in cfgs)))

    def loss(batch, step: int) -> torch.Tensor:
        xs, targets = zip(
            *(make_batch(c, d, a, b, step, device) for c, d, a, b in zip(cfgs, data, augs, batch))
        )
        x = torch.stack(xs, 1).to(dtype)
        with torch.autocast(device.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
            out = wide(x)
        # one loss per copy, summed by the loop: copy n's gradient is that of its own loss
        return torch.stack([_loss(c.loss, out[:, i], targets[i]) for i, c in enumerate(cfgs)])

    def after_step(value: torch.Tensor, batch, step: int, seconds: float) -> bool:
        run.step = step
        losses.append(value.cpu())
        if progress is not None:
            progress(step, total)
        if stop is not None and ((check_every and step % check_every == 0) or step == total):
            run.losses = torch.stack(losses)
            return bool(stop(run))
        return False

    fit(opt, batches, loss, total, spe, after_step=after_step)
    run.losses = torch.stack(losses) if losses else run.losses
    return run


@torch.no_grad()
def wide_embed(wide: WideNetwork, images: torch.Tensor, stats, batch_size: int = 1024) -> torch.Tensor:
    """(M, N, D) embeddings of clean images seen by every copy (eval mode)."""
    was = wide.training
    wide.eval()
    dtype = wide.hidden.dtype
    out = torch.cat([wide.embed(normalize(x, stats).to(dtype)) for x in images.split(batch_size)])
    wide.train(was)
    return out


@torch.no_grad()
def wide_evaluate(run: WideRun, k: int = 20) -> list[dict]:
    """empirical.training.evaluate of every copy: training accuracy (clean images) and the k-NN probe
    of the embedding (the runs' reference, test set), from one pass of the wide network."""
    d0 = run.data[0]
    ref = d0.probe_reference
    emb = wide_embed(run.wide, ref.images, d0.train)
    te = wide_embed(run.wide, d0.test.images, d0.train)
    emb_train = emb if d0.reference is None else emb[d0.train_index]
    out = run.wide.projector(emb_train)[1].float()
    rows = []
    for i, d in enumerate(run.data):
        rows.append(
            {
                "train_accuracy": (out[:, i].argmax(1) == d.labels).double().mean().item(),
                "knn_accuracy": knn_accuracy(
                    emb[:, i].float(), ref.labels, te[:, i].float(), d.test.labels, d.train.num_classes, k=k
                ),
            }
        )
    return rows


@torch.no_grad()
def memorised_share(run: WideRun, cfgs: list[TrainConfig], batch_size: int = 1024) -> torch.Tensor:
    """(N,) share of each run's training inputs predicted as their labels, in eval mode: the clean
    images without a bank, else every one of the n x B fixed augmentations with its own label."""
    wide, device = run.wide, run.data[0].train.images.device
    was = wide.training
    wide.eval()
    dtype = wide.hidden.dtype
    hits = torch.zeros(len(cfgs), dtype=torch.float64)
    count = 0
    n = len(run.data[0].train)
    banks = max(1, cfgs[0].bank)
    if any(max(1, c.bank) != banks for c in cfgs):
        raise ValueError("the runs have banks of different sizes")
    augs = [parse_augmentation(c.augment) for c in cfgs]
    for b in range(banks):
        for start in range(0, n, batch_size):
            idx = torch.arange(start, min(n, start + batch_size), device=device)
            xs, labels = [], []
            for c, d, a in zip(cfgs, run.data, augs):
                images = d.train.images[idx]
                if c.bank:
                    x = a(images, draws=BankDraws(c.seed, d.train_index[idx], torch.full_like(idx, b)))
                    labels.append(d.aug_labels[idx, b])
                else:
                    x, _ = images, labels.append(d.labels[idx])
                xs.append(normalize(x, d.train).to(dtype))
            pred = wide(torch.stack(xs, 1)).argmax(-1)  # (batch, N)
            hits += (pred == torch.stack(labels, 1)).sum(0).double().cpu()
            count += len(idx)
    wide.train(was)
    return hits / count


def memorised_share_of(model, cfg: TrainConfig, data: RunData) -> float:
    """memorised_share of one stand-alone network."""
    run = WideRun(
        wide_or_side_by_side([model]).to(data.train.images.device), model, [data], torch.zeros(0, 1), 0
    )
    return float(memorised_share(run, [cfg])[0])
