import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from benign.probes.knn_probe import knn_predict
from benign.probes.knn_search import (
    FIRST_CHUNK,
    UNIT_ROUNDOFF,
    SearchStats,
    bf16_product_error,
    nearest,
    resolve_method,
    rounding_norms,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")
U_BF16 = UNIT_ROUNDOFF[torch.bfloat16]


def bf16_error_and_bound(q: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """|s^ - s| of the bf16 product and the bound the search uses, per pair, for rows q, r."""
    q_norm, q_err = rounding_norms(q, q.bfloat16(), 1 << 20)
    r_norm, r_err = rounding_norms(r, r.bfloat16(), 1 << 20)
    err = bf16_product_error(
        q_norm + q_err, q_err, float((r_norm + r_err).max()), float(r_err.max()), q.shape[1]
    )
    s_hat = (q.bfloat16() @ r.bfloat16().T).double()
    s = q.double() @ r.double().T
    return (s_hat - s).abs(), err[:, None] + U_BF16 * s_hat.abs()


def unit_rows(g, n, d, dtype=torch.float32):
    return torch.nn.functional.normalize(torch.as_tensor(g.normal(size=(n, d))).to(dtype), dim=1)


@given(seed=st.integers(0, 2**31 - 1), dim=st.integers(1, 700), spread=st.sampled_from([1e-3, 1.0, 1e3]))
@settings(max_examples=40)
def test_bf16_product_error_is_bounded(seed, dim, spread):
    g = np.random.default_rng(seed)
    q = unit_rows(g, 7, dim)
    # Reference rows near the queries (similarities near 1, the largest output rounding) and far.
    near = torch.nn.functional.normalize(q + 1e-3 * torch.as_tensor(g.normal(size=q.shape)).float(), dim=1)
    scaled = torch.nn.functional.normalize(torch.as_tensor(g.normal(size=(9, dim)) * spread).float(), dim=1)
    error, bound = bf16_error_and_bound(q, torch.cat([near, scaled, q]))
    assert (error <= bound).all()


def test_bf16_input_bound_is_nearly_attained_when_rounding_errors_align():
    # Equal entries round alike: dq is parallel to q, so Cauchy-Schwarz is tight and q.q - q^.q^ is
    # -2 q.dq to first order: the input part of the bound (with the float32 accumulation term, not
    # reached in float64) is attained within 1.25x; the output rounding, which may cancel it, is left out.
    for dim in (3, 100, 512, 1000):
        for value in (0.3, 0.7, 1.0):
            q = torch.nn.functional.normalize(torch.full((1, dim), value), dim=1)
            q_norm, q_err = rounding_norms(q, q.bfloat16(), 1)
            bound = bf16_product_error(q_norm + q_err, q_err, float(q_norm + q_err), float(q_err), dim)
            error = (q.bfloat16().double() @ q.bfloat16().double().T - q.double() @ q.double().T).abs()
            assert error.item() <= bound.item()
            if q_err.item() > 0:
                assert error.item() >= 0.8 * bound.item(), (dim, value, error.item(), bound.item())


def brute_force(x, q, k, normalize, exclude_self):
    """float64 definition on the rows the search sees: similarity q.r (or -|q - r|^2), the k largest,
    ties to the smaller index. Also the smallest non-zero gap of similarities at the k-th place."""
    x, q = x.double().numpy(), q.double().numpy()
    if normalize:
        s = np.stack([(x * row).sum(1) for row in q])  # the same operations for every pair
    else:
        s = -np.stack([((x - row) ** 2).sum(1) for row in q])
    if exclude_self:
        np.fill_diagonal(s, -np.inf)
    order = np.argsort(-s, axis=1, kind="stable")
    top = np.sort(order[:, :k], axis=1)
    ranked = np.take_along_axis(s, order, 1)
    gaps = ranked[:, k - 1] - ranked[:, k] if ranked.shape[1] > k else np.full(len(q), np.inf)
    return top, gaps


@st.composite
def near_tied_reference(draw):
    """Reference rows with duplicates and rows closer together than the bf16 bound (~4e-3)."""
    seed = draw(st.integers(0, 2**31 - 1))
    g = np.random.default_rng(seed)
    dim = draw(st.integers(1, 24))
    n_base = draw(st.integers(1, 40))
    base = g.uniform(-3, 3, (n_base, dim))
    copies = draw(st.integers(0, 40))
    pick = g.integers(0, n_base, copies)
    jitter = draw(st.sampled_from([0.0, 1e-9, 1e-6, 1e-4, 1e-3]))
    ref = np.concatenate([base, base[pick] * (1 + jitter * g.normal(size=(copies, dim)))])
    return ref[g.permutation(len(ref))], g


@given(
    data=near_tied_reference(),
    n_q=st.integers(1, 20),
    k=st.integers(1, 30),
    method=st.sampled_from(["bf16-rerank", "exact"]),
    normalize=st.booleans(),
    exclude_self=st.booleans(),
    dtype=st.sampled_from([torch.float32, torch.float64]),
    chunk=st.sampled_from([1, 3000, 2**28]),
)
@settings(max_examples=150)
def test_neighbours_equal_float64_brute_force(data, n_q, k, method, normalize, exclude_self, dtype, chunk):
    ref, g = data
    assume(normalize or method == "exact")
    x = torch.as_tensor(ref).to(dtype)
    q = x if exclude_self else torch.as_tensor(g.uniform(-3, 3, (n_q, ref.shape[1]))).to(dtype)
    if normalize:  # as knn_predict does
        x, q = torch.nn.functional.normalize(x, dim=1), torch.nn.functional.normalize(q, dim=1)
    k = min(k, len(x) - exclude_self)
    assume(k > 0)
    want, gaps = brute_force(x, q, k, normalize, exclude_self)
    # Exact ties are defined (smaller index first); distinct scores closer than float64 rounding are not.
    assume(not ((gaps > 0) & (gaps < 1e-12 * max(1.0, float(np.abs(ref).max()) ** 2))).any())
    stats = SearchStats()
    idx, _ = nearest(
        x,
        q,
        k,
        normalize=normalize,
        exclude_self=exclude_self,
        method=method,
        max_chunk_bytes=chunk,
        stats=stats,
    )
    np.testing.assert_array_equal(np.sort(idx.numpy(), axis=1), want)
    assert stats.rows == len(q)


@given(data=near_tied_reference(), k=st.integers(1, 25), n_classes=st.integers(1, 4))
@settings(max_examples=60)
def test_bf16_and_exact_predictions_agree_with_both_votes(data, k, n_classes):
    ref, g = data
    x = torch.as_tensor(ref).float()
    q = torch.as_tensor(g.uniform(-3, 3, (15, ref.shape[1]))).float()
    y = torch.as_tensor(g.integers(0, n_classes, len(ref)))
    for vote in ("uniform", "cosine"):
        a = knn_predict(x, y, q, n_classes, k=k, vote=vote, method="bf16-rerank")
        b = knn_predict(x, y, q, n_classes, k=k, vote=vote, method="exact")
        assert torch.equal(a, b)


def clustered(n_close, dim=32, seed=0, spread=2e-4):
    """One query and n_close reference rows within `spread` of it (inside the bf16 bound), among
    far rows: the bf16 scores cannot order the close ones."""
    g = np.random.default_rng(seed)
    centre = g.normal(size=dim)
    close = centre + spread * g.normal(size=(n_close, dim))
    far = g.normal(size=(3000, dim))
    ref = torch.as_tensor(np.concatenate([far, close])).float()
    return torch.nn.functional.normalize(ref, dim=1), torch.nn.functional.normalize(
        torch.as_tensor(centre[None]).float(), dim=1
    )


@pytest.mark.parametrize(
    ("n_close", "stage"),
    [(10, None), (60, "second_list"), (400, "fallback")],
    ids=["list", "second", "fallback"],
)
def test_the_fallbacks_are_taken_and_counted(n_close, stage):
    ref, q = clustered(n_close)
    stats = SearchStats()
    idx, _ = nearest(ref, q, 5, method="bf16-rerank", stats=stats)
    want, _ = brute_force(ref, q, 5, True, False)
    np.testing.assert_array_equal(np.sort(idx.numpy(), axis=1), want)
    assert stats.rescored > 0  # the close rows were re-scored in float64
    if stage is None:
        assert stats.second_list == 0 and stats.fallback == 0
    else:
        assert getattr(stats, stage) == 1
    if stage == "second_list":
        assert stats.fallback == 0


def test_many_exact_ties_go_to_the_smaller_index():
    g = np.random.default_rng(1)
    row = g.normal(size=16)
    ref = torch.as_tensor(np.concatenate([g.normal(size=(500, 16)), np.tile(row, (300, 1))])).float()
    ref = ref[torch.as_tensor(g.permutation(len(ref)))]
    q = torch.as_tensor(row[None]).float()
    dup = (ref == q).all(1).nonzero().squeeze(1)
    for method in ("bf16-rerank", "exact"):
        stats = SearchStats()
        idx, scores = nearest(
            torch.nn.functional.normalize(ref, dim=1),
            torch.nn.functional.normalize(q, dim=1),
            20,
            method=method,
            with_scores=True,
            stats=stats,
        )
        assert torch.equal(idx.sort(1).values[0], dup[:20])
        assert torch.allclose(scores, torch.ones_like(scores), atol=1e-6)
        # 300 equal scores overflow the first candidate list: bf16 takes the longer one, exact the whole row.
        assert (stats.second_list if method == "bf16-rerank" else stats.full_sort) == 1


def test_queries_left_to_exact_scores_once_the_filter_fails_often():
    ref, q = clustered(400)
    g = torch.Generator().manual_seed(3)
    queries = torch.nn.functional.normalize(
        q + 1e-5 * torch.randn(FIRST_CHUNK + 44, q.shape[1], generator=g), dim=1
    )
    stats = SearchStats()
    idx, _ = nearest(ref, queries, 5, method="bf16-rerank", stats=stats)
    want, _ = brute_force(ref, queries, 5, True, False)
    np.testing.assert_array_equal(np.sort(idx.numpy(), axis=1), want)
    assert stats.fallback == FIRST_CHUNK and stats.switched == 44


def test_cosine_vote_weights_are_float64_similarities():
    g = np.random.default_rng(2)
    x = torch.nn.functional.normalize(torch.as_tensor(g.normal(size=(300, 8))).float(), dim=1)
    q = torch.nn.functional.normalize(torch.as_tensor(g.normal(size=(20, 8))).float(), dim=1)
    idx, scores = nearest(x, q, 7, method="bf16-rerank", with_scores=True)
    want = (x.double()[idx] * q.double()[:, None, :]).sum(-1)
    np.testing.assert_allclose(scores.numpy(), want.numpy(), rtol=0, atol=1e-15)


def test_method_is_checked_and_auto_resolves():
    with pytest.raises(ValueError, match="method"):
        resolve_method("fast", torch.device("cpu"), True, 512)
    with pytest.raises(ValueError, match="normalised"):
        resolve_method("bf16-rerank", torch.device("cpu"), False, 512)
    assert resolve_method("auto", torch.device("cpu"), False, 512) == "exact"
    assert resolve_method("auto", torch.device("cpu"), True, 512) == "exact"  # the filter: asked for only
    assert resolve_method("bf16-rerank", torch.device("cpu"), True, 512) == "bf16-rerank"
    with pytest.raises(ValueError, match="method"):
        knn_predict(torch.zeros(4, 3), torch.zeros(4), torch.zeros(2, 3), 2, method="fast")


def test_empty_queries_and_k_zero():
    x = torch.nn.functional.normalize(torch.randn(5, 3), dim=1)
    idx, _ = nearest(x, x[:0], 3, method="bf16-rerank")
    assert idx.shape == (0, 3)
    pred = knn_predict(x[:1], torch.zeros(1), x[:1], 2, exclude_self=True)  # k = N - 1 = 0
    assert pred.tolist() == [0]
    assert math.isfinite(float(knn_predict(x, torch.arange(5) % 2, x, 2, k=4, exclude_self=True).sum()))
