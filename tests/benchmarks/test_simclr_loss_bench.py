"""SimCLR's NT-Xent loss (empirical/profiles/simclr.py, the training core's `loss = "simclr"`) against
lightly's NTXentLoss, the peer a researcher would use instead: the same value and gradients, then the
forward and backward pass of each timed alternately, 1 thread.
Run: make bench, or .venv/bin/python -m pytest tests/benchmarks/test_simclr_loss_bench.py --benchmark-only
"""

import pytest
import torch

from benign.empirical.profiles.simclr import TEMPERATURE, nt_xent
from tests.benchmarks.peers import alternate

BATCH, DIM = 512, 128  # images a batch (two views each) and the contrastive head's width


def loss_and_grad(loss, z1, z2):
    z1, z2 = z1.detach().requires_grad_(), z2.detach().requires_grad_()
    value = loss(z1, z2)
    value.backward()
    return value.detach(), z1.grad, z2.grad


@pytest.mark.benchmark(group="NT-Xent vs lightly")
def test_nt_xent_vs_lightly(benchmark, record_ratio, torch_threads):
    lightly_loss = pytest.importorskip("lightly.loss")  # the `bench` extra
    torch_threads(1)
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(BATCH, DIM, generator=g), torch.randn(BATCH, DIM, generator=g)
    peer = lightly_loss.NTXentLoss(temperature=TEMPERATURE)
    ours, theirs = loss_and_grad(nt_xent, z1, z2), loss_and_grad(peer, z1, z2)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    variants = {
        "project": lambda: loss_and_grad(nt_xent, z1, z2),
        "lightly": lambda: loss_and_grad(peer, z1, z2),
    }
    rounds = 1 if benchmark.disabled else 21
    times, _ = benchmark.pedantic(lambda: alternate(variants, rounds), rounds=1, iterations=1)
    record_ratio(
        f"NT-Xent loss, forward and backward, {BATCH} x 2 views x {DIM}, 1 thread",
        times,
        "project",
        "lightly",
    )
