"""Exact k-nearest-neighbour search, with a bfloat16 product as a certified candidate filter.

`nearest` returns, for each query, the k reference rows of largest similarity (cosine on L2-normalised
rows, else minus the squared Euclidean distance), ties broken by the smaller reference index: the
answer of a float64 brute force (exact except where two float64 scores of distinct rows differ by
less than their rounding, ~1e-13). Every method gives that same answer; they differ in speed:

- "exact": the scores in the inputs' dtype (float32 or float64), the candidates they cannot order
  certainly (a window of a few ulps, see `exact_product_error`) re-scored in float64;
- "bf16-rerank" (normalised features only): the scores q.(r - c) (c the reference's mean: the same
  ranking) from a bfloat16 product (AMX here: ~3.3x float32), a rigorous bound on their error
  (`bf16_product_error`), and re-scoring of the candidates inside the bound's window, first in the
  inputs' dtype by a sampled product, then in float64 for those still ambiguous. Rows whose window
  overflows the candidate list get a longer one, then the "exact" scores; when that happens to a
  quarter of the rows (concentrated features: the window is wider than the gaps between neighbours),
  or costs more than exact scores would, the remaining queries go to "exact" (`SearchStats` counts);
- "auto": "exact". The filter pays only on spread features (benchmarked against FAISS: 1.82x on
  normal vectors, 1.03x on uniform ones, where exact scores give 0.71-0.72x); on the project's own
  workload, a network's embeddings, it cannot certify the neighbours' order and costs 7-18% over
  exact scores before it gives up (docs/performance.md). Ask for "bf16-rerank" on spread features.

The certificate (`certify`), for one query: let s_j be the exact similarity (minus q.c for the bf16
scores: a constant of the query, which no ranking sees) and s^_j its computed score with |s^_j -
s_j| <= e(s^_j) := E + u |s^_j|, both terms increasing in s^_j's size (E from the inputs' rounding
and the accumulation, u from the rounding of the output). With lo(x) = x - u|x| - E and hi(x) = x +
u|x| + E (increasing in x), and t the k-th largest score: the k rows of largest score have s >=
lo(t), so the k-th largest similarity s_(k) >= lo(t), and a row with hi(s^_j) < lo(t) has s_j <
s_(k): it is in no top-k set. A row with lo(s^_j) > hi(t'), t' the (k+1)-th largest score, can be
beaten only by rows of score > t', of which there are at most k - 1 besides itself: it is in every
top-k set. The rows between the two ("ambiguous") are re-scored exactly and the best of them fill
the places left. Evaluation errors of lo, hi in float64 (~1e-16) are covered by `_SLACK`.
"""

from __future__ import annotations

import contextlib
import functools
import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor

Method = Literal["auto", "exact", "bf16-rerank"]
# The score block of a chunk of queries, reused chunk after chunk. 32 MB rather than more: on CPU the
# search of 60k x 2k x 128 features took 0.35 s with 32 MB blocks, 0.40 s with 256 MB (the exact
# scores; docs/performance.md); each chunk is still one large product (139 x 60000 x D there).
CHUNK_BYTES = 32 * 2**20
METHODS = ("auto", "exact", "bf16-rerank")

# Unit roundoff (half an ulp of 1, relative) of each dtype: 8, 24 and 53 significant bits.
UNIT_ROUNDOFF = {torch.bfloat16: 2.0**-8, torch.float32: 2.0**-24, torch.float64: 2.0**-53}
# Absolute slack added to every bound: covers the float64 evaluation of lo/hi and the flush of
# subnormals to zero by AMX / tensor cores (each below 2^-126 per term, D 2^-126 in all).
_SLACK = 2.0**-40
BLOCK = 16  # the bf16 filter takes the maximum of BLOCK scores first: a top-k over N/BLOCK numbers
# The filter is left for exact scores once it fails on this share of the rows, or once a chunk's
# CPU time per row exceeds that of the exact scores of its fallback rows (measured on >= 16 of them).
SWITCH_SHARE = 0.25
FIRST_CHUNK = 256  # queries: the filter is tried on them before chunks of full size


