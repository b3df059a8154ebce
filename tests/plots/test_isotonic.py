"""plots.isotonic (scipy's pool-adjacent-violators) against a brute-force PAV and scikit-learn."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from benign.plots.isotonic import isotonic_fit

values = st.floats(-1e3, 1e3, allow_nan=False, width=64)


def brute_force_pav(x, y, w):
    """The textbook oracle: pool the ties of x, then merge adjacent violating blocks until none is left."""
    blocks = [
        [xv, float(np.sum(w[x == xv] * y[x == xv])), float(np.sum(w[x == xv])), [xv]] for xv in sorted(set(x))
    ]
    merged = True
    while merged:
        merged = False
        for i in range(len(blocks) - 1):
            a, b = blocks[i], blocks[i + 1]
            if a[1] / a[2] > b[1] / b[2]:
                blocks[i : i + 2] = [[a[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]]
                merged = True
                break
    fitted = {xv: total / weight for _, total, weight, members in blocks for xv in members}
    return np.array([fitted[xv] for xv in x])


@st.composite
def samples(draw):
    size = draw(st.integers(1, 40))
    # x from a few levels so ties (which share one fitted value) are common
    x = draw(st.lists(st.integers(0, 12), min_size=size, max_size=size))
    y = draw(st.lists(values, min_size=size, max_size=size))
    w = draw(st.lists(st.floats(0.1, 10.0), min_size=size, max_size=size))
    return np.array(x, dtype=float), np.array(y), np.array(w)


@settings(deadline=None)
@given(samples())
def test_equals_brute_force_pav_and_sklearn(sample):
    x, y, w = sample
    fit = isotonic_fit(x, y, w)
    scale = max(1.0, np.abs(y).max())
    np.testing.assert_allclose(fit, brute_force_pav(x, y, w), rtol=1e-9, atol=1e-9 * scale)
    expected = IsotonicRegression(increasing=True).fit(x, y, sample_weight=w).predict(x)
    np.testing.assert_allclose(fit, expected, rtol=1e-9, atol=1e-9 * scale)


@settings(deadline=None)
@given(samples())
def test_is_monotone_in_x_idempotent_and_keeps_the_weighted_mean(sample):
    x, y, w = sample
    fit = isotonic_fit(x, y, w)
    scale = max(1.0, np.abs(y).max())
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(fit[order]) >= -1e-9 * scale)
    assert all(np.ptp(fit[x == xv]) <= 1e-9 * scale for xv in np.unique(x))  # ties share one value
    np.testing.assert_allclose(isotonic_fit(x, fit, w), fit, atol=1e-9 * scale)
    np.testing.assert_allclose((w * fit).sum(), (w * y).sum(), rtol=1e-9, atol=1e-6 * scale)


def test_a_sorted_sequence_is_its_own_fit():
    y = np.array([0.1, 0.2, 0.2, 0.7])
    np.testing.assert_array_equal(isotonic_fit(np.arange(4.0), y), y)
    np.testing.assert_allclose(isotonic_fit(np.arange(4.0), y[::-1]), np.full(4, y.mean()))
