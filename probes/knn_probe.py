"""The k-NN probe of a representation (section 4, "Probing").

It follows the authors' code: K = 20 neighbours, uniform votes, Euclidean distance on
L2-normalised features. The DINO-style vote (Caron et al., 2021) weighs each neighbour by
exp(cos / T), T = 0.07. The neighbours come from probes.knn_search.nearest, in chunks of queries so
that memory stays bounded (about `max_chunk_bytes` for the similarity block) whatever the sizes.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from benign.probes.knn_search import CHUNK_BYTES, Method, SearchStats, nearest

Vote = Literal["uniform", "cosine"]


def as_tensor(x, device=None) -> Tensor:
    return x if isinstance(x, Tensor) else torch.as_tensor(x, device=device)


def knn_predict(
    reference: Tensor,
    reference_labels: Tensor,
    queries: Tensor,
    num_classes: int,
    k: int = 20,
    vote: Vote = "uniform",
    temperature: float = 0.07,
    normalize: bool = True,
    max_chunk_bytes: int = CHUNK_BYTES,
    exclude_self: bool = False,
    method: Method = "auto",
    stats: SearchStats | None = None,
) -> Tensor:
    """Predict the class of each query by its k nearest reference points.

    reference: (N, D) features, reference_labels: (N,) ints in [0, num_classes),
    queries: (Q, D). Returns (Q,) int64 predictions. With `normalize` the features are
    L2-normalised first, so that Euclidean ranking equals cosine ranking; without it, plain
    Euclidean distance ranks (only `vote="uniform"` makes sense then). Vote ties go to the
    smallest class index; k is capped at N. With `exclude_self` the queries are the reference rows
    themselves and each row's own entry is left out (leave-one-out, e.g. "noisy" probing on the
    training labels, figure 4).

    The neighbours are those of a float64 brute force, ties to the smaller reference index, whatever
    `method` ("auto", "exact", "bf16-rerank": how fast they are found, see probes.knn_search); `stats`
    (a probes.knn_search.SearchStats) counts what the search did.
    """
    reference = as_tensor(reference)
    queries = as_tensor(queries, reference.device)
    labels = as_tensor(reference_labels, reference.device).long()
    if reference.ndim != 2 or queries.ndim != 2 or reference.shape[1] != queries.shape[1]:
        raise ValueError(
            f"need (N, D) reference and (Q, D) queries, got {tuple(reference.shape)} and {tuple(queries.shape)}"
        )
    if labels.shape != reference.shape[:1]:
        raise ValueError("reference_labels must have one label per reference row")
    if vote not in ("uniform", "cosine"):
        raise ValueError(f"vote must be 'uniform' or 'cosine', got {vote!r}")
    if vote == "cosine" and not normalize:
        raise ValueError("the cosine vote needs normalised features")
    n_ref = reference.shape[0]
    if exclude_self and queries.shape != reference.shape:
        raise ValueError("exclude_self needs the reference rows as queries")
    k = min(k, n_ref - 1 if exclude_self else n_ref)
    dtype = reference.dtype if reference.dtype in (torch.float32, torch.float64) else torch.float32
    reference, queries = reference.to(dtype), queries.to(dtype)
    if normalize:
        reference = torch.nn.functional.normalize(reference, dim=1)
        queries = torch.nn.functional.normalize(queries, dim=1)
    idx, scores = nearest(
        reference,
        queries,
        k,
        normalize=normalize,
        exclude_self=exclude_self,
        method=method,
        max_chunk_bytes=max_chunk_bytes,
        with_scores=vote == "cosine",
        stats=stats,
    )
    if vote == "uniform":
        weight = torch.ones(idx.shape, dtype=reference.dtype, device=idx.device)
    else:
        weight = scores.div_(temperature).exp_()
    votes = torch.zeros(idx.shape[0], num_classes, dtype=weight.dtype, device=idx.device)
    votes.scatter_add_(1, labels[idx], weight)
    return votes.argmax(1)  # first maximum: ties go to the smallest class


def knn_accuracy(
    reference: Tensor,
    reference_labels: Tensor,
    queries: Tensor,
    query_labels: Tensor,
    num_classes: int,
    **kwargs,
) -> float:
    """Share of queries whose k-NN prediction equals `query_labels` (see `knn_predict`)."""
    pred = knn_predict(reference, reference_labels, queries, num_classes, **kwargs)
    return (pred == as_tensor(query_labels, pred.device).long()).double().mean().item()
