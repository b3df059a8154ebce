"""Exact t-SNE (van der Maaten & Hinton, 2008) in numpy, for a few thousand points at most
(appendix C.1): perplexity-calibrated Gaussian affinities, Student-t map, early exaggeration,
gradient descent with momentum and gains. scikit-learn is only a test dependency here."""

from __future__ import annotations

import numpy as np


def _affinities(x: np.ndarray, perplexity: float, tol: float = 1e-5, iters: int = 64) -> np.ndarray:
    n = x.shape[0]
    d = np.square(x[:, None, :] - x[None, :, :]).sum(-1)
    target = np.log(perplexity)
    p = np.zeros((n, n))
    for i in range(n):
        di = np.delete(d[i], i)
        lo, hi, beta = 0.0, np.inf, 1.0
        for _ in range(iters):
            w = np.exp(-(di - di.min()) * beta)
            s = w.sum()
            h = np.log(s) + beta * ((di - di.min()) * w).sum() / s
            if abs(h - target) < tol:
                break
            if h > target:
                lo, beta = beta, beta * 2 if hi == np.inf else (beta + hi) / 2
            else:
                hi, beta = beta, (beta + lo) / 2
        p[i, np.arange(n) != i] = w / s
    p = (p + p.T) / (2 * n)
    return np.maximum(p, 1e-12)


def tsne(x, dims: int = 2, perplexity: float = 30.0, iters: int = 500, seed: int = 0) -> np.ndarray:
    """(n, D) features -> (n, dims) map."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 4:
        raise ValueError("t-SNE needs at least 4 points")
    x = (x - x.mean(0)) / (x.std() + 1e-12)
    perplexity = min(perplexity, (n - 1) / 3)
    p = _affinities(x, perplexity)
    rng = np.random.default_rng(seed)
    y = 1e-4 * rng.standard_normal((n, dims))
    vel, gains = np.zeros_like(y), np.ones_like(y)
    lr = max(n / 12.0 / 4.0, 50.0)  # scikit-learn's 'auto' learning rate
    for it in range(iters):
        exaggeration = 12.0 if it < 100 else 1.0
        momentum = 0.5 if it < 100 else 0.8
        num = 1.0 / (1.0 + np.square(y[:, None, :] - y[None, :, :]).sum(-1))
        np.fill_diagonal(num, 0.0)
        q = np.maximum(num / num.sum(), 1e-12)
        pq = (exaggeration * p - q) * num
        grad = 4.0 * ((np.diag(pq.sum(1)) - pq) @ y)
        gains = np.where(np.sign(grad) != np.sign(vel), gains + 0.2, gains * 0.8).clip(0.01)
        vel = momentum * vel - lr * gains * grad
        y = y + vel
        y -= y.mean(0)
    return y
