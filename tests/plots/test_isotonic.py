"""Pool-adjacent-violators against scikit-learn's isotonic regression (the test-only oracle)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.isotonic import IsotonicRegression

from plots.isotonic import isotonic_fit, pool_adjacent_violators

values = st.floats(-1e3, 1e3, allow_nan=False, width=64)


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
def test_equals_sklearn_isotonic_regression(sample):
    x, y, w = sample
    expected = IsotonicRegression(increasing=True).fit(x, y, sample_weight=w).predict(x)
    np.testing.assert_allclose(isotonic_fit(x, y, w), expected, rtol=1e-9, atol=1e-9)


@settings(deadline=None)
@given(st.lists(values, min_size=1, max_size=40))
def test_is_monotone_idempotent_and_keeps_the_mean(y):
    y = np.array(y)
    fit = pool_adjacent_violators(y)
    assert np.all(np.diff(fit) >= -1e-9 * max(1.0, np.abs(y).max()))
    np.testing.assert_allclose(pool_adjacent_violators(fit), fit, atol=1e-9)
    np.testing.assert_allclose(fit.sum(), y.sum(), rtol=1e-9, atol=1e-6)


def test_a_sorted_sequence_is_its_own_fit():
    y = np.array([0.1, 0.2, 0.2, 0.7])
    np.testing.assert_array_equal(isotonic_fit(np.arange(4.0), y), y)
    np.testing.assert_allclose(isotonic_fit(np.arange(4.0), y[::-1]), np.full(4, y.mean()))
