"""N profile networks trained as one batch (a wide network of grouped convolutions) against the
same N trained one after the other (`trainer.train_network`), on Fashion-MNIST-shaped data.

Setup: small_cnn width 16, projector 256, 28x28 grey images, 128 training images, batch 32, one
epoch plus recognition of 64 images x 2 augmentations, N = 4 networks, float32, one CPU thread.
Run with `make bench` or
    OMP_NUM_THREADS=1 .venv/bin/python -m pytest tests/benchmarks/test_profiles_batch_bench.py --benchmark-only
The ratio (sequential / batched, medians of alternating runs) per mode is printed by
test_batched_speedup_over_sequential and stored in its extra_info; a speed is a benchmark, never a
test assertion.
"""

import time

import pytest
import torch

from benign.empirical.memscore.data import synthetic
from benign.empirical.profiles.batched import train_networks
from benign.empirical.profiles.modes import MODES
from benign.empirical.profiles.trainer import NetSpec, OptSpec, train_network

N, TRAIN, PROFILED, BATCH = 4, 128, 64, 32


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _args(method):
    mode = MODES[method]
    train = synthetic(TRAIN, 0, True, num_classes=10, size=28)
    labels = None if mode.labels == "none" else train.labels
    prof = torch.arange(PROFILED)
    net = NetSpec("small_cnn", 16, 256, 10, 128)
    opt = OptSpec("adam", 1e-3, 1e-4, 0.9, 0.07)
    return mode, (
        train,
        labels,
        train.images[prof],
        None if labels is None else labels[prof],
        prof,
        net,
        opt,
        1,
        BATCH,
        2,
        7,
    )


def batched(mode, args):
    return train_networks(mode, list(range(N)), *args)[0]


def sequential(mode, args):
    return torch.stack([train_network(mode, s, *args)[0] for s in range(N)])


@pytest.mark.parametrize("method", ["supervised", "simclr"])
def test_bench_batched(benchmark, method):
    benchmark(batched, *_args(method))


@pytest.mark.parametrize("method", ["supervised", "simclr"])
def test_bench_sequential(benchmark, method):
    benchmark(sequential, *_args(method))


def _speedup(mode, args, reps=5):
    """median(sequential) / median(batched), timed alternately so that load from other processes
    affects both alike."""
    batched(mode, args), sequential(mode, args)
    ts, tb = [], []
    for _ in range(reps):
        t = time.perf_counter()
        sequential(mode, args)
        ts.append(time.perf_counter() - t)
        t = time.perf_counter()
        batched(mode, args)
        tb.append(time.perf_counter() - t)
    return sorted(ts)[reps // 2] / sorted(tb)[reps // 2]


@pytest.mark.parametrize("method", ["supervised", "simclr"])
def test_batched_speedup_over_sequential(benchmark, method):
    mode, args = _args(method)
    record = benchmark.pedantic(batched, args=(mode, args), rounds=1, iterations=1)
    assert torch.equal(record, sequential(mode, args))  # the same recognition record
    if benchmark.disabled:  # --benchmark-disable (the test suite): the check above is all
        return
    ratio = _speedup(mode, args)
    benchmark.extra_info["speedup"] = ratio
    benchmark.extra_info["networks"] = N
    print(f"\n{method}: {N} networks as one batch are {ratio:.2f}x as fast as one after the other")
