"""Where a training step's time goes, against what the machine's matrix units can do.

A step of the training core (empirical/training.py) is split into its phases — augmentation of the
uint8 batch, forward, backward, optimizer — each timed as the median over `steps` steps, and the
k-NN probe of an evaluation is timed apart. Its FLOP (forward and backward) are counted by
torch.utils.flop_counter. The yardstick is the same run's bare matrix product at the step's own
shapes: every convolution is an implicit GEMM (M = images x output pixels, K = input channels x kernel
area, N = output channels), every linear layer a GEMM, and the backward pass two more GEMMs of each
(input gradient, weight gradient). `gemm_seconds` is the time `torch.mm` takes for those products at
those shapes in the step's dtype; `efficiency` = gemm_seconds / step seconds is the share of the GEMM
rate the step reaches (1 = as fast as its matrix products alone).
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode


@dataclasses.dataclass
class StepProfile:
    threads: int
    dtype: str
    seconds: dict  # phase -> median seconds per step (augment, forward, backward, optimizer, step)
    probe_seconds: float  # one evaluation (training accuracy and the k-NN probe)
    flop: float  # forward + backward of one step
    gemm_seconds: float  # torch.mm at the step's shapes and dtype, for the same products

    @property
    def efficiency(self) -> float:
        return self.gemm_seconds / self.seconds["step"]

    @property
    def gflops(self) -> float:
        return self.flop / self.seconds["step"] / 1e9


def gemm_shapes(model: nn.Module, x: torch.Tensor) -> list[tuple[int, int, int]]:
    """(M, K, N) of every forward matrix product of `model` on the batch x: convolutions as implicit
    GEMMs, linear layers as they are."""
    shapes: list[tuple[int, int, int]] = []

    def conv(m: nn.Conv2d, inputs, output):
        n, c_out, h, w = output.shape
        k = (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        shapes.extend([(n * h * w, k, c_out // m.groups)] * m.groups)

    def linear(m: nn.Linear, inputs, output):
        shapes.append((inputs[0].numel() // m.in_features, m.in_features, m.out_features))

    hooks = [
        mod.register_forward_hook(conv if isinstance(mod, nn.Conv2d) else linear)
        for mod in model.modules()
        if isinstance(mod, (nn.Conv2d, nn.Linear))
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes


def with_backward(shapes: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """The forward products and the two of each in the backward pass: dX = dY W^T (M, N, K) and
    dW = X^T dY (K, M, N)."""
    return [s for m, k, n in shapes for s in ((m, k, n), (m, n, k), (k, m, n))]


def gemm_seconds(shapes: list[tuple[int, int, int]], dtype: torch.dtype, repeats: int = 5) -> float:
    """Median over `repeats` of the time torch.mm takes for every product of `shapes` in `dtype`."""
    operands = [(torch.randn(m, k).to(dtype), torch.randn(k, n).to(dtype)) for m, k, n in shapes]
    for a, b in operands:  # warm-up: the library picks its kernels
        torch.mm(a, b)
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for a, b in operands:
            torch.mm(a, b)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def step_flop(model: nn.Module, x: torch.Tensor, loss_of) -> float:
    """FLOP of one forward and backward pass (torch.utils.flop_counter)."""
    counter = FlopCounterMode(display=False)
    with counter:
        loss_of(model(x)).backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def profile_step(cfg, steps: int = 10, threads: int = 1, probe: bool = True) -> StepProfile:
    """The step profile of the run `cfg` (a training.TrainConfig) on the CPU with `threads` threads,
    in its precision (bf16 autocast or float32), at its batch size."""
    from benign.empirical.augment import parse_augmentation
    from benign.empirical.datasets import normalize
    from benign.empirical.training import build_model, evaluate, loss_fn, make_batch, prepare_data
    from benign.theory.devices import autocast_dtype

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        device = torch.device("cpu")
        data = prepare_data(cfg, device)
        model = build_model(cfg, data, device).to(memory_format=torch.channels_last)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        aug = parse_augmentation(cfg.augment)
        amp = autocast_dtype(cfg.precision, device)
        batch = torch.arange(min(cfg.batch_size, len(data.train)))
        phases: dict[str, list[float]] = {
            k: [] for k in ("augment", "forward", "backward", "optimizer", "step")
        }
        x, targets = make_batch(cfg, data, aug, batch, 0, device)
        for step in range(steps + 2):  # two warm-up steps
            t0 = time.perf_counter()
            x, targets = make_batch(cfg, data, aug, batch, step, device)
            x = x.contiguous(memory_format=torch.channels_last)
            t1 = time.perf_counter()
            with torch.autocast("cpu", dtype=amp or torch.bfloat16, enabled=amp is not None):
                output = model(x)
            loss = loss_fn(cfg.loss, output, targets)
            t2 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            t3 = time.perf_counter()
            opt.step()
            t4 = time.perf_counter()
            if step >= 2:
                for k, v in zip(phases, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0)):
                    phases[k].append(v)
        seconds = {k: statistics.median(v) for k, v in phases.items()}
        probe_seconds = float("nan")
        if probe:
            t0 = time.perf_counter()
            evaluate(model, data, cfg.knn_k, fits_labels=cfg.loss != "simclr")
            probe_seconds = time.perf_counter() - t0
        dtype = amp or torch.float32
        with torch.autocast("cpu", dtype=dtype, enabled=amp is not None):
            flop = step_flop(model, x, lambda out: loss_fn(cfg.loss, out, targets))
        shapes = with_backward(gemm_shapes(model, normalize(data.train.images[batch], data.train)))
        return StepProfile(
            threads,
            str(dtype).removeprefix("torch."),
            seconds,
            probe_seconds,
            flop,
            gemm_seconds(shapes, dtype),
        )
    finally:
        torch.set_num_threads(before)
