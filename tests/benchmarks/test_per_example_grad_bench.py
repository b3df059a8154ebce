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
import warnings

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
from tests.benchmarks.peers import alternate

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


def stacked_stats(v, groups) -> GradientStats:
    """Eqs. 3 and 4 from the per-example gradients stacked as rows of v (n, p)."""
    g = v.mean(0)
    return GradientStats(
        contributions(v, g),
        v.norm(dim=1),
        {k: mean_pairwise_cosine(v[m]) for k, m in groups.items()},
        float(g.norm()),
    )


def loop_stats(model, x, y, masks, groups) -> GradientStats:
    """One backward per example, then eqs. 3 and 4 from the stacked gradients."""
    params = list(model.parameters())
    rows = []
    for i in range(x.shape[0]):
        loss = F.cross_entropy(model(x[i : i + 1], [m[i : i + 1] for m in masks]), y[i : i + 1])
        rows.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    v = torch.stack(rows)
    return stacked_stats(v, groups)


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


def opacus_stats(opacus, model, x, y, masks, groups) -> GradientStats:
    """What a researcher would write with Opacus: its per-sample gradients (GradSampleModule hooks on
    every layer, one batched backward), then the same eqs. 3 and 4 from the stacked gradients."""
    gsm = opacus.GradSampleModule(model, loss_reduction="sum")
    try:
        with warnings.catch_warnings():  # "full backward hook is firing ...": the inputs need no gradient
            warnings.simplefilter("ignore", UserWarning)
            F.cross_entropy(gsm(x, masks), y, reduction="sum").backward()
        v = torch.cat([p.grad_sample.reshape(x.shape[0], -1) for p in model.parameters()], 1)
    finally:
        gsm._close()  # removes the hooks and the grad_sample attributes
        model.zero_grad(set_to_none=True)
    return stacked_stats(v, groups)


@pytest.mark.benchmark(group="per-example gradients vs Opacus")
def test_gram_statistics_vs_opacus(benchmark, record_ratio):
    opacus = pytest.importorskip("opacus")  # the `bench` extra
    args = _setup()
    ref, peer = gram_stats(*args), opacus_stats(opacus, *args)
    torch.testing.assert_close(peer.contribution, ref.contribution, rtol=1e-3, atol=1e-5)
    torch.testing.assert_close(peer.norm, ref.norm, rtol=1e-4, atol=1e-6)
    for k in ref.cosine:
        assert peer.cosine[k] == pytest.approx(ref.cosine[k], abs=1e-4)
    variants = {"project": lambda: gram_stats(*args), "opacus": lambda: opacus_stats(opacus, *args)}
    rounds = 1 if benchmark.disabled else 7
    times, _ = benchmark.pedantic(lambda: alternate(variants, rounds), rounds=1, iterations=1)
    record_ratio(f"per-example gradient statistics (eqs. 3-4), {N} examples, MLP 784-{HIDDEN}-10, 1 thread",
                 times, "project", "opacus")  # fmt: skip
