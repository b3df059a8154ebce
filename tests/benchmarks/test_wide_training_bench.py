"""Training cells that share data and architecture, in float32 and in bfloat16 (autocast, TrainConfig
precision): N = 4 runs as one wide network (grouped convolutions, empirical/wide_training.py) against
the same 4 runs one after the other, the training step's achieved GFLOP/s against the bare
matrix-product rate in the same precision, and the bfloat16 / float32 speed-up of the step.

Two step sizes, 28x28 grey images (Fashion-MNIST-shaped, synthetic), 256 training images, SimCLR
augmentation, random labels, MSE, Adam:
    small  small_cnn width 16, projector 1024, batch 64, one CPU thread;
    step   small_cnn width 32, projector 4096, batch 256, two CPU threads (where bf16 matters);
    step-1thread  the same on one thread (two threads suffer most when other jobs load the machine).
FLOPs of a step (forward + backward) come from torch.utils.flop_counter.FlopCounterMode; the
matrix-product rate from 2048 x 2048 products in float32 (for the float32 step) and in bfloat16
(for the bfloat16 step). Every comparison alternates its variants in one run (9 rounds small, 5 step,
3 step-1thread), after one untimed warm-up each (oneDNN builds its bf16 kernels on first use). Run with
    .venv/bin/python -m pytest tests/benchmarks/test_wide_training_bench.py --benchmark-only -s
The ratios are printed and stored in extra_info; a speed is a benchmark, never a test assertion.
"""

import dataclasses
import statistics
import time

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from benign.empirical.augment import parse_augmentation
from benign.empirical.training import TrainConfig, build_model, epoch_batches, make_batch, prepare_data
from benign.empirical.wide_training import _loss, train_wide
from benign.theory.devices import autocast_dtype
from tests.empirical.fixtures import write_mnist_like

N, STEPS = 4, 3
PRECISIONS = ("float32", "bfloat16")
SETUPS = {  # name: (TrainConfig fields, threads, alternated rounds timed)
    "small": ({"cnn_width": 16, "projector_width": 1024, "batch_size": 64}, 1, 9),
    "step": ({"cnn_width": 32, "projector_width": 4096, "batch_size": 256}, 2, 5),
    "step-1thread": ({"cnn_width": 32, "projector_width": 4096, "batch_size": 256}, 1, 3),
}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("wide_bench")
    write_mnist_like(root, "FashionMNIST", n_train=300, n_test=20)
    return root


@pytest.fixture(scope="module", params=list(SETUPS))
def runs(request, data_root):
    """(name, {precision: the N configs}, the N runs' data), with the setup's number of threads."""
    over, threads, _ = SETUPS[request.param]
    base = TrainConfig(
        data_root=str(data_root),
        subset=256,
        arch="small_cnn",
        steps=STEPS,
        device="cpu",
        labels="random",
        augment="simclr",
        **over,
    )
    cfgs = {
        p: [dataclasses.replace(base, seed=s, label_seed=s, precision=p) for s in range(N)]
        for p in PRECISIONS
    }
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    yield request.param, cfgs, [prepare_data(c, "cpu") for c in cfgs["float32"]]
    torch.set_num_threads(before)


def _autocast(cfg):
    amp = autocast_dtype(cfg.precision, CPU)
    return torch.autocast("cpu", dtype=amp or torch.bfloat16, enabled=amp is not None)


