"""Training with turn-over dropout: every example in a mini-batch runs (and updates) only its seen half.

Plain SGD on the mean cross-entropy of the batch, each example under its own mask, so the muted half
of an example receives exactly zero gradient from it (momentum only carries other examples'
gradients). The paper's settings (appendix A): MLP lr 0.06 (0.01 for figure 3), no momentum;
VGG-11 lr 0.01, momentum 0.9, divided by 10 at epochs 100 and 150; batch 256; 200 epochs (appendix
D: scores stabilise after a few epochs). No weight decay (the paper names none).

After every epoch (and at initialisation, epoch 0) every example of the pool is evaluated with its
seen and its muted half, and every test example with the full network; the per-example correctness
gives any subset's training or test curve afterwards (figures 3, 5, 6, 9). With ``grad_every`` > 0,
every that many steps the per-example gradients of the current mini-batch give eq. 3 within each
group and eq. 4 (figure 4): through the Gram matrix of the per-example gradients (gradient_gram, the
default wherever every trainable layer is Linear / Conv2d) or through torch.func vmap
(per_example_gradients); both give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from benign.empirical.memscore.gradient_gram import gram_gradient_statistics, supports_gram
from benign.empirical.memscore.per_example_gradients import gradient_statistics
from benign.empirical.memscore.scores import HalfEvaluation, evaluate_halves, to_float
from benign.empirical.memscore.turnover_dropout import MaskBank
from benign.theory.counter_random import uniform
from benign.theory.training_loop import fit

if TYPE_CHECKING:
    from benign.empirical.memscore.experiment import RunConfig


GRAD_METHODS = ("auto", "gram", "vmap")


def statistics_function(model: nn.Module, method: str, chunk: int):
    """(model, x, y, masks, groups) -> GradientStats by the chosen method (auto: gram if supported)."""
    if method == "vmap" or (method == "auto" and not supports_gram(model)):
        return lambda *args: gradient_statistics(*args, chunk=chunk)
    return gram_gradient_statistics


@dataclass
class TrainRecord:
    train_loss: list[float] = field(default_factory=list)  # per epoch (nan at epoch 0)
    correct_seen: list[Tensor] = field(default_factory=list)  # per epoch, bool (n,)
    correct_muted: list[Tensor] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)  # full network, per epoch
    test_correct: list[Tensor] = field(default_factory=list)  # full network, per epoch, bool (n_test,)
    grad_step: list[int] = field(default_factory=list)
    grad_epoch: list[float] = field(default_factory=list)
    cosine: dict[str, list[float]] = field(default_factory=dict)  # eq. 3 per group
    contribution: dict[str, list[float]] = field(default_factory=dict)  # eq. 4, mean over group members
    final: HalfEvaluation | None = None
    total_steps: int = 0


def epoch_order(n: int, seed: int, epoch: int) -> Tensor:
    """A deterministic shuffle of range(n) for one epoch."""
    return torch.argsort(uniform(seed, 0xE9, epoch, torch.arange(n), dtype=torch.float64), stable=True)


@torch.no_grad()
def correct_full(
    model: nn.Module, images: Tensor, labels: Tensor, mean, std, batch_size: int = 1024
) -> Tensor:
    """Bool (n,): the full network (no mask: for one masked layer, the mean of any two halves)
    predicts the label."""
    model.eval()
    device = next(model.parameters()).device
    out = torch.empty(images.shape[0], dtype=torch.bool)
    for s in range(0, images.shape[0], batch_size):
        x = to_float(images[s : s + batch_size].to(device), mean, std)
        out[s : s + x.shape[0]] = model(x).argmax(1).cpu() == labels[s : s + batch_size].cpu()
    return out


def accuracy(model: nn.Module, images: Tensor, labels: Tensor, mean, std, batch_size: int = 1024) -> float:
    """Accuracy of the full network."""
    return (
        float(correct_full(model, images, labels, mean, std, batch_size).float().mean())
        if len(images)
        else 0.0
    )


def train_turnover(
    model: nn.Module,
    bank: MaskBank,
    images: Tensor,
    labels: Tensor,
    mean,
    std,
    cfg: RunConfig,
    train_mask: Tensor | None = None,
    groups: dict[str, Tensor] | None = None,
    test: tuple[Tensor, Tensor] | None = None,
    on_step: Callable[[], None] | None = None,
    on_epoch: Callable[[int, TrainRecord], None] | None = None,
    eval_batch_size: int = 1024,
) -> TrainRecord:
    """Train on the examples where train_mask is True (default all) of the pool (images, labels),
    whose example j has mask bank.masks([j]). Returns the per-epoch record (epochs 0..cfg.epochs).
    cfg: the run's configuration (experiment.RunConfig: epochs, lr, momentum, batch_size, milestones,
    seed, grad_every, grad_chunk, grad_method); the gradient statistics run only with `groups`."""
    n = images.shape[0]
    if bank.n_examples != n or labels.shape[0] != n:
        raise ValueError(
            f"{n} images, {labels.shape[0]} labels and a mask bank of {bank.n_examples} examples"
        )
    device = next(model.parameters()).device
    trained = torch.arange(n) if train_mask is None else torch.nonzero(train_mask.cpu()).flatten()
    if len(trained) == 0:
        raise ValueError("no example to train on")
    groups = groups or {}
    grad_every = cfg.grad_every if groups else 0  # the statistics compare groups: none, none measured
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.milestones), gamma=0.1)
    rec = TrainRecord(cosine={k: [] for k in groups}, contribution={k: [] for k in [*groups, "all"]})
    grad_stats = statistics_function(model, cfg.grad_method, cfg.grad_chunk) if grad_every else None
    steps_per_epoch = math.ceil(len(trained) / cfg.batch_size)
    rec.total_steps = steps_per_epoch * cfg.epochs

    def evaluate(epoch: int, loss: float) -> None:
        ev = evaluate_halves(model, bank, images, labels, mean, std, batch_size=eval_batch_size)
        rec.correct_seen.append(ev.pred_seen == labels.cpu())
        rec.correct_muted.append(ev.pred_muted == labels.cpu())
        rec.train_loss.append(loss)
        if test:
            rec.test_correct.append(correct_full(model, *test, mean, std, eval_batch_size))
            rec.test_accuracy.append(
                float(rec.test_correct[-1].float().mean()) if len(test[1]) else float("nan")
            )
        else:
            rec.test_accuracy.append(float("nan"))
        rec.final = ev
        if on_epoch:
            on_epoch(epoch, rec)

    evaluate(0, float("nan"))
    loss_sum = {"total": 0.0, "count": 0}

    def epoch_batches(epoch: int):  # epoch 0, 1, ... of the loop is the paper's epoch 1, 2, ...
        order = trained[epoch_order(len(trained), cfg.seed, epoch + 1)]
        for s in range(0, len(order), cfg.batch_size):
            idx = order[s : s + cfg.batch_size]
            yield idx, epoch + s / len(order), to_float(images[idx].to(device), mean, std)

    def before_step(batch, step: int) -> None:
        idx, progress, x = batch
        model.train()
        if grad_every and step % grad_every == 0:
            y, masks = labels[idx].to(device), bank.masks(idx, device=device)
            st = grad_stats(model, x, y, masks, {k: g[idx].cpu() for k, g in groups.items()})
            rec.grad_step.append(step)
            rec.grad_epoch.append(progress)
            for k, g in groups.items():
                rec.cosine[k].append(st.cosine[k])
                sel = g[idx].cpu()
                rec.contribution[k].append(
                    float(st.contribution[sel.to(st.contribution.device)].mean())
                    if sel.any()
                    else float("nan")
                )
            rec.contribution["all"].append(float(st.contribution.mean()))

    def loss(batch, step: int) -> Tensor:
        idx, _, x = batch
        return F.cross_entropy(model(x, bank.masks(idx, device=device)), labels[idx].to(device))

    def after_step(value: Tensor, batch, step: int, seconds: float) -> None:
        if not torch.isfinite(value):
            raise ValueError(
                f"training diverged (loss {value.item()}) at epoch {(step - 1) // steps_per_epoch + 1}: "
                "lower the learning rate"
            )
        loss_sum["total"] += value.item() * len(batch[0])
        loss_sum["count"] += len(batch[0])
        if on_step:
            on_step()

    def after_epoch(epoch: int) -> None:
        evaluate(epoch, loss_sum["total"] / loss_sum["count"])
        loss_sum.update(total=0.0, count=0)

    fit(
        opt,
        epoch_batches,
        loss,
        total_steps=rec.total_steps,
        steps_per_epoch=steps_per_epoch,
        scheduler=sched,
        scheduler_every="epoch",
        before_step=before_step,
        after_step=after_step,
        after_epoch=after_epoch,
    )
    return rec
