"""The k-NN probe (probes.knn_probe.knn_predict) against FAISS's exact search (IndexFlatIP and the same
uniform vote: the peer a researcher would use instead) on every kind of data it must serve, and
against the bare matrix products of the same sizes.

Kinds (`kind_of_data`): the project's own features of Fashion-MNIST (60k reference x 2k queries, a
small CNN trained and at initialisation), ten tight clusters, uniform and standard normal vectors
(50k x 10k x 512). Target: at least as fast as FAISS on each, 2 threads, identical predictions (FAISS
ranks by float32 scores, so it may differ at float32 near-ties: >= 99.9% identical). The probe's
neighbours are a float64 brute force's (probes.knn_search); where a bf16 product is fast and the
features are not concentrated it finds them with a certified bf16 filter ("project"), otherwise with
exact float32 scores ("project exact", timed beside it).
Run: make bench, or .venv/bin/python -m pytest tests/benchmarks/test_knn_bench.py --benchmark-only
"""

import pytest
import torch

from benign.probes.knn_probe import knn_predict
from benign.probes.knn_search import SearchStats
from tests.benchmarks.peers import alternate

N, Q, D, C, K = 50_000, 10_000, 512, 10, 20
THREADS = 2


@pytest.fixture(scope="module")
def data():
    return data_of(torch.Generator().manual_seed(0))


@pytest.mark.benchmark(group="k-NN 50k x 10k x 512")
def test_bare_matmul(benchmark, data):
    ref, _, queries = data

    benchmark.pedantic(lambda: chunked_product(ref, queries, torch.float32), rounds=3, iterations=1)