def single(cfg, data, steps: int | None = None) -> tuple[float, float, float]:
    """The training step of empirical.training.train, one run alone; the wall and CPU seconds of its
    steps (not of building the model), and the wall seconds of those spent making the augmented batch."""
    model = build_model(cfg, data, "cpu")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    aug = parse_augmentation(cfg.augment)
    batches = epoch_batches(len(data.train), cfg.batch_size, cfg.seed, 0, "cpu")
    wall, cpu, augmenting = time.perf_counter(), time.process_time(), 0.0
    for step in range(steps or cfg.steps):
        t = time.perf_counter()
        x, target = make_batch(cfg, data, aug, batches[step % len(batches)], step, "cpu")
        augmenting += time.perf_counter() - t
        with _autocast(cfg):
            out = model(x)
        loss = _loss(cfg.loss, out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - wall, time.process_time() - cpu, augmenting


def sequential(cfgs, data):
    return [single(c, d) for c, d in zip(cfgs, data)]


def batched(cfgs, data):
    return train_wide(cfgs, data=data)


def _alternating(fns: dict, reps: int) -> dict:
    """{name: {"wall": [...], "cpu": [...]}}: the functions timed in turn, after one untimed warm-up each
    (the load of other processes affects all alike; CPU time, of every thread, is less disturbed)."""
    for f in fns.values():
        f()
    times = {k: {"wall": [], "cpu": []} for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            wall, cpu = time.perf_counter(), time.process_time()
            f()
            times[k]["wall"].append(time.perf_counter() - wall)
            times[k]["cpu"].append(time.process_time() - cpu)
    return times


def _median(times: dict, key: str = "wall") -> dict:
    return {k: statistics.median(t[key]) for k, t in times.items()}


def _float32(benchmark, cfgs):
    """The float32 runs; of one step when the benchmark only checks that it runs (make test)."""
    return [dataclasses.replace(c, steps=1) if benchmark.disabled else c for c in cfgs["float32"]]


def test_bench_batched(benchmark, runs):
    _, cfgs, data = runs
    benchmark(batched, _float32(benchmark, cfgs), data)


def test_bench_sequential(benchmark, runs):
    _, cfgs, data = runs
    benchmark(sequential, _float32(benchmark, cfgs), data)


def test_batched_against_sequential_in_float32_and_bfloat16(benchmark, runs):
    name, cfgs, data = runs
    one_step = {p: [dataclasses.replace(c, steps=1) for c in cfgs[p]] for p in PRECISIONS}
    for p in PRECISIONS:
        run = batched(one_step[p], data)
        assert run.step == 1 and torch.isfinite(run.losses).all()
    benchmark.pedantic(batched, args=(one_step["bfloat16"], data), rounds=1, iterations=1)
    if benchmark.disabled:
        return
    fns = {}
    for p in PRECISIONS:
        fns[f"sequential {p}"] = lambda p=p: sequential(cfgs[p], data)
        fns[f"batched {p}"] = lambda p=p: batched(cfgs[p], data)
    reps = SETUPS[name][2]
    times = _alternating(fns, reps)
    wall, cpu = _median(times), _median(times, "cpu")
    info = {}
    for p in PRECISIONS:
        info[f"wide_speedup_{p}"] = wall[f"sequential {p}"] / wall[f"batched {p}"]
        info[f"wide_speedup_cpu_{p}"] = cpu[f"sequential {p}"] / cpu[f"batched {p}"]
    for kind in ("sequential", "batched"):
        info[f"bf16_speedup_{kind}"] = wall[f"{kind} float32"] / wall[f"{kind} bfloat16"]
    benchmark.extra_info.update(
        networks=N,
        steps=STEPS,
        reps=reps,
        rounds_s={k: t["wall"] for k, t in times.items()},
        **info,
        **{f"{k} s": v for k, v in wall.items()},
    )
    print(
        f"\n[{name}] {N} runs x {STEPS} steps, medians of {reps} alternated rounds: "
        + ", ".join(f"{k} {v:.2f} s" for k, v in wall.items())
        + "\n  "
        + "; ".join(
            f"{p}: wide network {info[f'wide_speedup_{p}']:.2f}x as fast as one after the other "
            f"(CPU time {info[f'wide_speedup_cpu_{p}']:.2f}x)"
            for p in PRECISIONS
        )
        + f"\n  bf16 over fp32: sequential {info['bf16_speedup_sequential']:.2f}x, "
        f"wide {info['bf16_speedup_batched']:.2f}x"
    )


def step_flops(cfg, data) -> int:
    """FLOPs of one training step (forward and backward) of the small CNN, counted by PyTorch."""
    model = build_model(cfg, data, "cpu")
    x, t = make_batch(cfg, data, parse_augmentation(cfg.augment), torch.arange(cfg.batch_size), 0, "cpu")
    with FlopCounterMode(display=False) as counter:
        with _autocast(cfg):
            out = model(x)
        _loss(cfg.loss, out, t).backward()
    return counter.get_total_flops()


def matmul_seconds(dtype: torch.dtype, size: int = 2048) -> float:
    """Seconds of one bare size x size matrix product (2 size^3 FLOPs) in `dtype`."""
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    t = time.perf_counter()
    a @ b
    return time.perf_counter() - t


def test_step_gflops_against_matmul_in_float32_and_bfloat16(benchmark, runs):
    name, cfgs, data = runs
    flops = {p: step_flops(cfgs[p][0], data[0]) for p in PRECISIONS}
    assert flops["float32"] > 0 and flops["bfloat16"] == flops["float32"]  # autocast changes dtypes only
    benchmark.pedantic(single, args=(cfgs["bfloat16"][0], data[0], 1), rounds=1, iterations=1)
    if benchmark.disabled:
        return
    reps = SETUPS[name][2]
    dtypes = {"float32": torch.float32, "bfloat16": torch.bfloat16}
    steps = {p: [] for p in PRECISIONS}  # (wall, CPU) seconds of STEPS steps
    matmul = {p: [] for p in PRECISIONS}
    fns = {}
    for p in PRECISIONS:
        fns[f"matmul {p}"] = lambda p=p: matmul[p].append(matmul_seconds(dtypes[p]))
        fns[f"step {p}"] = lambda p=p: steps[p].append(single(cfgs[p][0], data[0]))
    _alternating(fns, reps)

    def med(p, i):  # [0]: the warm-up
        return statistics.median(r[i] for r in steps[p][1:])

    wall, cpu = {p: med(p, 0) for p in PRECISIONS}, {p: med(p, 1) for p in PRECISIONS}
    net = {p: statistics.median(r[0] - r[2] for r in steps[p][1:]) for p in PRECISIONS}  # without the batch
    rate = {p: STEPS * flops[p] / wall[p] / 1e9 for p in PRECISIONS}
    net_rate = {p: STEPS * flops[p] / net[p] / 1e9 for p in PRECISIONS}
    mm = {p: 2 * 2048**3 / statistics.median(matmul[p][1:]) / 1e9 for p in PRECISIONS}
    speedup, cpu_speedup = wall["float32"] / wall["bfloat16"], cpu["float32"] / cpu["bfloat16"]
    benchmark.extra_info.update(
        gflop_per_step=flops["float32"] / 1e9,
        bf16_step_speedup=speedup,
        bf16_step_speedup_cpu=cpu_speedup,
        bf16_network_speedup=net["float32"] / net["bfloat16"],
        rounds_s={p: steps[p] for p in PRECISIONS},
        **{f"gflops_step_{p}": rate[p] for p in PRECISIONS},
        **{f"gflops_network_{p}": net_rate[p] for p in PRECISIONS},
        **{f"gflops_matmul_{p}": mm[p] for p in PRECISIONS},
    )
    print(
        f"\n[{name}] step {flops['float32'] / 1e9:.2f} GFLOP, medians of {reps} alternated rounds of {STEPS} "
        "steps: "
        + "; ".join(
            f"{p} step {rate[p]:.1f} GFLOP/s = {rate[p] / mm[p]:.0%} of the {p} matmul ({mm[p]:.1f} GFLOP/s)"
            for p in PRECISIONS
        )
        + f"; bf16 step {speedup:.2f}x as fast as fp32 (CPU time {cpu_speedup:.2f}x)\n  without making the "
        "augmented batch (forward, backward, Adam): "
        + "; ".join(
            f"{p} {net_rate[p]:.1f} GFLOP/s = {net_rate[p] / mm[p]:.0%} of the matmul" for p in PRECISIONS
        )
        + f"; bf16 {net['float32'] / net['bfloat16']:.2f}x as fast as fp32"
    )