@dataclass
class SearchStats:
    """What the search did: rows settled by the bf16 filter's first candidate list, by its larger
    second one, rows it could not settle (`fallback`: redone with exact scores), rows left to exact
    scores once the filter had failed on more than `SWITCH_SHARE` of the rows (`switched`), rows whose
    exact scores were sorted whole (`full_sort`), pairs re-scored in the inputs' dtype (`sampled`) and
    in float64 (`rescored`); CPU seconds by stage."""

    rows: int = 0
    second_list: int = 0
    fallback: int = 0
    switched: int = 0
    full_sort: int = 0
    sampled: int = 0
    rescored: int = 0
    seconds: dict = field(default_factory=dict)

    def add_time(self, what: str, since: float) -> float:
        """CPU seconds (all threads: steadier than wall time on a shared machine) since `since`."""
        now = time.process_time()
        self.seconds[what] = self.seconds.get(what, 0.0) + now - since
        return now


def gamma(n: int, u: float) -> float:
    """Higham's gamma_n = n u / (1 - n u): a dot product of length n, summed in any order in a
    floating-point type of unit roundoff u, errs by at most gamma_n sum |a_i b_i| (Higham, Accuracy
    and Stability of Numerical Algorithms, 2002, eq. 3.5)."""
    if n * u >= 1:
        raise ValueError(f"no error bound for length {n} at unit roundoff {u}")
    return n * u / (1 - n * u)


def rounding_norms(x: Tensor, rounded: Tensor | torch.dtype, max_rows: int) -> tuple[Tensor, Tensor]:
    """Per row of x: upper bounds on (||x||, ||x - x^||) as float64, x^ = `rounded` (x in a lower
    precision; ||x^|| <= ||x|| + ||x - x^||).

    Computed in x's dtype: x - x^ is exact there (Sterbenz: x^ lies within a factor 2 of x, or is 0
    where x is below its range), and a norm of D terms computed in a type of unit roundoff v errs by
    less than the factor 1 + gamma_{D+2}(v), by which it is inflated."""
    inflate = 1 + gamma(x.shape[1] + 2, UNIT_ROUNDOFF[x.dtype])
    norms, errs = [], []
    for start in range(0, x.shape[0], max_rows):
        part = x[start : start + max_rows]
        norms.append(torch.linalg.vector_norm(part, dim=1).double() * inflate)
        low = part.to(rounded) if isinstance(rounded, torch.dtype) else rounded[start : start + max_rows]
        errs.append(torch.linalg.vector_norm(part - low.to(x.dtype), dim=1).double())
    return torch.cat(norms), torch.cat(errs) * inflate


def bf16_product_error(q_norm: Tensor, q_err: Tensor, r_norm: float, r_err: float, dim: int) -> Tensor:
    """E per query for the bf16 product of unit rows q, r (plus u_bf16 |s^| for the output rounding).

    With q = q^ + dq, r = r^ + dr (q^, r^ the bf16 roundings): q.r - q^.r^ = q^.dr + dq.r^ + dq.dr, so
    by Cauchy-Schwarz |q.r - q^.r^| <= ||q^|| ||dr|| + ||dq|| ||r^|| + ||dq|| ||dr||, with the norms
    measured per row (`rounding_norms`; for the reference, their maxima over rows). Elementwise
    rounding gives ||dq|| <= 2^-8 ||q||, but measured norms are about 3x smaller. The products of bf16
    numbers (8 significant bits) are exact in float32, accumulated in float32: at most
    gamma_D(2^-24) ||q^|| ||r^|| more. The output rounded to bf16 adds |s^ - x| <= 2^-8 |s^|.
    """
    inputs = q_norm * r_err + q_err * r_norm + q_err * r_err
    accumulation = gamma(dim, UNIT_ROUNDOFF[torch.float32]) * q_norm * r_norm
    return inputs + accumulation + _SLACK


def exact_product_error(
    q_norm: Tensor, r_norm: float, dim: int, dtype: torch.dtype, normalize: bool
) -> Tensor:
    """E per query for the scores in `dtype` (no output-rounding term when normalised: the product's
    rounding is inside gamma_D). Normalised: s^ = fl(q.r), |s^ - s| <= gamma_D ||q|| ||r||.
    Unnormalised: s^ = fl(2 fl(q.r) + fl(-|r|^2)) (addmm), whatever the order in which the BLAS adds
    the bias: |s^ - s| <= gamma_{D+2} (2 ||q|| R + R^2) + u |s^|, R = max ||r||; doubled for safety."""
    u = UNIT_ROUNDOFF[dtype]
    if normalize:
        return gamma(dim, u) * q_norm * r_norm + _SLACK
    return 2 * gamma(dim + 2, u) * (2 * q_norm * r_norm + r_norm**2) + _SLACK


