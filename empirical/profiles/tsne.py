"""The t-SNE maps of appendix C.1: scikit-learn's Barnes-Hut t-SNE (van der Maaten, 2014).

A thin front end: features standardised as one block, perplexity capped to what n points allow,
PCA initialisation (stable across runs) and a fixed seed.
"""

from __future__ import annotations

import numpy as np
from sklearn.manifold import TSNE

MIN_ITERS = 250  # scikit-learn's least max_iter


def tsne(x, dims: int = 2, perplexity: float = 30.0, iters: int = 500, seed: int = 0) -> np.ndarray:
    """(n, D) features -> (n, dims) map."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 4:
        raise ValueError("t-SNE needs at least 4 points")
    x = (x - x.mean(0)) / (x.std() + 1e-12)
    return TSNE(
        n_components=dims,
        perplexity=min(perplexity, (n - 1) / 3),
        max_iter=max(iters, MIN_ITERS),
        init="pca",
        learning_rate="auto",
        method="barnes_hut" if dims < 4 else "exact",
        random_state=seed,
    ).fit_transform(x)
