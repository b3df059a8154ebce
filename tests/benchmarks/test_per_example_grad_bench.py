"""Per-example gradient statistics (eq. 3 within two subsets, eq. 4 for every example: what figure 4
tracks): a Python loop of one backward per example, torch.func vmap(grad), and the Gram path.

Model: the turn-over MLP on 28x28 inputs with 256 hidden units, batch of 128 examples, each under its
own mask (float32, CPU, one torch thread). Run with `make bench` or
    .venv/bin/python -m pytest tests/benchmarks/test_per_example_grad_bench.py --benchmark-only
test_speedups times the three alternately (medians, so that load from other processes affects all
alike) and stores loop/vmap, loop/gram and vmap/gram in its extra_info; the project's target is
loop/gram >= 10. A speed is a benchmark, never a test assertion: the tests here only check that the
three compute the same statistics.
"""

import time

import pytest
import torch
import torch.nn.functional as F

from benign.empirical.memscore.gradient_gram import gram_gradient_statistics
from benign.empirical.memscore.models import TurnoverMLP
from benign.empirical.memscore.per_example_gradients import (
    GradientStats,
    contributions,
    gradient_statistics,
    mean_pairwise_cosine,
)
from benign.empirical.memscore.turnover_dropout import MaskBank

N, HIDDEN = 128, 256
pytestmark = pytest.mark.usefixtures("one_torch_thread")  # two threads on a shared 2-core box spin and crawl


def _setup():
    torch.manual_seed(0)
    model = TurnoverMLP(784, 10, hidden=HIDDEN)
    x = torch.randn(N, 1, 28, 28)
    y = torch.randint(0, 10, (N,))
    masks = MaskBank(model.masked_units, N).masks(torch.arange(N))
    difficult = torch.arange(N) % 4 == 0
    return model, x, y, masks, {"easy": ~difficult, "difficult": difficult}


def loop_stats(model, x, y, masks, groups) -> GradientStats:
    """One backward per example, then eqs. 3 and 4 from the stacked gradients."""
    params = list(model.parameters())
    rows = []
    for i in range(x.shape[0]):
        loss = F.cross_entropy(model(x[i : i + 1], [m[i : i + 1] for m in masks]), y[i : i + 1])
        rows.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    v = torch.stack(rows)
    g = v.mean(0)
    return GradientStats(
        contributions(v, g),
        v.norm(dim=1),
        {k: mean_pairwise_cosine(v[m]) for k, m in groups.items()},
        float(g.norm()),
    )


def vmap_stats(model, x, y, masks, groups) -> GradientStats:
    return gradient_statistics(model, x, y, masks, groups, chunk=32)


def gram_stats(model, x, y, masks, groups) -> GradientStats:
    return gram_gradient_statistics(model, x, y, masks, groups)


METHODS = {"loop": loop_stats, "vmap": vmap_stats, "gram": gram_stats}


@pytest.mark.parametrize("method", list(METHODS))
def test_bench_statistics(benchmark, method):
    args = _setup()
    benchmark(METHODS[method], *args)


def _medians(args, reps=7) -> dict[str, float]:
    for f in METHODS.values():
        f(*args)
    times = {k: [] for k in METHODS}
    for _ in range(reps):
        for k, f in METHODS.items():
            t = time.perf_counter()
            f(*args)
            times[k].append(time.perf_counter() - t)
    return {k: sorted(v)[reps // 2] for k, v in times.items()}


def test_speedups(benchmark):
    args = _setup()
    ref = loop_stats(*args)
    for f in (vmap_stats, gram_stats):
        s = f(*args)
        torch.testing.assert_close(s.contribution, ref.contribution, rtol=1e-3, atol=1e-5)
        torch.testing.assert_close(s.norm, ref.norm, rtol=1e-4, atol=1e-6)
        for k in ref.cosine:
            assert s.cosine[k] == pytest.approx(ref.cosine[k], abs=1e-4)
    med = _medians(args, reps=1 if benchmark.disabled else 7)
    ratios = {
        "loop_over_vmap": med["loop"] / med["vmap"],
        "loop_over_gram": med["loop"] / med["gram"],
        "vmap_over_gram": med["vmap"] / med["gram"],
    }
    benchmark.extra_info.update({f"median_s_{k}": v for k, v in med.items()})
    benchmark.extra_info.update(ratios)
    print(
        f"\neqs. 3-4 statistics, {N} examples, MLP 784-{HIDDEN}-10, medians: loop {med['loop'] * 1e3:.1f} ms, "
        f"vmap {med['vmap'] * 1e3:.1f} ms, gram {med['gram'] * 1e3:.2f} ms; "
        f"loop/vmap {ratios['loop_over_vmap']:.1f}x, loop/gram {ratios['loop_over_gram']:.1f}x"
    )
    benchmark.pedantic(gram_stats, args=args, rounds=1, iterations=1)