def chunked_product(ref, queries, dtype):
    """The product alone, in blocks of about 256 MiB as the probe computes it (inputs cast outside)."""
    rows = max(1, 256 * 2**20 // (N * dtype.itemsize))
    out = torch.empty(rows, N, dtype=dtype)
    for start in range(0, Q, rows):
        q = queries[start : start + rows]
        torch.mm(q, ref.T, out=out[: len(q)])


@pytest.mark.benchmark(group="k-NN 50k x 10k x 512")
@pytest.mark.parametrize("vote", ["uniform", "cosine"])
def test_knn_probe(benchmark, data, vote):
    ref, labels, queries = data
    pred = benchmark.pedantic(
        lambda: knn_predict(ref, labels, queries, C, k=K, vote=vote), rounds=3, iterations=1
    )
    assert pred.shape == (Q,)


def faiss_knn_predict(faiss, ref, labels, queries, classes=C):
    """What a researcher would write with FAISS: exact inner-product search on L2-normalised features
    (IndexFlatIP), then the same uniform vote (ties to the smallest class, as argmax gives)."""
    ref = torch.nn.functional.normalize(ref, dim=1)
    queries = torch.nn.functional.normalize(queries, dim=1)
    index = faiss.IndexFlatIP(ref.shape[1])
    index.add(ref.numpy())
    _, idx = index.search(queries.numpy(), K)
    idx = torch.from_numpy(idx)
    votes = torch.zeros(len(queries), classes).scatter_add_(1, labels[idx], torch.ones(idx.shape))
    return votes.argmax(1)


def kind_of_data(kind: str, tmp_path_factory):
    """(reference, labels, queries, classes) of one kind of data the probe must serve (issue: any data):
    the project's own features of Fashion-MNIST (60k x 2k; a small CNN at initialisation, width 128:
    512-d, and after 300 steps on random labels with DA, width 32: 128-d), ten tight clusters (spread
    0.3 around N(0, I) centres, 512-d: concentrated, every similarity near its cluster's), uniform
    random vectors in [0, 1]^512, and the standard normal vectors above."""
    g = torch.Generator().manual_seed(1)
    if kind == "gaussian":
        return (*data_of(torch.Generator().manual_seed(0)), C)
    if kind == "uniform":
        return (
            torch.rand(N, D, generator=g),
            torch.randint(0, C, (N,), generator=g),
            torch.rand(Q, D, generator=g),
            C,
        )
    if kind == "clusters":
        centres = torch.randn(C, D, generator=g)
        y, yq = torch.randint(0, C, (N,), generator=g), torch.randint(0, C, (Q,), generator=g)
        noise = lambda n: 0.3 * torch.randn(n, D, generator=g)  # noqa: E731
        return centres[y] + noise(N), y, centres[yq] + noise(Q), C
    from benign.empirical.training import TrainConfig, build_model, embed_all, prepare_data, train

    trained = kind == "features-trained"
    cfg = TrainConfig(
        subset=250, test_subset=2000, cnn_width=32 if trained else 128, projector_width=1024,
        steps=300, eval_every=0, lr=1e-3, device="cpu", out=str(tmp_path_factory.mktemp(kind)),
    )  # fmt: skip
    if trained:
        result = train(cfg)
        model, data = result["model"], result["data"]
    else:
        data = prepare_data(cfg, "cpu")
        model = build_model(cfg, data, "cpu")
    from benign.empirical.datasets import load_dataset

    full = load_dataset(cfg.dataset, train=True)
    ref = embed_all(model, full.images, full)["embedding"]
    queries = embed_all(model, data.test.images, data.test)["embedding"]
    return ref, full.labels, queries, full.num_classes


def data_of(g):
    """Standard normal reference, labels and queries."""
    return (
        torch.randn(N, D, generator=g),
        torch.randint(0, C, (N,), generator=g),
        torch.randn(Q, D, generator=g),
    )


KINDS = ["features-trained", "features-init", "clusters", "uniform", "gaussian"]


@pytest.mark.benchmark(group="k-NN vs FAISS")
@pytest.mark.parametrize("kind", KINDS)
def test_knn_probe_vs_faiss(benchmark, kind, record_ratio, torch_threads, tmp_path_factory):
    faiss = pytest.importorskip("faiss")  # the `bench` extra
    ref, labels, queries, classes = kind_of_data(kind, tmp_path_factory)
    torch_threads(THREADS)
    faiss.omp_set_num_threads(THREADS)
    stats = SearchStats()
    variants = {
        "project": lambda: knn_predict(ref, labels, queries, classes, k=K),  # auto: exact scores
        "faiss": lambda: faiss_knn_predict(faiss, ref, labels, queries, classes),
        "project bf16": lambda: knn_predict(
            ref, labels, queries, classes, k=K, method="bf16-rerank", stats=stats
        ),
    }
    rounds = 1 if benchmark.disabled else 3
    times, results = benchmark.pedantic(lambda: alternate(variants, rounds), rounds=1, iterations=1)
    identical = (results["project"] == results["faiss"]).double().mean().item()
    assert torch.equal(results["project"], results["project bf16"])
    benchmark.extra_info.update(
        {
            "identical_predictions": identical,
            "fallback_share": stats.fallback / max(stats.rows, 1),
        }
    )
    # FAISS ranks by float32 scores: it may differ from the float64 neighbours at float32 near-ties.
    assert identical >= 0.999
    title = f"k-NN {kind} {len(ref) // 1000}k x {len(queries) // 1000}k x {ref.shape[1]}, {K}-NN, {THREADS} threads"
    record_ratio(f"{title}, the bf16 filter", times, "project bf16", "faiss")
    record_ratio(title, times, "project", "faiss")  # last: its ratio is the one left in extra_info


@pytest.mark.benchmark(group="k-NN vs the bare product")
def test_knn_probe_vs_bare_products(benchmark, data, record_ratio, torch_threads):
    ref, labels, queries = data
    torch_threads(THREADS)
    unit = torch.nn.functional.normalize(ref, dim=1), torch.nn.functional.normalize(queries, dim=1)
    unit_bf16 = unit[0].bfloat16(), unit[1].bfloat16()
    variants = {
        "project": lambda: knn_predict(ref, labels, queries, C, k=K),
        "fp32 product": lambda: chunked_product(*unit, torch.float32),
        "bf16 product": lambda: chunked_product(*unit_bf16, torch.bfloat16),
    }
    rounds = 1 if benchmark.disabled else 3
    times, _ = benchmark.pedantic(lambda: alternate(variants, rounds), rounds=1, iterations=1)
    title = f"k-NN {N // 1000}k x {Q // 1000}k x {D}, {K}-NN, {THREADS} threads"
    for other in ("bf16 product", "fp32 product"):
        record_ratio(f"{title}, vs the bare {other}", times, "project", other)
