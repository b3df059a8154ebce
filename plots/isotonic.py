"""Isotonic (monotone non-decreasing) least-squares regression by pool-adjacent-violators.

scipy has none and scikit-learn is only a test dependency, so this is the textbook algorithm:
walk the points in order of x, keep blocks with their weighted mean, and merge a block into its
predecessor while the predecessor's mean is larger. Points with equal x get one fitted value (their
weighted mean is fitted as one point), as in sklearn.isotonic.IsotonicRegression.
"""

from __future__ import annotations

import numpy as np


def pool_adjacent_violators(y: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """The non-decreasing sequence closest to y in weighted least squares (y already in x order)."""
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if weight is None else np.asarray(weight, dtype=float)
    means, weights, counts = [], [], []
    for value, wi in zip(y, w):
        means.append(value)
        weights.append(wi)
        counts.append(1)
        while len(means) > 1 and means[-2] > means[-1]:
            total = weights[-2] + weights[-1]
            merged = (means[-2] * weights[-2] + means[-1] * weights[-1]) / total
            means[-2:], weights[-2:], counts[-2:] = [merged], [total], [counts[-2] + counts[-1]]
    return np.repeat(means, counts)


def isotonic_fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Fitted values at each (x, y), non-decreasing in x; ties in x share one value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = np.ones_like(y) if weight is None else np.asarray(weight, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("isotonic_fit takes two 1-D arrays of the same length")
    if len(x) == 0:
        return y.copy()
    unique, inverse = np.unique(x, return_inverse=True)
    tie_weight = np.bincount(inverse, weights=w)
    tie_mean = np.bincount(inverse, weights=w * y) / tie_weight
    return pool_adjacent_violators(tie_mean, tie_weight)[inverse]
