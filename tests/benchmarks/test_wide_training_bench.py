"""Training cells that share data and architecture: N = 4 runs as one wide network (grouped
convolutions, empirical/wide_training.py) against the same 4 runs one after the other, and the
training step's achieved GFLOP/s against the bare matrix-product rate measured in the same run.

Setup: small_cnn width 16, projector 1024, 28x28 grey images (Fashion-MNIST-shaped, synthetic),
256 training images, batch 64, SimCLR augmentation, random labels, MSE, Adam, float32, one CPU thread.
FLOPs of a step (forward + backward) come from torch.utils.flop_counter.FlopCounterMode; the
matrix-product rate from 1024 x 1024 float32 products. Run with
    OMP_NUM_THREADS=1 .venv/bin/python -m pytest tests/benchmarks/test_wide_training_bench.py --benchmark-only -s
The ratios are printed and stored in extra_info; a speed is a benchmark, never a test assertion.
"""

import dataclasses
import time

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from empirical.augment import parse_augmentation
from empirical.training import TrainConfig, build_model, epoch_batches, make_batch, prepare_data
from empirical.wide_training import _loss, train_wide
from tests.empirical.fixtures import write_mnist_like

N, STEPS = 4, 6


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("wide_bench")
    write_mnist_like(root, "FashionMNIST", n_train=300, n_test=20)
    base = TrainConfig(
        data_root=str(root),
        subset=256,
        arch="small_cnn",
        cnn_width=16,
        projector_width=1024,
        batch_size=64,
        steps=STEPS,
        device="cpu",
        labels="random",
        augment="simclr",
    )
    cfgs = [dataclasses.replace(base, seed=s, label_seed=s) for s in range(N)]
    return cfgs, [prepare_data(c, "cpu") for c in cfgs]


def single(cfg, data, steps=STEPS):
    """The training step of empirical.training.train, one run alone."""
    model = build_model(cfg, data, "cpu")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    aug = parse_augmentation(cfg.augment)
    batches = epoch_batches(len(data.train), cfg.batch_size, cfg.seed, 0, "cpu")
    for step in range(steps):
        x, t = make_batch(cfg, data, aug, batches[step % len(batches)], step, "cpu")
        loss = _loss(cfg.loss, model(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def sequential(cfgs, data):
    return [single(c, d) for c, d in zip(cfgs, data)]


def batched(cfgs, data):
    return train_wide(cfgs, data=data)


def test_bench_batched(benchmark, runs):
    benchmark(batched, *runs)


def test_bench_sequential(benchmark, runs):
    benchmark(sequential, *runs)


def _alternating(fns: dict, reps: int = 3) -> dict:
    """Median wall time of each function, the functions timed in turn (load affects all alike)."""
    times = {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: sorted(v)[reps // 2] for k, v in times.items()}


def test_batched_speedup_over_sequential(benchmark, runs):
    cfgs, data = runs
    run = benchmark.pedantic(batched, args=runs, rounds=1, iterations=1)
    assert run.step == STEPS and torch.isfinite(run.losses).all()
    if benchmark.disabled:
        return
    t = _alternating({"sequential": lambda: sequential(cfgs, data), "batched": lambda: batched(cfgs, data)})
    ratio = t["sequential"] / t["batched"]
    benchmark.extra_info.update(speedup=ratio, networks=N, steps=STEPS)
    print(f"\n{N} runs as one wide network: {ratio:.2f}x as fast as one after the other ({t})")


def step_flops(cfg, data) -> int:
    """FLOPs of one training step (forward and backward) of the small CNN, counted by PyTorch."""
    model = build_model(cfg, data, "cpu")
    x, t = make_batch(cfg, data, parse_augmentation(cfg.augment), torch.arange(cfg.batch_size), 0, "cpu")
    with FlopCounterMode(display=False) as counter:
        _loss(cfg.loss, model(x), t).backward()
    return counter.get_total_flops()


def matmul_rate(size: int = 1024, reps: int = 5) -> float:
    """GFLOP/s of a bare float32 matrix product (2 size^3 FLOPs), median of `reps`."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * size**3 / sorted(times)[reps // 2] / 1e9


def test_step_gflops_against_matmul(benchmark, runs):
    cfgs, data = runs
    flops = step_flops(cfgs[0], data[0])
    assert flops > 0
    benchmark.pedantic(single, args=(cfgs[0], data[0], 1), rounds=1, iterations=1)
    if benchmark.disabled:
        return
    rates = {}
    for _ in range(3):  # alternate the three measurements
        mm = matmul_rate()
        t = time.perf_counter()
        single(cfgs[0], data[0])
        one = STEPS * flops / (time.perf_counter() - t) / 1e9
        t = time.perf_counter()
        batched(cfgs, data)
        wide = N * STEPS * flops / (time.perf_counter() - t) / 1e9
        for k, v in (("matmul", mm), ("single", one), ("wide", wide)):
            rates.setdefault(k, []).append(v)
    med = {k: sorted(v)[1] for k, v in rates.items()}
    benchmark.extra_info.update(gflop_per_step=flops / 1e9, **{f"gflops_{k}": v for k, v in med.items()})
    print(
        f"\nstep {flops / 1e9:.2f} GFLOP: one network {med['single']:.1f} GFLOP/s "
        f"({med['single'] / med['matmul']:.0%} of matmul), {N} as one wide network {med['wide']:.1f} GFLOP/s "
        f"({med['wide'] / med['matmul']:.0%}); matmul {med['matmul']:.1f} GFLOP/s"
    )
