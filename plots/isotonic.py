"""Isotonic (monotone non-decreasing) least-squares regression of y on x.

`scipy.optimize.isotonic_regression` (pool-adjacent-violators, scipy >= 1.12) fits a sequence
already in order; this module only orders the points by x and gives points with equal x one fitted
value (their weighted mean is fitted as one point), as sklearn.isotonic.IsotonicRegression does.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import isotonic_regression


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
    return isotonic_regression(tie_mean, weights=tie_weight, increasing=True).x[inverse]
