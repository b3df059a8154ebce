"""The one training loop: the steps it takes, resuming inside an epoch, schedules per step or per
epoch, a loss per network, stopping early."""

import pytest
import torch

from benign.theory.training_loop import fit


def problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x, y = (
        torch.randn(12, 3, generator=g, dtype=torch.float64),
        torch.randn(12, generator=g, dtype=torch.float64),
    )
    w = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    return x, y, w


def batches(epoch):  # 4 batches of 3, in an order that depends on the epoch
    order = torch.randperm(12, generator=torch.Generator().manual_seed(epoch))
    return list(order.split(3))


def run(start=0, total=10, w=None, x=None, y=None, log=None, **kw):
    opt = torch.optim.SGD([w], lr=0.1)

    def loss(b, step):
        if log is not None:
            log.append((step, b.tolist()))
        return ((x[b] @ w - y[b]) ** 2).mean()

    return fit(opt, batches, loss, total, 4, start_step=start, **kw)


def test_the_loop_takes_each_epochs_batches_in_order_and_stops_at_the_budget():
    x, y, w = problem()
    log = []
    assert run(total=10, w=w, x=x, y=y, log=log) == 10
    assert [s for s, _ in log] == list(range(10))
    expected = [b.tolist() for e in range(3) for b in batches(e)][:10]
    assert [b for _, b in log] == expected


def test_stopping_and_resuming_inside_an_epoch_gives_the_same_weights():
    x, y, w = problem()
    run(total=10, w=w, x=x, y=y)
    x2, y2, w2 = problem()
    run(total=6, w=w2, x=x2, y=y2)  # plain SGD keeps no state, so the optimizer may be a new one
    log = []
    assert run(start=6, total=10, w=w2, x=x2, y=y2, log=log) == 10
    assert log[0] == (6, batches(1)[2].tolist())
    torch.testing.assert_close(w2, w, rtol=0, atol=0)


@pytest.mark.parametrize("every, expected", [("step", 0.1 * 0.5**8), ("epoch", 0.1 * 0.5**2)])
def test_a_scheduler_steps_per_step_or_per_epoch(every, expected):
    x, y, w = problem()
    opt = torch.optim.SGD([w], lr=0.1)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    epochs = []
    fit(
        opt,
        batches,
        lambda b, s: ((x[b] @ w - y[b]) ** 2).mean(),
        8,
        4,
        scheduler=sched,
        scheduler_every=every,
        after_epoch=epochs.append,
    )
    assert epochs == [1, 2] and opt.param_groups[0]["lr"] == pytest.approx(expected)


def test_a_loss_per_network_trains_each_on_its_own_and_an_early_stop_ends_the_loop():
    x, y, _ = problem()
    w = torch.zeros(2, 3, dtype=torch.float64, requires_grad=True)  # two networks side by side
    opt = torch.optim.SGD([w], lr=0.1)
    seen = []

    def after(value, b, step, seconds):
        seen.append(value.shape)
        return step == 3

    steps = fit(opt, batches, lambda b, s: ((x[b] @ w.T - y[b, None]) ** 2).mean(0), 8, 4, after_step=after)
    assert steps == 3 and seen == [torch.Size([2])] * 3
    torch.testing.assert_close(w[0], w[1])  # the same data and start: the same network


def test_a_learning_rate_function_sets_every_group_before_its_step():
    x, y, w = problem()
    opt = torch.optim.SGD([w], lr=1.0)
    rates = []
    fit(
        opt,
        batches,
        lambda b, s: rates.append(opt.param_groups[0]["lr"]) or ((x[b] @ w - y[b]) ** 2).mean(),
        5,
        4,
        lr=lambda s: 0.01 * (s + 1),
    )
    assert rates == pytest.approx([0.01, 0.02, 0.03, 0.04, 0.05])
    with pytest.raises(ValueError, match="step or epoch"):
        fit(opt, batches, lambda b, s: w.sum(), 1, 4, scheduler_every="batch")