def certify(
    values: Tensor, outside: Tensor, err: Tensor, rel: float, k: int | Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """The certificate of the module docstring on a sorted candidate list.

    values: (m, c) scores sorted in decreasing order; outside: (m,) an upper bound on the scores not
    in the list (-inf if none); err: (m,) E; rel: u; k: how many to find, per row or for all, <= c.
    Returns (ok, n_in, n_end): ok where no row outside the list can be among the k nearest;
    positions < n_in are certainly among them, positions in [n_in, n_end) are ambiguous, the rest
    certainly not.
    """
    m, c = values.shape
    k = torch.as_tensor(k, device=values.device).expand(m)
    v = values.double().clamp_min(-1e300)  # -inf (masked rows) as a finite number: no inf - inf
    out = outside.double().clamp_min(-1e300)
    e = err[:, None]
    lo = v - rel * v.abs() - e
    hi = v + rel * v.abs() + e
    lo_k = lo.gather(1, (k - 1).clamp(0, c - 1)[:, None]).squeeze(1)
    ok = (out + rel * out.abs() + err < lo_k) | (k == 0)
    n_end = (hi >= lo_k[:, None]).sum(1)  # hi decreases along the list: a prefix
    following = v.gather(1, k.clamp_max(c - 1)[:, None]).squeeze(1)
    following = torch.maximum(torch.where(k < c, following, -1e300), out)
    hi_next = following + rel * following.abs() + err
    first_k = torch.arange(c, device=values.device) < k[:, None]
    n_in = ((lo > hi_next[:, None]) & first_k).sum(1)
    n_end = torch.where(k == 0, 0, n_end)
    return ok, n_in, n_end


def _scores(queries: Tensor, reference: Tensor, rows: Tensor, cols: Tensor, normalize: bool) -> Tensor:
    """float64 scores of the (rows[i], cols[i, j]) pairs, q.r or -|q - r|^2: products of float32
    numbers are exact, sums off by < D 2^-53 relative; the same operations for every pair, so that
    equal reference rows score equally."""
    q = queries.index_select(0, rows).double()[:, None, :]
    r = reference.index_select(0, cols.flatten()).view(*cols.shape, -1).double()
    if normalize:
        return (r * q).sum(-1)
    return -((q - r) ** 2).sum(-1)


def _sampled_scores(q: Tensor, reference: Tensor, cols: Tensor, valid: Tensor, counts: Tensor) -> Tensor:
    """q_i . r_cols[i, j] in the inputs' dtype where `valid` (a prefix of each row, `counts` long), by
    a sampled product (no gathered copy of the reference rows; error as in `exact_product_error`)."""
    crow = torch.zeros(len(counts) + 1, dtype=torch.long, device=cols.device)
    torch.cumsum(counts, 0, out=crow[1:])
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        mask = torch.sparse_csr_tensor(
            crow,
            cols[valid],
            torch.zeros(int(crow[-1]), dtype=q.dtype, device=q.device),
            (len(q), len(reference)),
        )
        values = torch.sparse.sampled_addmm(mask, q, reference.T).values()
    scores = torch.full(cols.shape, -math.inf, dtype=q.dtype, device=q.device)
    scores[valid] = values
    return scores


def choose(
    queries: Tensor,
    reference: Tensor,
    rows: Tensor,
    idx: Tensor,
    n_in: Tensor,
    n_end: Tensor,
    k: int | Tensor,
    normalize: bool,
    max_bytes: int,
    stats: SearchStats,
    r_norm: float | None = None,
) -> tuple[Tensor, Tensor]:
    """The k nearest of each query `rows[i]` from its sorted candidate list `idx[i]` (`certify`'s
    n_in, n_end): positions < n_in as they are, the best k - n_in of the ambiguous positions
    [n_in, n_end) by float64 score, then by index. With `r_norm` (the largest reference norm), the
    ambiguous are first scored in the inputs' dtype and certified again, so that only those this
    cannot order are scored in float64. Returns (m, max k) indices and float64 scores, the first k
    of each row meaningful; scores -inf where not computed."""
    m = idx.shape[0]
    k = torch.as_tensor(k, device=idx.device).expand(m)
    k_max = int(k.max()) if m else 0
    width = int((n_end - n_in).max()) if m else 0
    if width == 0:  # every row settled without re-scoring
        return idx[:, :k_max], torch.full((m, k_max), -math.inf, dtype=torch.float64, device=idx.device)
    pos = n_in[:, None] + torch.arange(width, device=idx.device)
    valid = pos < n_end[:, None]
    amb = idx.gather(1, pos.clamp_max(idx.shape[1] - 1)).masked_fill(~valid, 0)
    exact = r_norm is None or reference.dtype == torch.float64
    if exact:
        scores = torch.full(amb.shape, -math.inf, dtype=torch.float64, device=idx.device)
        some = (n_end > n_in).nonzero().squeeze(1)  # the rows with any ambiguous candidate
        step = max(1, max_bytes // (width * reference.shape[1] * 8))
        for start in range(0, len(some), step):
            part = some[start : start + step]
            scores[part] = _scores(queries, reference, rows[part], amb[part], normalize)
    else:
        amb = amb.masked_fill(~valid, reference.shape[0]).sort(dim=1).values.clamp_max(reference.shape[0] - 1)
        scores = _sampled_scores(queries[rows], reference, amb, valid, n_end - n_in)
        stats.sampled += int(valid.sum())
    scores = scores.masked_fill(~valid, -math.inf)
    need = k - n_in
    if exact:
        stats.rescored += int(valid.sum())
        amb = amb.masked_fill(~valid, reference.shape[0])
        amb, order = amb.sort(dim=1)  # by index, then stably by decreasing score: ties to the smaller index
        scores, order = scores.gather(1, order).sort(dim=1, descending=True, stable=True)
        sub_idx, sub_scores = amb.gather(1, order), scores
    else:
        scores, order = scores.sort(dim=1, descending=True)
        amb = amb.gather(1, order)
        inflate = 1 + gamma(reference.shape[1] + 2, UNIT_ROUNDOFF[reference.dtype])
        q_norm = torch.linalg.vector_norm(queries[rows], dim=1).double() * inflate
        err = exact_product_error(q_norm, r_norm, reference.shape[1], reference.dtype, normalize)
        rel = 0.0 if normalize else UNIT_ROUNDOFF[reference.dtype]
        _, n_in2, n_end2 = certify(scores, torch.full_like(err, -math.inf), err, rel, need)
        sub_idx, sub_scores = choose(
            queries, reference, rows, amb, n_in2, n_end2, need, normalize, max_bytes, stats
        )
    slot = torch.arange(k_max, device=idx.device)[None, :]
    take = slot < n_in[:, None]
    from_sub = (slot - n_in[:, None]).clamp(0, sub_idx.shape[1] - 1)
    out_idx = torch.where(take, idx[:, :k_max], sub_idx.gather(1, from_sub))
    out_scores = torch.where(take, -math.inf, sub_scores.gather(1, from_sub))
    return out_idx, out_scores


@functools.cache
def resolve_method(method: str, device: torch.device, normalize: bool, dim: int) -> str:
    """The method a search runs: "auto" is "exact" (see the module docstring for why); "bf16-rerank"
    needs normalised features."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "bf16-rerank" and not normalize:
        raise ValueError("method 'bf16-rerank' needs normalised features")
    return "exact" if method == "auto" else method


@contextlib.contextmanager
def _threads(n: int):
    """torch's intra-op threads set to n inside. The search runs its bookkeeping on one thread and only
    the passes over whole score blocks on all: on a busy machine every parallel region waits until
    each of its threads is scheduled, which made the small operations 10-50x slower with 2 threads
    at load 4-6 (the bf16 search 8.6 s against 3 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextlib.contextmanager
def _full_precision_products():
    """The bounds assume float32 products in float32 and bf16 ones accumulated in float32: no TF32,
    no bf16 for float32 products, no reduced-precision split-K on CUDA, for the search's duration."""
    before = torch.get_float32_matmul_precision()
    cuda = torch.backends.cuda.matmul
    reduced = cuda.allow_bf16_reduced_precision_reduction
    torch.set_float32_matmul_precision("highest")
    cuda.allow_bf16_reduced_precision_reduction = False
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)
        cuda.allow_bf16_reduced_precision_reduction = reduced


def nearest(
    reference: Tensor,
    queries: Tensor,
    k: int,
    normalize: bool = True,
    exclude_self: bool = False,
    method: Method = "auto",
    max_chunk_bytes: int = CHUNK_BYTES,
    with_scores: bool = False,
    stats: SearchStats | None = None,
) -> tuple[Tensor, Tensor | None]:
    """The k nearest reference rows of each query (see the module docstring), in chunks of queries
    whose score block takes about `max_chunk_bytes`.

    reference (N, D), queries (Q, D), already normalised if `normalize` (the similarity is then q.r),
    float32 or float64; k <= N (N - 1 with `exclude_self`, where the queries are the reference rows
    and each row's own entry is left out). Returns (Q, k) int64 indices, nearest first only where
    re-scored, and with `with_scores` their float64 similarities (q.r or -|q - r|^2). `stats`, if
    given, is filled in.
    """
    stats = stats if stats is not None else SearchStats()
    method = resolve_method(method, reference.device, normalize, reference.shape[1])
    n_ref, dim = reference.shape
    n_q = queries.shape[0]
    out_idx = torch.empty(n_q, k, dtype=torch.long, device=reference.device)
    out_scores = torch.empty(n_q, k, dtype=torch.float64, device=reference.device) if with_scores else None
    stats.rows += n_q
    if n_q == 0 or k == 0:
        return out_idx, out_scores
    r_rows = max(1, min(max_chunk_bytes, 2**21) // (dim * 8))  # passes over rows in cache-sized blocks
    threads = torch.get_num_threads()
    with _full_precision_products(), _threads(1):
        if method == "bf16-rerank":
            _search_bf16(
                reference,
                queries,
                k,
                exclude_self,
                max_chunk_bytes,
                r_rows,
                threads,
                out_idx,
                out_scores,
                stats,
            )
        else:
            r_norm = float(rounding_norms(reference, reference, r_rows)[0].max())
            _search_exact(
                reference, queries, 0, k, normalize, exclude_self, r_norm, max_chunk_bytes, out_idx, out_scores,
                stats, threads,
            )  # fmt: skip
    return out_idx, out_scores


def _search_exact(
    reference,
    queries,
    start,
    k,
    normalize,
    exclude_self,
    r_norm,
    max_bytes,
    out_idx,
    out_scores,
    stats,
    threads=1,
):
    """Exact scores (the inputs' dtype) for queries[start:], in chunks, each written into one buffer:
    a fresh block per chunk is memory the OS maps anew, page by page (on CPU a 240 MB block of
    60k x 2k float32 scores took the product from 0.14 to 0.18 s)."""
    n_ref, n_q = reference.shape[0], queries.shape[0]
    rows = max(1, min(n_q - start, max_bytes // (n_ref * reference.element_size())))
    buffer = torch.empty(rows, n_ref, dtype=reference.dtype, device=reference.device)
    for begin in range(start, n_q, rows):
        q_rows = torch.arange(begin, min(n_q, begin + rows), device=reference.device)
        _settle_exact(
            reference,
            queries,
            q_rows,
            k,
            normalize,
            exclude_self,
            r_norm,
            max_bytes,
            out_idx,
            out_scores,
            stats,
            threads=threads,
            buffer=buffer,
        )


def _exact_block(
    reference: Tensor,
    queries: Tensor,
    q_rows: Tensor,
    normalize: bool,
    exclude_self: bool,
    buffer: Tensor | None = None,
) -> Tensor:
    q = queries[q_rows]
    out = None if buffer is None else buffer[: len(q_rows)]
    if normalize:
        score = torch.mm(q, reference.T, out=out)
    else:
        score = torch.addmm(-(reference * reference).sum(1), q, reference.T, alpha=2, out=out)
    if exclude_self:
        score[torch.arange(len(q_rows), device=q.device), q_rows] = -math.inf
    return score


def _settle_exact(
    reference,
    queries,
    q_rows,
    k,
    normalize,
    exclude_self,
    r_norm,
    max_bytes,
    out_idx,
    out_scores,
    stats,
    full=False,
    threads=1,
    buffer=None,
):
    """Scores in the inputs' dtype for `q_rows`, certified on a list of 2k + 8 candidates (the whole
    row with `full`), rows whose window overflows it redone with the whole row. `buffer`: where the
    scores go (at least len(q_rows) rows; none: a new block)."""
    n_ref = reference.shape[0]
    c = n_ref if full else min(n_ref, 2 * k + 8)
    with _threads(threads):
        score = _exact_block(reference, queries, q_rows, normalize, exclude_self, buffer)
        if c == n_ref:
            values, idx = score.sort(1, descending=True)
            outside = torch.full((len(q_rows),), -math.inf, dtype=torch.float64, device=score.device)
        else:
            values, idx = score.topk(c, dim=1, sorted=True)
            outside = values[:, -1].double()
    inflate = 1 + gamma(reference.shape[1] + 2, UNIT_ROUNDOFF[reference.dtype])
    q_norm = torch.linalg.vector_norm(queries[q_rows], dim=1).double() * inflate
    err = exact_product_error(q_norm, r_norm, reference.shape[1], reference.dtype, normalize)
    rel = 0.0 if normalize else UNIT_ROUNDOFF[reference.dtype]
    ok, n_in, n_end = certify(values, outside, err, rel, k)
    if not full and not ok.all():
        bad = ~ok
        _settle_exact(
            reference, queries, q_rows[bad], k, normalize, exclude_self, r_norm, max_bytes, out_idx, out_scores,
            stats, full=True, threads=threads,
        )  # fmt: skip
        stats.full_sort += int(bad.sum())
        q_rows, idx, n_in, n_end = q_rows[ok], idx[ok], n_in[ok], n_end[ok]
    _store(queries, reference, q_rows, idx, n_in, n_end, k, normalize, max_bytes, out_idx, out_scores, stats)


def _store(
    queries,
    reference,
    q_rows,
    idx,
    n_in,
    n_end,
    k,
    normalize,
    max_bytes,
    out_idx,
    out_scores,
    stats,
    r_norm=None,
):
    if len(q_rows) == 0:
        return
    chosen, _ = choose(queries, reference, q_rows, idx, n_in, n_end, k, normalize, max_bytes, stats, r_norm)
    out_idx[q_rows] = chosen
    if out_scores is not None:  # the cosine vote: every neighbour's float64 similarity
        step = max(1, max_bytes // (k * reference.shape[1] * 8))
        for start in range(0, len(q_rows), step):
            part = slice(start, start + step)
            out_scores[q_rows[part]] = _scores(queries, reference, q_rows[part], chosen[part], normalize)


def _centred_bf16(
    reference: Tensor, centre: Tensor, out: Tensor, max_rows: int
) -> tuple[float, float, float]:
    """Writes b^ = bf16(fl(r - c)) for each reference row r into `out`; returns upper bounds on
    max ||b^||, max ||(r - c) - b^|| and max ||r||. With b = fl(r - c): ||r - c - b|| <= u ||b|| (u the
    inputs' unit roundoff), b - b^ is exact (`rounding_norms`), and ||r|| <= ||c|| + ||r - c||."""
    u = UNIT_ROUNDOFF[reference.dtype]
    norm_hat, err, norm = 0.0, 0.0, 0.0
    for start in range(0, reference.shape[0], max_rows):
        b = reference[start : start + max_rows] - centre
        out[start : start + len(b)] = b
        b_norm, b_err = rounding_norms(b, out[start : start + len(b)], max_rows)
        norm_hat = max(norm_hat, float((b_norm + b_err).max()))
        err = max(err, float((b_err + u * b_norm).max()))
        norm = max(norm, float(b_norm.max()) * (1 + u))
    return norm_hat, err, norm + float(rounding_norms(centre[None], centre[None], 1)[0])


def _search_bf16(reference, queries, k, exclude_self, max_bytes, r_rows, threads, out_idx, out_scores, stats):
    """The bf16 filter. The reference is centred first: ranking by q.(r - c) is ranking by q.r (q.c is
    the same for every r), and the bound of `bf16_product_error`, taken with the norms of r - c,
    shrinks with the spread of the reference around c (its mean): concentrated features (all
    similarities near 1) would otherwise leave windows far wider than the gaps between neighbours."""
    n_ref, dim = reference.shape
    n_q = queries.shape[0]
    device = reference.device
    t = time.process_time()
    n_blocks = -(-n_ref // BLOCK)
    padded = torch.zeros(n_blocks * BLOCK, dim, dtype=torch.bfloat16, device=device)
    r_norm_hat, r_err, r_norm = _centred_bf16(reference, reference.mean(0), padded, r_rows)
    q_norm, q_err = rounding_norms(queries, torch.bfloat16, r_rows)
    err_all = bf16_product_error(q_norm + q_err, q_err, r_norm_hat, r_err, dim)
    rel = UNIT_ROUNDOFF[torch.bfloat16]
    n_top_blocks = min(n_blocks, 3 * k + 16)
    n_list = min(n_top_blocks * BLOCK, 4 * k + 16)
    n_top_blocks2 = min(n_blocks, 12 * k + 48)
    n_second = min(n_top_blocks2 * BLOCK, 16 * k + 64)
    rows = max(1, min(n_q, max_bytes // (n_blocks * BLOCK * 2)))
    score_buf = torch.empty(rows, n_blocks * BLOCK, dtype=torch.bfloat16, device=device)
    offsets = torch.arange(BLOCK, device=device)[None, :, None] * n_blocks
    t = stats.add_time("prepare", t)
    start, failed, slower = 0, 0, False
    exact_args = (k, True, exclude_self, r_norm, max_bytes, out_idx, out_scores, stats)
    while start < n_q:
        if slower or failed > SWITCH_SHARE * start:  # the filter does not pay on these features
            stats.switched += n_q - start
            _search_exact(reference, queries, start, *exact_args, threads=threads)
            break
        q = queries[start : start + (min(rows, FIRST_CHUNK) if start == 0 else rows)].to(torch.bfloat16)
        m = q.shape[0]
        q_rows = torch.arange(start, start + m, device=device)
        start += m
        chunk_start = t
        score = score_buf[:m]
        with _threads(threads):
            torch.mm(q, padded.T, out=score)
            t = stats.add_time("bf16 product", t)
            score[:, n_ref:] = -math.inf
            if exclude_self:
                score[torch.arange(m, device=device), q_rows] = -math.inf
            # Block b holds the scores of rows b + i n_blocks: strided, so that the maximum is elementwise.
            block_max = score.view(m, BLOCK, n_blocks).amax(1)
            values, idx, outside = _candidates(score, block_max, n_top_blocks, n_list, offsets)
        t = stats.add_time("filter", t)
        err = err_all[q_rows]
        ok, n_in, n_end = certify(values, outside, err, rel, k)
        if not ok.all():  # a larger list
            bad = (~ok).nonzero().squeeze(1)
            stats.second_list += len(bad)
            values2, idx2, outside2 = _candidates(
                score[bad], block_max[bad], n_top_blocks2, n_second, offsets
            )
            ok2, n_in2, n_end2 = certify(values2, outside2, err[bad], rel, k)
            good2 = bad[ok2]
            _store(
                queries, reference, q_rows[good2], idx2[ok2], n_in2[ok2], n_end2[ok2], k, True, max_bytes,
                out_idx, out_scores, stats, r_norm,
            )  # fmt: skip
            worst = q_rows[bad[~ok2]]
            if len(worst):
                stats.fallback += len(worst)
                failed += len(worst)
                exact_start = time.process_time()
                _settle_exact(reference, queries, worst, *exact_args, threads=threads)
                exact_per_row = (time.process_time() - exact_start) / len(worst)
                slower = len(worst) >= 16
            q_rows, idx, n_in, n_end = q_rows[ok], idx[ok], n_in[ok], n_end[ok]
        t = stats.add_time("fallback", t)
        _store(
            queries,
            reference,
            q_rows,
            idx,
            n_in,
            n_end,
            k,
            True,
            max_bytes,
            out_idx,
            out_scores,
            stats,
            r_norm,
        )
        t = stats.add_time("rescore", t)
        slower = slower and (t - chunk_start) / m > exact_per_row


def _candidates(score, block_max, n_blocks_taken, n_list, offsets):
    """The n_list largest scores of each row among its n_blocks_taken blocks of largest maximum, sorted,
    their columns, and an upper bound on the scores left out (-inf if none)."""
    n_blocks = block_max.shape[1]
    top_max, top_blocks = block_max.topk(n_blocks_taken, dim=1, sorted=True)
    cols = (top_blocks[:, None, :] + offsets).reshape(len(score), -1)
    values, pos = score.gather(1, cols).topk(n_list, dim=1, sorted=True)
    outside = torch.full((len(score),), -math.inf, dtype=torch.float64, device=score.device)
    if n_blocks_taken < n_blocks:
        outside = top_max[:, -1].double()
    if n_list < cols.shape[1]:
        outside = torch.maximum(outside, values[:, -1].double())
    return values, cols.gather(1, pos), outside
