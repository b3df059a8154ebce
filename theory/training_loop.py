"""The one training loop of the project: every network it trains goes through `fit`.

    for each epoch: for each batch of the epoch (until total_steps):
        lr(step) -> the optimizer's groups;  before_step(batch, step)
        loss = loss(batch, step);  zero_grad;  loss.sum().backward();  optimizer.step()
        scheduler.step() (per step);  step += 1;  after_step(loss, batch, step, seconds)
    scheduler.step() (per epoch);  after_epoch(epochs done)

What a training is, is in its arguments: the runs of tables 2-4 and figures 3-13 (empirical/
training.py: augmented batches keyed by the step, one-hot or NT-Xent loss, Adam at a constant or
cooled-down rate, checkpoints), the memorization profiles' wide networks (profiles/batched.py: one
loss per network, summed, so that each network gets the gradient of its own loss; cosine schedule
per step), the turn-over dropout runs (memscore/training.py: masks chosen by the example, per-example
gradient statistics before the step, SGD with a multi-step decay per epoch).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch


def fit(
    optimizer: torch.optim.Optimizer,
    batches: Callable[[int], Sequence],
    loss: Callable[[object, int], torch.Tensor],
    total_steps: int,
    steps_per_epoch: int,
    start_step: int = 0,
    lr: Callable[[int], float] | None = None,
    scheduler=None,
    scheduler_every: str = "step",
    before_step: Callable[[object, int], None] | None = None,
    after_step: Callable[[torch.Tensor, object, int, float], bool | None] | None = None,
    after_epoch: Callable[[int], None] | None = None,
) -> int:
    """Train from `start_step` to `total_steps`; returns the step reached.

    batches(epoch) gives the batches of epoch 0, 1, ... (steps_per_epoch of them; a resumed run
    starts inside its epoch); loss(batch, step) the loss of one step, a scalar or one per network
    (their sum is differentiated). after_step gets the detached loss, the batch, the step count after
    the step and the step's seconds, and ends training early by returning True (the capacity search,
    once every labelling is memorised); after_epoch gets the number of epochs done. Either may raise
    (a Ctrl-C after a checkpoint, a diverged loss) to stop the loop."""
    if scheduler_every not in ("step", "epoch"):
        raise ValueError(f"scheduler_every must be step or epoch, not {scheduler_every!r}")
    step = start_step
    while step < total_steps:
        epoch, pos = divmod(step, steps_per_epoch)
        epoch_batches = batches(epoch)
        for batch in _from(epoch_batches, pos):
            t0 = time.perf_counter()
            if lr is not None:
                rate = lr(step)
                for group in optimizer.param_groups:
                    group["lr"] = rate
            if before_step is not None:
                before_step(batch, step)
            value = loss(batch, step)
            optimizer.zero_grad(set_to_none=True)
            (value if value.dim() == 0 else value.sum()).backward()
            optimizer.step()
            if scheduler is not None and scheduler_every == "step":
                scheduler.step()
            step += 1
            if after_step is not None and after_step(value.detach(), batch, step, time.perf_counter() - t0):
                return step
            if step >= total_steps:
                break
        if step % steps_per_epoch == 0:
            if scheduler is not None and scheduler_every == "epoch":
                scheduler.step()
            if after_epoch is not None:
                after_epoch(step // steps_per_epoch)
    return step


def _from(items, start: int):
    """items from position `start` on (a list is sliced; an iterator is advanced)."""
    if start == 0:
        return items
    if isinstance(items, Sequence):
        return items[start:]
    it = iter(items)
    for _ in range(start):
        next(it)
    return it
