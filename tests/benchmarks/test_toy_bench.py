"""Batched toy training (one computation, leading model axis) vs a per-cell loop over the same cells.

Target (issue 2): at least 10x. Run: make bench, or
.venv/bin/python -m pytest tests/benchmarks/test_toy_bench.py --benchmark-only
Both sides train the same 108 cells (n in 4 sizes x B in 9 values x 3 seeds) for 100 steps.
"""

import pytest

from benign.theory.gaussian_mixture import GaussianMixture
from benign.theory.toy_model import BatchedToy, ToyTraining

MX = GaussianMixture()
TR = ToyTraining(K=32, steps=100)
CELLS = [(n, B, s) for s in range(3) for n in (5, 20, 80, 200) for B in (1, 2, 4, 8, 16, 32, 64, 128, 256)]


def batched():
    n, B, s = zip(*CELLS)
    return BatchedToy(MX, TR).fit(n, B, s)


def per_cell_loop():
    return [BatchedToy(MX, TR).fit([n], [B], [s]) for n, B, s in CELLS]


@pytest.mark.benchmark(group="toy training: 108 cells x 100 steps")
def test_toy_training_batched(benchmark):
    toy = benchmark.pedantic(batched, rounds=3, iterations=1)
    assert toy.W_.shape[0] == len(CELLS)


@pytest.mark.benchmark(group="toy training: 108 cells x 100 steps")
def test_toy_training_per_cell_loop(benchmark):
    out = benchmark.pedantic(per_cell_loop, rounds=2, iterations=1)
    assert len(out) == len(CELLS)
