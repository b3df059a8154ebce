"""The chunked k-NN probe vs the bare matrix product of the same sizes (50k reference x 10k queries x 512).

Target (issue 2): the probe within 2x of the product, both measured in the same run.
Run: make bench, or .venv/bin/python -m pytest tests/benchmarks/test_knn_bench.py --benchmark-only
"""

import pytest
import torch

from theory.probes import knn_predict

N, Q, D, C = 50_000, 10_000, 512, 10


@pytest.fixture(scope="module")
def data():
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(N, D, generator=g),
        torch.randint(0, C, (N,), generator=g),
        torch.randn(Q, D, generator=g),
    )


@pytest.mark.benchmark(group="k-NN 50k x 10k x 512")
def test_bare_matmul(benchmark, data):
    ref, _, queries = data

    # The same chunking as the probe, so only the top-k and the vote are extra.
    def product():
        rows = max(1, 256 * 2**20 // (N * 4))
        for start in range(0, Q, rows):
            queries[start : start + rows] @ ref.T

    benchmark.pedantic(product, rounds=3, iterations=1)


@pytest.mark.benchmark(group="k-NN 50k x 10k x 512")
@pytest.mark.parametrize("vote", ["uniform", "cosine"])
def test_knn_probe(benchmark, data, vote):
    ref, labels, queries = data
    pred = benchmark.pedantic(
        lambda: knn_predict(ref, labels, queries, C, k=20, vote=vote), rounds=3, iterations=1
    )
    assert pred.shape == (Q,)
